import { TableWriteError } from '../core/errors.js';
import type { Field } from '../core/types.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { AddAction } from './delta-actions.js';
import type { DeltaSnapshot } from './delta-log.js';
import { loadDeltaSnapshotIfExists } from './delta-log.js';
import { deltaFilePath, deltaFilesScanSQL, fetchDeltaFiles } from './delta-scan.js';
import { skipFiles } from './delta-skipping.js';
import type { DeltaWriteResult, PreparedDeltaWrite } from './delta-writer.js';
import { alignToTable, prepareDeltaWrite, writeDelta } from './delta-writer.js';
import type { TableLocation } from './table-store.js';
import { openTableStore } from './table-store.js';

/** Options of {@link mergeDelta}. */
export interface DeltaMergeOptions {
  /** Columns that identify a row; the source must not repeat a key. */
  readonly keys: readonly string[];
  /** What to do with table rows whose key is in the source (default `update`). */
  readonly whenMatched?: 'update' | 'delete';
  /** What to do with source rows whose key is not in the table (default `insert`). */
  readonly whenNotMatched?: 'insert' | 'ignore';
  /**
   * A SQL predicate over the source: rows for which it holds delete the table row with their key
   * and are not inserted (a change stream's deletes).
   */
  readonly deleteWhen?: string;
  readonly transaction?: {
    readonly appId: string;
    readonly version: number;
  }; /** Provenance for the commit's commitInfo (see `DeltaWriteOptions.commitInfo`). */
  readonly commitInfo?: Readonly<Record<string, string>>;
}

/** What a merge did: the write result plus how much of the table it rewrote. */
export interface DeltaMergeResult extends DeltaWriteResult {
  readonly filesRewritten: number;
  readonly filesInTable: number;
}

let mergeCounter = 0;
/** Marks the source rows of a merge that delete their key (`deleteWhen`). */
const DELETE_FLAG = '__sluice_delete';

/**
 * Upserts a relation into a Delta table by key, copy-on-write: only the files holding a key of
 * the source are rewritten (found with file stats, then by reading the files' key columns); the
 * rest of the table is untouched. One commit removes the rewritten files and adds their new
 * versions plus the inserted rows.
 *
 * @example
 * ```ts
 * await mergeDelta(connection, 'lake/orders', '(SELECT * FROM changes)', fields, { keys: ['order_id'] });
 * ```
 */
export async function mergeDelta(
  connection: EngineConnection,
  table: TableLocation,
  source: string,
  fields: readonly Field[],
  options: DeltaMergeOptions,
): Promise<DeltaMergeResult> {
  const store = await openTableStore(table);
  const { root } = store;
  if (options.keys.length === 0) throw new TableWriteError(root, 'a merge needs key columns');
  const staged = quoteIdentifier(`__sluice_merge_source_${++mergeCounter}`);
  const keys = options.keys.map(quoteIdentifier);
  const deletes =
    options.deleteWhen === undefined ? 'false' : `coalesce((${options.deleteWhen}), false)`;
  await connection.run(
    `CREATE TEMP TABLE ${staged} AS SELECT ${fields.map((f) => quoteIdentifier(f.name)).join(', ')}, ${deletes} AS ${DELETE_FLAG} FROM ${source}`,
  );
  try {
    await refuseRepeatedKeys(connection, root, staged, keys);
    const snapshot = await loadDeltaSnapshotIfExists(connection, store);
    const sourceColumns = fields.map((f) => quoteIdentifier(f.name)).join(', ');
    if (snapshot === undefined) {
      const insert = `(SELECT ${sourceColumns} FROM ${staged} WHERE ${options.whenNotMatched === 'ignore' ? 'false' : `NOT ${DELETE_FLAG}`})`;
      const result = await writeDelta(connection, store, insert, fields, {
        mode: 'append',
        operation: 'MERGE',
        ...(options.transaction === undefined ? {} : { transaction: options.transaction }),
        ...(options.commitInfo === undefined ? {} : { commitInfo: options.commitInfo }),
      });
      return { ...result, filesRewritten: 0, filesInTable: 0 };
    }
    alignToTable(snapshot, staged, fields);
    const missing = options.keys.filter((k) => !snapshot.fields.some((f) => f.name === k));
    if (missing.length > 0)
      throw new TableWriteError(root, `key column(s) ${missing.join(', ')} are not in the table`);

    const candidates = await filesByStats(connection, snapshot, staged, options.keys);
    const touched = await filesWithKeys(connection, snapshot, candidates, staged, keys);
    const matches = (alias: string): string =>
      `EXISTS (SELECT 1 FROM ${staged} s WHERE ${keys.map((k) => `s.${k} IS NOT DISTINCT FROM ${alias}.${k}`).join(' AND ')})`;
    const columns = snapshot.fields.map((f) => quoteIdentifier(f.name)).join(', ');
    const kept =
      touched.length === 0
        ? undefined
        : `SELECT ${columns} FROM ${deltaFilesScanSQL(snapshot, touched, false)} t WHERE NOT ${matches('t')}`;
    const inTable = `EXISTS (SELECT 1 FROM ${deltaFilesScanSQL(snapshot, touched, false)} t WHERE ${keys.map((k) => `t.${k} IS NOT DISTINCT FROM s.${k}`).join(' AND ')})`;
    const updates =
      (options.whenMatched ?? 'update') === 'update'
        ? `SELECT ${columns} FROM ${staged} s WHERE NOT s.${DELETE_FLAG} AND ${touched.length === 0 ? 'false' : inTable}`
        : undefined;
    const inserts =
      (options.whenNotMatched ?? 'insert') === 'insert'
        ? `SELECT ${columns} FROM ${staged} s WHERE NOT s.${DELETE_FLAG} AND ${touched.length === 0 ? 'true' : `NOT ${inTable}`}`
        : undefined;
    const parts = [kept, updates, inserts].filter((p): p is string => p !== undefined);
    const merged =
      parts.length === 0
        ? `(SELECT ${columns} FROM ${staged} WHERE false)`
        : `(${parts.join(' UNION ALL ')})`;
    const result = await writeDelta(connection, store, merged, snapshot.fields, {
      mode: 'append',
      operation: 'MERGE',
      replaceFiles: touched,
      ...(options.transaction === undefined ? {} : { transaction: options.transaction }),
      ...(options.commitInfo === undefined ? {} : { commitInfo: options.commitInfo }),
    });
    return {
      ...result,
      filesRewritten: result.skipped ? 0 : touched.length,
      filesInTable: snapshot.files.length,
    };
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${staged}`);
  }
}

/** Options of {@link prepareMergeReplace}. */
export interface DeltaMergeReplaceOptions {
  /** Columns that identify a row; the source must not repeat a key. */
  readonly keys: readonly string[];
  /** A SQL predicate over the source: rows for which it holds are left out. */
  readonly deleteWhen?: string;
  /** Partition columns of a new table (an existing table keeps its own). */
  readonly partitionBy?: readonly string[];
  readonly transaction?: {
    readonly appId: string;
    readonly version: number;
  }; /** Provenance for the commit's commitInfo (see `DeltaWriteOptions.commitInfo`). */
  readonly commitInfo?: Readonly<Record<string, string>>;
}

/**
 * A merge that starts over (a full refresh): the table's rows become the source's, without the
 * rows `deleteWhen` marks, in one overwrite commit, so readers see the old rows or the new ones
 * and never an empty table. The source is checked as {@link mergeDelta} checks it (no key twice).
 * The data files are written now; nothing is visible until `commit()`.
 *
 * @example
 * ```ts
 * const prepared = await prepareMergeReplace(connection, 'lake/orders', '"changes"', fields, { keys: ['order_id'] });
 * await prepared.commit();
 * ```
 */
export async function prepareMergeReplace(
  connection: EngineConnection,
  table: TableLocation,
  source: string,
  fields: readonly Field[],
  options: DeltaMergeReplaceOptions,
): Promise<PreparedDeltaWrite> {
  const store = await openTableStore(table);
  if (options.keys.length === 0) throw new TableWriteError(store.root, 'a merge needs key columns');
  const staged = quoteIdentifier(`__sluice_merge_source_${++mergeCounter}`);
  const columns = fields.map((f) => quoteIdentifier(f.name)).join(', ');
  const deletes =
    options.deleteWhen === undefined ? 'false' : `coalesce((${options.deleteWhen}), false)`;
  await connection.run(
    `CREATE TEMP TABLE ${staged} AS SELECT ${columns}, ${deletes} AS ${DELETE_FLAG} FROM ${source}`,
  );
  try {
    await refuseRepeatedKeys(connection, store.root, staged, options.keys.map(quoteIdentifier));
    return await prepareDeltaWrite(
      connection,
      store,
      `(SELECT ${columns} FROM ${staged} WHERE NOT ${DELETE_FLAG})`,
      fields,
      {
        mode: 'overwrite',
        ...(options.partitionBy === undefined ? {} : { partitionBy: options.partitionBy }),
        ...(options.transaction === undefined ? {} : { transaction: options.transaction }),
        ...(options.commitInfo === undefined ? {} : { commitInfo: options.commitInfo }),
      },
    );
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${staged}`);
  }
}

/** Fails when the staged merge source holds a key more than once. */
async function refuseRepeatedKeys(
  connection: EngineConnection,
  root: string,
  staged: string,
  keys: readonly string[],
): Promise<void> {
  const [duplicate] = await connection.rows(
    `SELECT ${keys.join(', ')} FROM ${staged} GROUP BY ALL HAVING count(*) > 1 LIMIT 1`,
  );
  if (duplicate !== undefined) {
    throw new TableWriteError(
      root,
      `the merge source holds key ${JSON.stringify(duplicate, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))} more than once`,
      {
        hint: 'deduplicate the source by its key before merging',
      },
    );
  }
}

/**
 * Files whose partition values and stats say they may hold a source key: data skipping with
 * `key BETWEEN <source min> AND <source max>` per key column (a key the source holds NULL for is
 * not bounded, since NULL keys match each other).
 */
async function filesByStats(
  connection: EngineConnection,
  snapshot: DeltaSnapshot,
  staged: string,
  keys: readonly string[],
): Promise<readonly AddAction[]> {
  const [range] = await connection.rows(
    `SELECT count(*) AS n, ${keys
      .map((k, i) => {
        const key = quoteIdentifier(k);
        return `min(${key})::VARCHAR AS low${i}, max(${key})::VARCHAR AS high${i}, count(*) FILTER (WHERE ${key} IS NULL) AS nulls${i}`;
      })
      .join(', ')} FROM ${staged}`,
  );
  if (range === undefined || Number(range['n']) === 0) return [];
  const bounds = keys.flatMap((k, i) => {
    const low = range[`low${i}`];
    const high = range[`high${i}`];
    const field = snapshot.fields.find((f) => f.name === k);
    if (field === undefined || low === null || high === null || Number(range[`nulls${i}`]) > 0)
      return [];
    const typed = (v: unknown): string =>
      `CAST(${quoteLiteral(String(v))} AS ${toDuckDBType(field.type)})`;
    return [`${quoteIdentifier(k)} BETWEEN ${typed(low)} AND ${typed(high)}`];
  });
  if (bounds.length === 0) return snapshot.files;
  return (await skipFiles(connection, snapshot, bounds.join(' AND '))).files;
}

/** The candidate files that really hold a source key, found by reading their key columns. */
async function filesWithKeys(
  connection: EngineConnection,
  snapshot: DeltaSnapshot,
  candidates: readonly AddAction[],
  staged: string,
  keys: readonly string[],
): Promise<AddAction[]> {
  if (candidates.length === 0) return [];
  await fetchDeltaFiles(snapshot, candidates);
  const rows = await connection.rows(
    `SELECT DISTINCT __sluice_path FROM ${deltaFilesScanSQL(snapshot, candidates, true)} t
     WHERE EXISTS (SELECT 1 FROM ${staged} s WHERE ${keys.map((k) => `s.${k} IS NOT DISTINCT FROM t.${k}`).join(' AND ')})`,
  );
  const touched = new Set(rows.map((r) => String(r['__sluice_path'])));
  return candidates.filter((f) => touched.has(deltaFilePath(snapshot.store.localRoot, f.path)));
}
