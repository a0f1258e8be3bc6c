import type { Field, LogicalType, TypeMapping } from './types.js';
import { mapType } from './types.js';

/**
 * Quotes an identifier for DuckDB/Postgres-style SQL: wraps in double quotes and doubles any
 * embedded quote, so any column or step name is safe to splice into a statement.
 *
 * @example
 * ```ts
 * quoteIdentifier('a"b'); // "\"a\"\"b\""
 * ```
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Quotes a string literal for SQL: wraps in single quotes and doubles embedded quotes.
 *
 * @example
 * ```ts
 * quoteLiteral("O'Brien"); // "'O''Brien'"
 * ```
 */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A SQL literal for a config value: strings quoted, numbers and booleans as they are (valid in
 * DuckDB, PostgreSQL and MySQL alike).
 *
 * @example
 * ```ts
 * scalarLiteral('delete'); // "'delete'"
 * scalarLiteral(true); // "true"
 * ```
 */
export function scalarLiteral(value: string | number | boolean): string {
  return typeof value === 'string' ? quoteLiteral(value) : String(value);
}

/**
 * Logical type to DuckDB SQL type.
 *
 * @example
 * ```ts
 * toDuckDBType({ kind: 'decimal', precision: 12, scale: 2 }); // "DECIMAL(12,2)"
 * ```
 */
export function toDuckDBType(type: LogicalType): string {
  return mapType(duckDBTypeMapping, type);
}

/** The exhaustive logical-to-DuckDB mapping behind {@link toDuckDBType}. */
export const duckDBTypeMapping: TypeMapping<string> = {
  bool: () => 'BOOLEAN',
  int8: () => 'TINYINT',
  int16: () => 'SMALLINT',
  int32: () => 'INTEGER',
  int64: () => 'BIGINT',
  float32: () => 'FLOAT',
  float64: () => 'DOUBLE',
  decimal: (t) => `DECIMAL(${t.precision},${t.scale})`,
  string: () => 'VARCHAR',
  binary: () => 'BLOB',
  date: () => 'DATE',
  timestamp: (t) => (t.tz ? 'TIMESTAMPTZ' : 'TIMESTAMP'),
  list: (t) => `${toDuckDBType(t.element)}[]`,
  struct: (t) => `STRUCT(${columnDefinitions(t.fields)})`,
  map: (t) => `MAP(${toDuckDBType(t.key)}, ${toDuckDBType(t.value)})`,
  json: () => 'JSON',
};

/**
 * The column list of a DuckDB `CREATE TABLE` (or a struct) holding `fields`.
 *
 * @example
 * ```ts
 * columnDefinitions([{ name: 'id', type: { kind: 'int64' }, nullable: false }]); // '"id" BIGINT'
 * ```
 */
export function columnDefinitions(fields: readonly Field[]): string {
  return fields.map((f) => `${quoteIdentifier(f.name)} ${toDuckDBType(f.type)}`).join(', ');
}

/** How a logical type is stored in Parquet: physical type plus logical/converted annotation. */
export interface ParquetType {
  readonly physical:
    | 'BOOLEAN'
    | 'INT32'
    | 'INT64'
    | 'FLOAT'
    | 'DOUBLE'
    | 'BYTE_ARRAY'
    | 'FIXED_LEN_BYTE_ARRAY'
    | 'GROUP';
  /** The logical type annotation as the Parquet spec names it, e.g. `DECIMAL(12,2)`. */
  readonly logical?: string;
  /** For GROUP types: the repeated/child layout, spelled as in the Parquet spec. */
  readonly children?: readonly { readonly name: string; readonly type: ParquetType }[];
}

/**
 * Logical type to its Parquet representation (as DuckDB writes it and Delta expects it).
 *
 * @example
 * ```ts
 * toParquetType({ kind: 'timestamp', tz: true });
 * // { physical: 'INT64', logical: 'TIMESTAMP(isAdjustedToUTC=true, unit=MICROS)' }
 * ```
 */
export function toParquetType(type: LogicalType): ParquetType {
  return mapType(parquetTypeMapping, type);
}

/** The exhaustive logical-to-Parquet mapping behind {@link toParquetType}. */
export const parquetTypeMapping: TypeMapping<ParquetType> = {
  bool: () => ({ physical: 'BOOLEAN' }),
  int8: () => ({ physical: 'INT32', logical: 'INTEGER(8,true)' }),
  int16: () => ({ physical: 'INT32', logical: 'INTEGER(16,true)' }),
  int32: () => ({ physical: 'INT32' }),
  int64: () => ({ physical: 'INT64' }),
  float32: () => ({ physical: 'FLOAT' }),
  float64: () => ({ physical: 'DOUBLE' }),
  decimal: (t) => ({
    physical: t.precision <= 9 ? 'INT32' : t.precision <= 18 ? 'INT64' : 'FIXED_LEN_BYTE_ARRAY',
    logical: `DECIMAL(${t.precision},${t.scale})`,
  }),
  string: () => ({ physical: 'BYTE_ARRAY', logical: 'STRING' }),
  binary: () => ({ physical: 'BYTE_ARRAY' }),
  date: () => ({ physical: 'INT32', logical: 'DATE' }),
  timestamp: (t) => ({
    physical: 'INT64',
    logical: `TIMESTAMP(isAdjustedToUTC=${t.tz}, unit=MICROS)`,
  }),
  list: (t) => ({
    physical: 'GROUP',
    logical: 'LIST',
    children: [{ name: 'element', type: toParquetType(t.element) }],
  }),
  struct: (t) => ({
    physical: 'GROUP',
    children: t.fields.map((f) => ({ name: f.name, type: toParquetType(f.type) })),
  }),
  map: (t) => ({
    physical: 'GROUP',
    logical: 'MAP',
    children: [
      { name: 'key', type: toParquetType(t.key) },
      { name: 'value', type: toParquetType(t.value) },
    ],
  }),
  json: () => ({ physical: 'BYTE_ARRAY', logical: 'JSON' }),
};

/** A JSON Schema (draft 2020-12) fragment. */
export type JSONSchema = { readonly [key: string]: unknown };

/**
 * Logical type to JSON Schema, describing values as they appear in NDJSON output.
 * 64-bit integers and decimals are numbers; timestamps and dates are RFC 3339 strings.
 *
 * @example
 * ```ts
 * toJSONSchema({ kind: 'date' }); // { type: 'string', format: 'date' }
 * ```
 */
export function toJSONSchema(type: LogicalType): JSONSchema {
  return mapType(jsonSchemaMapping, type);
}

/** The exhaustive logical-to-JSON-Schema mapping behind {@link toJSONSchema}. */
export const jsonSchemaMapping: TypeMapping<JSONSchema> = {
  bool: () => ({ type: 'boolean' }),
  int8: () => ({ type: 'integer', minimum: -128, maximum: 127 }),
  int16: () => ({ type: 'integer', minimum: -32768, maximum: 32767 }),
  int32: () => ({ type: 'integer', minimum: -2147483648, maximum: 2147483647 }),
  int64: () => ({ type: 'integer' }),
  float32: () => ({ type: 'number' }),
  float64: () => ({ type: 'number' }),
  decimal: (t) => ({ type: 'number', multipleOf: 10 ** -t.scale }),
  string: () => ({ type: 'string' }),
  binary: () => ({ type: 'string', contentEncoding: 'base64' }),
  date: () => ({ type: 'string', format: 'date' }),
  timestamp: () => ({ type: 'string', format: 'date-time' }),
  list: (t) => ({ type: 'array', items: toJSONSchema(t.element) }),
  struct: (t) => fieldsToJSONSchema(t.fields),
  map: (t) => ({ type: 'object', additionalProperties: toJSONSchema(t.value) }),
  json: () => ({}),
};

/**
 * A JSON Schema object for a list of fields; non-nullable fields are required.
 *
 * @example
 * ```ts
 * fieldsToJSONSchema(orders.fields); // { type: 'object', properties: {...}, required: ['order_id'] }
 * ```
 */
export function fieldsToJSONSchema(fields: readonly Field[]): JSONSchema {
  // From entries, so a field named `__proto__` is a property, not a prototype change.
  const properties: Record<string, JSONSchema> = Object.fromEntries(
    fields.map((f) => {
      const base = toJSONSchema(f.type);
      return [f.name, f.nullable ? { anyOf: [base, { type: 'null' }] } : base];
    }),
  );
  const required = fields.filter((f) => !f.nullable).map((f) => f.name);
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}) };
}
