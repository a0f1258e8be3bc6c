import { invalidRecord, parseJSONObject } from '../../contracts/payload.js';
import type { StreamRecord, StreamRow } from '../../contracts/stream-connector.js';

/** One stream entry as Redis returns it: its id and its fields (null once deleted). */
export type RawEntry = readonly [id: string, fields: readonly string[] | null];

/** How an entry becomes a record: one field parsed as JSON, or all fields as they are. */
export type EntryDecoding =
  { readonly kind: 'json-field'; readonly field: string } | { readonly kind: 'all-fields' };

/**
 * Orders two stream entry ids (`<ms>-<seq>`, each part an unsigned 64-bit integer), negative when
 * `a` comes first. Exact for every id, without converting to numbers.
 *
 * @example
 * ```ts
 * compareEntryIds('1700000000000-9', '1700000000000-10'); // < 0
 * ```
 */
export function compareEntryIds(a: string, b: string): number {
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  const msA = dashA < 0 ? a : a.slice(0, dashA);
  const msB = dashB < 0 ? b : b.slice(0, dashB);
  const byMs = compareDigits(msA, msB);
  if (byMs !== 0) return byMs;
  return compareDigits(dashA < 0 ? '0' : a.slice(dashA + 1), dashB < 0 ? '0' : b.slice(dashB + 1));
}

/** Compares two unsigned decimal integers written without leading zeros. */
function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether `id` is a complete stream entry id, `<ms>-<seq>`.
 *
 * @example
 * ```ts
 * isEntryId('1700000000000-0'); // true
 * ```
 */
export function isEntryId(id: string): boolean {
  return /^(0|[1-9]\d{0,19})-(0|[1-9]\d{0,19})$/.test(id);
}

/**
 * The record of one entry of stream `key`. An entry that cannot be decoded (the field is missing,
 * its value is not a JSON object, or the entry was deleted before it was processed) still
 * becomes a record, whose value is `{ _sluice_invalid: <reason>, _sluice_payload: <text> }`, so
 * the runtime can quarantine it and its position is acknowledged like any other.
 *
 * @example
 * ```ts
 * entryRecord('orders', ['1700000000000-0', ['data', '{"id":1}']], { kind: 'json-field', field: 'data' });
 * // { value: { id: 1 }, partition: 'orders', position: '1700000000000-0', brokerTime: 1700000000000 }
 * ```
 */
export function entryRecord(key: string, entry: RawEntry, decoding: EntryDecoding): StreamRecord {
  const [id, fields] = entry;
  const brokerTime = Number(id.slice(0, id.indexOf('-')));
  return {
    value: decodeEntry(fields, decoding),
    partition: key,
    position: id,
    ...(Number.isSafeInteger(brokerTime) ? { brokerTime } : {}),
  };
}

function decodeEntry(fields: readonly string[] | null, decoding: EntryDecoding): StreamRow {
  if (fields === null) {
    return invalidRecord(
      'the entry was deleted from the stream (trimmed) before it was processed',
      '',
    );
  }
  if (decoding.kind === 'all-fields') {
    const row: StreamRow = {};
    for (let i = 0; i + 1 < fields.length; i += 2) row[fields[i]!] = fields[i + 1];
    return row;
  }
  let text: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === decoding.field) text = fields[i + 1];
  }
  if (text === undefined) {
    return invalidRecord(`the entry has no field "${decoding.field}"`, JSON.stringify(fields));
  }
  return parseJSONObject(text, 'the payload');
}
