import { EngineError, TableWriteError } from '../core/errors.js';
import type { Field } from '../core/types.js';
import { quoteIdentifier, toDuckDBType } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { AddAction } from './delta-actions.js';
import type { DeltaSnapshot } from './delta-log.js';
import { loadDeltaSnapshot, loadDeltaSnapshotIfExists } from './delta-log.js';
import { deltaFilePath, deltaFilesScanSQL, fetchDeltaFiles } from './delta-scan.js';
import { skipFiles } from './delta-skipping.js';
import type { DeltaWriteOptions, DeltaWriteResult } from './delta-writer.js';
import { alignToTable, writeDelta } from './delta-writer.js';
import type { TableLocation } from './table-store.js';
import { openTableStore, tableName } from './table-store.js';

/** What a delete or replace-where did: the write result plus the rows it removed. */
export interface DeltaPredicateResult extends DeltaWriteResult {
  readonly rowsRemoved: number;
  readonly filesRewritten: number;
}

/**
 * Deletes the rows matching a SQL predicate, copy-on-write: only files holding a matching row are
 * rewritten without those rows, in one commit. Rows for which the predicate is NULL are kept.
 *
 * @example
 * ```ts
 * await deleteWhereDelta(connection, 'lake/orders', "country = 'XX'");
 * ```
 */
export async function deleteWhereDelta(
  connection: EngineConnection,
  table: TableLocation,
  predicate: string,
): Promise<DeltaPredicateResult> {
  const snapshot = await loadDeltaSnapshot(connection, table);
  return rewriteWhere(connection, snapshot, predicate, undefined, 'DELETE');
}

/**
 * Replaces the rows matching a SQL predicate with the rows of a relation (Delta's `replaceWhere`):
 * files holding matching rows are rewritten without them and the new rows added, in one commit.
 * Every new row must match the predicate, so the write cannot change rows outside it; a table
 * that does not exist yet is created.
 *
 * @example
 * ```ts
 * await replaceWhereDelta(connection, 'lake/orders', '(SELECT * FROM march)', fields,
 *   "order_date >= DATE '2026-03-01' AND order_date < DATE '2026-04-01'");
 * ```
 */
export async function replaceWhereDelta(
  connection: EngineConnection,
  table: TableLocation,
  source: string,
  fields: readonly Field[],
  predicate: string,
  options: Pick<DeltaWriteOptions, 'transaction' | 'commitInfo'> = {},
): Promise<DeltaPredicateResult> {
  const store = await openTableStore(table);
  await checkRowsInside(connection, store, source, predicate);
  const snapshot = await loadDeltaSnapshotIfExists(connection, store);
  if (snapshot === undefined) {
    const result = await writeDelta(connection, store, source, fields, {
      mode: 'append',
      operation: 'WRITE',
      ...options,
    });
    return { ...result, rowsRemoved: 0, filesRewritten: 0 };
  }
  const data = alignToTable(snapshot, source, fields);
  const given = new Set(data.fields.map((f) => f.name));
  const aligned = `(SELECT ${snapshot.fields
    .map((f) =>
      given.has(f.name)
        ? quoteIdentifier(f.name)
        : `CAST(NULL AS ${toDuckDBType(f.type)}) AS ${quoteIdentifier(f.name)}`,
    )
    .join(', ')} FROM ${data.relation})`;
  return rewriteWhere(connection, snapshot, predicate, aligned, 'WRITE', options);
}

/**
 * Throws a {@link TableError} when some rows of the relation do not match a replace-where
 * predicate (or it cannot be evaluated on them).
 *
 * @example
 * ```ts
 * await checkRowsInside(connection, 'lake/events', '(SELECT * FROM today)', 'day = 3');
 * ```
 */
export async function checkRowsInside(
  connection: EngineConnection,
  table: TableLocation,
  source: string,
  predicate: string,
): Promise<void> {
  const root = tableName(table);
  const outside = await withPredicate(root, predicate, () =>
    connection.rows(`SELECT count(*) AS n FROM ${source} WHERE (${predicate}) IS NOT TRUE`),
  );
  const count = Number(outside[0]?.['n'] ?? 0);
  if (count > 0) {
    throw new TableWriteError(
      root,
      `${count} row(s) written do not match the predicate ${predicate}`,
      {
        hint: 'a replace-where may only write rows inside its predicate; filter the input or widen the predicate',
      },
    );
  }
}

async function rewriteWhere(
  connection: EngineConnection,
  snapshot: DeltaSnapshot,
  predicate: string,
  source: string | undefined,
  operation: string,
  options: Pick<DeltaWriteOptions, 'transaction' | 'commitInfo'> = {},
): Promise<DeltaPredicateResult> {
  const touched = await filesMatching(connection, snapshot, predicate);
  const columns = snapshot.fields.map((f) => quoteIdentifier(f.name)).join(', ');
  const scan = deltaFilesScanSQL(snapshot, touched, false);
  const [removed] = await connection.rows(
    `SELECT count(*) AS n FROM ${scan} WHERE (${predicate}) IS TRUE`,
  );
  const parts = [
    `SELECT ${columns} FROM ${scan} WHERE (${predicate}) IS NOT TRUE`,
    ...(source === undefined ? [] : [`SELECT ${columns} FROM ${source}`]),
  ];
  if (touched.length === 0 && source === undefined) {
    return {
      version: snapshot.version,
      skipped: true,
      filesAdded: 0,
      filesRemoved: 0,
      rowsWritten: 0,
      rowsRemoved: 0,
      filesRewritten: 0,
    };
  }
  const result = await writeDelta(
    connection,
    snapshot.store,
    `(${parts.join(' UNION ALL ')})`,
    snapshot.fields,
    { mode: 'append', operation, replaceFiles: touched, ...options },
  );
  return { ...result, rowsRemoved: Number(removed?.['n'] ?? 0), filesRewritten: touched.length };
}

/** The active files holding at least one row for which the predicate is true. */
async function filesMatching(
  connection: EngineConnection,
  snapshot: DeltaSnapshot,
  predicate: string,
): Promise<AddAction[]> {
  const candidates = (await skipFiles(connection, snapshot, predicate)).files;
  if (candidates.length === 0) return [];
  await fetchDeltaFiles(snapshot, candidates);
  const rows = await withPredicate(snapshot.root, predicate, () =>
    connection.rows(
      `SELECT DISTINCT __sluice_path FROM ${deltaFilesScanSQL(snapshot, candidates, true)} WHERE (${predicate}) IS TRUE`,
    ),
  );
  const paths = new Set(rows.map((r) => String(r['__sluice_path'])));
  return candidates.filter((f) => paths.has(deltaFilePath(snapshot.store.localRoot, f.path)));
}

/** Runs a query using the predicate; a query error becomes an error about the predicate. */
async function withPredicate<T>(
  root: string,
  predicate: string,
  query: () => Promise<T>,
): Promise<T> {
  try {
    return await query();
  } catch (error) {
    if (!(error instanceof EngineError)) throw error;
    throw new TableWriteError(
      root,
      `the predicate ${predicate} cannot be evaluated: ${error.message}`,
      {
        hint: 'write a SQL boolean expression over the table columns, e.g. "country = \'DE\'"',
      },
    );
  }
}
