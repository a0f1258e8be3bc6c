import type { WarehouseEngine } from '../core/connector-spec.js';
import type { Logger } from '../core/logger.js';
import type { Field } from '../core/types.js';
import type {
  IncrementalModelOptions,
  Materialization,
  SnapshotOptions,
  Warehouse,
} from '../core/warehouse-options.js';
import type { StagedOutput } from './staged-output.js';
import type { OpenShared } from './shared-resource.js';

/**
 * A `sql` step to run in a warehouse: its compiled query and what to make of it.
 *
 * @example
 * ```ts
 * const model: WarehouseModel = { stepId: 'dim_users', warehouse, table: 'analytics.dim_users',
 *   query: 'SELECT * FROM "raw"."users"', materialize: 'table', fullRefresh: false, startedAt: new Date() };
 * ```
 */
export interface WarehouseModel {
  readonly stepId: string;
  readonly warehouse: Warehouse;
  /** The table or view written, as the user spelled it (`schema.name`). */
  readonly table: string;
  /** The query in the warehouse's dialect, refs replaced by what they read during the run. */
  readonly query: string;
  /**
   * The query with refs naming the tables as they are once the run is published, which is what
   * a view must say (the same as `query` where the run's changes are in place, as on PostgreSQL).
   */
  readonly publishedQuery: string;
  readonly materialize: Materialization;
  /** With `incremental`: the options, `append` when the step gave none. */
  readonly incremental?: IncrementalModelOptions;
  readonly snapshot?: SnapshotOptions;
  /** Rebuild an incremental model from scratch (snapshots keep their history regardless). */
  readonly fullRefresh: boolean;
  /** The run's start: the time snapshots record changes at. */
  readonly startedAt: Date;
}

/** What a warehouse model's run gets besides the model. */
export interface WarehouseModelContext {
  readonly runId: string;
  readonly shared: OpenShared;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** What a warehouse reports once a model ran (its changes staged, not yet visible). */
export interface WarehouseModelResult {
  /** Rows the run put into the table (all of them for a rebuild); undefined for views. */
  readonly rowsWritten: number | undefined;
  /** The model's columns, in logical types. */
  readonly fields: readonly Field[];
  /** Publishing makes the run's changes visible; its `warehouseRelation` reads them before that. */
  readonly staged: StagedOutput;
}

/**
 * Runs `sql` steps in one kind of warehouse: materialises views, tables, incremental tables and
 * snapshots, atomically with the rest of the run.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(postgresWarehouse);
 * ```
 */
export interface WarehouseAdapter {
  readonly role: 'warehouse';
  readonly name: WarehouseEngine;
  /** A string as a literal of this warehouse's SQL. */
  quoteLiteral(text: string): string;
  /** A table name (`schema.name`) as a quoted relation of this warehouse's SQL. */
  quoteTable(name: string): string;
  run(model: WarehouseModel, context: WarehouseModelContext): Promise<WarehouseModelResult>;
}
