import avro from 'avsc';
import type { Schema as AvroSchema, Type as AvroType } from 'avsc';

/**
 * An Avro schema as JSON (a type name, a record/enum/array/map/fixed object, or a union array).
 *
 * @example
 * ```ts
 * const schema: AvroSchemaJSON = { type: 'array', items: 'long' };
 * ```
 */
/**
 * The names of Avro's primitive types; any other name in a schema refers to a named type.
 *
 * @example
 * ```ts
 * AVRO_PRIMITIVES.has('long'); // true
 * ```
 */
export const AVRO_PRIMITIVES: ReadonlySet<string> = new Set([
  'null',
  'boolean',
  'int',
  'long',
  'float',
  'double',
  'bytes',
  'string',
]);

export type AvroSchemaJSON =
  string | readonly AvroSchemaJSON[] | { readonly [key: string]: unknown };

/** 64-bit longs as bigints, so values beyond 2^53 survive decoding and encoding. */
const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint | number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value));
    return buffer;
  },
  fromJSON: (value: unknown) => BigInt(value as string | number),
  toJSON: (value: bigint) =>
    value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString(),
  isValid: (value: unknown) =>
    typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)),
  compare: (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0),
});

/**
 * An avsc type for `schema` with the conventions the Avro connectors rely on: longs are
 * bigints and every union value is wrapped (`{ string: 'x' }`), so a value's branch is known.
 * Logical types are left to the caller (values keep their underlying Avro type).
 *
 * @example
 * ```ts
 * const type = createAvroType({ type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }] });
 * type.fromBuffer(type.toBuffer({ id: 1n })); // { id: 1n }
 * ```
 */
export function createAvroType(schema: AvroSchemaJSON): AvroType {
  return avro.Type.forSchema(schema as AvroSchema, {
    registry: { long: bigintLong },
    // `registry` covers the name "long"; this covers `{ "type": "long", ... }` objects.
    typeHook: (node) =>
      typeof node === 'object' &&
      !Array.isArray(node) &&
      (node as { type?: unknown }).type === 'long'
        ? bigintLong
        : undefined,
    wrapUnions: true,
  });
}
