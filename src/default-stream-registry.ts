import { deltaLookup } from './connectors/delta/delta-lookup.js';
import { deltaStreamSink } from './connectors/delta/index.js';
import { filesStreamSink, filesStreamSource } from './connectors/files/ndjson-stream.js';
import { webhookStreamSink, webhookStreamSource } from './connectors/http/index.js';
import { kafkaStreamConnectors } from './connectors/kafka/index.js';
import { mqttStreamConnectors } from './connectors/mqtt/index.js';
import { natsStreamConnectors } from './connectors/nats/index.js';
import { postgresLookup } from './connectors/postgres/postgres-lookup.js';
import { postgresCdcStreamSource } from './connectors/postgres/postgres-cdc-stream.js';
import { postgresStreamSink } from './connectors/postgres/postgres-stream-sink.js';
import { redisStreamConnectors } from './connectors/redis/index.js';
import { defaultRegistry } from './registry.js';
import { batchStreamSink } from './stream/batch-sink-adapter.js';
import { StreamRegistry } from './stream/stream-registry.js';

/**
 * The stream connectors streams use unless given others: tailed NDJSON files, NATS JetStream,
 * Redis Streams, MQTT, webhook inboxes and Kafka in; NDJSON files, Delta tables, PostgreSQL
 * tables, NATS, Redis Streams, MQTT, webhooks and Kafka out, and every batch sink of the default
 * registry through `streamSink.batch`. Their drivers load only when a stream uses them.
 *
 * @example
 * ```ts
 * const plan = planStream(definition, defaultStreamRegistry);
 * ```
 */
export const defaultStreamRegistry = new StreamRegistry([
  filesStreamSource,
  filesStreamSink,
  deltaStreamSink,
  postgresStreamSink,
  postgresCdcStreamSource,
  ...natsStreamConnectors,
  ...redisStreamConnectors,
  ...mqttStreamConnectors,
  webhookStreamSource,
  webhookStreamSink,
  ...kafkaStreamConnectors,
  batchStreamSink(defaultRegistry),
]);

/**
 * Lookup tables for `enrich`, by system.
 *
 * @example
 * ```ts
 * enrich({ lookup: lookup.postgres({ url, table: 'public.customers' }), on: { record: 'customer_id', table: 'id' } });
 * ```
 */
export const lookup = {
  /** A PostgreSQL table or query. */
  postgres: postgresLookup,
  /** A Delta table's latest version. */
  delta: deltaLookup,
};
