import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { createAvroType } from './avro-type.js';
import type { AvroSchemaJSON } from './avro-type.js';
import {
  canonicalForm,
  decodeAvroPayload,
  decodeSingleObject,
  encodeConfluent,
  encodeSingleObject,
  readConfluentHeader,
  readSingleObjectHeader,
  schemaFingerprint,
  WireFormatError,
} from './wire-format.js';

const FIXTURES = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'avro');
const hasFixtures = existsSync(FIXTURES);
if (!hasFixtures && process.env['CI'] === 'true')
  throw new Error(`fixture folder ${FIXTURES} is missing`);
if (!hasFixtures) console.warn(`skipping Avro fixture tests: ${FIXTURES} is absent`);

interface CanonicalCase {
  readonly id: string;
  readonly input: string;
  readonly canonical: string;
  readonly fingerprint: string | undefined;
}

/** The cases of schema-tests.txt: `<<KEY value` lines, or `<<KEY` ... `KEY` here-docs. */
function parseSchemaTests(text: string): CanonicalCase[] {
  const cases: CanonicalCase[] = [];
  let current: Record<string, string> = {};
  let id = '';
  const lines = text.split('\n');
  const flush = (): void => {
    if (current['INPUT'] !== undefined && current['canonical'] !== undefined)
      cases.push({
        id,
        input: current['INPUT'],
        canonical: current['canonical'],
        fingerprint: current['fingerprint'],
      });
    current = {};
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const header = /^\/\/ (\d{3})/.exec(line);
    if (header !== null) {
      flush();
      id = header[1] as string;
      continue;
    }
    const match = /^<<(\w+)(?: (.*))?$/.exec(line);
    if (match === null) continue;
    const key = match[1] as string;
    if (match[2] !== undefined) {
      current[key] = match[2];
      continue;
    }
    const body: string[] = [];
    while (++i < lines.length && lines[i] !== key) body.push(lines[i] as string);
    current[key] = body.join('\n');
  }
  flush();
  return cases;
}

describe.skipIf(!hasFixtures)(
  'canonical form and CRC-64-AVRO (Avro schema-tests.txt)',
  async () => {
    const cases = hasFixtures
      ? parseSchemaTests(await readFile(join(FIXTURES, 'data', 'schema-tests.txt'), 'utf8'))
      : [];

    it('parses all 34 cases, 26 of them with a fingerprint', () => {
      expect(cases).toHaveLength(34);
      expect(cases.filter((c) => c.fingerprint !== undefined)).toHaveLength(26);
    });

    it.each(cases.map((c) => [c.id, c] as const))('case %s: canonical form', (_id, c) => {
      expect(canonicalForm(JSON.parse(c.input) as AvroSchemaJSON)).toBe(c.canonical);
    });

    it.each(cases.filter((c) => c.fingerprint !== undefined).map((c) => [c.id, c] as const))(
      'case %s: fingerprint',
      (_id, c) => {
        const fingerprint = schemaFingerprint(JSON.parse(c.input) as AvroSchemaJSON);
        expect(BigInt.asIntN(64, fingerprint).toString()).toBe(c.fingerprint);
      },
    );
  },
);

describe.skipIf(!hasFixtures)('single-object encoding (messageV1)', () => {
  it('decodes test_message.bin with its schema and checks the fingerprint', async () => {
    const schema = JSON.parse(
      await readFile(join(FIXTURES, 'data', 'messageV1', 'test_schema.avsc'), 'utf8'),
    ) as AvroSchemaJSON;
    const message = await readFile(join(FIXTURES, 'data', 'messageV1', 'test_message.bin'));
    const expected = JSON.parse(
      await readFile(join(FIXTURES, 'expected', 'messageV1_test_message.bin.json'), 'utf8'),
    ) as {
      schema_fingerprint_crc64_avro_little_endian_hex: string;
      schema_parsing_canonical_form: string;
    };
    expect(message.subarray(0, 2).toString('hex')).toBe('c301');
    expect(message.subarray(2, 10).toString('hex')).toBe(
      expected.schema_fingerprint_crc64_avro_little_endian_hex,
    );
    expect(canonicalForm(schema)).toBe(expected.schema_parsing_canonical_form);
    const type = createAvroType(schema);
    expect(decodeSingleObject(schema, type, message)).toEqual({
      id: 42n,
      name: 'Bill',
      tags: ['dog_lover', 'cat_hater'],
    });
    expect(
      encodeSingleObject(schema, type, { id: 42n, name: 'Bill', tags: ['dog_lover', 'cat_hater'] }),
    ).toEqual(message);
  });

  it('refuses a message written with another schema, and one that is not single-object', async () => {
    const schema = JSON.parse(
      await readFile(join(FIXTURES, 'data', 'messageV1', 'test_schema.avsc'), 'utf8'),
    ) as AvroSchemaJSON;
    const message = await readFile(join(FIXTURES, 'data', 'messageV1', 'test_message.bin'));
    const other: AvroSchemaJSON = {
      type: 'record',
      name: 'Other',
      fields: [{ name: 'id', type: 'long' }],
    };
    expect(() => decodeSingleObject(other, createAvroType(other), message)).toThrow(
      /is not the schema's .*; it was written with another schema/,
    );
    expect(() =>
      decodeSingleObject(schema, createAvroType(schema), message.subarray(0, message.length - 3)),
    ).toThrow(/Avro payload is truncated/);
    expect(() => readSingleObjectHeader(Buffer.from([0, 1, 2]))).toThrow(/must start with C3 01/);
  });
});

describe.skipIf(!hasFixtures)('interop.avsc', () => {
  it('parses with avsc and has a stable canonical form and fingerprint', async () => {
    const schema = JSON.parse(
      await readFile(join(FIXTURES, 'schemas', 'interop.avsc'), 'utf8'),
    ) as AvroSchemaJSON;
    const type = createAvroType(schema);
    expect(type.typeName).toBe('record');
    const canonical = canonicalForm(schema);
    // avsc's own canonical schema must agree with ours.
    expect(canonical).toBe(JSON.stringify(avro.Type.forSchema(schema as avro.Schema).schema()));
    expect(canonicalForm(JSON.parse(canonical) as AvroSchemaJSON)).toBe(canonical);
    expect(schemaFingerprint(JSON.parse(canonical) as AvroSchemaJSON)).toBe(
      schemaFingerprint(schema),
    );
  });
});

describe('Confluent wire format', () => {
  const schema: AvroSchemaJSON = {
    type: 'record',
    name: 'Order',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'note', type: ['null', 'string'], default: null },
    ],
  };
  const type = createAvroType(schema);

  it('round-trips: magic 0, big-endian id, Avro binary', () => {
    const message = encodeConfluent(258, type, { id: 2n ** 60n, note: { string: 'x' } });
    expect([...message.subarray(0, 5)]).toEqual([0, 0, 0, 1, 2]);
    const { schemaId, payload } = readConfluentHeader(message);
    expect(schemaId).toBe(258);
    expect(decodeAvroPayload(type, payload)).toEqual({ id: 2n ** 60n, note: { string: 'x' } });
  });

  it('refuses a wrong magic byte, a short message, a truncated or overlong payload', () => {
    expect(() => readConfluentHeader(Buffer.from([1, 0, 0, 0, 1, 2]))).toThrow(WireFormatError);
    expect(() => readConfluentHeader(Buffer.from([1, 0, 0, 0, 1, 2]))).toThrow(
      /not the Confluent magic byte 0/,
    );
    expect(() => readConfluentHeader(Buffer.from([0, 0]))).toThrow(/too short/);
    const message = encodeConfluent(1, type, { id: 5n, note: null });
    const { payload } = readConfluentHeader(message);
    expect(() =>
      decodeAvroPayload(
        createAvroType({
          type: 'record',
          name: 'W',
          fields: [
            { name: 'a', type: 'string' },
            { name: 'b', type: 'string' },
          ],
        }),
        payload,
      ),
    ).toThrow();
    expect(() => decodeAvroPayload(type, Buffer.concat([payload, Buffer.from([0])]))).toThrow(
      /1 bytes after the value/,
    );
    expect(() => encodeConfluent(-1, type, { id: 1n, note: null })).toThrow(/does not fit/);
  });
});
