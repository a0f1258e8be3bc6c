import cliProgress from 'cli-progress';
import type { StepEvent } from '../engine/executor.js';

/**
 * A live display of running steps (rows and rate) for terminals. Only used when standard error
 * is a TTY; otherwise the structured log lines are the progress record.
 *
 * @example
 * ```ts
 * const display = new ProgressDisplay();
 * await runPipeline(p, { onEvent: (e) => display.update(e) });
 * display.stop();
 * ```
 */
export class ProgressDisplay {
  readonly #bars = new cliProgress.MultiBar(
    {
      format: '  {step} {status} {rows} rows {rate}',
      hideCursor: true,
      clearOnComplete: true,
      stream: process.stderr,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  readonly #running = new Map<string, { bar: cliProgress.SingleBar; began: number }>();

  update(event: StepEvent): void {
    if (event.type === 'step-started') {
      const bar = this.#bars.create(0, 0, {
        step: event.stepId.padEnd(20),
        status: 'running',
        rows: '-',
        rate: '',
      });
      this.#running.set(event.stepId, { bar, began: performance.now() });
    } else if (event.type === 'step-rows') {
      const entry = this.#running.get(event.stepId);
      if (entry === undefined) return;
      const seconds = (performance.now() - entry.began) / 1000;
      entry.bar.update(0, {
        rows: event.rowsIn.toLocaleString('en-US'),
        rate:
          seconds > 0
            ? `(${Math.round(event.rowsIn / seconds).toLocaleString('en-US')} rows/s)`
            : '',
      });
    } else if (event.type === 'step-finished') {
      const entry = this.#running.get(event.step.id);
      if (entry === undefined) return;
      this.#bars.remove(entry.bar);
      this.#running.delete(event.step.id);
    }
  }

  stop(): void {
    this.#bars.stop();
  }
}
