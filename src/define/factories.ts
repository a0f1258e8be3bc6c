import type { RetryPolicy } from '../core/retry-policy.js';
import type { Schema } from '../core/schema.js';
import type { Suite } from '../quality/expectation.js';
import type {
  CSVSinkConfig,
  CSVSourceConfig,
  DuckDBSinkConfig,
  JSONSourceConfig,
  NDJSONSinkConfig,
  ParquetSinkConfig,
  ParquetSourceConfig,
} from '../connectors/shared/file-configs.js';
import type { DeltaSinkConfig, DeltaSourceConfig } from '../connectors/delta/delta-configs.js';
import type { AvroSinkConfig, AvroSourceConfig } from '../connectors/avro/avro-configs.js';
import type {
  ClickHouseSinkConfig,
  ClickHouseSourceConfig,
} from '../connectors/clickhouse/clickhouse-configs.js';
import type { RESTSourceConfig } from '../connectors/http/rest-config.js';
import type { WebhookSourceConfig } from '../connectors/http/webhook-source.js';
import type { MySQLSinkConfig, MySQLSourceConfig } from '../connectors/mysql/mysql-configs.js';
import type {
  PostgresCdcSourceConfig,
  PostgresSinkConfig,
  PostgresSourceConfig,
} from '../connectors/postgres/postgres-configs.js';
import { captureDeclarationSite } from './origin.js';
import type { DatasetRef } from './ref.js';
import type {
  BatchTransformFunction,
  CheckStep,
  IncrementalOptions,
  RecordTransformFunction,
  Row,
  SinkStep,
  SourceStep,
  SQLTemplateValue,
  TransformStep,
} from './steps.js';
import { SQLStep } from './steps.js';

/**
 * A SQL transform run inside the engine. Splice other steps in with `ref()`, run parameters with
 * `param()`; other values are bound as SQL literals (never pasted as SQL).
 *
 * @example
 * ```ts
 * const daily = sql`
 *   select order_date, sum(amount) as revenue
 *   from ${ref('orders')} where status <> ${'canceled'}
 *   group by order_date`;
 * ```
 */
export function sql(strings: TemplateStringsArray, ...values: SQLTemplateValue[]): SQLStep {
  // Raw text, as in a .sql file: a backslash in a regex or LIKE pattern reaches the engine as written.
  return new SQLStep([...strings.raw], values, captureDeclarationSite());
}

/** Options of {@link transform}: give either `map` (per record) or `run` (per batch stream). */
export type TransformOptions = {
  /** The dataset to read. */
  readonly input: DatasetRef;
  /** Output columns. Defaults to the input's schema. */
  readonly schema?: Schema;
  /** Rows per batch handed to `run` (default 2048). */
  readonly batchSize?: number;
  readonly description?: string;
  /** A suite gating the transform's output (see `check`). */
  readonly expect?: Suite;
  /** Retries of this step alone when its code throws a retryable error (`RetryableError`). */
  readonly retries?: number | RetryPolicy;
} & (
  | { readonly map: RecordTransformFunction; readonly run?: never }
  | { readonly run: BatchTransformFunction; readonly map?: never }
);

/**
 * A transform written in TypeScript over streamed batches of plain objects.
 *
 * @example
 * ```ts
 * const enriched = transform({
 *   input: ref('orders'),
 *   schema: schema({ order_id: t.int64(), amount_eur: t.float64() }),
 *   map: (row) => ({ order_id: row.order_id, amount_eur: Number(row.amount) * 0.92 }),
 * });
 * ```
 */
export function transform(options: TransformOptions): TransformStep {
  const run = options.run ?? (options.map === undefined ? undefined : perRecord(options.map));
  return {
    kind: 'transform',
    input: options.input,
    ...(options.schema === undefined ? {} : { schema: options.schema }),
    batchSize: options.batchSize ?? 2048,
    run: run as BatchTransformFunction,
    declaredAt: captureDeclarationSite(),
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.expect === undefined ? {} : { expect: options.expect }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
  };
}

function perRecord(map: RecordTransformFunction): BatchTransformFunction {
  return async function* mapEachRecord(batches, context) {
    for await (const batch of batches) {
      const out: Row[] = [];
      for (const row of batch) {
        context.signal.throwIfAborted();
        let result = map(row, context);
        if (result instanceof Promise) result = await result;
        if (result === null || result === undefined) continue;
        if (Array.isArray(result)) out.push(...result);
        else out.push(result);
      }
      yield out;
    }
  };
}

/**
 * A quality gate: validates its input with a suite. The step's dataset is the input without
 * the rows that fail `quarantine` expectations; failed `error` expectations fail the run.
 *
 * @example
 * ```ts
 * const checked = check({
 *   input: ref('orders'),
 *   suite: suite('orders', [expect.unique('order_id'), expect.between('amount', { min: 0 }, { severity: 'quarantine' })]),
 * });
 * ```
 */
export function check(options: {
  readonly input: DatasetRef;
  readonly suite: Suite;
  readonly description?: string;
}): CheckStep {
  return {
    kind: 'check',
    input: options.input,
    suite: options.suite,
    declaredAt: captureDeclarationSite(),
    ...(options.description === undefined ? {} : { description: options.description }),
  };
}

function sourceStep(connector: string, config: object): SourceStep {
  const { description, expect, incremental, retries, ...rest } = config as {
    description?: string;
    expect?: Suite;
    incremental?: IncrementalOptions;
    retries?: number | RetryPolicy;
  };
  // `retries: { count, ... }` is the older name of a connector's own request retries (the REST
  // source's `requestRetries`), never a step's RetryPolicy: it stays in the connector config.
  const connectorRetries = isConnectorRetries(retries);
  return {
    kind: 'source',
    connector,
    config: connectorRetries ? { ...rest, retries } : rest,
    declaredAt: captureDeclarationSite(),
    ...(description === undefined ? {} : { description }),
    ...(expect === undefined ? {} : { expect }),
    ...(incremental === undefined ? {} : { incremental }),
    ...(retries === undefined || connectorRetries ? {} : { retries }),
  };
}

/** Whether a `retries` value has the shape of the deprecated connector option `{ count, ... }`. */
function isConnectorRetries(retries: unknown): boolean {
  return (
    typeof retries === 'object' && retries !== null && 'count' in retries && !('retries' in retries)
  );
}

function sinkStep(
  connector: string,
  config: { input: DatasetRef; description?: string },
): SinkStep {
  const { input, description, ...rest } = config;
  return {
    kind: 'sink',
    connector,
    input,
    config: rest,
    declaredAt: captureDeclarationSite(),
    ...(description === undefined ? {} : { description }),
  };
}

type Described<T> = OmitEach<T, 'retries'> & {
  readonly description?: string;
  /** A suite gating the source's output (see `check`). */
  readonly expect?: Suite;
  /** Read only rows past the last successful run's watermark (kept in the run store). */
  readonly incremental?: IncrementalOptions;
  /**
   * Retries of this step alone when it fails with a retryable error (a dropped connection): a
   * count or a `RetryPolicy`. (The deprecated `{ count, ... }` of a connector's own request
   * retries is passed to the connector.)
   */
  readonly retries?: number | RetryPolicy | ConnectorRetries<T>;
};
/** The type of a connector's own deprecated `retries` option, if it has one. */
type ConnectorRetries<T> = T extends { readonly retries?: infer R } ? Exclude<R, undefined> : never;
/** A sink's config and options: a sink step is not retried alone, so it takes no `retries`. */
type SinkOf<T> = OmitEach<Described<T>, 'retries'> & { readonly input: DatasetRef };
/** `Omit` applied to each member of a union, so a union config keeps its members. */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Source steps: read datasets from outside the pipeline. Each takes its connector's config;
 * `sluice check` validates it and the docs list every field.
 *
 * @example
 * ```ts
 * const raw = source.csv({ path: 'data/orders_*.csv', schema: orders, metadata: ['_source_file'] });
 * ```
 */
export const source = {
  /** CSV files. */
  csv: (config: Described<CSVSourceConfig>): SourceStep => sourceStep('csv', config),
  /** Tab-separated files (CSV with a tab delimiter). */
  tsv: (config: Described<CSVSourceConfig>): SourceStep => sourceStep('tsv', config),
  /** JSON documents: an array of records, or one record per file. */
  json: (config: Described<JSONSourceConfig>): SourceStep => sourceStep('json', config),
  /** Newline-delimited JSON: one record per line. */
  ndjson: (config: Described<JSONSourceConfig>): SourceStep => sourceStep('ndjson', config),
  /** Parquet files. */
  parquet: (config: Described<ParquetSourceConfig>): SourceStep => sourceStep('parquet', config),
  /** A Delta Lake table (latest, a version, or a point in time). */
  delta: (config: Described<DeltaSourceConfig>): SourceStep => sourceStep('delta', config),
  /** A PostgreSQL table or query (incremental by a cursor column, with a lag window). */
  postgres: (config: Described<PostgresSourceConfig>): SourceStep => sourceStep('postgres', config),
  /** Avro object container files (codecs null, deflate, snappy, zstandard). */
  avro: (config: Described<AvroSourceConfig>): SourceStep => sourceStep('avro', config),
  /** A MySQL or MariaDB table or query, read fully or incrementally. */
  mysql: (config: Described<MySQLSourceConfig>): SourceStep => sourceStep('mysql', config),
  /** Records from an HTTP JSON API, page by page (auth, retries, rate limit, incremental). */
  rest: (config: Described<RESTSourceConfig>): SourceStep => sourceStep('rest', config),
  /** Records posted to a webhook inbox of `sluice serve --http` since the last run. */
  webhook: (config: Described<WebhookSourceConfig>): SourceStep => sourceStep('webhook', config),
  /** A ClickHouse table or query, read over HTTP. */
  clickhouse: (config: Described<ClickHouseSourceConfig>): SourceStep =>
    sourceStep('clickhouse', config),
  /** Changes of a PostgreSQL table (logical replication), after an initial snapshot. */
  postgresCdc: (config: Described<PostgresCdcSourceConfig>): SourceStep =>
    sourceStep('postgres_cdc', config),
  /** Any registered source connector by name. */
  custom: (connector: string, config: Readonly<Record<string, unknown>>): SourceStep =>
    sourceStep(connector, config),
} as const;

/**
 * Sink steps: write a dataset out. Outputs are staged and published only when the whole run
 * succeeds, so a failed run leaves previous outputs intact.
 *
 * @example
 * ```ts
 * const out = sink.parquet({ input: ref('daily'), path: 'out/daily', partitionBy: ['order_date'] });
 * ```
 */
export const sink = {
  /** Parquet file or hive-partitioned folder. */
  parquet: (config: SinkOf<ParquetSinkConfig>): SinkStep => sinkStep('parquet', config),
  /** One CSV file. */
  csv: (config: SinkOf<CSVSinkConfig>): SinkStep => sinkStep('csv', config),
  /** One NDJSON file. */
  ndjson: (config: SinkOf<NDJSONSinkConfig>): SinkStep => sinkStep('ndjson', config),
  /** A Delta Lake table, committed when the run succeeds. */
  delta: (config: SinkOf<DeltaSinkConfig>): SinkStep => sinkStep('delta', config),
  /** A table in a DuckDB database file. */
  duckdb: (config: SinkOf<DuckDBSinkConfig>): SinkStep => sinkStep('duckdb', config),
  /** One Avro object container file. */
  avro: (config: SinkOf<AvroSinkConfig>): SinkStep => sinkStep('avro', config),
  /** A MySQL or MariaDB table: append, overwrite, merge or delete_insert in one transaction. */
  mysql: (config: SinkOf<MySQLSinkConfig>): SinkStep => sinkStep('mysql', config),
  /** A PostgreSQL table: append, overwrite, merge or delete+insert in one transaction. */
  postgres: (config: SinkOf<PostgresSinkConfig>): SinkStep => sinkStep('postgres', config),
  /** A ClickHouse table over HTTP: append, overwrite, merge or delete_insert, published atomically. */
  clickhouse: (config: SinkOf<ClickHouseSinkConfig>): SinkStep => sinkStep('clickhouse', config),
  /** Any registered sink connector by name. */
  custom: (
    connector: string,
    config: Readonly<Record<string, unknown>> & { input: DatasetRef },
  ): SinkStep => sinkStep(connector, config),
} as const;
