import { ExpectationArgumentError } from './compile-context.js';

const PARSERS: readonly string[] = [
  'pandas',
  'great_expectations',
  'great_expectations__experimental__',
  'spark',
  'sql',
];

/**
 * Turns a GX `row_condition` into a SQL predicate. The `great_expectations` parser's
 * `col("name")` becomes a quoted identifier; the `pandas` parser's Python operators
 * (`==`, `and`, `or`, `not`, `.isnull()`/`.notnull()` on a column) become SQL. Anything else is
 * passed as SQL, so a suite written for Sluice may use SQL directly.
 *
 * @example
 * ```ts
 * translateRowCondition('col("status")=="paid"', 'great_expectations'); // "status" = 'paid'
 * ```
 */
export function translateRowCondition(condition: unknown, parser: unknown): string {
  if (typeof condition !== 'string' || condition.trim() === '') {
    throw new ExpectationArgumentError('row_condition must be a non-empty string');
  }
  if (parser !== undefined && parser !== null && !PARSERS.includes(parser as string)) {
    throw new ExpectationArgumentError(
      `condition_parser ${JSON.stringify(parser)} is not a valid enumeration member; use one of ${PARSERS.join(', ')}`,
    );
  }
  return condition
    .replace(/\s&\s/g, ' AND ')
    .replace(/\s\|\s/g, ' OR ')
    .replace(/~\s*\(/g, 'NOT (')
    .replace(
      /col\(\s*"((?:[^"\\]|\\.)*)"\s*\)|col\(\s*'((?:[^'\\]|\\.)*)'\s*\)/g,
      (_m, a: string | undefined, b: string | undefined) =>
        `"${(a ?? b ?? '').replaceAll('"', '""')}"`,
    )
    .replace(/"((?:[^"]|"")*)"\.notnull\(\)/g, '"$1" IS NOT NULL')
    .replace(/"((?:[^"]|"")*)"\.isnull\(\)/g, '"$1" IS NULL')
    .replace(/([A-Za-z_][A-Za-z0-9_]*)\.notnull\(\)/g, '"$1" IS NOT NULL')
    .replace(/([A-Za-z_][A-Za-z0-9_]*)\.isnull\(\)/g, '"$1" IS NULL')
    .replace(/==/g, '=')
    .replace(/!=/g, '<>')
    .replace(
      /(=|<>|<|>)\s*"([^"]*)"/g,
      (_m, op: string, text: string) => `${op} '${text.replaceAll("'", "''")}'`,
    );
}
