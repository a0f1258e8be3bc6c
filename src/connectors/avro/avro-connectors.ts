import type { BatchConnector } from '../../contracts/batch-connector.js';
import { avroSink } from './avro-sink.js';
import { avroSource } from './avro-source.js';

/**
 * The Avro file connectors: the `avro` source and the `avro` sink.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(...avroConnectors);
 * ```
 */
export const avroConnectors: readonly BatchConnector[] = [avroSource, avroSink];
