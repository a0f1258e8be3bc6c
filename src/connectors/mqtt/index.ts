import type {
  StreamSinkConnector,
  StreamSourceConnector,
} from '../../contracts/stream-connector.js';
import { mqttSink } from './mqtt-sink.js';
import { mqttSource } from './mqtt-source.js';

export { mqttSource, compareMQTTPositions } from './mqtt-source.js';
export { mqttSink } from './mqtt-sink.js';
export * from './mqtt-configs.js';

/**
 * The MQTT connectors: stream source and sink `mqtt`. They load the `mqtt` package only when a
 * stream uses them.
 *
 * @example
 * ```ts
 * const streamConnectors = [...redisStreamConnectors, ...mqttStreamConnectors];
 * ```
 */
export const mqttStreamConnectors: readonly (StreamSourceConnector | StreamSinkConnector)[] = [
  mqttSource,
  mqttSink,
];
