import { ownValue } from '../../core/own-keys.js';
import type { Field, LogicalType, TypeMapping } from '../../core/types.js';
import { formatType, mapType } from '../../core/types.js';

/**
 * The Avro schema written for a relation, and how its rows become Avro values.
 *
 * @example
 * ```ts
 * const { schema, encode } = avroWriteSchema(fields, 'Orders');
 * ```
 */
export interface AvroWriteSchema {
  readonly schema: { readonly [key: string]: unknown };
  /** Converts a row read from the engine (see {@link avroSelectList}) to an Avro record value. */
  readonly encode: (row: Readonly<Record<string, unknown>>) => Record<string, unknown>;
}

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MS_PER_DAY = 86_400_000;

interface Encoder {
  readonly schema: unknown;
  /** The key of this type's branch in a wrapped union. */
  readonly branch: string;
  readonly encode: (value: unknown) => unknown;
}

/**
 * Derives an Avro record schema from columns: int8..int32 as int, int64 as long, decimal as
 * bytes/decimal, date as int/date, timestamps as long/timestamp-micros (local-timestamp-micros
 * without a zone), list as array, struct as a nested record, map<string, V> as map, json as a
 * string marked `"sluice.type": "json"`; a nullable column is a union with null first.
 *
 * @example
 * ```ts
 * avroWriteSchema([{ name: 'id', type: { kind: 'int64' }, nullable: false }], 'Orders').schema;
 * // { type: 'record', name: 'Orders', fields: [{ name: 'id', type: 'long' }] }
 * ```
 */
export function avroWriteSchema(fields: readonly Field[], recordName: string): AvroWriteSchema {
  const names = new Set<string>();
  const record = recordEncoder(fields, recordName, names);
  return {
    schema: record.schema as { readonly [key: string]: unknown },
    encode: (row) => record.encode(row) as Record<string, unknown>,
  };
}

/**
 * The SQL select list that reads a relation for {@link AvroWriteSchema.encode}: top-level
 * timestamps as epoch microseconds, dates as epoch days and decimals and JSON as text, so no
 * precision is lost on the way.
 *
 * @example
 * ```ts
 * avroSelectList([{ name: 'at', type: { kind: 'timestamp', tz: true }, nullable: true }]);
 * // 'epoch_us("at") AS "at"'
 * ```
 */
export function avroSelectList(fields: readonly Field[]): string {
  return fields
    .map((field) => {
      const column = `"${field.name.replaceAll('"', '""')}"`;
      switch (field.type.kind) {
        case 'timestamp':
          return `epoch_us(${column}) AS ${column}`;
        case 'date':
          return `CAST(date_diff('day', DATE '1970-01-01', ${column}) AS INTEGER) AS ${column}`;
        case 'decimal':
        case 'json':
          return `CAST(${column} AS VARCHAR) AS ${column}`;
        default:
          return column;
      }
    })
    .join(', ');
}

function checkName(name: string, what: string): void {
  if (!AVRO_NAME.test(name)) {
    throw new Error(
      `${what} "${name}" is not a valid Avro name (letters, digits and _, not starting with a digit); rename it in a sql step first`,
    );
  }
}

function recordEncoder(fields: readonly Field[], name: string, names: Set<string>): Encoder {
  for (const part of name.split('.')) checkName(part, 'record name');
  let unique = name;
  for (let i = 2; names.has(unique); i++) unique = `${name}${i}`;
  names.add(unique);
  const columns = fields.map((field) => {
    checkName(field.name, 'column');
    const encoder = fieldEncoder(
      field,
      `${unique.split('.').pop() as string}_${field.name}`,
      names,
    );
    return { name: field.name, encoder };
  });
  return {
    schema: {
      type: 'record',
      name: unique,
      fields: columns.map((c) => ({
        name: c.name,
        type: c.encoder.schema,
        ...(c.encoder.branch === 'union' ? { default: null } : {}),
      })),
    },
    branch: unique,
    encode: (value) => {
      const row = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const c of columns) {
        const encoded = c.encoder.encode(ownValue(row, c.name));
        // Assigning `__proto__` would set the prototype and lose the field.
        if (c.name === '__proto__')
          Object.defineProperty(out, c.name, { value: encoded, enumerable: true, writable: true });
        else out[c.name] = encoded;
      }
      return out;
    },
  };
}

function fieldEncoder(field: Field, recordName: string, names: Set<string>): Encoder {
  const inner = typeEncoder(field.type, recordName, names);
  if (!field.nullable) {
    return {
      ...inner,
      encode: (value) => {
        if (value === null || value === undefined)
          throw new Error(`column "${field.name}" is declared not null but holds null`);
        return inner.encode(value);
      },
    };
  }
  return {
    schema: ['null', inner.schema],
    branch: 'union',
    encode: (value) =>
      value === null || value === undefined ? null : { [inner.branch]: inner.encode(value) },
  };
}

function typeEncoder(type: LogicalType, recordName: string, names: Set<string>): Encoder {
  const context = { recordName, names };
  return mapType(encoders(context), type);
}

interface EncoderContext {
  readonly recordName: string;
  readonly names: Set<string>;
}

const primitive = (name: string, encode: (value: unknown) => unknown): Encoder => ({
  schema: name,
  branch: name,
  encode,
});

function encoders(context: EncoderContext): TypeMapping<Encoder> {
  const nested = (type: LogicalType, suffix: string): Encoder =>
    typeEncoder(type, `${context.recordName}${suffix}`, context.names);
  const element = (type: LogicalType, suffix: string): Encoder => {
    const inner = nested(type, suffix);
    return {
      ...inner,
      schema: ['null', inner.schema],
      branch: 'union',
      encode: (value: unknown) =>
        value === null || value === undefined ? null : { [inner.branch]: inner.encode(value) },
    };
  };
  return {
    bool: () => primitive('boolean', (v) => Boolean(v)),
    int8: () => primitive('int', Number),
    int16: () => primitive('int', Number),
    int32: () => primitive('int', Number),
    int64: () => primitive('long', (v) => BigInt(v as bigint | number)),
    float32: () => primitive('float', Number),
    float64: () => primitive('double', Number),
    decimal: (t) => ({
      schema: { type: 'bytes', logicalType: 'decimal', precision: t.precision, scale: t.scale },
      branch: 'bytes',
      encode: (v) => decimalBytes(v, t.scale),
    }),
    string: () => primitive('string', String),
    binary: () => primitive('bytes', (v) => Buffer.from(v as Uint8Array)),
    date: () => ({
      schema: { type: 'int', logicalType: 'date' },
      branch: 'int',
      encode: (v) =>
        v instanceof Date ? Math.floor(v.getTime() / MS_PER_DAY) : Number(v as number | bigint),
    }),
    timestamp: (t) => ({
      schema: { type: 'long', logicalType: t.tz ? 'timestamp-micros' : 'local-timestamp-micros' },
      branch: 'long',
      encode: (v) => (v instanceof Date ? BigInt(v.getTime()) * 1000n : BigInt(v as bigint)),
    }),
    list: (t) => {
      const items = element(t.element, '_item');
      return {
        schema: { type: 'array', items: items.schema },
        branch: 'array',
        encode: (v) => (v as unknown[]).map(items.encode),
      };
    },
    struct: (t) => recordEncoder(t.fields, context.recordName, context.names),
    map: (t) => {
      if (t.key.kind !== 'string')
        throw new Error(
          `${formatType(t)}: Avro map keys are strings; cast the keys to string in a sql step first`,
        );
      const values = element(t.value, '_value');
      return {
        schema: { type: 'map', values: values.schema },
        branch: 'map',
        encode: (v) => {
          const entries = Array.isArray(v)
            ? (v as { key: unknown; value: unknown }[]).map(
                (e) => [String(e.key), e.value] as const,
              )
            : Object.entries(v as Record<string, unknown>);
          return Object.fromEntries(entries.map(([k, inner]) => [k, values.encode(inner)]));
        },
      };
    },
    json: () => ({
      schema: { type: 'string', 'sluice.type': 'json' },
      branch: 'string',
      encode: (v) => (typeof v === 'string' ? v : JSON.stringify(v)),
    }),
  };
}

/**
 * A decimal as Avro stores it: the unscaled value, big-endian two's complement, fewest bytes.
 *
 * @example
 * ```ts
 * decimalBytes('123.45', 2); // <Buffer 30 39>
 * ```
 */
export function decimalBytes(value: unknown, scale: number): Buffer {
  const text = typeof value === 'number' ? value.toFixed(scale) : String(value);
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (match === null) throw new Error(`${text} is not a decimal number`);
  const fraction = (match[3] ?? '').padEnd(scale, '0').slice(0, scale);
  let unscaled = BigInt(`${match[2] || '0'}${fraction}` || '0');
  if (match[1] === '-') unscaled = -unscaled;
  let bytes = 1;
  while (unscaled >= 1n << BigInt(bytes * 8 - 1) || unscaled < -(1n << BigInt(bytes * 8 - 1)))
    bytes++;
  const out = Buffer.alloc(bytes);
  let rest = BigInt.asUintN(bytes * 8, unscaled);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}
