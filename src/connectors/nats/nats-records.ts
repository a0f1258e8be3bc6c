import { SluiceError } from '../../core/errors.js';
import type { StreamRow } from '../../stream/stream-connector.js';

/**
 * Column of a record whose payload could not be decoded: why. The runtime quarantines records
 * that have it.
 *
 * @example
 * ```ts
 * if (INVALID_REASON_FIELD in record.value) quarantine(record);
 * ```
 */
export const INVALID_REASON_FIELD = '_sluice_invalid';
/**
 * Column of a record whose payload could not be decoded: the payload, as text (or base64 when
 * it is not UTF-8).
 *
 * @example
 * ```ts
 * const original = record.value[INVALID_PAYLOAD_FIELD];
 * ```
 */
export const INVALID_PAYLOAD_FIELD = '_sluice_payload';

const SEQUENCE = /^\d+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Orders two JetStream stream sequences given as decimal text, exactly for any size (sequences
 * are unsigned 64-bit integers): negative when `a` comes first, 0 when equal.
 *
 * @example
 * ```ts
 * compareSequences('9', '10'); // < 0
 * compareSequences('18446744073709551615', '18446744073709551614'); // > 0
 * ```
 */
export function compareSequences(a: string, b: string): number {
  if (!SEQUENCE.test(a) || !SEQUENCE.test(b)) {
    const bad = SEQUENCE.test(a) ? b : a;
    throw new SluiceError('SOURCE_FAILED', `"${bad}" is not a JetStream stream sequence`, {
      hint: 'positions of the nats source are decimal stream sequences such as "1042"',
    });
  }
  const x = stripZeros(a);
  const y = stripZeros(b);
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Whether `text` is a stream sequence (decimal digits).
 *
 * @example
 * ```ts
 * isSequence('1042'); // true
 * ```
 */
export function isSequence(text: string): boolean {
  return SEQUENCE.test(text);
}

/**
 * The record a message payload holds: a UTF-8 JSON object's fields. Any other payload (not
 * UTF-8, not JSON, JSON that is not an object, empty) becomes a record with two columns,
 * `_sluice_invalid` (the reason) and `_sluice_payload` (the payload as text, or base64 when it is
 * not UTF-8), so nothing is lost and the runtime can quarantine it.
 *
 * @example
 * ```ts
 * decodePayload(new TextEncoder().encode('{"id":1}')); // { id: 1 }
 * decodePayload(new TextEncoder().encode('[1]')); // { _sluice_invalid: 'the payload is a JSON array, not an object', _sluice_payload: '[1]' }
 * ```
 */
export function decodePayload(data: Uint8Array): StreamRow {
  let text: string;
  try {
    text = utf8.decode(data);
  } catch {
    return invalid(
      'the payload is not UTF-8 text; _sluice_payload holds it as base64',
      Buffer.from(data).toString('base64'),
    );
  }
  if (text.trim() === '') return invalid('the payload is empty', text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid(`the payload is not JSON: ${(error as Error).message}`, text);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return value as StreamRow;
  }
  const kind = Array.isArray(value)
    ? 'a JSON array'
    : value === null
      ? 'JSON null'
      : `a JSON ${typeof value}`;
  return invalid(`the payload is ${kind}, not an object`, text);
}

/**
 * Whether a record is one {@link decodePayload} made from a payload it could not decode.
 *
 * @example
 * ```ts
 * isInvalidRecord({ _sluice_invalid: 'the payload is empty', _sluice_payload: '' }); // true
 * ```
 */
export function isInvalidRecord(value: StreamRow): boolean {
  return typeof value[INVALID_REASON_FIELD] === 'string';
}

function invalid(reason: string, payload: string): StreamRow {
  return { [INVALID_REASON_FIELD]: reason, [INVALID_PAYLOAD_FIELD]: payload };
}

function stripZeros(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits[i] === '0') i++;
  return i === 0 ? digits : digits.slice(i);
}
