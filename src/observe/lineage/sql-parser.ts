import type * as Polyglot from '@polyglot-sql/sdk';
import type { SQLLineageDialect } from './column-lineage-types.js';

type PolyglotModule = typeof Polyglot;

let loading: Promise<PolyglotModule> | undefined;

/** `@polyglot-sql/sdk` (a WebAssembly module, ~150 ms to compile), loaded by the first parse. */
function polyglot(): Promise<PolyglotModule> {
  loading ??= import('@polyglot-sql/sdk');
  return loading;
}

/** The statements of `sql`, or why they could not be parsed. */
export type ParsedSQL =
  | { readonly ok: true; readonly statements: readonly unknown[] }
  | { readonly ok: false; readonly message: string };

/** Longest statement parsed; a compiled step is far shorter, and parsing is linear in length. */
export const MAX_SQL_LENGTH = 256 * 1024;

/**
 * Parses `sql` in `dialect`. Never throws for bad SQL: a syntax error, an input past the parser's
 * limits or a failure inside the parser all come back as `ok: false`.
 */
export async function parseSQL(sql: string, dialect: SQLLineageDialect): Promise<ParsedSQL> {
  if (sql.length > MAX_SQL_LENGTH) {
    return { ok: false, message: `the statement is longer than ${MAX_SQL_LENGTH} characters` };
  }
  const sdk = await polyglot();
  try {
    const result = sdk.parse(sql, dialect as Parameters<PolyglotModule['parse']>[1]);
    if (!result.success) return { ok: false, message: result.error ?? 'the parser gave no reason' };
    return { ok: true, statements: (result.ast ?? []) as unknown[] };
  } catch (error) {
    return { ok: false, message: `the parser failed: ${(error as Error).message}` };
  }
}
