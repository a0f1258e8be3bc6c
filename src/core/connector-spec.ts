import type { z } from 'zod';

/**
 * What the planner needs to know about a connector: its name, role and config schema.
 * The runtime half (how it reads or writes) lives with the engine; keeping this half pure
 * lets `sluice check` validate every step without opening a database.
 *
 * @example
 * ```ts
 * const spec: ConnectorSpec = { name: 'csv', role: 'source', summary: 'CSV files', config: csvConfig };
 * ```
 */
export interface ConnectorSpec<Config = unknown> {
  /** The name steps use: `source.csv(...)` has connector `csv`. */
  readonly name: string;
  readonly role: 'source' | 'sink';
  /** One line for docs and `--help`. */
  readonly summary: string;
  /** Validates and defaults the step's config. Unknown keys are errors. */
  readonly config: z.ZodType<Config>;
  /**
   * For a sink that writes a warehouse table: which warehouse and table, so that a `sql` step
   * running in that warehouse can read the table with `ref('<sink step>')` after the sink.
   */
  readonly warehouseTable?: (config: Config) => WarehouseTable;
  /**
   * For a source that creates datasets besides its own (the child tables of nested arrays):
   * their suffixes for a validated config, known before running. Step `orders` with suffix
   * `items` creates `orders__items`, which other steps read with `ref('orders__items')`; the
   * planner makes them depend on `orders`. The source must create every one of them in `read`
   * and report it in `SourceReadResult.children`.
   *
   * @example
   * ```ts
   * childDatasets: (config) => config.childTables.map((path) => path.replaceAll('.', '__')),
   * ```
   */
  readonly childDatasets?: (config: Config) => readonly string[];
}

/**
 * A table in a warehouse that `sql` steps can run in.
 *
 * @example
 * ```ts
 * const table: WarehouseTable = { engine: 'postgres', url: 'postgres://127.0.0.1/shop', table: 'raw.users' };
 * ```
 */
export interface WarehouseTable {
  readonly engine: WarehouseEngine;
  /** The connection URL; steps with the same engine and URL share one warehouse session per run. */
  readonly url: string;
  /** The table's name as the warehouse spells it (`schema.table` or `database.table`). */
  readonly table: string;
}

/** The warehouses a `sql` step can be pushed down to. */
export type WarehouseEngine = 'postgres' | 'clickhouse';
