import type { WarehouseEngine } from './connector-spec.js';

/**
 * A warehouse a `sql` step runs in instead of DuckDB. Steps with the same engine and URL share
 * one connection and, on PostgreSQL, one transaction per run.
 *
 * @example
 * ```ts
 * const warehouse: Warehouse = { engine: 'postgres', url: 'postgres://etl@127.0.0.1/analytics' };
 * ```
 */
export interface Warehouse {
  readonly engine: WarehouseEngine;
  readonly url: string;
}

/**
 * How an `incremental` warehouse model adds a run's rows to its table. The first run (and a
 * `--full-refresh` run) builds the whole table instead.
 *
 * - `append`: inserts the rows.
 * - `merge`: upserts by `uniqueKey`; the query must return each key at most once.
 * - `delete_insert`: deletes every table row whose `uniqueKey` appears in the query's rows,
 *   then inserts all of them (keys need not be unique: all rows of a key are replaced).
 * - `insert_overwrite`: replaces, for each `partitionBy` value the query returns, all of the
 *   table's rows with that value.
 */
export interface IncrementalModelOptions {
  readonly strategy: 'append' | 'merge' | 'delete_insert' | 'insert_overwrite';
  readonly uniqueKey?: readonly string[];
  /** For `insert_overwrite`: the column whose values are the partitions replaced. */
  readonly partitionBy?: string;
  /**
   * A column that grows with new rows: when set, the query's rows are kept only when this
   * column is greater than its highest value in the table (dbt's `is_incremental()` filter).
   */
  readonly cursor?: string;
}

/**
 * A warehouse `snapshot`: keeps every version of the query's rows, with validity columns
 * `sluice_valid_from` / `sluice_valid_to` (NULL while current). See docs/snapshots.md.
 */
export interface SnapshotOptions {
  readonly uniqueKey: readonly string[];
  /** `timestamp`: a row changed when `updatedAt` grew; `check`: when a `checkColumns` value differs. */
  readonly strategy: 'timestamp' | 'check';
  readonly updatedAt?: string;
  /** Columns compared by the `check` strategy; every non-key column when omitted. */
  readonly checkColumns?: readonly string[];
  /**
   * Keys that disappear from the query: `ignore` them (default), `invalidate` their current
   * row, or add a `new_record` marking them deleted (`sluice_is_deleted`).
   */
  readonly hardDeletes?: 'ignore' | 'invalidate' | 'new_record';
}

/**
 * How a SQL step's result is kept. In DuckDB: `view` or `table`. In a warehouse (`warehouse`
 * set) also `incremental` (only new rows are added to the table each run) and `snapshot` (a
 * type-2 history of the query's rows).
 */
export type Materialization = 'view' | 'table' | 'incremental' | 'snapshot';
