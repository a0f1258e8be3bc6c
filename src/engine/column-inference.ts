import { SchemaMismatchError } from '../core/errors.js';
import type { Field, LogicalType } from '../core/types.js';

/**
 * The column type a JS value gets when a transform without `schema` adds a column: a boolean
 * is `bool`, a number `float64` (JS numbers are doubles), a bigint `int64`, a string `string`,
 * a Date `timestamp(tz)`, a Uint8Array `binary`, an array or plain object `json`. Undefined for
 * values no column can hold (functions, symbols).
 *
 * @example
 * ```ts
 * inferColumnType(12n); // { kind: 'int64' }
 * inferColumnType({ a: 1 }); // { kind: 'json' }
 * ```
 */
export function inferColumnType(value: unknown): LogicalType | undefined {
  switch (typeof value) {
    case 'boolean':
      return { kind: 'bool' };
    case 'number':
      return { kind: 'float64' };
    case 'bigint':
      return { kind: 'int64' };
    case 'string':
      return { kind: 'string' };
    case 'object':
      if (value instanceof Date) return { kind: 'timestamp', tz: true };
      if (value instanceof Uint8Array) return { kind: 'binary' };
      return { kind: 'json' };
    default:
      return undefined;
  }
}

/** The type of a column whose values were all null or missing. */
const ALL_NULL_TYPE: LogicalType = { kind: 'string' };

/** What {@link ColumnInference.newColumns} found in one row. */
export type NewColumns =
  { readonly fields: readonly Field[] } | { readonly column: string; readonly reason: string };

/**
 * Finds the columns a transform without a declared schema adds: keys of its output rows that
 * are not yet columns. A key becomes a nullable column, typed by {@link inferColumnType}, at
 * the first row where its value is not null (rows before it hold null there); a key that is
 * null in every row becomes a nullable `string` column at the end. A key that differs from a
 * column only in case cannot be a column of its own (names are case-insensitive in SQL), so the
 * step fails naming it.
 *
 * @example
 * ```ts
 * const inference = new ColumnInference('enrich', inputFields);
 * const found = inference.newColumns({ ...row, extra: 'x' }); // { fields: [extra: string] }
 * ```
 */
export class ColumnInference {
  readonly #stepId: string;
  readonly #names = new Set<string>();
  readonly #lowerCase = new Map<string, string>();
  /** Keys seen with only null or missing values so far, in order of first sight. */
  readonly #untyped = new Set<string>();

  constructor(stepId: string, fields: readonly Field[]) {
    this.#stepId = stepId;
    for (const field of fields) this.#remember(field.name);
  }

  /**
   * The columns `row` adds, or why the row cannot be stored (a value of a new column that no
   * type holds). Throws a {@link SchemaMismatchError} for a key no column can be made of.
   */
  newColumns(row: object): NewColumns {
    let added: Field[] | undefined;
    for (const key of Object.keys(row)) {
      if (this.#names.has(key)) continue;
      this.#checkName(key);
      const value = (row as Record<string, unknown>)[key];
      if (value === null || value === undefined) {
        this.#untyped.add(key);
        this.#lowerCase.set(key.toLowerCase(), key);
        continue;
      }
      const type = inferColumnType(value);
      if (type === undefined)
        return {
          column: key,
          reason: `column "${key}": a ${typeof value} cannot be stored in a column`,
        };
      this.#untyped.delete(key);
      this.#remember(key);
      (added ??= []).push({ name: key, type, nullable: true });
    }
    return { fields: added ?? [] };
  }

  /** Columns for the keys that were null in every row, typed `string`; called at the end. */
  remainingColumns(): Field[] {
    const fields = [...this.#untyped].map((name) => ({
      name,
      type: ALL_NULL_TYPE,
      nullable: true,
    }));
    for (const field of fields) this.#remember(field.name);
    this.#untyped.clear();
    return fields;
  }

  #remember(name: string): void {
    this.#names.add(name);
    this.#lowerCase.set(name.toLowerCase(), name);
  }

  #checkName(key: string): void {
    const clash = this.#lowerCase.get(key.toLowerCase());
    if (key !== '' && (clash === undefined || clash === key)) return;
    throw new SchemaMismatchError(
      this.#stepId,
      key === ''
        ? 'the transform returned a row with an empty key, which cannot be a column name'
        : `the transform returned a column "${key}" besides "${clash}"; column names are case-insensitive, so "${key}" cannot be kept`,
      {
        hint: 'rename the key in the transform, or declare the output columns with `schema` (keys not in a declared schema are left out)',
      },
    );
  }
}
