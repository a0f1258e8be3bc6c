export { avroSource } from './avro-source.js';
export { avroSink } from './avro-sink.js';
export * from './avro-configs.js';

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
export { avroConnectors } from './avro-connectors.js';
