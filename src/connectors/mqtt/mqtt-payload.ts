import type { StreamRow } from '../../stream/stream-connector.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The record of an MQTT message payload: the JSON object it holds. A payload that is not UTF-8,
 * not JSON or not an object still becomes a record, whose value is
 * `{ _sluice_invalid: <reason>, _sluice_payload: <text> }` (base64 when not UTF-8), so the
 * runtime can quarantine it and the message is acknowledged like any other.
 *
 * @example
 * ```ts
 * decodePayload(Buffer.from('{"t":21.5}')); // { t: 21.5 }
 * decodePayload(Buffer.from('21.5')); // { _sluice_invalid: 'the payload is not a JSON object (it is a number)', _sluice_payload: '21.5' }
 * ```
 */
export function decodePayload(payload: Uint8Array): StreamRow {
  let text: string;
  try {
    text = UTF8.decode(payload);
  } catch {
    return invalid(
      'the payload is not UTF-8 text (here in base64)',
      Buffer.from(payload).toString('base64'),
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return invalid(`the payload is not JSON (${(error as Error).message})`, text);
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    return parsed as StreamRow;
  }
  const kind = Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : `a ${typeof parsed}`;
  return invalid(`the payload is not a JSON object (it is ${kind})`, text);
}

function invalid(reason: string, payload: string): StreamRow {
  return { _sluice_invalid: reason, _sluice_payload: payload };
}
