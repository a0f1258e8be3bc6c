import type { FieldPacket } from 'mysql2/promise';
import type { Field, LogicalType, TypeMapping } from '../../core/types.js';
import { mapType } from '../../core/types.js';

/**
 * Every MySQL/MariaDB column type the source reads, by the name MySQL gives it.
 *
 * @example
 * ```ts
 * const name: MySQLTypeName = 'decimal';
 * ```
 */
export type MySQLTypeName =
  | 'tinyint'
  | 'smallint'
  | 'mediumint'
  | 'int'
  | 'bigint'
  | 'decimal'
  | 'float'
  | 'double'
  | 'date'
  | 'datetime'
  | 'timestamp'
  | 'time'
  | 'year'
  | 'char'
  | 'varchar'
  | 'text'
  | 'json'
  | 'blob'
  | 'binary'
  | 'varbinary'
  | 'enum'
  | 'set'
  | 'bit'
  | 'geometry'
  | 'null';

/**
 * A result column as the server describes it.
 *
 * @example
 * ```ts
 * const amount: MySQLColumn = { name: 'amount', typeName: 'decimal', unsigned: false, nullable: true, length: 12, scale: 2 };
 * ```
 */
export interface MySQLColumn {
  readonly name: string;
  readonly typeName: MySQLTypeName;
  readonly unsigned: boolean;
  readonly nullable: boolean;
  /** Display width of integers (1 for `tinyint(1)`), bits of `bit(n)`, digits of a decimal. */
  readonly length: number;
  /** Digits after the point of a decimal, or fractional-second digits of a time type. */
  readonly scale: number;
}

/**
 * A value that cannot be stored in its column's logical type, with the reason; its row is
 * quarantined.
 *
 * @example
 * ```ts
 * new BadValue('zero date "0000-00-00" is not a date');
 * ```
 */
export class BadValue {
  constructor(readonly reason: string) {}
}

/**
 * How one MySQL type is read: its logical type and how a driver value becomes a JS value.
 *
 * @example
 * ```ts
 * const reading: MySQLTypeReading = { type: { kind: 'int64' }, convert: (v) => BigInt(v as string) };
 * ```
 */
export interface MySQLTypeReading {
  readonly type: LogicalType;
  /** Converts a non-null driver value; absent when the value is taken as is. */
  readonly convert?: (value: unknown) => unknown;
}

// DuckDB holds at most 38 decimal digits; wider MySQL decimals are kept exact as text.
const MAX_ENGINE_DECIMAL_DIGITS = 38;
const ZERO_DATE = /^0000-00-00/;

const asBigInt = (value: unknown): unknown => BigInt(value as string | number);
const bitsToBigInt = (value: unknown): bigint => {
  let n = 0n;
  for (const byte of value as Uint8Array) n = (n << 8n) | BigInt(byte);
  return n;
};
const notZeroDate = (value: unknown): unknown =>
  typeof value === 'string' && ZERO_DATE.test(value)
    ? new BadValue(`zero date ${JSON.stringify(value)} is not a date`)
    : value;
const asText = (value: unknown): unknown =>
  value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : String(value);
const asJSONText = (value: unknown): unknown =>
  typeof value === 'string' ? value : JSON.stringify(value);

/** Integers widen when unsigned; 64-bit ones arrive as text and become bigint (or exact text). */
function integer(signed: LogicalType, unsigned: LogicalType): (c: MySQLColumn) => MySQLTypeReading {
  return (c) => {
    const type = c.unsigned ? unsigned : signed;
    if (type.kind === 'int64') return { type, convert: asBigInt };
    return type.kind === 'decimal' ? { type, convert: String } : { type };
  };
}

/**
 * MySQL type -> logical type, keyed by the MySQL type name (exhaustive: a new name does not
 * compile until it is mapped). Unsigned integers widen to the next type that holds them;
 * `tinyint(1)` and `bit(1)` are booleans; `time` is text, since it may be negative or exceed a
 * day; timestamps are instants (the session runs in UTC).
 *
 * @example
 * ```ts
 * mysqlTypeReadings.bigint({ name: 'id', typeName: 'bigint', unsigned: true, nullable: false, length: 20, scale: 0 }).type;
 * // { kind: 'decimal', precision: 20, scale: 0 }
 * ```
 */
export const mysqlTypeReadings: {
  readonly [K in MySQLTypeName]: (c: MySQLColumn) => MySQLTypeReading;
} = {
  tinyint: (c) =>
    c.length === 1 && !c.unsigned
      ? { type: { kind: 'bool' }, convert: (v) => Number(v) !== 0 }
      : integer({ kind: 'int8' }, { kind: 'int16' })(c),
  smallint: integer({ kind: 'int16' }, { kind: 'int32' }),
  mediumint: integer({ kind: 'int32' }, { kind: 'int32' }),
  int: integer({ kind: 'int32' }, { kind: 'int64' }),
  bigint: integer({ kind: 'int64' }, { kind: 'decimal', precision: 20, scale: 0 }),
  decimal: (c) =>
    c.length > MAX_ENGINE_DECIMAL_DIGITS
      ? { type: { kind: 'string' }, convert: String }
      : {
          type: { kind: 'decimal', precision: Math.max(c.length, 1), scale: c.scale },
          convert: String,
        },
  float: () => ({ type: { kind: 'float32' } }),
  double: () => ({ type: { kind: 'float64' } }),
  date: () => ({ type: { kind: 'date' }, convert: notZeroDate }),
  datetime: () => ({ type: { kind: 'timestamp', tz: false }, convert: notZeroDate }),
  timestamp: () => ({ type: { kind: 'timestamp', tz: true }, convert: notZeroDate }),
  time: () => ({ type: { kind: 'string' }, convert: asText }),
  year: () => ({ type: { kind: 'int16' } }),
  char: () => ({ type: { kind: 'string' }, convert: asText }),
  varchar: () => ({ type: { kind: 'string' }, convert: asText }),
  text: () => ({ type: { kind: 'string' }, convert: asText }),
  json: () => ({ type: { kind: 'json' }, convert: asJSONText }),
  blob: () => ({ type: { kind: 'binary' } }),
  binary: () => ({ type: { kind: 'binary' } }),
  varbinary: () => ({ type: { kind: 'binary' } }),
  enum: () => ({ type: { kind: 'string' }, convert: asText }),
  set: () => ({ type: { kind: 'string' }, convert: asText }),
  bit: (c) =>
    c.length === 1
      ? { type: { kind: 'bool' }, convert: (v) => bitsToBigInt(v) !== 0n }
      : c.length < 64
        ? { type: { kind: 'int64' }, convert: bitsToBigInt }
        : {
            type: { kind: 'decimal', precision: 20, scale: 0 },
            convert: (v) => String(bitsToBigInt(v)),
          },
  geometry: () => ({ type: { kind: 'binary' } }),
  null: () => ({ type: { kind: 'string' } }),
};

/** Column type codes of the MySQL protocol (`MYSQL_TYPE_*`). */
const PROTOCOL_TYPES: Readonly<Record<number, MySQLTypeName>> = {
  0: 'decimal',
  1: 'tinyint',
  2: 'smallint',
  3: 'int',
  4: 'float',
  5: 'double',
  6: 'null',
  7: 'timestamp',
  8: 'bigint',
  9: 'mediumint',
  10: 'date',
  11: 'time',
  12: 'datetime',
  13: 'year',
  14: 'date',
  15: 'varchar',
  16: 'bit',
  245: 'json',
  246: 'decimal',
  247: 'enum',
  248: 'set',
  249: 'blob',
  250: 'blob',
  251: 'blob',
  252: 'blob',
  253: 'varchar',
  254: 'char',
  255: 'geometry',
};

const FLAG_NOT_NULL = 1;
const FLAG_UNSIGNED = 32;
const FLAG_ENUM = 256;
const FLAG_SET = 2048;
const BINARY_CHARSET = 63;

/**
 * The MySQL column a result field packet describes. Text and binary strings share protocol
 * codes and differ by character set; MariaDB marks JSON columns with an extended format.
 *
 * @example
 * ```ts
 * const [, fields] = await connection.query('SELECT * FROM orders LIMIT 0');
 * const columns = fields.map(columnOfField);
 * ```
 */
export function columnOfField(field: FieldPacket): MySQLColumn {
  const code = field.columnType ?? field.type ?? 253;
  const flags = Number(field.flags ?? 0);
  const binary = field.characterSet === BINARY_CHARSET;
  let typeName: MySQLTypeName = PROTOCOL_TYPES[code] ?? 'varchar';
  const extended = field as FieldPacket & { extendedFormat?: string };
  if (extended.extendedFormat === 'json') typeName = 'json';
  else if ((flags & FLAG_ENUM) !== 0) typeName = 'enum';
  else if ((flags & FLAG_SET) !== 0) typeName = 'set';
  else if (typeName === 'blob' && !binary) typeName = 'text';
  else if (typeName === 'char' && binary) typeName = 'binary';
  else if (typeName === 'varchar' && binary) typeName = 'varbinary';
  const unsigned = (flags & FLAG_UNSIGNED) !== 0;
  const scale = Number(field.decimals ?? 0);
  let length = Number(field.columnLength ?? 0);
  // A decimal's display length counts its point and (when signed) its sign.
  if (typeName === 'decimal') length = length - (scale > 0 ? 1 : 0) - (unsigned ? 0 : 1);
  return {
    name: field.name,
    typeName,
    unsigned,
    nullable: (flags & FLAG_NOT_NULL) === 0,
    length,
    scale,
  };
}

/**
 * How every column of a result is read.
 *
 * @example
 * ```ts
 * const readings = readingsOf(columns); // readings[i].type is column i's logical type
 * ```
 */
export function readingsOf(columns: readonly MySQLColumn[]): MySQLTypeReading[] {
  return columns.map((c) => mysqlTypeReadings[c.typeName](c));
}

/** Length of string key columns in created tables: indexes cannot cover TEXT columns. */
const KEY_TEXT_LENGTH = 255;

/**
 * Logical type -> MySQL column type for tables the sink creates. Timestamps become
 * `DATETIME(6)` holding UTC (TIMESTAMP stops in 2038); nested values and JSON become `JSON`.
 *
 * @example
 * ```ts
 * mapType(mysqlColumnTypes, { kind: 'decimal', precision: 12, scale: 2 }); // "DECIMAL(12,2)"
 * ```
 */
export const mysqlColumnTypes: TypeMapping<string> = {
  bool: () => 'BOOLEAN',
  int8: () => 'TINYINT',
  int16: () => 'SMALLINT',
  int32: () => 'INT',
  int64: () => 'BIGINT',
  float32: () => 'FLOAT',
  float64: () => 'DOUBLE',
  decimal: (t) => `DECIMAL(${t.precision},${t.scale})`,
  string: () => 'LONGTEXT',
  binary: () => 'LONGBLOB',
  date: () => 'DATE',
  timestamp: () => 'DATETIME(6)',
  list: () => 'JSON',
  struct: () => 'JSON',
  map: () => 'JSON',
  json: () => 'JSON',
};

/**
 * The MySQL column definition of a field; key columns of text or bytes get a bounded length so
 * they can be indexed.
 *
 * @example
 * ```ts
 * mysqlColumnType({ name: 'sku', type: { kind: 'string' }, nullable: false }, true); // "VARCHAR(255)"
 * ```
 */
export function mysqlColumnType(field: Field, isKey: boolean): string {
  if (isKey && field.type.kind === 'string') return `VARCHAR(${KEY_TEXT_LENGTH})`;
  if (isKey && field.type.kind === 'binary') return `VARBINARY(${KEY_TEXT_LENGTH})`;
  return mapType(mysqlColumnTypes, field.type);
}
