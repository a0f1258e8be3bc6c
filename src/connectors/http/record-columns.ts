import type { Field, LogicalType } from '../../core/types.js';
import { quoteLiteral } from '../../core/type-mappings.js';

/** A column found in the records: its name, its place in a record, and its type. */
export interface RecordColumn {
  readonly name: string;
  /** Keys from the record to the value (`['customer', 'id']` for `customer__id`). */
  readonly keys: readonly string[];
  readonly type: LogicalType;
}

/**
 * How nested values become columns: kept as JSON, or objects flattened to `parent__child`
 * (`child_tables` flattens like `flatten`; its arrays are handled by the child tables).
 */
export type NestedMode = 'json' | 'flatten' | 'child_tables';

const SCALAR_TYPES: Readonly<Record<string, LogicalType>> = {
  VARCHAR: { kind: 'string' },
  BIGINT: { kind: 'int64' },
  UBIGINT: { kind: 'int64' },
  DOUBLE: { kind: 'float64' },
  BOOLEAN: { kind: 'bool' },
  // What `exactJSONStructure` types integers beyond int64 as.
  'DECIMAL(38,0)': { kind: 'decimal', precision: 38, scale: 0 },
};

const JSON_TYPE: LogicalType = { kind: 'json' };

/**
 * The columns of records whose merged shape is `structure` (DuckDB's `json_group_structure`).
 * Scalars get their type; arrays, values of mixed types and always-null values are JSON;
 * nested objects are JSON too, or with `flatten` (and `child_tables`) become one column per
 * leaf. Paths in `exclude` (arrays that are child tables) give no column.
 *
 * @example
 * ```ts
 * recordColumns({ id: 'UBIGINT', customer: { name: 'VARCHAR' } }, 'flatten');
 * // [{ name: 'id', keys: ['id'], type: int64 }, { name: 'customer__name', keys: ['customer', 'name'], type: string }]
 * ```
 */
export function recordColumns(
  structure: unknown,
  nested: NestedMode,
  exclude: readonly (readonly string[])[] = [],
): RecordColumn[] {
  const columns: RecordColumn[] = [];
  const excluded = new Set(exclude.map((keys) => JSON.stringify(keys)));
  const visit = (shape: Readonly<Record<string, unknown>>, keys: readonly string[]): void => {
    for (const [key, value] of Object.entries(shape)) {
      const path = [...keys, key];
      if (excluded.has(JSON.stringify(path))) continue;
      if (nested !== 'json' && isObjectShape(value)) {
        visit(value, path);
        continue;
      }
      columns.push({ name: path.join('__'), keys: path, type: scalarType(value) });
    }
  };
  if (isObjectShape(structure)) visit(structure, []);
  return columns;
}

/**
 * The logical type of a value whose shape is `shape`: scalars get their type, anything else
 * (objects, arrays, mixed or always-null values) is JSON.
 *
 * @example
 * ```ts
 * scalarType('VARCHAR'); // { kind: 'string' }
 * ```
 */
export function scalarType(shape: unknown): LogicalType {
  return typeof shape === 'string' ? (SCALAR_TYPES[shape] ?? JSON_TYPE) : JSON_TYPE;
}

/**
 * True when `value` is the shape of an object with at least one key.
 *
 * @example
 * ```ts
 * isObjectShape({ id: 'UBIGINT' }); // true
 * ```
 */
export function isObjectShape(value: unknown): value is Readonly<Record<string, unknown>> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length > 0
  );
}

/**
 * Where a column's value sits in a record, as a DuckDB JSON path literal.
 *
 * @example
 * ```ts
 * jsonPathLiteral(['customer', 'id']); // `'$."customer"."id"'`
 * ```
 */
export function jsonPathLiteral(keys: readonly string[]): string {
  return quoteLiteral(jsonPathText(keys));
}

/**
 * Where a value sits in a record, as DuckDB JSON path text (not yet a SQL literal).
 *
 * @example
 * ```ts
 * jsonPathText(['items']); // '$."items"'
 * ```
 */
export function jsonPathText(keys: readonly string[]): string {
  return `$${keys.map((k) => `."${k.replaceAll('"', '\\"')}"`).join('')}`;
}

/**
 * The keys of a declared column not found in the records: `parent__child` names a nested
 * value when flattening.
 *
 * @example
 * ```ts
 * keysOfName('customer__id', 'flatten'); // ['customer', 'id']
 * ```
 */
export function keysOfName(name: string, nested: NestedMode): string[] {
  return nested === 'json' ? [name] : name.split('__');
}

/** The declared or discovered field together with where its value is read from. */
export interface PlannedColumn {
  readonly field: Field;
  readonly keys: readonly string[] | undefined;
}
