import type { SluiceMetrics } from '../../src/observe/metrics/recorder.js';
import type { RunReport, StepReport } from '../../src/observe/run-report.js';
import { recordAttempt } from '../../src/orchestrator/attempt-metrics.js';

/** The shape of a wide project whose run history is recorded into a metrics facade. */
export interface WideHistory {
  readonly pipelines: number;
  readonly stepsPerPipeline: number;
  /** Runs in all, spread evenly over the pipelines. */
  readonly runs: number;
}

/**
 * Records `runs` attempts of a wide project into `metrics`, as the worker would: each pipeline
 * has sources, SQL steps, checks (six expectations of two severities, a quality score) and
 * sinks; one run in 23 fails at a step (the steps after it are skipped) and is retried, and one
 * step in ten quarantines rows. The figures are deterministic.
 *
 * @example
 * ```ts
 * recordWideHistory(metrics, { pipelines: 20, stepsPerPipeline: 50, runs: 1000 });
 * ```
 */
export function recordWideHistory(metrics: SluiceMetrics, shape: WideHistory): void {
  for (let run = 0; run < shape.runs; run++) {
    const pipeline = `pipeline_${String(run % shape.pipelines).padStart(2, '0')}`;
    const failsAt = run % 23 === 7 ? (run * 13) % shape.stepsPerPipeline : -1;
    const steps: StepReport[] = [];
    for (let i = 0; i < shape.stepsPerPipeline; i++) {
      const kind = KINDS[i % KINDS.length] as StepReport['kind'];
      const status = failsAt < 0 || i < failsAt ? 'success' : i === failsAt ? 'failed' : 'skipped';
      const ran = status !== 'skipped';
      const rows = ran ? 1000 + ((run * 31 + i * 7) % 500) : null;
      steps.push({
        id: `step_${String(i).padStart(2, '0')}`,
        kind,
        status,
        rowsIn: rows,
        rowsOut: rows,
        rowsQuarantined: ran && i % 10 === 3 ? 3 : 0,
        durationMs: ran ? 5 + ((run + i) % 200) : 0,
        inputs: [],
        outputs: [],
        ...(kind === 'check' && ran ? { quality: suite(i, run) } : {}),
      } as StepReport);
    }
    const failed = failsAt >= 0;
    const report = {
      pipeline,
      runId: `run-${run}`,
      status: failed ? 'failed' : 'success',
      durationMs: 2000 + (run % 50) * 100,
      steps,
    } as unknown as RunReport;
    recordAttempt(metrics, {
      pipeline,
      runId: report.runId,
      outcome: { state: failed ? 'failed' : 'success' },
      state: failed ? 'up_for_retry' : 'success',
      report,
      seconds: report.durationMs / 1000,
      at: 1_700_000_000_000 + run * 60_000,
    });
  }
}

// Of every ten steps: a source, a check, a sink and seven SQL transforms.
const KINDS = ['source', 'sql', 'sql', 'sql', 'check', 'sql', 'sql', 'sql', 'sink', 'sql'] as const;

function suite(step: number, run: number): NonNullable<StepReport['quality']> {
  const results = Array.from({ length: 6 }, (_, k) => ({
    // Warnings fail now and then; an error-severity expectation fails once in 50 runs.
    success: k < 4 ? (run + step) % 50 !== k : (run + step + k) % 9 !== 0,
    expectation_config: { severity: k < 4 ? 'error' : 'warn' },
    exception_info: { raised_exception: false },
  }));
  return {
    results,
    quality_score: (100 * results.filter((r) => r.success).length) / results.length,
  } as unknown as NonNullable<StepReport['quality']>;
}

/** The series of a Prometheus text exposition: its sample lines. */
export function seriesCount(exposition: string): number {
  return exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}
