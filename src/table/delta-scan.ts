import { TableError } from '../core/errors.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
import type { Field } from '../core/types.js';
import type { AddAction } from './delta-actions.js';
import { deltaFilePath } from './delta-file-path.js';
import type { DeltaSnapshot } from './delta-log.js';
import { missingDataFiles, missingFilesError } from './delta-missing-files.js';

export { deltaFilePath } from './delta-file-path.js';

/**
 * Makes the data files of a snapshot (all, or the ones given) readable by DuckDB: for a local
 * table, checks they exist; for a remote one, the files not cached yet are downloaded into the
 * cache. Files that are gone (a vacuum removed the version's files) fail with
 * `TABLE_UNREADABLE` naming the version and the oldest readable one.
 * Call it before {@link deltaScanSQL} or {@link deltaFilesScanSQL} on a remote table, after data
 * skipping so that only the files that can match are downloaded.
 *
 * @example
 * ```ts
 * const pruned = await skipFiles(connection, await loadDeltaSnapshot(connection, 's3://lake/orders'), 'id = 7');
 * await fetchDeltaFiles(pruned);
 * await connection.rows(`SELECT * FROM ${deltaScanSQL(pruned)} WHERE id = 7`);
 * ```
 */
export async function fetchDeltaFiles(
  snapshot: DeltaSnapshot,
  files: readonly AddAction[] = snapshot.files,
): Promise<void> {
  if (files.length === 0) return;
  if (!snapshot.store.remote) {
    const missing = await missingDataFiles(snapshot, files);
    if (missing.length > 0) throw await missingFilesError(snapshot, missing);
    return;
  }
  try {
    await snapshot.store.fetch(files.map((f) => ({ path: f.path, size: f.size })));
  } catch (cause) {
    const missing = await missingDataFiles(snapshot, files).catch(() => []);
    if (missing.length > 0) throw await missingFilesError(snapshot, missing, cause);
    throw cause;
  }
}

/**
 * A SQL relation reading a snapshot's active files through DuckDB, with partition columns filled
 * from each file's `partitionValues` (they are not stored in the files) and every column cast to
 * its declared type, in schema order. A remote table's files must have been fetched first
 * ({@link fetchDeltaFiles}).
 *
 * @example
 * ```ts
 * const rows = await connection.rows(`SELECT count(*) FROM ${deltaScanSQL(snapshot)}`);
 * ```
 */
export function deltaScanSQL(snapshot: DeltaSnapshot): string {
  const partitions = new Set(snapshot.partitionColumns);
  const select = snapshot.fields
    .map(
      (f) =>
        `CAST(${quoteIdentifier(f.name)} AS ${toDuckDBType(f.type)}) AS ${quoteIdentifier(f.name)}`,
    )
    .join(', ');
  if (snapshot.files.length === 0) {
    return `(SELECT ${snapshot.fields.map((f) => `CAST(NULL AS ${toDuckDBType(f.type)}) AS ${quoteIdentifier(f.name)}`).join(', ')} WHERE false)`;
  }
  const paths = localPaths(snapshot, snapshot.files);
  const groups = new Map<string, string[]>();
  snapshot.files.forEach((file, i) => {
    const key = JSON.stringify(
      snapshot.partitionColumns.map((c) => file.partitionValues[c] ?? null),
    );
    groups.set(key, [...(groups.get(key) ?? []), paths[i] as string]);
  });
  const parts = [...groups.entries()].map(([key, files]) => {
    const values = JSON.parse(key) as (string | null)[];
    const constants = snapshot.partitionColumns.map((column, i) => {
      const field = snapshot.fields.find((f) => f.name === column);
      const type = field === undefined ? 'VARCHAR' : toDuckDBType(field.type);
      const value = values[i];
      return `CAST(${value === null || value === undefined ? 'NULL' : quoteLiteral(value)} AS ${type}) AS ${quoteIdentifier(column)}`;
    });
    const dataFields = snapshot.fields.filter((f) => !partitions.has(f.name));
    return `SELECT ${[...dataFields.map((f) => quoteIdentifier(f.name)), ...constants].join(', ')} FROM ${withAllColumns(`read_parquet([${files.map(quoteLiteral).join(', ')}], union_by_name = true, hive_partitioning = false)`, dataFields)}`;
  });
  return `(SELECT ${select} FROM (${parts.join(' UNION ALL BY NAME ')}))`;
}

/**
 * Files written before a column was added (schema evolution) lack it: a union by name with an
 * empty relation holding every column gives those rows NULL instead of failing.
 */
function withAllColumns(scan: string, fields: readonly Field[]): string {
  if (fields.length === 0) return scan;
  const empty = fields
    .map((f) => `CAST(NULL AS ${toDuckDBType(f.type)}) AS ${quoteIdentifier(f.name)}`)
    .join(', ');
  return `(SELECT * FROM ${scan} UNION ALL BY NAME SELECT ${empty} WHERE false)`;
}

/** Where DuckDB reads each file; a remote table's files must have been fetched. */
function localPaths(snapshot: DeltaSnapshot, files: readonly AddAction[]): string[] {
  const { store } = snapshot;
  const missing = store.remote ? files.filter((f) => !store.hasLocalCopy(f.path)) : [];
  if (missing.length > 0) {
    throw new TableError(
      snapshot.root,
      `${missing.length} data file(s) have no local copy yet, e.g. ${missing[0]?.path ?? ''}`,
      { hint: 'await fetchDeltaFiles(snapshot) before building the scan of a remote table' },
    );
  }
  return files.map((f) => deltaFilePath(store.localRoot, f.path));
}

/**
 * A SQL relation over some files of a snapshot, partition columns filled; with `withPath`, each
 * row also carries its file's absolute local path as `__sluice_path` (to find the files a change
 * touches). A remote table's files must have been fetched first ({@link fetchDeltaFiles}).
 *
 * @example
 * ```ts
 * const rows = await connection.rows(`SELECT DISTINCT __sluice_path FROM ${deltaFilesScanSQL(snapshot, snapshot.files, true)} WHERE id = 7`);
 * ```
 */
export function deltaFilesScanSQL(
  snapshot: DeltaSnapshot,
  files: readonly AddAction[],
  withPath: boolean,
): string {
  const partitions = new Set(snapshot.partitionColumns);
  const dataFields = snapshot.fields.filter((f) => !partitions.has(f.name));
  const data = dataFields.map((f) => quoteIdentifier(f.name));
  if (files.length === 0) {
    return `(SELECT ${snapshot.fields.map((f) => `CAST(NULL AS ${toDuckDBType(f.type)}) AS ${quoteIdentifier(f.name)}`).join(', ')}${withPath ? ', CAST(NULL AS VARCHAR) AS __sluice_path' : ''} WHERE false)`;
  }
  const paths = localPaths(snapshot, files);
  const parts = files.map((file, i) => {
    const constants = snapshot.partitionColumns.map((column) => {
      const field = snapshot.fields.find((f) => f.name === column);
      const value = file.partitionValues[column];
      return `CAST(${value === null || value === undefined ? 'NULL' : quoteLiteral(value)} AS ${field === undefined ? 'VARCHAR' : toDuckDBType(field.type)}) AS ${quoteIdentifier(column)}`;
    });
    const path = paths[i] as string;
    return `SELECT ${[...data, ...constants, ...(withPath ? [`${quoteLiteral(path)} AS __sluice_path`] : [])].join(', ')} FROM ${withAllColumns(`read_parquet(${quoteLiteral(path)}, hive_partitioning = false)`, dataFields)}`;
  });
  return `(${parts.join(' UNION ALL BY NAME ')})`;
}
