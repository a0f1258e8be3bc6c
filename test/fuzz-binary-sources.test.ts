import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroSource } from '../src/connectors/avro/avro-source.js';
import { createAvroType } from '../src/connectors/avro/avro-type.js';
import { ContainerWriter } from '../src/connectors/avro/container-writer.js';
import { parquetSource } from '../src/connectors/files/parquet-source.js';
import { SourceError } from '../src/core/errors.js';
import { quoteLiteral } from '../src/core/type-mappings.js';
import { originalBytes } from '../src/contracts/quarantine-store.js';
import { schema, t } from '../src/index.js';
import type { HarnessRead } from './support/source-harness.js';
import { SourceHarness } from './support/source-harness.js';
import { query } from './helpers.js';

/** Cases per property: a seeded few hundred in CI, `SLUICE_FUZZ_RUNS` for a long run. */
const RUNS = Number(process.env['SLUICE_FUZZ_RUNS'] ?? 0) || undefined;
const SEED = Number(process.env['SLUICE_FUZZ_SEED'] ?? 20261207);
const runs = (ci: number): fc.Parameters<unknown> => ({ numRuns: RUNS ?? ci, seed: SEED });
const TIMEOUT = RUNS === undefined ? 60_000 : 24 * 3_600_000;

let harness: SourceHarness;
let dir: string;
let files = 0;
beforeAll(async () => {
  harness = await SourceHarness.create();
  dir = await mkdtemp(join(tmpdir(), 'sluice-fuzz-binary-'));
});
afterAll(async () => {
  harness.close();
  await rm(dir, { recursive: true, force: true });
});

const nextPath = (extension: string): string => join(dir, `in-${++files}${extension}`);

interface Row {
  readonly id: number;
  readonly s: string | null;
  readonly v: number | null;
}

const rows = fc.array(
  fc.record({
    id: fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    s: fc.option(fc.oneof(fc.integer().map(String), fc.string({ maxLength: 6 }))),
    v: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true })),
  }),
  { maxLength: 40 },
);

/** What is done to a good file before it is read. */
type Damage =
  | { readonly kind: 'none' }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array }
  | { readonly kind: 'flip'; readonly at: readonly number[] };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }).map((at) => ({
    kind: 'truncate' as const,
    at,
  })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({
    kind: 'append' as const,
    bytes,
  })),
  fc
    .array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), {
      minLength: 1,
      maxLength: 3,
    })
    .map((at) => ({ kind: 'flip' as const, at })),
);

function damaged(bytes: Buffer, what: Damage): Buffer {
  switch (what.kind) {
    case 'none':
      return bytes;
    case 'truncate':
      return bytes.subarray(0, Math.floor(what.at * bytes.length));
    case 'append':
      return Buffer.concat([bytes, what.bytes]);
    case 'flip': {
      const copy = Buffer.from(bytes);
      for (const at of what.at) {
        const i = Math.floor(at * copy.length);
        copy[i] = (copy[i] as number) ^ 0xff;
      }
      return copy;
    }
  }
}

/** The rows add up: rows out + quarantined = rows read = records counted independently. */
function expectAccounted(read: HarnessRead, path: string, records?: number): void {
  if (read.error !== undefined) throw read.error;
  const result = read.result;
  expect(result?.rowsRead).toBe(result?.recordsInInput);
  if (records !== undefined) expect(result?.rowsRead).toBe(records);
  expect(result?.rowsQuarantined).toBe(read.quarantined.length);
  expect(read.rowsOut + read.quarantined.length).toBe(result?.rowsRead);
  for (const entry of read.quarantined) {
    expect(entry.source_file).toBe(path);
    expect(typeof entry.reason).toBe('string');
  }
}

/** A clear step failure: SOURCE_FAILED, naming the file. */
function expectClearFailure(read: HarnessRead, path: string): void {
  expect(read.error).toBeInstanceOf(SourceError);
  expect((read.error as SourceError).code).toBe('SOURCE_FAILED');
  expect((read.error as SourceError).message).toContain(path);
}

const declared = schema({ id: t.int64().notNull(), s: t.int64(), v: t.float64() });

async function writeParquet(path: string, data: readonly Row[], rowGroupSize: number) {
  const literal = (r: Row): string =>
    `(${r.id}, ${r.s === null ? 'NULL' : quoteLiteral(r.s)}, ${r.v === null ? 'NULL' : `CAST('${r.v}' AS DOUBLE)`})`;
  const select =
    data.length === 0
      ? 'SELECT 0::BIGINT AS id, NULL::VARCHAR AS s, NULL::DOUBLE AS v LIMIT 0'
      : `SELECT id::BIGINT AS id, s::VARCHAR AS s, v::DOUBLE AS v FROM (VALUES ${data.map(literal).join(', ')}) t(id, s, v)`;
  await query(
    `COPY (${select}) TO ${quoteLiteral(path)} (FORMAT parquet, ROW_GROUP_SIZE ${rowGroupSize})`,
  );
}

describe('Parquet source under generated damaged files', () => {
  it(
    'reads every row the footers count, or fails naming the file',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          rows,
          fc.integer({ min: 1, max: 16 }),
          fc.boolean(),
          damage,
          async (data, rowGroupSize, withSchema, what) => {
            const good = nextPath('.parquet');
            await writeParquet(good, data, rowGroupSize);
            const path = nextPath('.parquet');
            await writeFile(path, damaged(await readFile(good), what));
            const read = await harness.read(
              parquetSource,
              { path, ...(withSchema ? { schema: declared } : {}) },
              dir,
            );
            if (what.kind === 'none') expectAccounted(read, path, data.length);
            else if (what.kind === 'flip' && read.error === undefined) expectAccounted(read, path);
            else expectClearFailure(read, path);
          },
        ),
        runs(250),
      );
    },
    TIMEOUT,
  );
});

const avroSchema = {
  type: 'record',
  name: 'row',
  fields: [
    { name: 'id', type: 'long' },
    { name: 's', type: ['null', 'string'] },
    { name: 'v', type: ['null', 'double'] },
  ],
};

const avroType = createAvroType(avroSchema as never);
const avroValue = (r: Row): unknown => ({
  id: r.id,
  s: r.s === null ? null : { string: r.s },
  v: r.v === null ? null : { double: r.v },
});

/** Offsets just after each sync marker: where a container file can end cleanly. */
function blockEnds(bytes: Buffer, sync: Buffer): number[] {
  const ends: number[] = [];
  for (let at = bytes.indexOf(sync); at >= 0; at = bytes.indexOf(sync, at + 1))
    ends.push(at + sync.length);
  return ends;
}

describe('Avro source under generated damaged files', () => {
  it(
    'reads every record the blocks count, or fails naming the file',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          rows,
          fc.constantFrom('null', 'deflate', 'snappy') as fc.Arbitrary<
            'null' | 'deflate' | 'snappy'
          >,
          fc.integer({ min: 1, max: 400 }),
          fc.boolean(),
          damage,
          async (data, codec, blockSize, withSchema, what) => {
            const good = nextPath('.avro');
            const writer = await ContainerWriter.create(good, avroSchema, { codec, blockSize });
            for (const r of data) {
              writer.append(avroValue(r));
              if (writer.blockFull) await writer.flush();
            }
            await writer.close();
            const bytes = await readFile(good);
            const path = nextPath('.avro');
            const input = damaged(bytes, what);
            await writeFile(path, input);
            const read = await harness.read(
              avroSource,
              {
                path,
                ...(withSchema
                  ? { schema: schema({ id: t.int32().notNull(), s: t.string(), v: t.float64() }) }
                  : {}),
              },
              dir,
            );
            if (what.kind === 'none') {
              expectAccounted(read, path, data.length);
              // Each quarantined record is one generated record's Avro encoding, byte for byte.
              const encoded = new Set(
                data.map((r) => avroType.toBuffer(avroValue(r)).toString('base64')),
              );
              for (const entry of read.quarantined) {
                const original = originalBytes(entry);
                expect(encoded.has(original.toString('base64'))).toBe(true);
                // In an uncompressed block the offset points at the record's bytes in the file.
                if (codec === 'null') {
                  const at = entry.offset as number;
                  expect(bytes.subarray(at, at + original.length).equals(original)).toBe(true);
                } else expect(entry.offset).toBeNull();
              }
              if (withSchema)
                expect(read.quarantined.length).toBe(
                  data.filter((r) => r.id < -(2 ** 31) || r.id > 2 ** 31 - 1).length,
                );
              return;
            }
            if (read.error === undefined) {
              // A container file has no trailer: cut right after a sync marker, it is a shorter
              // valid file. Any other damage that reads must still add up.
              expect(what.kind).not.toBe('append');
              if (what.kind === 'truncate') {
                expect(blockEnds(bytes, bytes.subarray(-16))).toContain(input.length);
                expect(read.result?.rowsRead).toBeLessThanOrEqual(data.length);
              }
              return expectAccounted(read, path);
            }
            expectClearFailure(read, path);
          },
        ),
        runs(250),
      );
    },
    TIMEOUT,
  );
});
