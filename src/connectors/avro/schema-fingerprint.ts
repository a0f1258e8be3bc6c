import type { AvroSchemaJSON } from './avro-type.js';
import { AVRO_PRIMITIVES } from './avro-type.js';

const NAMED = new Set(['record', 'error', 'enum', 'fixed']);
/** Attributes kept by the Parsing Canonical Form, in the order it writes them. */
const KEPT = ['name', 'type', 'fields', 'symbols', 'items', 'values', 'size'] as const;

/**
 * The Parsing Canonical Form of an Avro schema (spec: AVRO_PRIMITIVES, FULLNAMES, STRIP, ORDER,
 * STRINGS, INTEGERS, WHITESPACE): two schemas with the same form read and write the same bytes.
 *
 * @example
 * ```ts
 * canonicalForm({ type: 'record', name: 'R', namespace: 'a', doc: 'x', fields: [{ name: 'f', type: { type: 'int' } }] });
 * // '{"name":"a.R","type":"record","fields":[{"name":"f","type":"int"}]}'
 * ```
 */
export function canonicalForm(schema: AvroSchemaJSON): string {
  return canonical(schema, undefined, new Set());
}

function canonical(schema: unknown, namespace: string | undefined, seen: Set<string>): string {
  if (typeof schema === 'string') {
    return JSON.stringify(AVRO_PRIMITIVES.has(schema) ? schema : qualify(schema, namespace));
  }
  if (Array.isArray(schema))
    return `[${schema.map((s) => canonical(s, namespace, seen)).join(',')}]`;
  const node = schema as { readonly [key: string]: unknown };
  const type = node['type'];
  if (typeof type === 'string' && AVRO_PRIMITIVES.has(type)) return JSON.stringify(type);
  if (typeof type !== 'string') return canonical(type, namespace, seen);
  let inner = namespace;
  const parts: string[] = [];
  if (NAMED.has(type)) {
    const name = String(node['name']);
    const ownNamespace = name.includes('.')
      ? name.slice(0, name.lastIndexOf('.'))
      : typeof node['namespace'] === 'string'
        ? node['namespace'] || undefined
        : namespace;
    const full = qualify(name, ownNamespace);
    if (seen.has(full)) return JSON.stringify(full);
    seen.add(full);
    inner = ownNamespace;
  }
  for (const key of KEPT) {
    if (!(key in node)) continue;
    const value = node[key];
    switch (key) {
      case 'name':
        parts.push(`"name":${JSON.stringify(qualify(String(value), inner))}`);
        break;
      case 'type':
        parts.push(`"type":${JSON.stringify(type)}`);
        break;
      case 'fields':
        parts.push(
          `"fields":[${(value as { name: string; type: unknown }[])
            .map(
              (f) => `{"name":${JSON.stringify(f.name)},"type":${canonical(f.type, inner, seen)}}`,
            )
            .join(',')}]`,
        );
        break;
      case 'symbols':
        parts.push(`"symbols":${JSON.stringify(value)}`);
        break;
      case 'items':
      case 'values':
        parts.push(`"${key}":${canonical(value, inner, seen)}`);
        break;
      case 'size':
        parts.push(`"size":${String(Number(value))}`);
        break;
    }
  }
  return `{${parts.join(',')}}`;
}

function qualify(name: string, namespace: string | undefined): string {
  return name.includes('.') || namespace === undefined || namespace === ''
    ? name
    : `${namespace}.${name}`;
}

const EMPTY = 0xc15d213aa4d7a795n;
const TABLE: readonly bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
  return BigInt.asUintN(64, fp);
});

/**
 * The CRC-64-AVRO (Rabin) fingerprint of bytes, as an unsigned 64-bit bigint. Apply it to a
 * schema's {@link canonicalForm} to get the schema's fingerprint.
 *
 * @example
 * ```ts
 * crc64Avro(Buffer.from('"null"')); // 7195948357588979594n (as signed)
 * ```
 */
export function crc64Avro(bytes: Uint8Array): bigint {
  let fp = EMPTY;
  for (const byte of bytes)
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  return fp;
}

/**
 * A schema's CRC-64-AVRO fingerprint over its Parsing Canonical Form (unsigned bigint; use
 * `BigInt.asIntN(64, fp)` for the signed value the Avro tests print).
 *
 * @example
 * ```ts
 * BigInt.asIntN(64, schemaFingerprint('null')); // 7195948357588979594n
 * ```
 */
export function schemaFingerprint(schema: AvroSchemaJSON): bigint {
  return crc64Avro(Buffer.from(canonicalForm(schema), 'utf8'));
}
