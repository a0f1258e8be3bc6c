import type { SinkPublishedContext } from '../../contracts/batch-connector.js';
import { loadDeltaSnapshotIfExists } from '../../table/delta-log.js';
import { openTableStore, resolveTableLocation } from '../../table/table-store.js';

/**
 * The Delta `txn` a sink step's commit carries: the run id as the application id, so the table
 * itself says which runs it holds, and replaying a commit of the same run writes nothing.
 *
 * @example
 * ```ts
 * deltaRunTransaction('run_20260101T000000Z_ab12cd34', 'out');
 * // { appId: 'sluice:run_20260101T000000Z_ab12cd34:out', version: 0 }
 * ```
 */
export function deltaRunTransaction(
  runId: string,
  stepId: string,
): { readonly appId: string; readonly version: number } {
  return { appId: `sluice:${runId}:${stepId}`, version: 0 };
}

/**
 * Whether the Delta table at `config.path` holds the commit of run `context.runId`'s step.
 *
 * @example
 * ```ts
 * await deltaPublishedRun({ path: 'lake/orders' }, { runId, stepId: 'out', baseDir, connection });
 * ```
 */
export async function deltaPublishedRun(
  config: { readonly path: string },
  context: SinkPublishedContext,
): Promise<boolean> {
  const store = await openTableStore(resolveTableLocation(context.baseDir, config.path));
  const snapshot = await loadDeltaSnapshotIfExists(context.connection, store);
  const { appId } = deltaRunTransaction(context.runId, context.stepId);
  return snapshot?.appVersions.has(appId) === true;
}
