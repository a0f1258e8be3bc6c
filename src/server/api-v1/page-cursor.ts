import { APIError } from './route-table.js';

/** A position in a keyset order: the sort values of the last row a page showed. */
export type PageKey = readonly (string | number)[];

/**
 * An opaque page cursor (base64url of the JSON array of `key`): the next page holds the rows
 * strictly after it in the route's order, so rows added meanwhile never shift a page.
 *
 * @example
 * ```ts
 * encodePageCursor([1_700_000_000_000, 'a1b2c3d4']); // "WzE3MDAwMDAwMDAwMDAsImExYjJjM2Q0Il0"
 * ```
 */
export function encodePageCursor(key: PageKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * Reads a cursor made by {@link encodePageCursor} whose parts have the kinds `shape` names
 * (`'n'` a safe integer, `'s'` a string of 1 to 1024 characters); anything else is a 400
 * `bad_request`.
 *
 * @example
 * ```ts
 * decodePageCursor(encodePageCursor([5, 'x']), ['n', 's']); // [5, 'x']
 * ```
 */
export function decodePageCursor(text: string, shape: readonly ('n' | 's')[]): PageKey {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const fits =
    Array.isArray(value) &&
    value.length === shape.length &&
    shape.every((kind, i) =>
      kind === 'n'
        ? Number.isSafeInteger(value[i])
        : typeof value[i] === 'string' && value[i].length > 0 && value[i].length <= 1024,
    );
  if (!fits)
    throw new APIError(
      400,
      'bad_request',
      'query parameter "cursor": not a cursor this API made; pass the nextCursor of the previous page, or omit it for the first page',
    );
  return value as PageKey;
}
