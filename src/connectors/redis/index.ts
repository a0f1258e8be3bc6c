import type {
  StreamSinkConnector,
  StreamSourceConnector,
} from '../../contracts/stream-connector.js';
import { redisStreamSink } from './redis-stream-sink.js';
import { redisStreamSource } from './redis-stream-source.js';

export { redisStreamSource } from './redis-stream-source.js';
export { redisStreamSink } from './redis-stream-sink.js';
export { compareEntryIds } from './stream-entries.js';
export * from './redis-configs.js';

/**
 * The Redis stream connectors: source and sink `redis_stream`. They load the `redis` package
 * only when a stream uses them.
 *
 * @example
 * ```ts
 * const streamConnectors = [...redisStreamConnectors, ...mqttStreamConnectors];
 * ```
 */
export const redisStreamConnectors: readonly (StreamSourceConnector | StreamSinkConnector)[] = [
  redisStreamSource,
  redisStreamSink,
];
