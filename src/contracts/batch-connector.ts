import type { ConnectorSpec } from '../core/connector-spec.js';
import type { Logger } from '../core/logger.js';
import type { Field } from '../core/types.js';
import type { EngineConnection } from './engine-connection.js';
import type { IncrementalDefaults } from './incremental-defaults.js';
import type { QuarantineStore } from './quarantine-store.js';
import type { OpenShared } from './shared-resource.js';
import type { StagedOutput } from './staged-output.js';
import type { WarehouseAdapter } from './warehouse.js';

export type { StagedOutput } from './staged-output.js';

/** What a source's `read` gets from the executor. */
export interface SourceReadContext {
  readonly stepId: string;
  readonly runId: string;
  /** Relative paths in the config resolve against this folder (the pipeline file's). */
  readonly baseDir: string;
  /** The run's state folder (`.sluice` by default), shared with `sluice serve` (webhook inboxes). */
  readonly stateDir: string;
  /** A connection of the step's own; the dataset must be created on it. */
  readonly connection: EngineConnection;
  /** The run's start, used for the `_extracted_at` metadata column. */
  readonly extractedAt: Date;
  readonly quarantine: QuarantineStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /**
   * Set when the step is incremental: its cursor column, the watermark (the highest cursor
   * value of the last successful run, as text; undefined on the first run) and the lag window.
   * A source that sets `readsIncrementally` reads the rows whose cursor is at or past the
   * watermark minus the lag window (inclusive). Whatever it reads, the engine then drops the
   * rows an earlier run read (see engine/incremental.ts).
   */
  readonly incremental?: {
    readonly cursor: string;
    readonly watermark: string | undefined;
    readonly lagWindow?: string | number;
    /**
     * Applies the engine's filter to the step's dataset now and returns how many rows it
     * dropped, for a source whose other datasets derive from it (child tables). The source still
     * reports every row it read as `rowsRead`; the engine subtracts the dropped ones and does not
     * filter again.
     */
    readonly keepNewRows?: () => Promise<number>;
  };
  /**
   * The position this source returned as `state` in the last successful run (a replication
   * LSN, a stream offset), undefined on the first run or when runs keep no state.
   */
  readonly state?: string;
}

/** What a source reports once its dataset exists. */
export interface SourceReadResult {
  /** Records seen in the input, including quarantined ones. */
  readonly rowsRead: number;
  readonly rowsQuarantined: number;
  /**
   * Records in the input counted independently of the parser that typed them (a Parquet
   * footer's row count, an Avro container's block counts, a text file's records found by a
   * scan of its own). When set, the engine fails the step with `ROWS_UNACCOUNTED` unless
   * `rowsRead` equals it, so a parser that swallows records is caught.
   */
  readonly recordsInInput?: number;
  /** The columns of the dataset the source created. */
  readonly fields: readonly Field[];
  /** What was read (file paths, tables), for the report and lineage. */
  readonly inputs: readonly string[];
  /** Differences between the declared schema and the data that the schema policy accepted. */
  readonly schemaChanges?: readonly string[];
  /** Values set to null under the `discard_column` policy. */
  readonly valuesDiscarded?: number;
  /**
   * The source's position after this read, kept only if the run succeeds and handed back as
   * `context.state` next time (under the orchestrator, in the run store with the run's success).
   */
  readonly state?: string;
  /**
   * Datasets the source created besides its own, each named `<stepId>__<suffix>` for a suffix
   * of the connector's `childDatasets(config)` (every declared one, even when empty): their
   * columns and rows. Steps reading them with `ref('<stepId>__<suffix>')` get these as their
   * input's fields and row count.
   */
  readonly children?: readonly {
    readonly name: string;
    readonly fields: readonly Field[];
    readonly rowsRead: number;
  }[];
}

/**
 * A source connector of the batch engine.
 *
 * `read` is called once per run with validated config. It creates a view or table named after
 * the step (`"<stepId>"`) holding the records that fit the declared schema, and sends the rest to
 * the quarantine store. Errors it throws fail the step; nothing is retried by the engine.
 *
 * @example
 * ```ts
 * const numbers = defineSource({
 *   name: 'numbers', summary: 'n rows', config: z.strictObject({ n: z.int() }),
 *   async read(config, ctx) {
 *     await ctx.connection.run(`CREATE VIEW "${ctx.stepId}" AS SELECT range AS n FROM range(${config.n})`);
 *     return { rowsRead: config.n, rowsQuarantined: 0, fields: [{ name: 'n', type: { kind: 'int64' }, nullable: false }], inputs: [] };
 *   },
 * });
 * ```
 */
export interface BatchSourceConnector<Config = unknown> extends ConnectorSpec<Config> {
  readonly role: 'source';
  read(config: Config, context: SourceReadContext): Promise<SourceReadResult>;
  /**
   * The version of what `read` would read now (files' sizes and modification times, a table's
   * version), or undefined when it cannot be known cheaply. Caching uses it: a step whose
   * inputs have the same fingerprint as before can reuse its earlier output. Sources without it
   * are never cached.
   */
  fingerprint?(config: Config, context: SourceFingerprintContext): Promise<string | undefined>;
  /**
   * True (for every config, or for the configs the function accepts) when `read` applies
   * `context.incremental` itself (a database source pushing the cursor predicate down, an API
   * taking the watermark as a parameter). Either way the engine drops the rows an earlier run
   * read and takes the new watermark from the rows returned.
   */
  readonly readsIncrementally?: boolean | ((config: Config) => boolean);
  /** The primary key and lag window a config declares, used by incremental reads. */
  incrementalDefaults?(config: Config): IncrementalDefaults;
}

/** What a source's `fingerprint` gets. */
export interface SourceFingerprintContext {
  /** Relative paths in the config resolve against this folder (the pipeline file's). */
  readonly baseDir: string;
}

/** What a sink's `write` gets from the executor. */
export interface SinkWriteContext {
  readonly stepId: string;
  readonly runId: string;
  readonly baseDir: string;
  readonly connection: EngineConnection;
  /** The quoted name of the relation to write. */
  readonly input: string;
  readonly inputFields: readonly Field[];
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /**
   * Opens a resource shared with the run's other steps (one warehouse connection per URL, so
   * sinks and `sql` steps in that warehouse work in one transaction); closed when the run ends.
   */
  readonly shared: OpenShared;
  /**
   * True on a `--full-refresh` run: the sources read everything again, so a sink that adds to
   * its target (`append`, `merge`) replaces the target's contents with this run's output
   * instead, atomically at publish. Sinks that already replace (`overwrite`) are unchanged.
   */
  readonly fullRefresh?: boolean;
  /**
   * The pipeline and the actor the run writes for; a sink whose format keeps provenance records
   * them with `runId` and `stepId` (Delta's commitInfo).
   */
  readonly provenance?: WriteProvenance;
}

/**
 * Who and what a sink's write is for.
 *
 * @example
 * ```ts
 * const provenance: WriteProvenance = { pipeline: 'orders_daily', actor: 'scheduler' };
 * ```
 */
export interface WriteProvenance {
  readonly pipeline: string;
  /** `user:<name>`, `token:<name>`, `scheduler` or `system`. */
  readonly actor: string;
}

/**
 * A sink connector of the batch engine. `write` stages the whole input and returns a
 * {@link StagedOutput}; it must not touch what readers see until `publish` is called.
 *
 * @example
 * ```ts
 * const devNull = defineSink({
 *   name: 'null', summary: 'discards rows', config: z.strictObject({}),
 *   async write(_config, ctx) {
 *     const [row] = await ctx.connection.rows(`SELECT count(*) AS n FROM ${ctx.input}`);
 *     return { rowsWritten: Number(row?.n), outputs: [], publish: async () => {}, discard: async () => {} };
 *   },
 * });
 * ```
 */
export interface BatchSinkConnector<Config = unknown> extends ConnectorSpec<Config> {
  readonly role: 'sink';
  write(config: Config, context: SinkWriteContext): Promise<StagedOutput>;
  /**
   * Whether run `context.runId`'s output of step `context.stepId` is in the target: a sink
   * that records the run id atomically with its data (a marker row in the same transaction, a
   * Delta `txn`) answers, so a run killed between publishing and saving its source state is
   * resolved without loading twice. Sinks without it are published before the ones with it.
   * `undefined` says this configuration cannot tell (a mode that replaces its whole target).
   */
  publishedRun?(config: Config, context: SinkPublishedContext): Promise<boolean | undefined>;
}

/**
 * What a sink's `publishedRun` gets.
 *
 * @example
 * ```ts
 * await postgresSink.publishedRun?.(config, { runId, stepId: 'out', baseDir, connection });
 * ```
 */
export interface SinkPublishedContext {
  readonly runId: string;
  readonly stepId: string;
  readonly baseDir: string;
  readonly connection: EngineConnection;
}

/** Any batch connector. */
// Each connector's config type is its own; a registry holds them side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BatchConnector = BatchSourceConnector<any> | BatchSinkConnector<any>;

/**
 * Declares a source connector (typed by its config schema).
 *
 * @example
 * ```ts
 * export const csvSource = defineSource({ name: 'csv', summary: 'CSV files', config: csvSourceConfig, read });
 * ```
 */
export function defineSource<Config>(
  definition: Omit<BatchSourceConnector<Config>, 'role'>,
): BatchSourceConnector<Config> {
  return { ...definition, role: 'source' };
}

/**
 * Declares a sink connector (typed by its config schema).
 *
 * @example
 * ```ts
 * export const csvSink = defineSink({ name: 'csv', summary: 'one CSV file', config: csvSinkConfig, write });
 * ```
 */
export function defineSink<Config>(
  definition: Omit<BatchSinkConnector<Config>, 'role'>,
): BatchSinkConnector<Config> {
  return { ...definition, role: 'sink' };
}

/**
 * A scoped set of connectors. Registries are values passed to the planner and executor, never
 * globals; `with` returns a new registry.
 *
 * @example
 * ```ts
 * const registry = createRegistry(fileConnectors).with(myApiSource);
 * await runPipeline(p, { registry });
 * ```
 */
export class ConnectorRegistry {
  readonly #sources: ReadonlyMap<string, BatchSourceConnector>;
  readonly #sinks: ReadonlyMap<string, BatchSinkConnector>;
  readonly #warehouses: ReadonlyMap<string, WarehouseAdapter>;

  constructor(connectors: readonly (BatchConnector | WarehouseAdapter)[]) {
    const sources = new Map<string, BatchSourceConnector>();
    const sinks = new Map<string, BatchSinkConnector>();
    const warehouses = new Map<string, WarehouseAdapter>();
    for (const connector of connectors) {
      if (connector.role === 'source')
        sources.set(connector.name, connector as BatchSourceConnector);
      else if (connector.role === 'sink')
        sinks.set(connector.name, connector as BatchSinkConnector);
      else warehouses.set(connector.name, connector);
    }
    this.#sources = sources;
    this.#sinks = sinks;
    this.#warehouses = warehouses;
  }

  /** A registry with `connectors` (or warehouses) added, replacing same-named ones of the same role. */
  with(...connectors: (BatchConnector | WarehouseAdapter)[]): ConnectorRegistry {
    return new ConnectorRegistry([...this.list(), ...this.#warehouses.values(), ...connectors]);
  }

  /** The warehouse `sql` steps with `warehouse: { engine }` run in. */
  warehouse(engine: string): WarehouseAdapter | undefined {
    return this.#warehouses.get(engine);
  }

  source(name: string): BatchSourceConnector | undefined {
    return this.#sources.get(name);
  }

  sink(name: string): BatchSinkConnector | undefined {
    return this.#sinks.get(name);
  }

  /** The planner's view: look a connector spec up by role and name. */
  readonly lookup = (role: 'source' | 'sink', name: string): ConnectorSpec | undefined =>
    role === 'source' ? this.source(name) : this.sink(name);

  list(): BatchConnector[] {
    return [...this.#sources.values(), ...this.#sinks.values()] as BatchConnector[];
  }
}

/**
 * Creates a registry from connector definitions.
 *
 * @example
 * ```ts
 * const registry = createRegistry([csvSource, parquetSink]);
 * ```
 */
export function createRegistry(
  connectors: readonly (BatchConnector | WarehouseAdapter)[],
): ConnectorRegistry {
  return new ConnectorRegistry(connectors);
}
