import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Node's codes for a write the file system refused: no permission, or a read-only mount. */
const DENIED_CODES = new Map([
  ['EACCES', 'permission denied'],
  ['EPERM', 'permission denied'],
  ['EROFS', 'the file system is read-only'],
]);

/** DuckDB reports the same refusals in its message text. */
const DENIED_TEXT: readonly [RegExp, string][] = [
  [/Permission denied/i, 'permission denied'],
  [/Read-only file system/i, 'the file system is read-only'],
];

/** A refused write, said plainly: which folder (or file) and what to do. */
export interface WriteDenied {
  /** The folder, or the existing file, that refused the write. */
  readonly path: string;
  /** `cannot write to <path>: permission denied`. */
  readonly message: string;
  readonly hint: string;
}

/**
 * When `cause` is the file system refusing a write (EACCES, EPERM, EROFS from Node, or DuckDB's
 * "Permission denied"), says which folder refused it: the nearest folder of `writeInto` that
 * exists (the one a new file or folder could not be made in), or `writeInto` itself when it is
 * an existing file. Resolves to undefined for any other error, which callers report as before.
 *
 * @example
 * ```ts
 * const denied = await writeDenied(cause, dirname(target));
 * if (denied) throw new SinkError(stepId, denied.message, { cause, hint: denied.hint });
 * ```
 */
export async function writeDenied(
  cause: unknown,
  writeInto: string,
): Promise<WriteDenied | undefined> {
  const reason = deniedReason(cause);
  if (reason === undefined) return undefined;
  const path = await nearestExisting(writeInto);
  return {
    path,
    message: `cannot write to ${path}: ${reason}`,
    hint: 'make it writable or choose another path',
  };
}

function deniedReason(cause: unknown): string | undefined {
  for (let error = cause, depth = 0; error !== undefined && depth < 5; depth++) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && DENIED_CODES.has(code)) return DENIED_CODES.get(code);
    const message = error instanceof Error ? error.message : String(error);
    for (const [pattern, reason] of DENIED_TEXT) if (pattern.test(message)) return reason;
    error = (error as { cause?: unknown } | null)?.cause;
  }
  return undefined;
}

async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    if ((await stat(current).catch(() => undefined)) !== undefined) return current;
    const parent = dirname(current);
    if (parent === current) return path;
    current = parent;
  }
}
