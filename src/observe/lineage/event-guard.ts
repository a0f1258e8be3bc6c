import type { Facets, RunEvent } from './openlineage-event.js';
import { TERMINAL_EVENT_TYPES } from './openlineage-event.js';

/** How many ended run ids the guard remembers, to refuse a second terminal event. */
const ENDED_RUNS_REMEMBERED = 10_000;

/**
 * Checks what the OpenLineage schema cannot: each run id has one START before anything else
 * and one terminal event (COMPLETE, ABORT or FAIL) after which nothing follows, and every facet
 * names its `_producer` and `_schemaURL`. Cheap: a map of open runs and a bounded set of ended
 * ones.
 *
 * @example
 * ```ts
 * const guard = new LineageEventGuard();
 * const problem = guard.check(event); // undefined when the event may be sent
 * ```
 */
export class LineageEventGuard {
  readonly #open = new Set<string>();
  readonly #ended = new Set<string>();

  /** Why the event must not be sent, or undefined; a sendable event updates the run's state. */
  check(event: RunEvent): string | undefined {
    const runId = event.run.runId;
    const facetProblem =
      facetsProblem(event.run.facets, 'run') ??
      facetsProblem(event.job.facets, 'job') ??
      [...event.inputs, ...event.outputs]
        .map(
          (dataset) =>
            facetsProblem(dataset.facets, `dataset ${dataset.name}`) ??
            facetsProblem(dataset.inputFacets, `dataset ${dataset.name}`) ??
            facetsProblem(dataset.outputFacets, `dataset ${dataset.name}`),
        )
        .find((problem) => problem !== undefined);
    if (facetProblem !== undefined) return facetProblem;
    if (this.#ended.has(runId)) return `run ${runId} already ended; ${event.eventType} refused`;
    if (event.eventType === 'START') {
      if (this.#open.has(runId)) return `run ${runId} already started`;
      this.#open.add(runId);
      return undefined;
    }
    if (!this.#open.has(runId)) return `run ${runId} has no START before ${event.eventType}`;
    if (TERMINAL_EVENT_TYPES.has(event.eventType)) {
      this.#open.delete(runId);
      this.#ended.add(runId);
      if (this.#ended.size > ENDED_RUNS_REMEMBERED) {
        const oldest = this.#ended.values().next().value;
        if (oldest !== undefined) this.#ended.delete(oldest);
      }
    }
    return undefined;
  }
}

function facetsProblem(facets: Facets | undefined, where: string): string | undefined {
  if (facets === undefined) return undefined;
  for (const [name, facet] of Object.entries(facets)) {
    if (typeof facet?._producer !== 'string' || facet._producer === '')
      return `the ${where} facet "${name}" has no _producer`;
    if (typeof facet._schemaURL !== 'string' || facet._schemaURL === '')
      return `the ${where} facet "${name}" has no _schemaURL`;
  }
  return undefined;
}
