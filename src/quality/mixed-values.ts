import type { LogicalType } from '../core/types.js';
import { quoteLiteral } from '../core/type-mappings.js';

/**
 * SQL for comparing the values of a column whose values have several types (a `json` column,
 * such as an NDJSON field holding both numbers and text) the way Great Expectations (Python)
 * compares them: equality between different types is false, never an error; an ordering
 * comparison between a number and text raises, as Python's `TypeError` does, naming the column
 * and the value. Booleans count as the numbers 0 and 1, as in Python.
 */

/** JSON value types that compare as numbers (Python's int, float and bool). */
const NUMBERISH = "('BIGINT', 'UBIGINT', 'DOUBLE', 'BOOLEAN')";

/** What a JS value compares as. */
export type ComparedAs = 'number' | 'text' | 'datetime';

/**
 * Whether a column holds values of several types.
 *
 * @example
 * ```ts
 * isMixed({ kind: 'json' }); // true
 * ```
 */
export function isMixed(type: LogicalType): boolean {
  return type.kind === 'json';
}

/**
 * What a kwarg value compares as: numbers and booleans as numbers, `Date`s as datetimes,
 * everything else as text.
 *
 * @example
 * ```ts
 * comparedAs(3); // 'number'
 * ```
 */
export function comparedAs(value: unknown): ComparedAs {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return 'number';
  if (value instanceof Date) return 'datetime';
  return 'text';
}

function present(column: string): string {
  return `${column} IS NOT NULL AND json_type(${column}) <> 'NULL'`;
}

function raise(column: string, name: string, wanted: string): string {
  // The message depends on the row, so the engine cannot fold it into a constant and raise early.
  return `error(concat('column ', ${quoteLiteral(JSON.stringify(name))}, ' holds the ', lower(json_type(${column})), ' value ', CAST(${column} AS VARCHAR), ', which cannot be compared with ${wanted} (values of several types: only equality compares across types)'))`;
}

/**
 * A mixed column's value as a number, text or timestamp for an ordering comparison; a value of
 * another type raises an error naming the column and the value. Null stays null.
 *
 * @example
 * ```ts
 * orderedAs('"y"', 'y', 'number'); // CASE ... CAST("y" AS DOUBLE) ... error(...) END
 * ```
 */
export function orderedAs(column: string, name: string, as: ComparedAs): string {
  const when =
    as === 'number'
      ? `json_type(${column}) IN ${NUMBERISH} THEN CAST(${column} AS DOUBLE)`
      : as === 'text'
        ? `json_type(${column}) = 'VARCHAR' THEN ${column} ->> '$'`
        : `json_type(${column}) = 'VARCHAR' THEN CAST(${column} ->> '$' AS TIMESTAMP)`;
  const wanted = as === 'number' ? 'a number' : as === 'text' ? 'text' : 'a datetime';
  return `(CASE WHEN NOT (${present(column)}) THEN NULL WHEN ${when} ELSE ${raise(column, name, wanted)} END)`;
}

/**
 * A mixed column's value as a number or text when it is one, else null (for equality, where
 * values of different types are simply not equal).
 *
 * @example
 * ```ts
 * valueIfType('"y"', 'text'); // (CASE WHEN json_type("y") = 'VARCHAR' THEN "y" ->> '$' END)
 * ```
 */
export function valueIfType(column: string, as: ComparedAs): string {
  if (as === 'number')
    return `(CASE WHEN json_type(${column}) IN ${NUMBERISH} THEN CAST(${column} AS DOUBLE) END)`;
  if (as === 'datetime')
    return `(CASE WHEN json_type(${column}) = 'VARCHAR' THEN TRY_CAST(${column} ->> '$' AS TIMESTAMP) END)`;
  return `(CASE WHEN json_type(${column}) = 'VARCHAR' THEN ${column} ->> '$' END)`;
}

/**
 * The text of a value for regexes, LIKE patterns and strftime formats: a mixed column's strings
 * without their JSON quotes and its numbers as written (Python's `str(value)`); other columns
 * cast to text.
 *
 * @example
 * ```ts
 * textForMatching('"y"', { kind: 'json' }); // ("y" ->> '$')
 * ```
 */
export function textForMatching(column: string, type: LogicalType): string {
  return isMixed(type) ? `(${column} ->> '$')` : `CAST(${column} AS VARCHAR)`;
}

/**
 * SQL true when a mixed column's value equals one of `values` in Python's sense (1 == 1.0 ==
 * True; '1' != 1), false when it does not (null for a null value).
 *
 * @example
 * ```ts
 * mixedInSet('"y"', [9, 'abc'], (v) => String(v));
 * ```
 */
export function mixedInSet(
  column: string,
  values: readonly unknown[],
  literal: (value: unknown) => string,
): string {
  const parts: string[] = [];
  for (const as of ['number', 'text'] as const) {
    const items = values
      .filter((v) => v !== null && v !== undefined && comparedAs(v) === as)
      .map((v) => literal(typeof v === 'boolean' ? Number(v) : v));
    if (items.length > 0)
      parts.push(`coalesce(${valueIfType(column, as)} IN (${items.join(', ')}), false)`);
  }
  const inSet = parts.length === 0 ? 'false' : parts.join(' OR ');
  return `(CASE WHEN NOT (${present(column)}) THEN NULL ELSE (${inSet}) END)`;
}

/**
 * The Python type name of each value of a mixed column (`int`, `float`, `str`, `bool`, `list`,
 * `dict`), null for null, so type expectations judge value by value as GX does for an
 * object column.
 *
 * @example
 * ```ts
 * pythonTypeName('"s"'); // CASE json_type("s") WHEN 'VARCHAR' THEN 'str' ... END
 * ```
 */
export function pythonTypeName(column: string): string {
  return `(CASE json_type(${column}) WHEN 'VARCHAR' THEN 'str' WHEN 'BIGINT' THEN 'int' WHEN 'UBIGINT' THEN 'int' WHEN 'DOUBLE' THEN 'float' WHEN 'BOOLEAN' THEN 'bool' WHEN 'ARRAY' THEN 'list' WHEN 'OBJECT' THEN 'dict' END)`;
}

/**
 * A comparison of two values where at least one side is a mixed (JSON) value — a typed side is
 * given as `to_json(...)` — with Python's rules: numbers (and booleans) compare as numbers, text
 * as text; across types `=` and `<>` answer false and true, and an ordering raises naming the
 * columns. Null when a side is null.
 *
 * @example
 * ```ts
 * mixedCompare('"a"', 'to_json("b")', '>', 'a', 'b');
 * ```
 */
export function mixedCompare(
  left: string,
  right: string,
  operator: '=' | '<>' | '<' | '<=' | '>' | '>=',
  leftName: string,
  rightName: string,
): string {
  const across =
    operator === '='
      ? 'false'
      : operator === '<>'
        ? 'true'
        : `error(concat('columns ', ${quoteLiteral(JSON.stringify(leftName))}, ' and ', ${quoteLiteral(JSON.stringify(rightName))}, ' hold ', CAST(${left} AS VARCHAR), ' and ', CAST(${right} AS VARCHAR), ', values of different types, which cannot be ordered'))`;
  return `(CASE WHEN NOT (${present(left)}) OR NOT (${present(right)}) THEN NULL
    WHEN json_type(${left}) IN ${NUMBERISH} AND json_type(${right}) IN ${NUMBERISH} THEN CAST(${left} AS DOUBLE) ${operator} CAST(${right} AS DOUBLE)
    WHEN json_type(${left}) = 'VARCHAR' AND json_type(${right}) = 'VARCHAR' THEN (${left} ->> '$') ${operator} (${right} ->> '$')
    ELSE ${across} END)`;
}
