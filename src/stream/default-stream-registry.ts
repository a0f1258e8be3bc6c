import { deltaStreamSink } from '../connectors/files/delta-stream-sink.js';
import { filesStreamSink, filesStreamSource } from '../connectors/files/ndjson-stream.js';
import { mqttStreamConnectors } from '../connectors/mqtt/index.js';
import { natsStreamConnectors } from '../connectors/nats/index.js';
import { postgresCdcStreamSource } from '../connectors/postgres/postgres-cdc-stream.js';
import { postgresStreamSink } from '../connectors/postgres/postgres-stream-sink.js';
import { redisStreamConnectors } from '../connectors/redis/index.js';
import { StreamRegistry } from './stream-registry.js';

/**
 * The stream connectors streams use unless given others: tailed NDJSON files, NATS JetStream,
 * Redis Streams and MQTT in; NDJSON files, Delta tables, PostgreSQL tables, NATS, Redis Streams
 * and MQTT out. Their
 * drivers load only when a stream uses them.
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
]);
