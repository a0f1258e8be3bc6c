import { avroConnectors } from './connectors/avro/index.js';
import { clickhouseWarehouse } from './connectors/clickhouse/clickhouse-warehouse.js';
import { clickhouseConnectors } from './connectors/clickhouse/index.js';
import { deltaStreamSink } from './connectors/delta/index.js';
import { fileConnectors } from './connectors/files/index.js';
import { filesStreamSink, filesStreamSource } from './connectors/files/ndjson-stream.js';
import {
  restSource,
  webhookSource,
  webhookStreamSink,
  webhookStreamSource,
} from './connectors/http/index.js';
import { kafkaStreamConnectors } from './connectors/kafka/index.js';
import { mqttStreamConnectors } from './connectors/mqtt/index.js';
import { mysqlConnectors } from './connectors/mysql/index.js';
import { natsStreamConnectors } from './connectors/nats/index.js';
import { postgresConnectors, postgresWarehouse } from './connectors/postgres/index.js';
import { postgresCdcStreamSource } from './connectors/postgres/postgres-cdc-stream.js';
import { postgresStreamSink } from './connectors/postgres/postgres-stream-sink.js';
import { redisStreamConnectors } from './connectors/redis/index.js';
import { createRegistry } from './contracts/batch-connector.js';
import { batchStreamSink } from './stream/batch-sink-adapter.js';
import { StreamRegistry } from './stream/stream-registry.js';

/**
 * The registry runs use unless given another: the file (with Delta), Avro, PostgreSQL, MySQL,
 * ClickHouse, REST API and webhook connectors, and PostgreSQL and ClickHouse as warehouses for
 * `sql` steps. A new connector is added here, in one line.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(myApiSource);
 * ```
 */
export const defaultRegistry = createRegistry([
  ...fileConnectors,
  ...avroConnectors,
  ...postgresConnectors,
  postgresWarehouse,
  ...mysqlConnectors,
  ...clickhouseConnectors,
  clickhouseWarehouse,
  restSource,
  webhookSource,
]);

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
