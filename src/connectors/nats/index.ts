import type {
  StreamSinkConnector,
  StreamSourceConnector,
} from '../../contracts/stream-connector.js';
import { natsSink } from './nats-sink.js';
import { natsSource } from './nats-source.js';

export { natsSink, natsMessageId } from './nats-sink.js';
export { natsSource } from './nats-source.js';
export { natsSinkConfig, natsSourceConfig } from './nats-configs.js';
export type { NATSSinkConfig, NATSSourceConfig } from './nats-configs.js';
export { compareSequences } from './nats-records.js';

/**
 * The NATS JetStream stream connectors: the `nats` source (a durable pull consumer) and the
 * `nats` sink (JSON publishes with checkpoint message ids). They load `@nats-io/transport-node`
 * and `@nats-io/jetstream` only when a stream opens them.
 *
 * @example
 * ```ts
 * const connectors = [...natsStreamConnectors];
 * connectors.find((c) => c.role === 'stream-source' && c.name === 'nats');
 * ```
 */
export const natsStreamConnectors: readonly (StreamSourceConnector | StreamSinkConnector)[] = [
  natsSource,
  natsSink,
];
