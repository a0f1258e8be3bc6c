import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
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
    groups.set(key, [...(groups.get(key) ?? []), filePath(snapshot.root, file.path)]);
  }
  const parts = [...groups.entries()].map(([key, files]) => {
    const values = JSON.parse(key) as (string | null)[];
    const constants = snapshot.partitionColumns.map((column, i) => {
      const field = snapshot.fields.find((f) => f.name === column);
      const type = field === undefined ? 'VARCHAR' : toDuckDBType(field.type);
      const value = values[i];
      return `CAST(${value === null || value === undefined ? 'NULL' : quoteLiteral(value)} AS ${type}) AS ${quoteIdentifier(column)}`;
    });
    const dataColumns = snapshot.fields
      .filter((f) => !partitions.has(f.name))
      .map((f) => quoteIdentifier(f.name));
    return `SELECT ${[...dataColumns, ...constants].join(', ')} FROM read_parquet([${files.map(quoteLiteral).join(', ')}], union_by_name = true, hive_partitioning = false)`;
  });
  return `(SELECT ${select} FROM (${parts.join(' UNION ALL BY NAME ')}))`;
}

function filePath(root: string, path: string): string {
  if (path.startsWith('file://')) return fileURLToPath(path);
  return isAbsolute(path) ? path : join(root, path);
}
