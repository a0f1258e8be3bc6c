import { setFlagsFromString } from 'node:v8';
import type * as Polyglot from '@polyglot-sql/sdk';
import type { SQLLineageDialect } from './column-lineage-types.js';

type PolyglotModule = typeof Polyglot;

let loading: Promise<PolyglotModule> | undefined;
let loaded: PolyglotModule | undefined;

/** `@polyglot-sql/sdk` (a WebAssembly module, ~150 ms to compile), loaded by the first parse. */
function polyglot(): Promise<PolyglotModule> {
  if (loading === undefined) {
    // Baseline (Liftoff) code only: it parses statements of a step's size as fast (bench
    // lineage: median 0.23 vs 0.22 ms), while optimizing the 22 MB module in the background
    // held a short-lived process's exit for ~300 ms (`sluice run`).
    setFlagsFromString('--liftoff-only');
    loading = import('@polyglot-sql/sdk').then((sdk) => (loaded = sdk));
  }
  return loading;
}

/**
 * Loads the SQL parser ahead of a synchronous {@link parseLoadedSQL} (a run starts it, so the
 * parser is compiled by the time its first SQL step ends).
 *
 * @example
 * ```ts
 * await loadSQLParser();
 * parseLoadedSQL('SELECT 1 AS one', 'duckdb');
 * ```
 */
export async function loadSQLParser(): Promise<void> {
  await polyglot();
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
  await polyglot();
  return parseLoadedSQL(sql, dialect);
}

/** {@link parseSQL} once {@link loadSQLParser} has resolved; before, `ok: false`. */
export function parseLoadedSQL(sql: string, dialect: SQLLineageDialect): ParsedSQL {
  if (sql.length > MAX_SQL_LENGTH) {
    return { ok: false, message: `the statement is longer than ${MAX_SQL_LENGTH} characters` };
  }
  const sdk = loaded;
  if (sdk === undefined) return { ok: false, message: 'the SQL parser is not loaded yet' };
  try {
    const result = sdk.parse(sql, dialect as Parameters<PolyglotModule['parse']>[1]);
    if (!result.success) return { ok: false, message: result.error ?? 'the parser gave no reason' };
    return { ok: true, statements: (result.ast ?? []) as unknown[] };
  } catch (error) {
    return { ok: false, message: `the parser failed: ${(error as Error).message}` };
  }
}
