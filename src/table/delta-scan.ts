import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
import type { Field } from '../core/types.js';
import type { AddAction } from './delta-actions.js';
import type { DeltaSnapshot } from './delta-log.js';

/**
 * A SQL relation reading a snapshot's active files through DuckDB, with partition columns filled
 * from each file's `partitionValues` (they are not stored in the files) and every column cast to
 * its declared type, in schema order.
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
  const groups = new Map<string, string[]>();
  for (const file of snapshot.files) {
    const key = JSON.stringify(
      snapshot.partitionColumns.map((c) => file.partitionValues[c] ?? null),
    );
    groups.set(key, [...(groups.get(key) ?? []), deltaFilePath(snapshot.root, file.path)]);
  }
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

/** The absolute path of a file of a table from its (decoded) log path. */
export function deltaFilePath(root: string, path: string): string {
  if (path.startsWith('file://')) return fileURLToPath(path);
  return isAbsolute(path) ? path : join(root, path);
}

/**
 * A SQL relation over some files of a snapshot, partition columns filled; with `withPath`, each
 * row also carries its file's absolute path as `__sluice_path` (to find the files a change touches).
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
  const parts = files.map((file) => {
    const constants = snapshot.partitionColumns.map((column) => {
      const field = snapshot.fields.find((f) => f.name === column);
      const value = file.partitionValues[column];
      return `CAST(${value === null || value === undefined ? 'NULL' : quoteLiteral(value)} AS ${field === undefined ? 'VARCHAR' : toDuckDBType(field.type)}) AS ${quoteIdentifier(column)}`;
    });
    const path = deltaFilePath(snapshot.root, file.path);
    return `SELECT ${[...data, ...constants, ...(withPath ? [`${quoteLiteral(path)} AS __sluice_path`] : [])].join(', ')} FROM ${withAllColumns(`read_parquet(${quoteLiteral(path)}, hive_partitioning = false)`, dataFields)}`;
  });
  return `(${parts.join(' UNION ALL BY NAME ')})`;
}
