import { assert } from '../common.js';
import type { NexmarkQuery } from './queries.js';
import type { NexmarkReference } from './reference.js';
import type { QueryRun } from './run-query.js';

/**
 * Checks a run's counters, row count and final watermark against the plain-JS computation over
 * the same events: every event read, none set aside, exactly the expected rows written, the
 * expected final watermark, and every checkpoint committed to the sink and the run store.
 * Throws (the benchmark of wrong work is void) on any difference.
 *
 * @example
 * ```ts
 * checkQueryRun(q7, await runNexmarkQuery(q7, 1_000_000, dir, { keepRows: false }), expected);
 * ```
 */
export function checkQueryRun(
  query: NexmarkQuery,
  run: QueryRun,
  expected: NexmarkReference,
): void {
  const { progress } = run;
  const wanted = expected.outputs[query.id].count;
  assert(
    progress.recordsIn === expected.events,
    `${query.id} read ${progress.recordsIn} events, expected ${expected.events}`,
  );
  assert(
    progress.recordsLate === 0 && progress.recordsInvalid === 0,
    `${query.id} set aside ${progress.recordsLate} late and ${progress.recordsInvalid} invalid events; the generator's are in order and valid`,
  );
  assert(
    run.rowsWritten === wanted && progress.recordsOut === wanted,
    `${query.id} wrote ${run.rowsWritten} rows (runtime: ${progress.recordsOut}), expected ${wanted}`,
  );
  assert(
    progress.watermark === expected.watermark,
    `${query.id} ended at watermark ${progress.watermark}, expected ${expected.watermark}`,
  );
  assert(
    progress.checkpointId >= 1 &&
      run.sinkCommits === progress.checkpointId &&
      run.checkpointsSaved === progress.checkpointId,
    `${query.id}: ${progress.checkpointId} checkpoints, ${run.sinkCommits} sink commits, last saved checkpoint ${run.checkpointsSaved}`,
  );
}
