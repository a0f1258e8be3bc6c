import type { Pipeline } from '../define/pipeline.js';
import type { RunReport } from '../observe/run-report.js';
import type { RunStore } from './run-store.js';

/**
 * The store cursor holding a source step's state: an incremental watermark, a CDC position, the
 * last webhook batch read.
 *
 * @example
 * ```ts
 * sourceStateCursor('orders'); // 'watermark:orders'
 * ```
 */
export function sourceStateCursor(stepId: string): string {
  return `watermark:${stepId}`;
}

/**
 * The state of every source step of the pipeline as of its last successful run, by step id, for
 * `runPipeline`'s `watermarks` option.
 *
 * @example
 * ```ts
 * const report = await runPipeline(pipeline, { watermarks: await readSourceState(store, pipeline) });
 * ```
 */
export async function readSourceState(
  store: RunStore,
  pipeline: Pipeline,
): Promise<Record<string, string>> {
  const state: [string, string][] = [];
  for (const [stepId, step] of Object.entries(pipeline.steps)) {
    if (step.kind !== 'source') continue;
    const value = await store.getCursor(pipeline.name, sourceStateCursor(stepId));
    if (value !== undefined) state.push([stepId, value]);
  }
  // From entries, so a step named `__proto__` keeps its state as an own key.
  return Object.fromEntries(state);
}

/**
 * The cursors a successful run leaves: each source step's new state.
 *
 * @example
 * ```ts
 * await store.saveCursors(report.pipeline, report.runId, sourceStateCursors(report));
 * ```
 */
export function sourceStateCursors(report: RunReport): Record<string, string> {
  return Object.fromEntries(
    Object.entries(report.watermarks ?? {}).map(([stepId, value]) => [
      sourceStateCursor(stepId),
      value,
    ]),
  );
}
