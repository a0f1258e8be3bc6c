import type { Field, LogicalType } from './types.js';
import { formatType } from './types.js';

/**
 * A column declaration being built: a type plus nullability and a description.
 * Immutable: every method returns a new declaration.
 *
 * @example
 * ```ts
 * const id = t.int64().notNull().describe('order id');
 * ```
 */
export class ColumnSpec {
  readonly type: LogicalType;
  readonly nullable: boolean;
  readonly description: string | undefined;

  constructor(type: LogicalType, nullable = true, description?: string) {
    this.type = type;
    this.nullable = nullable;
    this.description = description;
  }

  /** The column must hold a value in every row; rows without one are quarantined. */
  notNull(): ColumnSpec {
    return new ColumnSpec(this.type, false, this.description);
  }

  /** The column may be null (the default). */
  optional(): ColumnSpec {
    return new ColumnSpec(this.type, true, this.description);
  }

  /** Documents the column; shown in `sluice check` and data docs. */
  describe(description: string): ColumnSpec {
    return new ColumnSpec(this.type, this.nullable, description);
  }
}

/**
 * Column type builders for {@link schema}.
 *
 * @example
 * ```ts
 * schema({ id: t.int64().notNull(), amount: t.decimal(12, 2), tags: t.list(t.string()) });
 * ```
 */
export const t = {
  bool: () => new ColumnSpec({ kind: 'bool' }),
  int8: () => new ColumnSpec({ kind: 'int8' }),
  int16: () => new ColumnSpec({ kind: 'int16' }),
  int32: () => new ColumnSpec({ kind: 'int32' }),
  int64: () => new ColumnSpec({ kind: 'int64' }),
  float32: () => new ColumnSpec({ kind: 'float32' }),
  float64: () => new ColumnSpec({ kind: 'float64' }),
  /** Exact decimal with `precision` digits of which `scale` are after the point (max 38). */
  decimal: (precision: number, scale: number) =>
    new ColumnSpec({ kind: 'decimal', precision, scale }),
  string: () => new ColumnSpec({ kind: 'string' }),
  binary: () => new ColumnSpec({ kind: 'binary' }),
  date: () => new ColumnSpec({ kind: 'date' }),
  /** A wall-clock timestamp without time zone. */
  timestamp: () => new ColumnSpec({ kind: 'timestamp', tz: false }),
  /** An instant in time, stored in UTC. */
  timestamptz: () => new ColumnSpec({ kind: 'timestamp', tz: true }),
  list: (element: ColumnSpec) => new ColumnSpec({ kind: 'list', element: element.type }),
  struct: (fields: Readonly<Record<string, ColumnSpec>>) =>
    new ColumnSpec({ kind: 'struct', fields: toFields(fields) }),
  map: (key: ColumnSpec, value: ColumnSpec) =>
    new ColumnSpec({ kind: 'map', key: key.type, value: value.type }),
  json: () => new ColumnSpec({ kind: 'json' }),
} as const;

/**
 * The declared shape of a dataset: ordered, named, typed columns.
 *
 * @example
 * ```ts
 * const orders = schema({ order_id: t.int64().notNull(), amount: t.decimal(12, 2) });
 * orders.field('amount')?.type; // { kind: 'decimal', precision: 12, scale: 2 }
 * ```
 */
export class Schema {
  readonly fields: readonly Field[];
  readonly #byName: ReadonlyMap<string, Field>;

  constructor(fields: readonly Field[]) {
    this.fields = fields;
    this.#byName = new Map(fields.map((f) => [f.name, f]));
  }

  /** Column names in order. */
  get names(): string[] {
    return this.fields.map((f) => f.name);
  }

  /** The field called `name`, if any. */
  field(name: string): Field | undefined {
    return this.#byName.get(name);
  }

  /** A schema with `extra` fields appended (used for metadata columns). */
  withFields(extra: readonly Field[]): Schema {
    return new Schema([...this.fields, ...extra]);
  }

  /** A plain-object description, for reports and `--json` output. */
  toJSON(): { name: string; type: string; nullable: boolean }[] {
    return this.fields.map((f) => ({
      name: f.name,
      type: formatType(f.type),
      nullable: f.nullable,
    }));
  }
}

/**
 * Declares a schema from column specs, in the order written.
 *
 * @example
 * ```ts
 * const customers = schema({ id: t.string().notNull(), signed_up: t.date() });
 * ```
 */
export function schema(columns: Readonly<Record<string, ColumnSpec>>): Schema {
  return new Schema(toFields(columns));
}

function toFields(columns: Readonly<Record<string, ColumnSpec>>): Field[] {
  return Object.entries(columns).map(([name, spec]) => ({
    name,
    type: spec.type,
    nullable: spec.nullable,
    ...(spec.description === undefined ? {} : { description: spec.description }),
  }));
}

/**
 * Problems with a schema's declarations (bad decimal precision, empty or duplicate names).
 * Returned as messages; the planner turns them into diagnostics.
 *
 * @example
 * ```ts
 * validateSchema(schema({ x: t.decimal(50, 2) })); // ['column "x": decimal precision must be 1..38, got 50']
 * ```
 */
export function validateSchema(s: Schema): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, type: LogicalType): void => {
    if (type.kind === 'decimal') {
      if (!Number.isInteger(type.precision) || type.precision < 1 || type.precision > 38) {
        problems.push(`column "${name}": decimal precision must be 1..38, got ${type.precision}`);
      }
      if (!Number.isInteger(type.scale) || type.scale < 0 || type.scale > type.precision) {
        problems.push(
          `column "${name}": decimal scale must be 0..precision (${type.precision}), got ${type.scale}`,
        );
      }
    } else if (type.kind === 'list') {
      visit(`${name}[]`, type.element);
    } else if (type.kind === 'map') {
      visit(`${name}.key`, type.key);
      visit(`${name}.value`, type.value);
    } else if (type.kind === 'struct') {
      for (const f of type.fields) visit(`${name}.${f.name}`, f.type);
    }
  };
  for (const f of s.fields) {
    if (f.name.trim() === '') problems.push('a column has an empty name');
    const key = f.name.toLowerCase();
    if (seen.has(key)) {
      problems.push(`column "${f.name}" is declared twice (names are case-insensitive)`);
    }
    seen.add(key);
    visit(f.name, f.type);
  }
  return problems;
}

/**
 * Recognises a {@link Schema} structurally, so schemas built by another copy of the package
 * (a pipeline file importing the published build while tests import the sources) still count.
 *
 * @example
 * ```ts
 * isSchema(schema({ id: t.int64() })); // true
 * ```
 */
export function isSchema(value: unknown): value is Schema {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { fields?: unknown }).fields) &&
    typeof (value as { field?: unknown }).field === 'function'
  );
}
