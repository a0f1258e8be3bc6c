import type { LogicalType } from '../../core/types.js';
import { toDuckDBType } from '../../core/type-mappings.js';

/**
 * How a ClickHouse column is read: its logical type, the ClickHouse expression whose CSV text
 * carries the value exactly, and the DuckDB expression that turns that text back into the value.
 *
 * @example
 * ```ts
 * const reading: ClickHouseReading = clickhouseReading('Date');
 * reading.exported('`day`'); // "toUInt16(`day`)"
 * reading.restored('c0'); // "(DATE '1970-01-01' + CAST(c0 AS INTEGER))"
 * ```
 */
export interface ClickHouseReading {
  readonly type: LogicalType;
  /** ClickHouse SQL over `column` (quoted) whose text is sent. */
  exported(column: string): string;
  /** DuckDB SQL over `text` (a VARCHAR) that restores the logical value. */
  restored(text: string): string;
}

/** `Nullable(T)` and `LowCardinality(T)` read as `T`. */
function unwrap(type: string): string {
  let inner = type.trim();
  for (;;) {
    const match = /^(?:Nullable|LowCardinality)\((.*)\)$/s.exec(inner);
    if (match === null) return inner;
    inner = (match[1] ?? '').trim();
  }
}

const asText: ClickHouseReading = {
  type: { kind: 'string' },
  exported: (column) => `toString(${column})`,
  restored: (text) => text,
};

/** Reads a value by casting its text in DuckDB. */
function cast(type: LogicalType): ClickHouseReading {
  return {
    type,
    exported: (column) => column,
    restored: (text) => `CAST(${text} AS ${toDuckDBType(type)})`,
  };
}

const INTEGERS: Readonly<Record<string, LogicalType>> = {
  Int8: { kind: 'int8' },
  Int16: { kind: 'int16' },
  Int32: { kind: 'int32' },
  Int64: { kind: 'int64' },
  UInt8: { kind: 'int16' },
  UInt16: { kind: 'int32' },
  UInt32: { kind: 'int64' },
  UInt64: { kind: 'decimal', precision: 20, scale: 0 },
  Float32: { kind: 'float32' },
  Float64: { kind: 'float64' },
  Bool: { kind: 'bool' },
};

const DECIMAL_PRECISION: Readonly<Record<string, number>> = {
  Decimal32: 9,
  Decimal64: 18,
  Decimal128: 38,
};

/** A scalar column: numbers and text by cast, dates as day numbers, instants as UTC text. */
function scalarReading(type: string): ClickHouseReading | undefined {
  const integer = INTEGERS[type];
  if (integer !== undefined) return cast(integer);
  const decimal = /^Decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal !== null && Number(decimal[1]) <= 38)
    return cast({ kind: 'decimal', precision: Number(decimal[1]), scale: Number(decimal[2]) });
  const sized = /^(Decimal32|Decimal64|Decimal128)\((\d+)\)$/.exec(type);
  if (sized !== null)
    return cast({
      kind: 'decimal',
      precision: DECIMAL_PRECISION[sized[1] ?? ''] ?? 38,
      scale: Number(sized[2]),
    });
  if (type === 'String') return { ...asText, exported: (column) => column };
  if (type === 'Date' || type === 'Date32')
    // Day numbers, since old servers print day 0 (1970-01-01) as 0000-00-00.
    return {
      type: { kind: 'date' },
      exported: (column) => `${type === 'Date' ? 'toUInt16' : 'toInt32'}(${column})`,
      restored: (text) => `(DATE '1970-01-01' + CAST(${text} AS INTEGER))`,
    };
  if (/^DateTime(\(.*\))?$/.test(type))
    return {
      type: { kind: 'timestamp', tz: true },
      exported: (column) => `toUnixTimestamp(${column})`,
      restored: (text) => `to_timestamp(CAST(${text} AS BIGINT))`,
    };
  if (/^DateTime64\(/.test(type))
    return {
      type: { kind: 'timestamp', tz: true },
      exported: (column) => `toString(${column}, 'UTC')`,
      restored: (text) => `CAST(${text} || '+00' AS TIMESTAMPTZ)`,
    };
  return undefined;
}

/**
 * How to read a column of ClickHouse type `type`. Integers, floats, `Bool`, decimals up to 38
 * digits, dates and instants keep their kind (`UInt8`..`UInt32` widen to the next signed type,
 * `UInt64` becomes `decimal(20,0)`); arrays of such values become lists; everything else
 * (`UUID`, `Enum`, `FixedString`, `IPv4`, tuples, maps, nested arrays, 128/256-bit integers)
 * is read as its text.
 *
 * @example
 * ```ts
 * clickhouseReading('Nullable(Decimal(12, 2))').type; // { kind: 'decimal', precision: 12, scale: 2 }
 * ```
 */
export function clickhouseReading(type: string): ClickHouseReading {
  const inner = unwrap(type);
  const array = /^Array\((.*)\)$/s.exec(inner);
  if (array !== null) {
    const element = scalarReading(unwrap(array[1] ?? ''));
    return element === undefined ? asText : listReading(element);
  }
  return scalarReading(inner) ?? asText;
}

/**
 * An array of scalars travels as `N` (null) or `V<hex of the element's text>` per element,
 * joined by commas, which no value can break; DuckDB splits and decodes it back into a list.
 */
function listReading(element: ClickHouseReading): ClickHouseReading {
  const type: LogicalType = { kind: 'list', element: element.type };
  return {
    type,
    exported: (column) =>
      `arrayStringConcat(arrayMap(x -> if(isNull(x), 'N', concat('V', hex(toString(${element.exported('assumeNotNull(x)')})))), ${column}), ',')`,
    restored: (text) =>
      `CASE WHEN ${text} IS NULL THEN NULL WHEN ${text} = '' THEN CAST([] AS ${toDuckDBType(type)}) ELSE list_transform(string_split(${text}, ','), lambda e: CASE WHEN e = 'N' THEN NULL ELSE ${element.restored('decode(unhex(substr(e, 2)))')} END) END`,
  };
}

/**
 * The logical type a ClickHouse column is read as (see {@link clickhouseReading}).
 *
 * @example
 * ```ts
 * logicalTypeOfClickHouse("Nullable(DateTime('UTC'))"); // { kind: 'timestamp', tz: true }
 * ```
 */
export function logicalTypeOfClickHouse(type: string): LogicalType {
  return clickhouseReading(type).type;
}
