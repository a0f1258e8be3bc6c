import type {
  StreamSinkConnector,
  StreamSourceConnector,
} from '../../contracts/stream-connector.js';
import { kafkaSink } from './kafka-sink.js';
import { kafkaSource } from './kafka-source.js';

export { kafkaSource } from './kafka-source.js';
export { kafkaSink, messageEncoder } from './kafka-sink.js';
export { kafkaSinkConfig, kafkaSourceConfig } from './kafka-configs.js';
export type {
  KafkaSinkConfig,
  KafkaSinkInput,
  KafkaSourceConfig,
  KafkaSourceInput,
} from './kafka-configs.js';
export { compareOffsets, parsePartitionName, partitionName } from './kafka-positions.js';
export { resolveStart } from './kafka-start.js';
export type { PartitionBounds, StartPlan } from './kafka-start.js';
export { encodeKey, encodeValue, kafkaMessageId, messageRecord } from './kafka-records.js';
export { kafkaFailure } from './kafka-connection.js';

/**
 * The Kafka stream connectors: the `kafka` source (a consumer group, offsets committed after
 * each checkpoint) and the `kafka` sink (JSON messages keyed by a column). They load
 * `@platformatic/kafka` only when a stream opens them.
 *
 * @example
 * ```ts
 * const connectors = [...kafkaStreamConnectors];
 * connectors.find((c) => c.role === 'stream-sink' && c.name === 'kafka');
 * ```
 */
export const kafkaStreamConnectors: readonly (StreamSourceConnector | StreamSinkConnector)[] = [
  kafkaSource,
  kafkaSink,
];
