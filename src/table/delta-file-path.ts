import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The absolute local path of a file of a table from its (decoded) log path, given the folder
 * holding the table's files (`snapshot.store.localRoot`).
 *
 * @example
 * ```ts
 * deltaFilePath('/lake/orders', 'day=1/part-0.parquet'); // '/lake/orders/day=1/part-0.parquet'
 * ```
 */
export function deltaFilePath(root: string, path: string): string {
  if (path.startsWith('file://')) return fileURLToPath(path);
  return isAbsolute(path) ? path : join(root, path);
}
