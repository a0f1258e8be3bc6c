import type { StreamRow } from './stream-connector.js';

/** The column of a record that a source could not decode: why. */
export const INVALID_REASON_FIELD = '_sluice_invalid';
/** The column of such a record holding the payload (as text, or base64 when not UTF-8). */
export const INVALID_PAYLOAD_FIELD = '_sluice_payload';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The record a message payload holds: a UTF-8 JSON object's fields. Any other payload (not
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
    value = JSON.parse(text);
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
