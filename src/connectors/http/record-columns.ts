import type { Field, LogicalType } from '../../core/types.js';
import { quoteLiteral } from '../../core/type-mappings.js';

/** A column found in the records: its name, its place in a record, and its type. */
export interface RecordColumn {
  readonly name: string;
  /** Keys from the record to the value (`['customer', 'id']` for `customer__id`). */
  readonly keys: readonly string[];
  readonly type: LogicalType;
}

/** How nested values become columns: kept as JSON, or objects flattened to `parent__child`. */
export type NestedMode = 'json' | 'flatten';

const SCALAR_TYPES: Readonly<Record<string, LogicalType>> = {
  VARCHAR: { kind: 'string' },
  BIGINT: { kind: 'int64' },
  UBIGINT: { kind: 'int64' },
  DOUBLE: { kind: 'float64' },
  BOOLEAN: { kind: 'bool' },
};

const JSON_TYPE: LogicalType = { kind: 'json' };

/**
 * The columns of records whose merged shape is `structure` (DuckDB's `json_group_structure`).
 * Scalars get their type; arrays, values of mixed types and always-null values are JSON;
 * nested objects are JSON too, or with `flatten` become one column per leaf.
 *
 * @example
 * ```ts
 * recordColumns({ id: 'UBIGINT', customer: { name: 'VARCHAR' } }, 'flatten');
 * // [{ name: 'id', keys: ['id'], type: int64 }, { name: 'customer__name', keys: ['customer', 'name'], type: string }]
 * ```
 */
export function recordColumns(structure: unknown, nested: NestedMode): RecordColumn[] {
  const columns: RecordColumn[] = [];
  const visit = (shape: Readonly<Record<string, unknown>>, keys: readonly string[]): void => {
    for (const [key, value] of Object.entries(shape)) {
      const path = [...keys, key];
      if (nested === 'flatten' && isObjectShape(value)) {
        visit(value, path);
        continue;
      }
      const type = typeof value === 'string' ? (SCALAR_TYPES[value] ?? JSON_TYPE) : JSON_TYPE;
      columns.push({ name: path.join('__'), keys: path, type });
    }
  };
  if (isObjectShape(structure)) visit(structure, []);
  return columns;
}

function isObjectShape(value: unknown): value is Readonly<Record<string, unknown>> {
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
  return quoteLiteral(`$${keys.map((k) => `."${k.replaceAll('"', '\\"')}"`).join('')}`);
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
  return nested === 'flatten' ? name.split('__') : [name];
}

/** The declared or discovered field together with where its value is read from. */
export interface PlannedColumn {
  readonly field: Field;
  readonly keys: readonly string[] | undefined;
}
