import type { LogicalType, TypeMapping } from '../../core/types.js';
import { mapType } from '../../core/types.js';
import { quoteIdentifier, toDuckDBType } from '../../core/type-mappings.js';

/** A column of a PostgreSQL result, as the catalog describes it. */
export interface PostgresColumn {
  readonly name: string;
  /** `pg_type.oid` of the column's type. */
  readonly typeOid: number;
  /** `pg_type.typname`: `int4`, `numeric`, `_text` (an array of text), an enum's name... */
  readonly typeName: string;
  /** `pg_type.typcategory`: `A` array, `E` enum, `N` numeric, `S` string, `U` user... */
  readonly category: string;
  /** For arrays: the element's typname. */
  readonly elementTypeName: string | undefined;
  /** The type modifier (`numeric(12,2)` keeps precision and scale here), -1 when none. */
  readonly typeModifier: number;
}

/**
 * How a PostgreSQL scalar type maps to a logical type, by `typname`. Types not listed here
 * (enums, domains over text, `interval`, `time`, `money`, geometric and network types) are read as
 * their text form.
 */
const SCALAR_TYPES: Readonly<Record<string, (modifier: number) => LogicalType>> = {
  bool: () => ({ kind: 'bool' }),
  int2: () => ({ kind: 'int16' }),
  int4: () => ({ kind: 'int32' }),
  int8: () => ({ kind: 'int64' }),
  oid: () => ({ kind: 'int64' }),
  float4: () => ({ kind: 'float32' }),
  float8: () => ({ kind: 'float64' }),
  numeric: numericType,
  text: () => ({ kind: 'string' }),
  varchar: () => ({ kind: 'string' }),
  bpchar: () => ({ kind: 'string' }),
  name: () => ({ kind: 'string' }),
  citext: () => ({ kind: 'string' }),
  uuid: () => ({ kind: 'string' }),
  bytea: () => ({ kind: 'binary' }),
  date: () => ({ kind: 'date' }),
  timestamp: () => ({ kind: 'timestamp', tz: false }),
  timestamptz: () => ({ kind: 'timestamp', tz: true }),
  json: () => ({ kind: 'json' }),
  jsonb: () => ({ kind: 'json' }),
};

/**
 * `numeric(p,s)` keeps its precision and scale up to DuckDB's 38 digits. Unconstrained `numeric`
 * (any precision) and wider ones are read as text, since no fixed decimal holds them exactly.
 */
function numericType(modifier: number): LogicalType {
  if (modifier < 4) return { kind: 'string' };
  const precision = ((modifier - 4) >> 16) & 0xffff;
  const scale = (modifier - 4) & 0xffff;
  return precision <= 38 ? { kind: 'decimal', precision, scale } : { kind: 'string' };
}

/**
 * The logical type of a PostgreSQL column: scalars by {@link SCALAR_TYPES}, arrays as lists of
 * their element's type, everything else as text.
 *
 * @example
 * ```ts
 * logicalTypeOf({ name: 'tags', typeOid: 1009, typeName: '_text', category: 'A', elementTypeName: 'text', typeModifier: -1 });
 * // { kind: 'list', element: { kind: 'string' } }
 * ```
 */
export function logicalTypeOf(column: PostgresColumn): LogicalType {
  if (column.category === 'A' && column.elementTypeName !== undefined) {
    const element = SCALAR_TYPES[column.elementTypeName]?.(-1) ?? { kind: 'string' };
    // Arrays of json/bytea/arrays travel as JSON; their elements stay JSON text.
    return element.kind === 'binary' || element.kind === 'json'
      ? { kind: 'json' }
      : { kind: 'list', element };
  }
  return SCALAR_TYPES[column.typeName]?.(column.typeModifier) ?? { kind: 'string' };
}

/**
 * The expression that sends a column through `COPY ... (FORMAT csv)` so that DuckDB can read it
 * back exactly: arrays as JSON, bytea as base64, instants in UTC, other types as their text.
 *
 * @example
 * ```ts
 * transportExpression(column, { kind: 'binary' }); // encode("photo", 'base64')
 * ```
 */
export function transportExpression(column: PostgresColumn, type: LogicalType): string {
  const name = quoteIdentifier(column.name);
  if (type.kind === 'list' || (type.kind === 'json' && column.category === 'A'))
    return `to_json(${name})`;
  if (type.kind === 'binary') return `encode(${name}, 'base64')`;
  return name;
}

/**
 * The DuckDB expression that turns the transported text column back into the logical type.
 *
 * @example
 * ```ts
 * restoreExpression('"photo"', { kind: 'binary' }); // from_base64("photo")
 * ```
 */
export function restoreExpression(text: string, type: LogicalType): string {
  if (type.kind === 'binary') return `from_base64(${text})`;
  if (type.kind === 'bool') return `(${text} = 't')`;
  if (type.kind === 'list') return `CAST(CAST(${text} AS JSON) AS ${toDuckDBType(type)})`;
  if (type.kind === 'timestamp' && type.tz) return `CAST(${text} AS TIMESTAMPTZ)`;
  return `CAST(${text} AS ${toDuckDBType(type)})`;
}

/**
 * The exhaustive logical-to-PostgreSQL mapping used when a sink creates or extends a table.
 * Nested types (lists of nested values, structs, maps) become `jsonb`.
 *
 * @example
 * ```ts
 * mapType(postgresTypeMapping, { kind: 'timestamp', tz: true }); // "timestamptz"
 * ```
 */
export const postgresTypeMapping: TypeMapping<string> = {
  bool: () => 'boolean',
  int8: () => 'smallint',
  int16: () => 'smallint',
  int32: () => 'integer',
  int64: () => 'bigint',
  float32: () => 'real',
  float64: () => 'double precision',
  decimal: (t) => `numeric(${t.precision},${t.scale})`,
  string: () => 'text',
  binary: () => 'bytea',
  date: () => 'date',
  timestamp: (t) => (t.tz ? 'timestamptz' : 'timestamp'),
  list: (t) => (isScalar(t.element) ? `${mapType(postgresTypeMapping, t.element)}[]` : 'jsonb'),
  struct: () => 'jsonb',
  map: () => 'jsonb',
  json: () => 'jsonb',
};

function isScalar(type: LogicalType): boolean {
  return (
    type.kind !== 'list' && type.kind !== 'struct' && type.kind !== 'map' && type.kind !== 'json'
  );
}

/**
 * The DuckDB expression that writes a column to CSV in a form PostgreSQL's `COPY FROM` reads:
 * bytea as `\x` hex, lists of scalars as array literals, nested values as JSON, instants in UTC.
 *
 * @example
 * ```ts
 * toPostgresText('"photo"', { kind: 'binary' }); // '\x' || lower(hex("photo"))
 * ```
 */
export function toPostgresText(column: string, type: LogicalType): string {
  switch (type.kind) {
    case 'binary':
      return `'\\x' || lower(hex(${column}))`;
    case 'list':
      if (isScalar(type.element))
        return `'{' || array_to_string(list_transform(${column}, x -> CASE WHEN x IS NULL THEN 'NULL' ELSE '"' || replace(replace(CAST(x AS VARCHAR), '\\', '\\\\'), '"', '\\"') || '"' END), ',') || '}'`;
      return `CAST(to_json(${column}) AS VARCHAR)`;
    case 'struct':
    case 'map':
      return `CAST(to_json(${column}) AS VARCHAR)`;
    case 'timestamp':
      return type.tz
        ? `strftime(timezone('UTC', ${column}), '%Y-%m-%d %H:%M:%S.%f') || '+00'`
        : `strftime(${column}, '%Y-%m-%d %H:%M:%S.%f')`;
    default:
      return `CAST(${column} AS VARCHAR)`;
  }
}
