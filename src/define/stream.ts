import type {
  FilesStreamSinkConfig,
  FilesStreamSourceConfig,
} from '../connectors/files/ndjson-stream.js';
import type { DeltaStreamSinkConfig } from '../connectors/delta/delta-stream-sink.js';
import type { MQTTSinkConfig, MQTTSourceConfig } from '../connectors/mqtt/mqtt-configs.js';
import type { NATSSinkInput, NATSSourceInput } from '../connectors/nats/nats-configs.js';
import type { WebhookStreamSinkInput } from '../connectors/http/webhook-stream-sink.js';
import type { WebhookStreamSourceInput } from '../connectors/http/webhook-stream-source.js';
import type { KafkaSinkInput, KafkaSourceInput } from '../connectors/kafka/kafka-configs.js';
import type {
  RedisStreamSinkConfig,
  RedisStreamSourceConfig,
} from '../connectors/redis/redis-configs.js';
import type { PostgresCdcStreamConfig } from '../connectors/postgres/postgres-cdc-stream.js';
import type { PostgresStreamSinkConfig } from '../connectors/postgres/postgres-stream-sink.js';
import { batchStreamSinkEndpoint } from './batch-sink-endpoint.js';
import type { OperatorSpec } from '../stream/operator-spec.js';
import type { StreamRow } from '../contracts/stream-connector.js';
import type { DeclarationSite } from './origin.js';
import { captureDeclarationSite } from './origin.js';

const STREAM = Symbol.for('sluice.stream');

/** A stream's source or sink: a stream connector's name and its config as written. */
export interface StreamEndpoint {
  readonly connector: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** Options of {@link stream}. */
export interface StreamOptions {
  readonly description?: string;
  /**
   * Where records come from: one endpoint, or several named ones
   * (`{ bids: streamSource.nats({...}), auctions: streamSource.nats({...}) }`) read together,
   * each record marked with its source's name (`sourceOf(record)`, what `intervalJoin` joins by).
   */
  readonly source: StreamEndpoint | Readonly<Record<string, StreamEndpoint>>;
  /**
   * Each record's event time: a column holding epoch milliseconds, a Date or ISO-8601 text, or a
   * function of the record; with several sources, one for all or one per source
   * (`{ bids: 'date_time', auctions: 'ts' }`). Records without a valid one are quarantined
   * (`invalid`).
   */
  readonly eventTime:
    | string
    | ((row: StreamRow) => unknown)
    | Readonly<Record<string, string | ((row: StreamRow) => unknown)>>;
  /**
   * How far behind the newest event time records may still arrive in order (`maxOutOfOrderness`),
   * and how long a partition may be quiet before it stops holding the watermark back
   * (`idleTimeout`, default: never).
   */
  readonly watermark?: {
    readonly maxOutOfOrderness?: string | number;
    readonly idleTimeout?: string | number;
  };
  /**
   * Operators applied in order: map, filter, flatMap, keyBy, dedupe, window, enrich,
   * intervalJoin, expectRows.
   */
  readonly steps?: readonly OperatorSpec[];
  readonly sink: StreamEndpoint;
  /**
   * Where records that arrive after their window closed (beyond `allowedLateness`) go: by
   * default the quarantine store (`late.ndjson`); with `sink`, a table or topic of their own, the
   * record's columns plus `_sluice_late_reason`, committed with each checkpoint.
   */
  readonly lateData?: { readonly sink: StreamEndpoint };
  /** How often state, positions and output are committed together (default `'10s'`). */
  readonly checkpoint?: { readonly every?: string | number };
  /** Most records in flight between source and sink (default 10,000). */
  readonly maxInFlight?: number;
  /**
   * Bounds on the operators' keyed state: past `maxEntries` (window-and-key accumulators and
   * dedupe keys; default 5,000,000) the stream stops with `STREAM_STATE_LIMIT` at its last
   * checkpoint instead of exhausting memory. It also stops when the heap is 85% full.
   */
  readonly state?: { readonly maxEntries?: number };
  /**
   * Spreads the stream over several `sluice stream` processes: each of the source's partitions
   * (NATS subjects, Redis stream keys) is processed by the worker holding its lease in the run
   * store, with its own checkpoints; a dead worker's partitions are taken over after
   * `leaseTimeout` (default `'15s'`). Records of one key must stay in one partition.
   */
  readonly scaleOut?: boolean | { readonly leaseTimeout?: string | number };
}

/** A stream as declared in a stream file; `sluice stream <file>` runs it. */
export interface StreamDefinition extends StreamOptions {
  readonly kind: 'stream';
  readonly name: string;
  readonly declaredAt: DeclarationSite;
}

/**
 * Declares a stream: records read continuously from a source, given event times and
 * watermarks, passed through operators (windows among them), and written to a sink, with
 * checkpoints that make restarts resume where they stopped.
 *
 * @example
 * ```ts
 * export default stream('page_views', {
 *   source: streamSource.files({ path: 'incoming/clicks' }),
 *   eventTime: 'ts',
 *   watermark: { maxOutOfOrderness: '5s' },
 *   steps: [window({ key: 'page', window: tumbling('1m'), aggregate: { views: count() } })],
 *   sink: streamSink.files({ path: 'out/page_views' }),
 * });
 * ```
 */
export function stream(name: string, options: StreamOptions): StreamDefinition {
  const definition: StreamDefinition = {
    ...options,
    kind: 'stream',
    name,
    declaredAt: captureDeclarationSite(),
  };
  Object.defineProperty(definition, STREAM, { value: true });
  return definition;
}

/**
 * Whether a value was made by {@link stream}.
 *
 * @example
 * ```ts
 * if (!isStream(module.default)) throw new Error('not a stream');
 * ```
 */
export function isStream(value: unknown): value is StreamDefinition {
  return typeof value === 'object' && value !== null && STREAM in value;
}

/**
 * Stream sources by connector.
 *
 * @example
 * ```ts
 * streamSource.files({ path: 'incoming/clicks' });
 * ```
 */
export const streamSource = {
  /** NDJSON files in a folder, tailed (new lines and files are read as they appear). */
  files: (config: FilesStreamSourceConfig): StreamEndpoint => ({ connector: 'files', config }),
  /** A PostgreSQL table's changes from logical replication; the slot advances after each checkpoint. */
  postgresCdc: (config: PostgresCdcStreamConfig): StreamEndpoint => ({
    connector: 'postgres_cdc',
    config,
  }),
  /** A NATS JetStream stream through a durable pull consumer (acked after the checkpoint). */
  nats: (config: NATSSourceInput): StreamEndpoint => ({ connector: 'nats', config }),
  /** Redis Streams through a consumer group (XREADGROUP, XACK after the checkpoint, XAUTOCLAIM). */
  redis: (config: RedisStreamSourceConfig): StreamEndpoint => ({
    connector: 'redis_stream',
    config,
  }),
  /** MQTT topics at QoS 1 with a persistent session (PUBACK after the checkpoint). */
  mqtt: (config: MQTTSourceConfig): StreamEndpoint => ({ connector: 'mqtt', config }),
  /** Records posted to a webhook inbox of `sluice serve --http`, tailed (a batch is deleted once a checkpoint covers it). */
  webhook: (config: WebhookStreamSourceInput): StreamEndpoint => ({ connector: 'webhook', config }),
  /** Kafka topics through a consumer group (offsets committed after the checkpoint). */
  kafka: (config: KafkaSourceInput): StreamEndpoint => ({ connector: 'kafka', config }),
  /** Any registered stream source, by name. */
  custom: (connector: string, config: Readonly<Record<string, unknown>>): StreamEndpoint => ({
    connector,
    config,
  }),
};

/**
 * Stream sinks by connector.
 *
 * @example
 * ```ts
 * streamSink.files({ path: 'out/page_views' });
 * ```
 */
export const streamSink = {
  /** NDJSON files, one per checkpoint, committed by rename (exactly once). */
  files: (config: FilesStreamSinkConfig): StreamEndpoint => ({ connector: 'files', config }),
  /** Messages published to JetStream with deterministic message ids (duplicates dropped within the stream's window). */
  nats: (config: NATSSinkInput): StreamEndpoint => ({ connector: 'nats', config }),
  /** Entries added to a Redis stream (XADD), at least once. */
  redis: (config: RedisStreamSinkConfig): StreamEndpoint => ({
    connector: 'redis_stream',
    config,
  }),
  /** Messages published to an MQTT topic at QoS 1, at least once. */
  mqtt: (config: MQTTSinkConfig): StreamEndpoint => ({ connector: 'mqtt', config }),
  /** Rows posted to an HTTP endpoint at each checkpoint, with retries and idempotency keys (at least once). */
  webhook: (config: WebhookStreamSinkInput): StreamEndpoint => ({ connector: 'webhook', config }),
  /** JSON messages produced to Kafka, keyed by a column, at each checkpoint (at least once). */
  kafka: (config: KafkaSinkInput): StreamEndpoint => ({ connector: 'kafka', config }),
  /** A Delta Lake table, one commit per checkpoint with `txn(appId, version)` (exactly once). */
  delta: (config: DeltaStreamSinkConfig): StreamEndpoint => ({ connector: 'delta', config }),
  /** A PostgreSQL table, rows and checkpoint committed in one transaction (exactly once). */
  postgres: (config: PostgresStreamSinkConfig): StreamEndpoint => ({
    connector: 'postgres',
    config,
  }),
  /**
   * Any batch sink, one write per checkpoint: `batch(sink.mysql, { url, table, mode: 'merge', keys })`,
   * `batch(sink.parquet, { path })` (a file per checkpoint). Merge by keys or a file per
   * checkpoint: no duplicates after a crash; `append`: at least once; overwrite is refused.
   */
  batch: batchStreamSinkEndpoint,
  /** Any registered stream sink, by name. */
  custom: (connector: string, config: Readonly<Record<string, unknown>>): StreamEndpoint => ({
    connector,
    config,
  }),
};
