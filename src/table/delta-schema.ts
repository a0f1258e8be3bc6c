import { SluiceError } from '../core/errors.js';
import type { Field, LogicalType } from '../core/types.js';

/** A type in Delta's JSON schema format. */
type DeltaType =
  | string
  | { readonly type: 'struct'; readonly fields: readonly DeltaField[] }
  | { readonly type: 'array'; readonly elementType: DeltaType; readonly containsNull?: boolean }
  | { readonly type: 'map'; readonly keyType: DeltaType; readonly valueType: DeltaType };

interface DeltaField {
  readonly name: string;
  readonly type: DeltaType;
  readonly nullable: boolean;
}

const PRIMITIVES: Readonly<Record<string, LogicalType>> = {
  string: { kind: 'string' },
  long: { kind: 'int64' },
  integer: { kind: 'int32' },
  short: { kind: 'int16' },
  byte: { kind: 'int8' },
  float: { kind: 'float32' },
  double: { kind: 'float64' },
  boolean: { kind: 'bool' },
  binary: { kind: 'binary' },
  date: { kind: 'date' },
  timestamp: { kind: 'timestamp', tz: true },
  timestamp_ntz: { kind: 'timestamp', tz: false },
};

/**
 * Parses a Delta `schemaString` into logical fields.
 *
 * @example
 * ```ts
 * fieldsFromDeltaSchema('{"type":"struct","fields":[{"name":"id","type":"long","nullable":true,"metadata":{}}]}');
 * // [{ name: 'id', type: { kind: 'int64' }, nullable: true }]
 * ```
 */
export function fieldsFromDeltaSchema(schemaString: string): Field[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(schemaString);
  } catch (cause) {
    throw new SluiceError('SCHEMA_MISMATCH', `the table's schemaString is not valid JSON`, {
      cause,
    });
  }
  const struct = parsed as { type?: unknown; fields?: readonly DeltaField[] };
  if (struct.type !== 'struct' || !Array.isArray(struct.fields)) {
    throw new SluiceError('SCHEMA_MISMATCH', 'the table schema must be a struct with fields');
  }
  return struct.fields.map((f) => ({
    name: f.name,
    type: toLogical(f.type),
    nullable: f.nullable,
  }));
}

function toLogical(type: DeltaType): LogicalType {
  if (typeof type === 'string') {
    const primitive = PRIMITIVES[type];
    if (primitive !== undefined) return primitive;
    const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
    if (decimal !== null)
      return { kind: 'decimal', precision: Number(decimal[1]), scale: Number(decimal[2]) };
    throw new SluiceError('SCHEMA_MISMATCH', `unsupported Delta type "${type}"`);
  }
  switch (type.type) {
    case 'struct':
      return {
        kind: 'struct',
        fields: type.fields.map((f) => ({
          name: f.name,
          type: toLogical(f.type),
          nullable: f.nullable,
        })),
      };
    case 'array':
      return { kind: 'list', element: toLogical(type.elementType) };
    case 'map':
      return { kind: 'map', key: toLogical(type.keyType), value: toLogical(type.valueType) };
  }
}

/**
 * Logical fields as a Delta `schemaString`.
 *
 * @example
 * ```ts
 * deltaSchemaString([{ name: 'id', type: { kind: 'int64' }, nullable: false }]);
 * // '{"type":"struct","fields":[{"name":"id","type":"long","nullable":false,"metadata":{}}]}'
 * ```
 */
export function deltaSchemaString(fields: readonly Field[]): string {
  return JSON.stringify({ type: 'struct', fields: fields.map(toDeltaField) });
}

function toDeltaField(field: Field): {
  name: string;
  type: unknown;
  nullable: boolean;
  metadata: object;
} {
  return {
    name: field.name,
    type: toDeltaType(field.type),
    nullable: field.nullable,
    metadata: {},
  };
}

const DELTA_PRIMITIVES: Readonly<Record<string, string>> = {
  string: 'string',
  int64: 'long',
  int32: 'integer',
  int16: 'short',
  int8: 'byte',
  float32: 'float',
  float64: 'double',
  bool: 'boolean',
  binary: 'binary',
  date: 'date',
  json: 'string',
};

function toDeltaType(type: LogicalType): unknown {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'timestamp':
      return type.tz ? 'timestamp' : 'timestamp_ntz';
    case 'list':
      return { type: 'array', elementType: toDeltaType(type.element), containsNull: true };
    case 'struct':
      return { type: 'struct', fields: type.fields.map(toDeltaField) };
    case 'map':
      return {
        type: 'map',
        keyType: toDeltaType(type.key),
        valueType: toDeltaType(type.value),
        valueContainsNull: true,
      };
    default:
      return DELTA_PRIMITIVES[type.kind] as string;
  }
}
