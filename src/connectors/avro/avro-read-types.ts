import type { Field, LogicalType } from '../../core/types.js';
import { toJSONValue } from '../../contracts/json-values.js';
import type { AvroSchemaJSON } from './avro-type.js';
import { AVRO_PRIMITIVES } from './avro-type.js';

/**
 * How one Avro schema node reads into a logical type, and how its decoded values convert.
 *
 * @example
 * ```ts
 * const [{ read }] = avroReadColumns(schema);
 * read.convert({ string: 'x' }, false); // 'x' for a ["null", "string"] field
 * ```
 */
export interface AvroReadType {
  readonly type: LogicalType;
  readonly nullable: boolean;
  /**
   * Converts a value decoded by avsc (wrapped unions, bigint longs) to what the row writer takes.
   * `nested` values end up as JSON text, so instants become ISO text there; at the top level a
   * timestamp is a bigint of microseconds since the epoch (see {@link AvroReadType.epochMicros}).
   */
  readonly convert: (value: unknown, nested: boolean) => unknown;
  /** Set when top-level values are epoch microseconds to convert in SQL. */
  readonly epochMicros?: boolean;
}

/**
 * A column of a record schema as the Avro source reads it.
 *
 * @example
 * ```ts
 * const names = avroReadColumns(schema).map((c) => c.name);
 * ```
 */
export interface AvroReadColumn {
  readonly name: string;
  readonly field: Field;
  readonly read: AvroReadType;
}

const MS_PER_DAY = 86_400_000;
const RECORD_PATH_LIMIT = 64;

type SchemaObject = { readonly [key: string]: unknown };

/**
 * The columns of a top-level Avro record schema as logical types: records become structs, arrays
 * lists, maps maps, a union with null a nullable value, other unions JSON, enums strings,
 * fixed/bytes binary; logical types date, time-*, timestamp-*, local-timestamp-*, decimal and
 * uuid map to date, string, timestamp(tz), timestamp, decimal and string. A record type that
 * contains itself is read as JSON below its first level.
 *
 * @example
 * ```ts
 * avroReadColumns({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] });
 * // [{ name: 'id', field: { name: 'id', type: { kind: 'int64' }, nullable: false }, read }]
 * ```
 */
export function avroReadColumns(schema: AvroSchemaJSON): AvroReadColumn[] {
  const named = new Map<string, SchemaObject>();
  collectNamed(schema, undefined, named);
  const root = resolveReference(schema, undefined, named);
  if (!isObject(root) || root['type'] !== 'record') {
    throw new Error(
      `the file's schema is ${JSON.stringify(schema).slice(0, 80)}, not a record; only record schemas map to columns`,
    );
  }
  const namespace = namespaceOf(root, undefined);
  const path = new Set([fullName(root, undefined)]);
  return fieldsOf(root).map(({ name, type }) => {
    const read = readType(type, namespace, named, path);
    return { name, field: { name, type: read.type, nullable: read.nullable }, read };
  });
}

function readType(
  schema: unknown,
  namespace: string | undefined,
  named: ReadonlyMap<string, SchemaObject>,
  path: ReadonlySet<string>,
  nested = false,
): AvroReadType {
  if (Array.isArray(schema)) return unionType(schema, namespace, named, path, nested);
  if (typeof schema === 'string' && !AVRO_PRIMITIVES.has(schema)) {
    const name = qualify(schema, namespace);
    const definition = named.get(name);
    if (definition === undefined) throw new Error(`unknown Avro type "${schema}"`);
    return readType(definition, namespaceOf(definition, namespace), named, path, nested);
  }
  const node: SchemaObject =
    typeof schema === 'string' ? { type: schema } : (schema as SchemaObject);
  const logical = logicalType(node);
  if (logical !== undefined) return logical;
  switch (node['type']) {
    case 'null':
      return { type: { kind: 'json' }, nullable: true, convert: () => null };
    case 'boolean':
      return plain({ kind: 'bool' });
    case 'int':
      return plain({ kind: 'int32' });
    case 'long':
      return plain({ kind: 'int64' });
    case 'float':
      return plain({ kind: 'float32' });
    case 'double':
      return plain({ kind: 'float64' });
    case 'bytes':
    case 'fixed':
      // Nested values travel to DuckDB as JSON, which has no bytes: inside lists, maps and
      // records they are read as base64 text.
      return nested
        ? {
            type: { kind: 'string' },
            nullable: false,
            convert: (value) => Buffer.from(value as Uint8Array).toString('base64'),
          }
        : plain({ kind: 'binary' });
    case 'string':
      return node['sluice.type'] === 'json'
        ? {
            type: { kind: 'json' },
            nullable: false,
            convert: (value, nested) => (nested ? JSON.parse(value as string) : value),
          }
        : plain({ kind: 'string' });
    case 'enum':
      return plain({ kind: 'string' });
    case 'array': {
      const items = readType(node['items'], namespace, named, path, true);
      return {
        type: { kind: 'list', element: items.type },
        nullable: false,
        convert: (value) => (value as unknown[]).map((v) => items.convert(v, true)),
      };
    }
    case 'map': {
      const values = readType(node['values'], namespace, named, path, true);
      return {
        type: { kind: 'map', key: { kind: 'string' }, value: values.type },
        nullable: false,
        convert: (value) =>
          Object.fromEntries(
            Object.entries(value as Record<string, unknown>).map(([k, v]) => [
              k,
              values.convert(v, true),
            ]),
          ),
      };
    }
    case 'record':
    case 'error':
      return recordType(node, namespace, named, path);
    default:
      if (node['type'] !== undefined && typeof node['type'] !== 'string')
        return readType(node['type'], namespace, named, path, nested);
      throw new Error(`unsupported Avro schema ${JSON.stringify(node).slice(0, 80)}`);
  }
}

function plain(type: LogicalType): AvroReadType {
  return { type, nullable: false, convert: (value) => value };
}

function recordType(
  node: SchemaObject,
  namespace: string | undefined,
  named: ReadonlyMap<string, SchemaObject>,
  path: ReadonlySet<string>,
): AvroReadType {
  const name = fullName(node, namespace);
  if (path.has(name) || path.size > RECORD_PATH_LIMIT) {
    return { type: { kind: 'json' }, nullable: false, convert: asJSON };
  }
  const inner = new Set([...path, name]);
  const ownNamespace = namespaceOf(node, namespace);
  const fields = fieldsOf(node).map(({ name: fieldName, type }) => ({
    name: fieldName,
    read: readType(type, ownNamespace, named, inner, true),
  }));
  return {
    type: {
      kind: 'struct',
      fields: fields.map((f) => ({ name: f.name, type: f.read.type, nullable: f.read.nullable })),
    },
    nullable: false,
    convert: (value) => {
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of fields) out[f.name] = f.read.convert(record[f.name], true);
      return out;
    },
  };
}

function unionType(
  branches: readonly unknown[],
  namespace: string | undefined,
  named: ReadonlyMap<string, SchemaObject>,
  path: ReadonlySet<string>,
  nested: boolean,
): AvroReadType {
  const reads = new Map<string, AvroReadType>();
  let nullable = false;
  for (const branch of branches) {
    const key = branchName(branch, namespace);
    if (key === 'null') nullable = true;
    else reads.set(key, readType(branch, namespace, named, path, nested));
  }
  const unwrap = (value: unknown): [AvroReadType, unknown] | undefined => {
    if (value === null || value === undefined) return undefined;
    // A wrapped union value has exactly one key: its branch.
    for (const key in value as Record<string, unknown>) {
      const read = reads.get(key);
      if (read === undefined) throw new Error(`union branch "${key}" is not in the schema`);
      return [read, (value as Record<string, unknown>)[key]];
    }
    throw new Error('union value names no branch');
  };
  const [only] = reads.values();
  if (reads.size === 1 && only !== undefined) {
    return {
      ...only,
      nullable: true,
      convert: (value, nested) => {
        const found = unwrap(value);
        return found === undefined ? null : found[0].convert(found[1], nested);
      },
    };
  }
  return {
    type: { kind: 'json' },
    nullable,
    convert: (value, nested) => {
      const found = unwrap(value);
      return found === undefined ? null : asJSON(found[0].convert(found[1], true), nested);
    },
  };
}

function logicalType(node: SchemaObject): AvroReadType | undefined {
  const base = node['type'];
  switch (node['logicalType']) {
    case 'date':
      if (base !== 'int') return undefined;
      return {
        type: { kind: 'date' },
        nullable: false,
        convert: (value, nested) => {
          const date = new Date((value as number) * MS_PER_DAY);
          return nested ? date.toISOString().slice(0, 10) : date;
        },
      };
    case 'time-millis':
      if (base !== 'int') return undefined;
      return plainText((value) => timeOfDay(BigInt(value as number) * 1000n));
    case 'time-micros':
      if (base !== 'long') return undefined;
      return plainText((value) => timeOfDay(value as bigint));
    case 'timestamp-millis':
    case 'timestamp-micros':
    case 'local-timestamp-millis':
    case 'local-timestamp-micros': {
      if (base !== 'long') return undefined;
      const logical = node['logicalType'];
      const scale = logical.endsWith('millis') ? 1000n : 1n;
      const tz = !logical.startsWith('local-');
      return {
        type: { kind: 'timestamp', tz },
        nullable: false,
        epochMicros: true,
        convert: (value, nested) => {
          const micros = (value as bigint) * scale;
          return nested ? isoTimestamp(micros, tz) : micros;
        },
      };
    }
    case 'decimal': {
      if (base !== 'bytes' && base !== 'fixed') return undefined;
      const precision = Number(node['precision']);
      const scale = Number(node['scale'] ?? 0);
      if (!Number.isInteger(precision) || precision < 1 || precision > 38 || scale > precision)
        return undefined;
      return {
        type: { kind: 'decimal', precision, scale },
        nullable: false,
        convert: (value) => decimalText(value as Buffer, scale),
      };
    }
    case 'uuid':
      return base === 'string' || base === 'fixed'
        ? plainText((value) => (typeof value === 'string' ? value : uuidText(value as Buffer)))
        : undefined;
    default:
      return undefined;
  }
}

/** A JSON column's value: JSON text at the top level, the value itself inside nested values. */
function asJSON(value: unknown, nested: boolean): unknown {
  return nested ? value : JSON.stringify(toJSONValue(value));
}

function plainText(convert: (value: unknown) => string): AvroReadType {
  return { type: { kind: 'string' }, nullable: false, convert };
}

/**
 * The decimal text of a big-endian two's-complement unscaled integer.
 *
 * @example
 * ```ts
 * decimalText(Buffer.from([0x30, 0x39]), 2); // "123.45"
 * ```
 */
export function decimalText(bytes: Uint8Array, scale: number): string {
  let unscaled = 0n;
  for (const byte of bytes) unscaled = (unscaled << 8n) | BigInt(byte);
  if (bytes.length > 0 && ((bytes[0] as number) & 0x80) !== 0)
    unscaled -= 1n << BigInt(bytes.length * 8);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text =
    scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

function timeOfDay(micros: bigint): string {
  const total = Number(micros);
  const seconds = Math.floor(total / 1_000_000);
  const fraction = String(total % 1_000_000).padStart(6, '0');
  const hh = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}.${fraction}`;
}

function isoTimestamp(micros: bigint, tz: boolean): string {
  const millis = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const subMillis = ((micros % 1000n) + 1000n) % 1000n;
  const text = new Date(Number(millis)).toISOString();
  return `${text.slice(0, 23)}${String(subMillis).padStart(3, '0')}${tz ? 'Z' : ''}`;
}

function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function fieldsOf(node: SchemaObject): { name: string; type: unknown }[] {
  const fields = node['fields'];
  if (!Array.isArray(fields)) throw new Error(`record ${String(node['name'])} has no fields list`);
  return fields.map((f: SchemaObject) => ({ name: String(f['name']), type: f['type'] }));
}

function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The full name of a named schema (`namespace.name`), given the enclosing namespace. */
function fullName(node: SchemaObject, namespace: string | undefined): string {
  return qualify(String(node['name']), namespaceOf(node, namespace));
}

function namespaceOf(node: SchemaObject, namespace: string | undefined): string | undefined {
  const name = String(node['name'] ?? '');
  if (name.includes('.')) return name.slice(0, name.lastIndexOf('.'));
  const own = node['namespace'];
  return typeof own === 'string' ? (own === '' ? undefined : own) : namespace;
}

function qualify(name: string, namespace: string | undefined): string {
  return name.includes('.') || namespace === undefined || namespace === ''
    ? name
    : `${namespace}.${name}`;
}

function branchName(branch: unknown, namespace: string | undefined): string {
  if (typeof branch === 'string')
    return AVRO_PRIMITIVES.has(branch) ? branch : qualify(branch, namespace);
  if (!isObject(branch)) return 'union';
  const type = branch['type'];
  if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed')
    return fullName(branch, namespace);
  return typeof type === 'string' ? branchName(type, namespace) : 'union';
}

function collectNamed(
  schema: unknown,
  namespace: string | undefined,
  named: Map<string, SchemaObject>,
): void {
  if (Array.isArray(schema)) {
    for (const branch of schema) collectNamed(branch, namespace, named);
    return;
  }
  if (!isObject(schema)) return;
  const type = schema['type'];
  if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed') {
    named.set(fullName(schema, namespace), schema);
    const own = namespaceOf(schema, namespace);
    if (Array.isArray(schema['fields']))
      for (const f of schema['fields'] as SchemaObject[]) collectNamed(f['type'], own, named);
    return;
  }
  if (type === 'array') collectNamed(schema['items'], namespace, named);
  else if (type === 'map') collectNamed(schema['values'], namespace, named);
  else if (typeof type !== 'string') collectNamed(type, namespace, named);
}

function resolveReference(
  schema: unknown,
  namespace: string | undefined,
  named: ReadonlyMap<string, SchemaObject>,
): unknown {
  if (typeof schema === 'string' && !AVRO_PRIMITIVES.has(schema))
    return named.get(qualify(schema, namespace));
  return schema;
}
