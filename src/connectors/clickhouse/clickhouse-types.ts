import type { LogicalType, TypeMapping } from '../../core/types.js';
import { mapType } from '../../core/types.js';
import type { ClickHouseVersion } from './clickhouse-client.js';

/**
 * What the server can store, by version: `DateTime64` (sub-second instants) exists from
 * ClickHouse 20.1; older servers keep whole seconds in `DateTime`.
 *
 * @example
 * ```ts
 * clickhouseFeatures({ text: '18.16.1', major: 18, minor: 16 }); // { dateTime64: false }
 * ```
 */
export interface ClickHouseFeatures {
  readonly dateTime64: boolean;
}

/**
 * The features of a server version.
 *
 * @example
 * ```ts
 * clickhouseFeatures({ text: '24.3.1', major: 24, minor: 3 }).dateTime64; // true
 * ```
 */
export function clickhouseFeatures(version: ClickHouseVersion): ClickHouseFeatures {
  return { dateTime64: version.major > 20 || (version.major === 20 && version.minor >= 1) };
}

/**
 * Whether a list maps to a ClickHouse `Array`: its elements are scalars or such lists. Lists of
 * structs, maps or JSON are stored as JSON text instead.
 */
function isArrayList(type: LogicalType): boolean {
  if (type.kind !== 'list') return false;
  const element = type.element;
  return element.kind === 'list'
    ? isArrayList(element)
    : element.kind !== 'struct' && element.kind !== 'map' && element.kind !== 'json';
}

/**
 * The exhaustive logical-to-ClickHouse mapping for a server's features, without nullability
 * (see {@link clickhouseColumnType}). `bool` is `UInt8` (0/1); binary is `String` (bytes);
 * instants are stored in UTC; structs, maps and JSON are JSON text.
 *
 * @example
 * ```ts
 * mapType(clickhouseTypeMapping({ dateTime64: true }), { kind: 'timestamp', tz: true }); // "DateTime64(6, 'UTC')"
 * ```
 */
export function clickhouseTypeMapping(features: ClickHouseFeatures): TypeMapping<string> {
  const mapping: TypeMapping<string> = {
    bool: () => 'UInt8',
    int8: () => 'Int8',
    int16: () => 'Int16',
    int32: () => 'Int32',
    int64: () => 'Int64',
    float32: () => 'Float32',
    float64: () => 'Float64',
    decimal: (t) => `Decimal(${t.precision}, ${t.scale})`,
    string: () => 'String',
    binary: () => 'String',
    date: () => 'Date',
    timestamp: () => (features.dateTime64 ? "DateTime64(6, 'UTC')" : "DateTime('UTC')"),
    list: (t) =>
      isArrayList(t)
        ? `Array(${t.element.kind === 'list' ? mapType(mapping, t.element) : `Nullable(${mapType(mapping, t.element)})`})`
        : 'String',
    struct: () => 'String',
    map: () => 'String',
    json: () => 'String',
  };
  return mapping;
}

/**
 * The column type of a field: its mapped type, wrapped in `Nullable` when the field may be null
 * (arrays cannot be; a null list is stored as an empty array).
 *
 * @example
 * ```ts
 * clickhouseColumnType({ kind: 'int64' }, true, { dateTime64: false }); // "Nullable(Int64)"
 * ```
 */
export function clickhouseColumnType(
  type: LogicalType,
  nullable: boolean,
  features: ClickHouseFeatures,
): string {
  const base = mapType(clickhouseTypeMapping(features), type);
  return nullable && !base.startsWith('Array(') ? `Nullable(${base})` : base;
}

/**
 * A ClickHouse type without its `Nullable(...)` wrapper and spaces, to compare types as the
 * server spells them with the mapping's.
 *
 * @example
 * ```ts
 * baseClickHouseType('Nullable(Decimal(12, 2))'); // "Decimal(12,2)"
 * ```
 */
export function baseClickHouseType(type: string): string {
  const compact = type.replaceAll(/\s+/g, '');
  const nullable = /^Nullable\((.*)\)$/.exec(compact);
  return nullable === null ? compact : (nullable[1] ?? compact);
}

/** Escapes text for a TabSeparated field: backslash, tab, newline and carriage return. */
function tsvEscaped(text: string): string {
  return `replace(replace(replace(replace(${text}, '\\', '\\\\'), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r')`;
}

/** A quoted string literal inside a ClickHouse array text: `'it\'s'`. */
function quotedElement(text: string): string {
  return `'''' || replace(replace(replace(replace(replace(${text}, '\\', '\\\\'), '''', '\\'''), chr(9), '\\t'), chr(10), '\\n'), chr(13), '\\r') || ''''`;
}

/** Bytes as `\xHH` escapes, which ClickHouse decodes in TabSeparated fields and quoted strings. */
function escapedBytes(blob: string): string {
  return `regexp_replace(hex(${blob}), '(..)', '\\\\x\\1', 'g')`;
}

function timestampText(value: string, tz: boolean, features: ClickHouseFeatures): string {
  const utc = tz ? `timezone('UTC', ${value})` : value;
  return `strftime(${utc}, '%Y-%m-%d %H:%M:%S${features.dateTime64 ? '.%f' : ''}')`;
}

/** The text of an array: `[1,NULL,3]`, `['a','b\'c']`, `[[1],[]]`; a null list is `[]`. */
function arrayText(
  list: string,
  type: LogicalType,
  features: ClickHouseFeatures,
  depth: number,
): string {
  if (type.kind !== 'list') throw new Error(`not a list: ${type.kind}`);
  const x = `x${depth}`;
  const element =
    type.element.kind === 'list'
      ? arrayText(x, type.element, features, depth + 1)
      : `CASE WHEN ${x} IS NULL THEN 'NULL' ELSE ${elementText(x, type.element, features)} END`;
  return `coalesce('[' || array_to_string(list_transform(${list}, lambda ${x}: ${element}), ',') || ']', '[]')`;
}

/** A non-null array element in ClickHouse's quoted text form. */
function elementText(value: string, type: LogicalType, features: ClickHouseFeatures): string {
  switch (type.kind) {
    case 'bool':
      return `CAST(CAST(${value} AS TINYINT) AS VARCHAR)`;
    case 'float32':
    case 'float64':
      // Inside an array a leading `n` reads as the start of NULL; `-nan` is still NaN.
      return `CASE WHEN isnan(${value}) THEN '-nan' ELSE CAST(${value} AS VARCHAR) END`;
    case 'string':
      return quotedElement(value);
    case 'binary':
      return `'''' || ${escapedBytes(value)} || ''''`;
    case 'date':
      return `'''' || CAST(${value} AS VARCHAR) || ''''`;
    case 'timestamp':
      return `'''' || ${timestampText(value, type.tz, features)} || ''''`;
    default:
      return `CAST(${value} AS VARCHAR)`;
  }
}

/**
 * The DuckDB expression that turns a column into the text of a ClickHouse `TabSeparated` field
 * for its mapped type; NULL stays NULL (written as `\N`). Text is escaped, bytes become `\xHH`
 * escapes, instants are written in UTC, lists as array literals, nested values as JSON.
 *
 * @example
 * ```ts
 * clickhouseText('"note"', { kind: 'string' }, features); // replace(replace(... "note" ...))
 * ```
 */
export function clickhouseText(
  column: string,
  type: LogicalType,
  features: ClickHouseFeatures,
): string {
  switch (type.kind) {
    case 'bool':
      return `CAST(CAST(${column} AS TINYINT) AS VARCHAR)`;
    case 'string':
      return tsvEscaped(column);
    case 'binary':
      return escapedBytes(column);
    case 'timestamp':
      return timestampText(column, type.tz, features);
    case 'list':
      return isArrayList(type)
        ? arrayText(column, type, features, 0)
        : tsvEscaped(`CAST(to_json(${column}) AS VARCHAR)`);
    case 'struct':
    case 'map':
      return tsvEscaped(`CAST(to_json(${column}) AS VARCHAR)`);
    case 'json':
      return tsvEscaped(`CAST(${column} AS VARCHAR)`);
    default:
      return `CAST(${column} AS VARCHAR)`;
  }
}

/** Inclusive bounds of what a ClickHouse date or time type holds, as DuckDB literals. */
interface Range {
  readonly low: string;
  readonly high: string;
  readonly text: string;
}

/** `Date` and `DateTime` count from 1970; their calendar on old servers ends in 2105. */
const DATE_RANGE: Range = {
  low: "DATE '1970-01-01'",
  high: "DATE '2105-12-31'",
  text: 'Date holds 1970-01-01 to 2105-12-31',
};
const DATETIME_RANGE: Range = {
  low: "TIMESTAMP '1970-01-01 00:00:00'",
  high: "TIMESTAMP '2105-12-31 23:59:59'",
  text: 'DateTime holds 1970-01-01 00:00:00 to 2105-12-31 23:59:59 UTC',
};
const DATETIME64_RANGE: Range = {
  low: "TIMESTAMP '1925-01-01 00:00:00'",
  high: "TIMESTAMP '2283-11-11 23:59:59.999999'",
  text: 'DateTime64 holds 1925-01-01 to 2283-11-11 UTC',
};

/**
 * A DuckDB predicate that is true when a value of the column (or, for lists, any element) lies
 * outside what its ClickHouse type holds, with the reason; undefined for types without limits.
 * ClickHouse would store such values as a wrong date instead of refusing them.
 *
 * @example
 * ```ts
 * outOfRange('"day"', { kind: 'date' }, features)?.reason; // "Date holds 1970-01-01 to 2105-12-31"
 * ```
 */
export function outOfRange(
  column: string,
  type: LogicalType,
  features: ClickHouseFeatures,
  depth = 0,
): { readonly predicate: string; readonly reason: string } | undefined {
  if (type.kind === 'list' && isArrayList(type)) {
    const x = `r${depth}`;
    const inner = outOfRange(x, type.element, features, depth + 1);
    return inner === undefined
      ? undefined
      : {
          predicate: `coalesce(len(list_filter(${column}, lambda ${x}: ${inner.predicate})) > 0, false)`,
          reason: inner.reason,
        };
  }
  if (type.kind === 'date')
    return {
      predicate: `(${column} < ${DATE_RANGE.low} OR ${column} > ${DATE_RANGE.high})`,
      reason: DATE_RANGE.text,
    };
  if (type.kind === 'timestamp') {
    const range = features.dateTime64 ? DATETIME64_RANGE : DATETIME_RANGE;
    const value = type.tz ? `timezone('UTC', ${column})` : column;
    return {
      predicate: `(${value} < ${range.low} OR ${value} > ${range.high})`,
      reason: range.text,
    };
  }
  return undefined;
}
