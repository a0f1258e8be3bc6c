import { createHash } from 'node:crypto';
import { toJSONValue } from '../../contracts/json-values.js';
import { decodePayload, invalidRecord } from '../../contracts/payload.js';
import type { StreamRecord, StreamRow } from '../../contracts/stream-connector.js';
import { partitionName } from './kafka-positions.js';

/** The parts of a consumed Kafka message a record is made of. */
export interface ConsumedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: bigint;
  readonly key?: Buffer | undefined;
  readonly value?: Buffer | undefined;
}

/** Columns the source adds to each record. */
export interface RecordColumns {
  readonly keyColumn?: string | undefined;
  readonly timestampColumn?: string | undefined;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The stream record of a consumed message: its value's JSON object (or an invalid record saying
 * why there is none: a tombstone, not UTF-8, not JSON, not an object), partition
 * `<topic>/<partition>`, position = offset, broker time = the message's timestamp.
 *
 * @example
 * ```ts
 * messageRecord({ topic: 'clicks', partition: 0, offset: 41n, timestamp: 1700000000000n, value: Buffer.from('{"page":"/"}') }, {});
 * // { value: { page: '/' }, partition: 'clicks/0', position: '41', brokerTime: 1700000000000 }
 * ```
 */
export function messageRecord(message: ConsumedMessage, columns: RecordColumns): StreamRecord {
  const value =
    message.value === undefined || message.value === null
      ? invalidRecord('the message has no value (a tombstone)', '')
      : decodePayload(message.value);
  if (columns.keyColumn !== undefined) value[columns.keyColumn] = keyText(message.key);
  if (columns.timestampColumn !== undefined)
    value[columns.timestampColumn] = Number(message.timestamp);
  return {
    value,
    partition: partitionName(message.topic, message.partition),
    position: message.offset.toString(),
    brokerTime: Number(message.timestamp),
  };
}

/**
 * A message key as text: UTF-8 when it is, base64 otherwise; null for no key.
 *
 * @example
 * ```ts
 * keyText(Buffer.from('eu')); // "eu"
 * ```
 */
export function keyText(key: Buffer | undefined | null): string | null {
  if (key === undefined || key === null) return null;
  try {
    return UTF8.decode(key);
  } catch {
    return key.toString('base64');
  }
}

/**
 * The key bytes for a row's key value: text as UTF-8; numbers, bigints and booleans as their
 * text; dates as ISO-8601; bytes as they are; objects and arrays as JSON. Undefined when the
 * row has no value (null or missing).
 *
 * @example
 * ```ts
 * encodeKey(42)?.toString(); // "42"
 * encodeKey(new Date(0))?.toString(); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function encodeKey(value: unknown): Buffer | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value instanceof Date) return Buffer.from(value.toISOString(), 'utf8');
  if (typeof value === 'object') return Buffer.from(JSON.stringify(toJSONValue(value)), 'utf8');
  return Buffer.from(String(value), 'utf8');
}

/**
 * A row as a message value: its JSON (bigints as numbers when they fit exactly, else text;
 * dates ISO-8601; bytes base64).
 *
 * @example
 * ```ts
 * encodeValue({ id: 12n }).toString(); // '{"id":12}'
 * ```
 */
export function encodeValue(row: StreamRow): Buffer {
  return Buffer.from(JSON.stringify(toJSONValue(row)), 'utf8');
}

/**
 * The `sluice-id` header of message `index` of checkpoint `checkpointId`: the same when a
 * replayed checkpoint makes the same row, so consumers can drop the copy. The digest of the value
 * ends it, so a replay that makes a different row at that index does not look like a copy.
 *
 * @example
 * ```ts
 * kafkaMessageId('clicks', 7, 0, Buffer.from('{"n":1}')); // "clicks:7:0:<digest>"
 * ```
 */
export function kafkaMessageId(
  streamName: string,
  checkpointId: number,
  index: number,
  value: Uint8Array,
): string {
  const digest = createHash('sha256').update(value).digest('base64url').slice(0, 16);
  return `${streamName}:${checkpointId}:${index}:${digest}`;
}
