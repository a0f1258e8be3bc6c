import { APIError } from './route-table.js';

/** A position in the newest-first order of runs: the last run a page showed. */
export interface RunCursor {
  readonly queuedAt: number;
  readonly id: string;
}

/**
 * The opaque cursor of a page's last run (base64url of `[queuedAt, id]`). The next page holds
 * the runs strictly older in (queuedAt, id) order, so runs queued meanwhile never shift it.
 *
 * @example
 * ```ts
 * encodeRunCursor({ queuedAt: 1_700_000_000_000, id: 'run_x' }); // "WzE3MDAwMDAwMDAwMDAsInJ1bl94Il0"
 * ```
 */
export function encodeRunCursor(cursor: RunCursor): string {
  return Buffer.from(JSON.stringify([cursor.queuedAt, cursor.id]), 'utf8').toString('base64url');
}

/**
 * Reads a cursor made by {@link encodeRunCursor}; anything else is a 400 `bad_request`.
 *
 * @example
 * ```ts
 * decodeRunCursor(encodeRunCursor({ queuedAt: 1, id: 'run_x' })); // { queuedAt: 1, id: 'run_x' }
 * ```
 */
export function decodeRunCursor(text: string): RunCursor {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) throw new Error('not base64url');
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !Number.isSafeInteger(value[0]) ||
    typeof value[1] !== 'string' ||
    value[1].length === 0 ||
    value[1].length > 256
  )
    throw new APIError(
      400,
      'bad_request',
      'query parameter "cursor": not a cursor this API made; pass the nextCursor of the previous page, or omit it for the first page',
    );
  return { queuedAt: value[0] as number, id: value[1] };
}
