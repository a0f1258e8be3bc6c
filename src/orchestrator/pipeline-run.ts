import { retryPolicy } from '../core/retry-policy.js';
import type { Pipeline } from '../define/pipeline.js';
import type { DataInterval, NewRun } from './run-types.js';

/**
 * A new run of a pipeline with its retry budget, priority and pool, for an interval or not.
 *
 * @example
 * ```ts
 * await store.enqueueRuns([pipelineRun(pipeline, codeHash, 'schedule', { start, end })]);
 * ```
 */
export function pipelineRun(
  pipeline: Pipeline,
  codeHash: string | undefined,
  trigger: NewRun['trigger'],
  interval?: DataInterval,
): NewRun {
  return {
    pipeline: pipeline.name,
    trigger,
    ...(interval === undefined ? {} : { interval }),
    maxAttempts: retryPolicy(pipeline.orchestration.retries).retries + 1,
    priority: pipeline.orchestration.priority ?? 0,
    ...(codeHash === undefined ? {} : { codeHash }),
    ...(pipeline.orchestration.pool === undefined ? {} : { pool: pipeline.orchestration.pool }),
  };
}
