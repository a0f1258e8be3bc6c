import type { DuckDBAppender } from '@duckdb/node-api';
import { duckdb } from './duckdb-api.js';
import type { Field, LogicalType, TypeMapping } from '../core/types.js';
import { formatType, mapType } from '../core/types.js';
import { quoteIdentifier, toDuckDBType } from '../core/type-mappings.js';
import { toJSONValue } from './json-values.js';
import type { EnforcedColumn } from './schema-enforcement.js';

/** Checks one JS value against a column type and appends it once the whole row is checked. */
interface ColumnWriter {
  /** A reason when `value` (not null) does not fit the column; undefined when it does. */
  check(value: unknown): string | undefined;
  append(appender: DuckDBAppender, value: unknown): void;
}

const INTEGER_RANGES = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
} as const;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DECIMAL_TEXT = /^[+-]?(\d+)(\.\d+)?$/;
const DATE_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP_TEXT =
  /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;
const ZONED_TEXT = /\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/;
const MS_PER_DAY = 86_400_000;

function expected(type: string, value: unknown): string {
  const actual = value instanceof Date ? 'Date' : Array.isArray(value) ? 'array' : typeof value;
  return `expected ${type}, got ${actual} ${describeValue(value)}`;
}

function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function integerWriter(kind: keyof typeof INTEGER_RANGES): ColumnWriter {
  const [min, max] = INTEGER_RANGES[kind];
  return {
    check(value) {
      const n = typeof value === 'bigint' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n)) return expected(kind, value);
      return n < min || n > max ? `${describeValue(value)} is out of range for ${kind}` : undefined;
    },
    append: (appender, value) => appender.appendInteger(Number(value)),
  };
}

const floatWriter = (kind: 'float32' | 'float64'): ColumnWriter => ({
  check: (value) =>
    typeof value === 'number' || typeof value === 'bigint' ? undefined : expected(kind, value),
  append: (appender, value) =>
    kind === 'float32' ? appender.appendFloat(Number(value)) : appender.appendDouble(Number(value)),
});

/** Checks nested values element by element, so a bad value deep inside is caught here. */
function nestedWriter(type: LogicalType): ColumnWriter {
  const check = nestedCheck(type);
  return {
    check,
    append: (appender, value) => {
      const plain =
        type.kind === 'map' && Array.isArray(value)
          ? Object.fromEntries(value.map((e: MapEntry) => [String(e.key), e.value]))
          : value;
      appender.appendVarchar(JSON.stringify(toJSONValue(plain)));
    },
  };
}

function nestedCheck(type: LogicalType): (value: unknown) => string | undefined {
  const inner = (t: LogicalType): ((value: unknown) => string | undefined) => {
    const writer = mapType(writers, t);
    return (value) => (value === null || value === undefined ? undefined : writer.check(value));
  };
  switch (type.kind) {
    case 'list': {
      const element = inner(type.element);
      return (value) => {
        if (!Array.isArray(value)) return expected(formatType(type), value);
        for (let i = 0; i < value.length; i++) {
          const problem = element(value[i]);
          if (problem !== undefined) return `[${i}]: ${problem}`;
        }
        return undefined;
      };
    }
    case 'struct': {
      const fields = type.fields.map((f) => [f.name, inner(f.type)] as const);
      return (value) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value))
          return expected(formatType(type), value);
        for (const [name, check] of fields) {
          const problem = check(ownValue(value as Record<string, unknown>, name));
          if (problem !== undefined) return `.${name}: ${problem}`;
        }
        return undefined;
      };
    }
    case 'map': {
      const key = inner(type.key);
      const item = inner(type.value);
      return (value) => {
        const entries = Array.isArray(value)
          ? value.every(isMapEntry)
            ? value.map((e) => [e.key, e.value] as const)
            : undefined
          : typeof value === 'object' && value !== null
            ? Object.entries(value)
            : undefined;
        if (entries === undefined)
          return expected(`${formatType(type)} (an object, or [{ key, value }] entries)`, value);
        for (const [k, v] of entries) {
          const problem =
            (type.key.kind === 'string' || Array.isArray(value) ? key(k) : undefined) ?? item(v);
          if (problem !== undefined) return `[${JSON.stringify(k)}]: ${problem}`;
        }
        return undefined;
      };
    }
    default:
      return mapType(writers, type).check;
  }
}

type MapEntry = { readonly key: unknown; readonly value: unknown };

function isMapEntry(entry: unknown): entry is MapEntry {
  return typeof entry === 'object' && entry !== null && 'key' in entry && 'value' in entry;
}

/** ISO 8601 text with a zone or offset as an instant; accepts a space before the time and `+0200`. */
function parseZoned(text: string): Date {
  const iso = text.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  return new Date(iso);
}

function isJSONText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const writers: TypeMapping<ColumnWriter> = {
  bool: () => ({
    check: (value) => (typeof value === 'boolean' ? undefined : expected('bool', value)),
    append: (appender, value) => appender.appendBoolean(value as boolean),
  }),
  int8: () => integerWriter('int8'),
  int16: () => integerWriter('int16'),
  int32: () => integerWriter('int32'),
  int64: () => ({
    check(value) {
      if (typeof value === 'bigint') {
        return value < INT64_MIN || value > INT64_MAX
          ? `${value} is out of range for int64`
          : undefined;
      }
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? undefined
        : expected('int64 (a bigint or a safe integer)', value);
    },
    append: (appender, value) =>
      appender.appendBigInt(typeof value === 'bigint' ? value : BigInt(value as number)),
  }),
  float32: () => floatWriter('float32'),
  float64: () => floatWriter('float64'),
  decimal: (type) => {
    const limit = 10 ** (type.precision - type.scale);
    return {
      check(value) {
        if (typeof value === 'number') {
          if (!Number.isFinite(value)) return `${value} is not a finite number`;
          return Math.abs(value) < limit ? undefined : `${value} does not fit ${formatType(type)}`;
        }
        if (typeof value === 'bigint' || typeof value === 'string') {
          const match = DECIMAL_TEXT.exec(String(value));
          if (match === null) return expected(formatType(type), value);
          return (match[1] ?? '').replace(/^0+/, '').length > type.precision - type.scale
            ? `${value} does not fit ${formatType(type)}`
            : undefined;
        }
        return expected(formatType(type), value);
      },
      append: (appender, value) =>
        typeof value === 'number'
          ? appender.appendDouble(value)
          : appender.appendVarchar(String(value)),
    };
  },
  string: () => ({
    check: (value) => (typeof value === 'string' ? undefined : expected('string', value)),
    append: (appender, value) => appender.appendVarchar(value as string),
  }),
  binary: () => ({
    check: (value) =>
      value instanceof Uint8Array ? undefined : expected('binary (Uint8Array)', value),
    append: (appender, value) => appender.appendBlob(value as Uint8Array),
  }),
  date: () => ({
    check(value) {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'invalid Date' : undefined;
      return typeof value === 'string' && DATE_TEXT.test(value)
        ? undefined
        : expected('date (Date or YYYY-MM-DD)', value);
    },
    append(appender, value) {
      if (value instanceof Date)
        appender.appendDate(
          new (duckdb().DuckDBDateValue)(Math.floor(value.getTime() / MS_PER_DAY)),
        );
      else appender.appendVarchar(value as string);
    },
  }),
  timestamp: (type) => ({
    check(value) {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'invalid Date' : undefined;
      if (typeof value !== 'string' || !TIMESTAMP_TEXT.test(value)) {
        return expected('timestamp (Date or ISO 8601 text)', value);
      }
      return ZONED_TEXT.test(value) && Number.isNaN(parseZoned(value).getTime())
        ? `invalid timestamp ${JSON.stringify(value)}`
        : undefined;
    },
    append(appender, value) {
      // Text with a zone or offset names an instant: convert it here, since the engine would
      // ignore the offset. Text without one is a wall-clock time and is parsed by the engine.
      const instant =
        value instanceof Date
          ? value
          : ZONED_TEXT.test(value as string)
            ? parseZoned(value as string)
            : undefined;
      if (instant === undefined) {
        appender.appendVarchar(value as string);
        return;
      }
      const micros = BigInt(instant.getTime()) * 1000n;
      if (type.tz) appender.appendTimestampTZ(new (duckdb().DuckDBTimestampTZValue)(micros));
      else appender.appendTimestamp(new (duckdb().DuckDBTimestampValue)(micros));
    },
  }),
  list: nestedWriter,
  struct: nestedWriter,
  map: nestedWriter,
  json: () => ({
    check: (value) =>
      typeof value === 'string' && !isJSONText(value)
        ? `${describeValue(value)} is not valid JSON text`
        : undefined,
    append: (appender, value) =>
      appender.appendVarchar(
        typeof value === 'string' ? value : JSON.stringify(toJSONValue(value)),
      ),
  }),
};

const NESTED_KINDS = new Set(['list', 'struct', 'map']);

/**
 * Writes JS rows to a DuckDB appender against declared fields. A row is checked as a whole
 * before any of it is appended, so a bad value never leaves a half-written row; the caller
 * quarantines rows for which {@link RowWriter.write} returns a reason.
 *
 * @example
 * ```ts
 * const writer = new RowWriter(fields);
 * const reason = writer.write(appender, { id: 1n, name: 'a' }); // undefined when appended
 * ```
 */
export class RowWriter {
  readonly #fields: Field[];
  readonly #writers: ColumnWriter[];
  /** Per column: whether its name is one a plain object inherits (`constructor`, `__proto__`). */
  readonly #inherited: boolean[];

  constructor(fields: readonly Field[]) {
    this.#fields = [...fields];
    this.#writers = fields.map((f) => mapType(writers, f.type));
    this.#inherited = fields.map((f) => isInheritedName(f.name));
  }

  /** The columns rows are written against, in table order. */
  get fields(): readonly Field[] {
    return this.#fields;
  }

  /**
   * Adds a column at the end; the caller adds it to the table first (rows already appended
   * hold null there).
   */
  addField(field: Field): void {
    this.#fields.push(field);
    this.#writers.push(mapType(writers, field.type));
    this.#inherited.push(isInheritedName(field.name));
  }

  /**
   * Column definitions of the table the appender writes to. Nested columns are staged as JSON
   * text; {@link RowWriter.selectTyped} converts them.
   */
  stagingColumns(): string {
    return this.#fields
      .map(
        (f) =>
          `${quoteIdentifier(f.name)} ${NESTED_KINDS.has(f.type.kind) ? 'VARCHAR' : toDuckDBType(f.type)}`,
      )
      .join(', ');
  }

  /**
   * How to read the staging table with every column in its declared type: nested columns are
   * converted from their JSON text, and rows whose text does not convert are quarantined.
   */
  convertStagedColumns(): EnforcedColumn[] {
    return this.#fields.map((field) => {
      const name = quoteIdentifier(field.name);
      return NESTED_KINDS.has(field.type.kind)
        ? {
            field,
            typed: `TRY_CAST(CAST(${name} AS JSON) AS ${toDuckDBType(field.type)})`,
            raw: name,
          }
        : { field, typed: name };
    });
  }

  /** Whether any column is staged as JSON text and needs {@link RowWriter.selectTyped}. */
  get hasNestedColumns(): boolean {
    return this.#fields.some((f) => NESTED_KINDS.has(f.type.kind));
  }

  /** Appends `row`, or returns why it does not fit (and appends nothing). */
  write(
    appender: DuckDBAppender,
    row: Readonly<Record<string, unknown>>,
  ): { column: string; reason: string } | undefined {
    const fields = this.#fields;
    const writers = this.#writers;
    const inherited = this.#inherited;
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i] as Field;
      const value = inherited[i] === true ? ownValue(row, field.name) : row[field.name];
      if (value === null || value === undefined) {
        if (!field.nullable)
          return {
            column: field.name,
            reason: `column "${field.name}": required value is missing`,
          };
        continue;
      }
      const problem = (writers[i] as ColumnWriter).check(value);
      if (problem !== undefined)
        return { column: field.name, reason: `column "${field.name}": ${problem}` };
    }
    for (let i = 0; i < fields.length; i++) {
      const name = (fields[i] as Field).name;
      const value = inherited[i] === true ? ownValue(row, name) : row[name];
      if (value === null || value === undefined) appender.appendNull();
      else (writers[i] as ColumnWriter).append(appender, value);
    }
    appender.endRow();
    return undefined;
  }
}

/**
 * Whether a plain object answers `name` without owning it (`constructor`, `toString`,
 * `__proto__`...): such columns are read as own properties only, so a row without them holds
 * null there rather than a function of `Object.prototype`.
 */
function isInheritedName(name: string): boolean {
  return name in Object.prototype;
}

function ownValue(row: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(row, name) ? row[name] : undefined;
}
