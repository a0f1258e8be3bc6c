import type { DeltaAction } from './delta-actions.js';
import type { TableStore } from './table-store.js';

/**
 * The path of commit `version` in a table: `_delta_log/<version, 20 digits>.json`.
 *
 * @example
 * ```ts
 * commitPath(5); // '_delta_log/00000000000000000005.json'
 * ```
 */
export function commitPath(version: number): string {
  return `_delta_log/${String(version).padStart(20, '0')}.json`;
}

/**
 * Writes commit `version` of a table atomically and exclusively, through the store's
 * create-if-absent: on local disk a temporary file under `_delta_log/.tmp/` hard-linked to its
 * name, on S3 a `PutObject` with `If-None-Match: *`. Of two writers racing for one version
 * exactly one wins, and a writer killed at any point leaves either no commit or a complete one.
 * Returns false when another writer already committed that version.
 *
 * @example
 * ```ts
 * if (!(await writeCommit(store, 5, actions))) await retryAtNextVersion();
 * ```
 */
export async function writeCommit(
  store: TableStore,
  version: number,
  actions: readonly DeltaAction[],
): Promise<boolean> {
  return store.putIfAbsent(
    commitPath(version),
    `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`,
  );
}
