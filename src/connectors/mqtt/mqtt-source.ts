import { defineStreamSource } from '../../contracts/stream-connector.js';
import { mqttSourceConfig } from './mqtt-configs.js';
import { MQTTStreamReader } from './mqtt-reader.js';

/**
 * Orders two positions of the mqtt source (decimal counters), negative when `a` comes first.
 *
 * @example
 * ```ts
 * compareMQTTPositions('9', '10'); // < 0
 * ```
 */
export function compareMQTTPositions(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The `mqtt` stream source: subscribes to topic filters with QoS 1 in a persistent session
 * (client id `clientId`, by default the stream's consumer name) and sends the PUBACK of each
 * message only when `ack` covers it, so the broker redelivers what a crash left unacknowledged
 * when the session reconnects. Each topic is a partition; positions are a counter of the reader
 * (MQTT has no offsets), continued from the checkpoint, so there is no replay: a `beginning` or
 * `time` start is a config error. A payload that is not a UTF-8 JSON object becomes
 * `{ _sluice_invalid, _sluice_payload }` for the quarantine.
 *
 * @example
 * ```ts
 * const reader = await mqttSource.open(
 *   mqttSourceConfig.parse({ url: 'mqtt://127.0.0.1:1883', topics: 'sensors/#' }),
 *   { stepId: 'sensors', streamName: 'sensors', consumer: 'sensors', worker: 'w1', start: { kind: 'latest' }, logger, signal },
 * );
 * ```
 */
export const mqttSource = defineStreamSource({
  name: 'mqtt',
  summary: 'MQTT topic filters, QoS 1 in a persistent session; PUBACK sent after the checkpoint.',
  delivery: 'at-least-once',
  defaultStart: 'latest',
  config: mqttSourceConfig,
  comparePositions: compareMQTTPositions,
  open: (config, context) => MQTTStreamReader.open(config, context),
});
