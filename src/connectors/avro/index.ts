import type { BatchConnector } from '../../contracts/batch-connector.js';
import { avroSink } from './avro-sink.js';
import { avroSource } from './avro-source.js';

export { avroSource } from './avro-source.js';
export { avroSink } from './avro-sink.js';
export * from './avro-configs.js';

/**
 * The Avro file connectors: the `avro` source and the `avro` sink.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(...avroConnectors);
 * ```
 */
export const avroConnectors: readonly BatchConnector[] = [avroSource, avroSink];
export { SchemaRegistryClient } from './schema-registry.js';
export type { SchemaRegistryOptions, SubjectVersion } from './schema-registry.js';
export { createRegistryDecoder } from './registry-decoder.js';
export {
  canonicalForm,
  crc64Avro,
  decodeAvroPayload,
  decodeSingleObject,
  encodeConfluent,
  encodeSingleObject,
  readConfluentHeader,
  readSingleObjectHeader,
  schemaFingerprint,
  WireFormatError,
} from './wire-format.js';
export { createAvroType } from './avro-type.js';
