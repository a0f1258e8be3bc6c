import { errorMessageFacet } from './facets.js';
import type { RunEvent } from './openlineage-event.js';
import { TERMINAL_EVENT_TYPES } from './openlineage-event.js';

/**
 * The runs whose START was seen and whose end was not, so that a run whose process was killed
 * still ends in lineage: {@link endAll} makes the missing terminal events (step runs first,
 * then their pipeline run).
 *
 * @example
 * ```ts
 * const open = new OpenLineageRuns();
 * open.observe(event);
 * for (const end of open.endAll('ABORT', 'the run was canceled', new Date())) emitter.emit(end);
 * ```
 */
export class OpenLineageRuns {
  readonly #started = new Map<string, RunEvent>();

  /** Notes an event of a run. */
  observe(event: RunEvent): void {
    if (event.eventType === 'START') this.#started.set(event.run.runId, event);
    else if (TERMINAL_EVENT_TYPES.has(event.eventType)) this.#started.delete(event.run.runId);
  }

  /** The terminal events of the runs still open, latest started first; they are then closed. */
  endAll(eventType: 'ABORT' | 'FAIL', message: string, at: Date): RunEvent[] {
    const open = [...this.#started.values()].reverse();
    this.#started.clear();
    return open.map((start) => ({
      ...start,
      eventType,
      eventTime: at.toISOString(),
      run: {
        runId: start.run.runId,
        facets: { ...start.run.facets, errorMessage: errorMessageFacet(message) },
      },
      inputs: [],
      outputs: [],
    }));
  }
}
