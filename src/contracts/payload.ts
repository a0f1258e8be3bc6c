import { randomBytes } from 'node:crypto';
import type { StreamRow } from './stream-connector.js';

/** The column of a record that a source could not decode: why. */
export const INVALID_REASON_FIELD = '_sluice_invalid';
/** The column of such a record holding the payload (as text, or base64 when not UTF-8). */
export const INVALID_PAYLOAD_FIELD = '_sluice_payload';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The record a message payload holds: a UTF-8 JSON object's fields, integers beyond 2^53 as
 * their exact text ({@link parseJSONExactIntegers}). Any other payload (not
 * UTF-8, not JSON, JSON that is not an object, empty) becomes a record of two columns,
 * `_sluice_invalid` (the reason) and `_sluice_payload`, so nothing is lost: the runtime
 * quarantines it and the message is acknowledged like any other.
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
    text = UTF8.decode(data);
  } catch {
    return invalidRecord(
      'the payload is not UTF-8 text; _sluice_payload holds it as base64',
      Buffer.from(data).toString('base64'),
    );
  }
  return parseJSONObject(text, 'the payload');
}

/** A text that may hold an integer a double rounds: one of 16 or more digits (2^53 has 16). */
const MAY_HOLD_BIG_INTEGER = /\d{16}/;
/** A JSON string (kept as it is) or a JSON number. */
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
/** A JSON integer literal: digits only, no fraction or exponent. */
const INTEGER = /^-?\d+$/;
/**
 * Marks an integer's digits inside a string during the parse: a NUL and a random nonce, so that no
 * string of the payload (which cannot hold a raw NUL, and cannot guess the nonce) is taken for one.
 */
const BIG_INTEGER_MARK = `\u0000sluice-integer:${randomBytes(8).toString('hex')}:`;
const BIG_INTEGER_MARK_IN_JSON = JSON.stringify(BIG_INTEGER_MARK).slice(1, -1);

/**
 * Parses JSON like `JSON.parse`, except that integers a double cannot hold exactly (beyond
 * ±(2^53 - 1), such as `9007199254740993`) become their exact decimal text instead of rounded
 * numbers: the form the PostgreSQL CDC stream gives such int64 values, which every stream sink
 * writes exactly into an integer or decimal column, and which stays exact through keys, windows
 * and checkpoints (JSON cannot hold a bigint). Fractions and exponents are doubles, as
 * `JSON.parse` makes them. Text without a run of 16 digits is parsed by `JSON.parse` alone.
 * Throws `JSON.parse`'s SyntaxError on invalid JSON.
 *
 * @example
 * ```ts
 * parseJSONExactIntegers('{"id": 9007199254740993, "n": 1}'); // { id: '9007199254740993', n: 1 }
 * ```
 */
export function parseJSONExactIntegers(text: string): unknown {
  if (!MAY_HOLD_BIG_INTEGER.test(text)) return JSON.parse(text) as unknown;
  // Invalid JSON fails with the parser's own message, about the text as it was.
  const plain = JSON.parse(text) as unknown;
  let found = false;
  const marked = text.replace(STRING_OR_NUMBER, (token) => {
    if (!INTEGER.test(token) || Number.isSafeInteger(Number(token))) return token;
    found = true;
    return `"${BIG_INTEGER_MARK_IN_JSON}${token}"`;
  });
  if (!found) return plain;
  return JSON.parse(marked, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(BIG_INTEGER_MARK)
      ? value.slice(BIG_INTEGER_MARK.length)
      : value,
  ) as unknown;
}

/**
 * The fields of a JSON object in `text`, or an invalid record saying why there are none
 * (`what` names the text in the reason: `the payload`, `the line`).
 *
 * @example
 * ```ts
 * parseJSONObject('{"id":1}', 'the line'); // { id: 1 }
 * ```
 */
export function parseJSONObject(text: string, what: string): StreamRow {
  if (text.trim() === '') return invalidRecord(`${what} is empty`, text);
  let value: unknown;
  try {
    value = parseJSONExactIntegers(text);
  } catch (error) {
    return invalidRecord(`${what} is not JSON: ${(error as Error).message}`, text);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as StreamRow;
  const kind = Array.isArray(value)
    ? 'a JSON array'
    : value === null
      ? 'JSON null'
      : `a JSON ${typeof value}`;
  return invalidRecord(`${what} is ${kind}, not an object`, text);
}

/**
 * Whether a record is one a source made from a payload it could not decode.
 *
 * @example
 * ```ts
 * isInvalidRecord({ _sluice_invalid: 'the payload is empty', _sluice_payload: '' }); // true
 * ```
 */
export function isInvalidRecord(value: StreamRow): boolean {
  return typeof value[INVALID_REASON_FIELD] === 'string';
}

/**
 * A record standing for a payload that could not be decoded.
 *
 * @example
 * ```ts
 * invalidRecord('the entry has no data field', '');
 * ```
 */
export function invalidRecord(reason: string, payload: string): StreamRow {
  return { [INVALID_REASON_FIELD]: reason, [INVALID_PAYLOAD_FIELD]: payload };
}
