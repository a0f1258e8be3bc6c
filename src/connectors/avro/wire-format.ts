import type { Type as AvroType } from 'avsc';
import { schemaFingerprint } from './schema-fingerprint.js';
import type { AvroSchemaJSON } from './avro-type.js';

export { canonicalForm, crc64Avro, schemaFingerprint } from './schema-fingerprint.js';

const CONFLUENT_MAGIC = 0;
const SINGLE_OBJECT_MAGIC = Buffer.from([0xc3, 0x01]);

/**
 * A message that is not in the framing it was decoded as.
 *
 * @example
 * ```ts
 * throw new WireFormatError('message is too short for the Confluent wire format');
 * ```
 */
export class WireFormatError extends Error {}

/**
 * Frames Avro binary in the Confluent wire format: magic byte 0, the 4-byte big-endian schema
 * id, then the Avro binary encoding of the value.
 *
 * @example
 * ```ts
 * const message = encodeConfluent(42, type, { id: 1n });
 * ```
 */
export function encodeConfluent(schemaId: number, type: AvroType, value: unknown): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff)
    throw new WireFormatError(`schema id ${schemaId} does not fit 4 unsigned bytes`);
  const header = Buffer.alloc(5);
  header.writeUInt8(CONFLUENT_MAGIC, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, type.toBuffer(value)]);
}

/**
 * Splits a Confluent wire-format message into its schema id and Avro payload.
 *
 * @example
 * ```ts
 * const { schemaId, payload } = readConfluentHeader(message);
 * ```
 */
export function readConfluentHeader(message: Uint8Array): { schemaId: number; payload: Buffer } {
  const buffer = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (buffer.length < 5)
    throw new WireFormatError(
      `message of ${buffer.length} bytes is too short for the Confluent wire format (5-byte header)`,
    );
  if (buffer[0] !== CONFLUENT_MAGIC)
    throw new WireFormatError(
      `message starts with byte ${buffer[0]}, not the Confluent magic byte 0; it was not written with a schema registry serializer`,
    );
  return { schemaId: buffer.readUInt32BE(1), payload: buffer.subarray(5) };
}

/**
 * Decodes the Avro payload of a Confluent wire-format message with the writer's type (and a
 * resolver to a reader type when given); the whole payload must be one value.
 *
 * @example
 * ```ts
 * decodeAvroPayload(type, readConfluentHeader(message).payload);
 * ```
 */
export function decodeAvroPayload(
  type: AvroType,
  payload: Buffer,
  resolver?: ReturnType<AvroType['createResolver']>,
): unknown {
  const { value, offset } =
    resolver === undefined ? type.decode(payload, 0) : type.decode(payload, 0, resolver);
  if (offset < 0) throw new WireFormatError('Avro payload is truncated');
  if (offset !== payload.length)
    throw new WireFormatError(`Avro payload has ${payload.length - offset} bytes after the value`);
  return value;
}

/**
 * Encodes a value in Avro single-object encoding: `C3 01`, the schema's CRC-64-AVRO
 * fingerprint (8 bytes, little endian), then the Avro binary encoding.
 *
 * @example
 * ```ts
 * const message = encodeSingleObject(schema, type, { id: 42n });
 * ```
 */
export function encodeSingleObject(schema: AvroSchemaJSON, type: AvroType, value: unknown): Buffer {
  const fingerprint = Buffer.alloc(8);
  fingerprint.writeBigUInt64LE(schemaFingerprint(schema));
  return Buffer.concat([SINGLE_OBJECT_MAGIC, fingerprint, type.toBuffer(value)]);
}

/**
 * Splits a single-object encoded message into its fingerprint (unsigned) and Avro payload.
 *
 * @example
 * ```ts
 * const { fingerprint, payload } = readSingleObjectHeader(message);
 * ```
 */
export function readSingleObjectHeader(message: Uint8Array): {
  fingerprint: bigint;
  payload: Buffer;
} {
  const buffer = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (buffer.length < 10 || !buffer.subarray(0, 2).equals(SINGLE_OBJECT_MAGIC))
    throw new WireFormatError(
      'not an Avro single-object message (it must start with C3 01 and an 8-byte fingerprint)',
    );
  return { fingerprint: buffer.readBigUInt64LE(2), payload: buffer.subarray(10) };
}

/**
 * Decodes a single-object message with the writer schema it names, checking the fingerprint.
 *
 * @example
 * ```ts
 * decodeSingleObject(schema, type, message); // { id: 42n, ... }
 * ```
 */
export function decodeSingleObject(
  schema: AvroSchemaJSON,
  type: AvroType,
  message: Uint8Array,
): unknown {
  const { fingerprint, payload } = readSingleObjectHeader(message);
  const expected = schemaFingerprint(schema);
  if (fingerprint !== expected)
    throw new WireFormatError(
      `message fingerprint ${fingerprint.toString(16).padStart(16, '0')} is not the schema's ${expected.toString(16).padStart(16, '0')}; it was written with another schema`,
    );
  return decodeAvroPayload(type, payload);
}
