import type { SQLLineageDialect } from './column-lineage-types.js';

/** An identifier as written in a statement. */
export interface WrittenIdentifier {
  readonly name: string;
  readonly quoted: boolean;
}

/** ASCII-only lower case, as DuckDB's and PostgreSQL's identifier folding do. */
function foldASCII(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

/**
 * Whether a written identifier names `stored` (a name as the catalog or an output schema spells
 * it): DuckDB compares every identifier without case, PostgreSQL folds unquoted identifiers to
 * lower case and compares exactly, ClickHouse compares exactly.
 */
export function identifierMatches(
  written: WrittenIdentifier,
  stored: string,
  dialect: SQLLineageDialect,
): boolean {
  switch (dialect) {
    case 'duckdb':
      return foldASCII(written.name) === foldASCII(stored);
    case 'postgresql':
      return (written.quoted ? written.name : foldASCII(written.name)) === stored;
    case 'clickhouse':
      return written.name === stored;
  }
}

/** Whether two written identifiers name the same thing (aliases, CTE names). */
export function identifiersEqual(
  left: WrittenIdentifier,
  right: WrittenIdentifier,
  dialect: SQLLineageDialect,
): boolean {
  return identifierMatches(left, nameAsStored(right, dialect), dialect);
}

/** The name a written identifier gives to what it defines (an alias, an output column). */
export function nameAsStored(written: WrittenIdentifier, dialect: SQLLineageDialect): string {
  return dialect === 'postgresql' && !written.quoted ? foldASCII(written.name) : written.name;
}

/** A key under which a written identifier finds the stored names it matches. */
export function writtenKey(written: WrittenIdentifier, dialect: SQLLineageDialect): string {
  switch (dialect) {
    case 'duckdb':
      return foldASCII(written.name);
    case 'postgresql':
      return written.quoted ? written.name : foldASCII(written.name);
    case 'clickhouse':
      return written.name;
  }
}

/** The key of a stored name: equal to {@link writtenKey} exactly when the two match. */
export function storedKey(stored: string, dialect: SQLLineageDialect): string {
  return dialect === 'duckdb' ? foldASCII(stored) : stored;
}
