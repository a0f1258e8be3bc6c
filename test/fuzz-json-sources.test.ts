import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonSource, ndjsonSource } from '../src/connectors/shared/json-source.js';
import { SourceError } from '../src/core/errors.js';
import type { QuarantineEntry } from '../src/contracts/quarantine-store.js';
import { originalBytes } from '../src/contracts/quarantine-store.js';
import { schema, t } from '../src/index.js';
import type { PlacedRecord } from './support/json-fuzz.js';
import {
  blankLine,
  framedRecord,
  jsonDocument,
  lineRecord,
  ndjsonFile,
} from './support/json-fuzz.js';
import type { HarnessRead } from './support/source-harness.js';
import { SourceHarness } from './support/source-harness.js';

/** Cases per property: a seeded few hundred in CI, `SLUICE_FUZZ_RUNS` for a long run. */
const RUNS = Number(process.env['SLUICE_FUZZ_RUNS'] ?? 0) || undefined;
const SEED = Number(process.env['SLUICE_FUZZ_SEED'] ?? 20261207);
const runs = (ci: number): fc.Parameters<unknown> => ({ numRuns: RUNS ?? ci, seed: SEED });
const TIMEOUT = RUNS === undefined ? 60_000 : 24 * 3_600_000;

const fuzzSchema = schema({ id: t.int64().notNull(), name: t.string(), amount: t.float64() });

let harness: SourceHarness;
let dir: string;
let files = 0;
beforeAll(async () => {
  harness = await SourceHarness.create();
  dir = await mkdtemp(join(tmpdir(), 'sluice-fuzz-json-'));
});
afterAll(async () => {
  harness.close();
  await rm(dir, { recursive: true, force: true });
});

async function writeInput(bytes: Buffer, extension: string): Promise<string> {
  const path = join(dir, `in-${++files}${extension}`);
  await writeFile(path, bytes);
  return path;
}

/**
 * The invariant: every generated record is either a row out or quarantined as its original
 * bytes (with file, line and offset), and the independent count says how many there were.
 */
function expectAccounted(read: HarnessRead, path: string, placed: readonly PlacedRecord[]): void {
  if (read.error !== undefined) throw read.error;
  const result = read.result;
  expect(result?.recordsInInput).toBe(placed.length);
  expect(result?.rowsRead).toBe(placed.length);
  expect(result?.rowsQuarantined).toBe(read.quarantined.length);
  expect(read.rowsOut + read.quarantined.length).toBe(placed.length);
  // Keyed by byte offset: several records of a JSON document can share a line.
  const byOffset = new Map(placed.map((r) => [r.offset, r]));
  const seen = new Set<number>();
  for (const entry of read.quarantined) {
    const generated = byOffset.get(entry.offset as number);
    expect(generated, `quarantined offset ${entry.offset} is a generated record`).toBeDefined();
    expect(seen.has(entry.offset as number), `offset ${entry.offset} quarantined once`).toBe(false);
    seen.add(entry.offset as number);
    expect(originalBytes(entry).equals((generated as PlacedRecord).bytes)).toBe(true);
    expect(entry.line).toBe(generated?.line);
    expect(entry.source_file).toBe(path);
    expect(typeof entry.reason).toBe('string');
  }
  for (const r of placed) {
    if (r.expect === 'bad') expect(seen.has(r.offset), `${r.kind} at byte ${r.offset}`).toBe(true);
    if (r.expect === 'good')
      expect(seen.has(r.offset), `${r.kind} at byte ${r.offset}`).toBe(false);
  }
}

function quarantinedAt(read: HarnessRead, line: number): QuarantineEntry | undefined {
  return read.quarantined.find((q) => q.line === line);
}

describe('NDJSON source under generated malformed input', () => {
  it(
    'accounts for every line: rows out + quarantined (byte-exact) = lines counted',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(lineRecord, { minLength: 1, maxLength: 25 }),
          fc.array(fc.constantFrom('\n', '\r\n'), { minLength: 1, maxLength: 4 }),
          fc.array(fc.array(blankLine, { maxLength: 2 }), { minLength: 1, maxLength: 4 }),
          fc.boolean(),
          fc.constantFrom('none', 'none', 'gzip'),
          async (records, breaks, blanks, finalBreak, compression) => {
            const { bytes, placed } = ndjsonFile(records, breaks, blanks, finalBreak);
            // Offsets count the decompressed bytes.
            const path =
              compression === 'gzip'
                ? await writeInput(gzipSync(bytes), '.ndjson.gz')
                : await writeInput(bytes, '.ndjson');
            const read = await harness.read(ndjsonSource, { path, schema: fuzzSchema }, dir);
            expectAccounted(read, path, placed);
          },
        ),
        runs(300),
      );
    },
    TIMEOUT,
  );

  it('keeps a record with a raw carriage return inside whole (a regression: it failed the file)', async () => {
    const records = ['{"id":1}', '{"id":2,\r"name":"x"}', '{"id":3}\r', '{"id":"x\ry"}'];
    const path = await writeInput(Buffer.from(records.join('\n')), '.ndjson');
    const read = await harness.read(ndjsonSource, { path, schema: fuzzSchema }, dir);
    expect(read.error).toBeUndefined();
    expect(read.result).toMatchObject({ rowsRead: 4, recordsInInput: 4, rowsQuarantined: 1 });
    expect(read.rowsOut).toBe(3);
    expect(originalBytes(quarantinedAt(read, 4) as QuarantineEntry).toString()).toBe(
      '{"id":"x\ry"}',
    );
  });

  it('quarantines a line that is not UTF-8 as its bytes (a regression: the bytes were replaced)', async () => {
    const bad = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const path = await writeInput(
      Buffer.concat([Buffer.from('{"id":1}\n'), bad, Buffer.from('\n{"id":3}\n')]),
      '.ndjson',
    );
    const read = await harness.read(ndjsonSource, { path, schema: fuzzSchema }, dir);
    expect(read.result).toMatchObject({ rowsRead: 3, recordsInInput: 3, rowsQuarantined: 1 });
    const entry = quarantinedAt(read, 2) as QuarantineEntry;
    expect(entry).toMatchObject({ record_encoding: 'base64', offset: 9, line: 2 });
    expect(originalBytes(entry).equals(bad)).toBe(true);
  });

  it("fails with onMalformed: 'fail' on a line that is not UTF-8, after quarantining it", async () => {
    const bad = Buffer.from([0x7b, 0x7d, 0xc3]);
    const path = await writeInput(Buffer.concat([Buffer.from('{"id":1}\n'), bad]), '.ndjson');
    const read = await harness.read(
      ndjsonSource,
      { path, schema: fuzzSchema, onMalformed: 'fail' },
      dir,
    );
    expect(read.error).toBeInstanceOf(SourceError);
    expect((read.error as SourceError).message).toMatch(/1 record\(s\) are not UTF-8 text/);
    expect(read.quarantined.map((q) => originalBytes(q).equals(bad))).toEqual([true]);
  });

  it('keeps a line with a U+0001 inside as one record (a regression: it was split apart)', async () => {
    const path = await writeInput(Buffer.from('{"id":1,"name":"a\x01b"}\n{"id":2}'), '.ndjson');
    const read = await harness.read(ndjsonSource, { path, schema: fuzzSchema }, dir);
    expect(read.result).toMatchObject({ rowsRead: 2, recordsInInput: 2 });
    expect(read.rowsOut + read.quarantined.length).toBe(2);
  });

  it('fails a truncated gzip file naming it, never reading fewer lines silently', async () => {
    const packed = gzipSync(Buffer.from('{"id":1}\n{"id":2}\n{"id":3}\n'.repeat(200)));
    const path = await writeInput(packed.subarray(0, packed.length - 12), '.ndjson.gz');
    const read = await harness.read(ndjsonSource, { path, schema: fuzzSchema }, dir);
    expect(read.error).toBeInstanceOf(SourceError);
    expect((read.error as SourceError).message).toContain(path);
  });

  it('quarantines a 2 MB malformed line whole', async () => {
    const huge = `{"id":1,"name":"${'y'.repeat(2 * 1024 * 1024)}`;
    const path = await writeInput(Buffer.from(`${huge}\n{"id":2}\n`), '.ndjson');
    const read = await harness.read(ndjsonSource, { path, schema: fuzzSchema }, dir);
    expect(read.result).toMatchObject({ rowsRead: 2, recordsInInput: 2, rowsQuarantined: 1 });
    expect(originalBytes(quarantinedAt(read, 1) as QuarantineEntry).toString()).toBe(huge);
  });
});

describe('JSON source under generated malformed input', () => {
  it(
    'accounts for every array element or top-level object, byte-exact',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(framedRecord, { minLength: 1, maxLength: 20 }),
          fc.constantFrom('array', 'concatenated') as fc.Arbitrary<'array' | 'concatenated'>,
          fc.array(fc.constantFrom('', ' ', '\n', '\r\n', '\t ', '\n\n'), {
            minLength: 1,
            maxLength: 4,
          }),
          async (records, layout, spaces) => {
            const { bytes, placed } = jsonDocument(records, layout, spaces);
            const path = await writeInput(bytes, '.json');
            const read = await harness.read(jsonSource, { path, schema: fuzzSchema }, dir);
            expectAccounted(read, path, placed);
          },
        ),
        runs(300),
      );
    },
    TIMEOUT,
  );

  it(
    'fails a truncated document with its file and position, or reads the complete records before the cut',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(framedRecord, { minLength: 1, maxLength: 8 }),
          fc.constantFrom('array', 'concatenated') as fc.Arbitrary<'array' | 'concatenated'>,
          fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
          async (records, layout, at) => {
            const { bytes, placed, ends } = jsonDocument(records, layout, ['\n']);
            const cut = 1 + Math.floor(at * (bytes.length - 1));
            const path = await writeInput(bytes.subarray(0, cut), '.json');
            const read = await harness.read(jsonSource, { path, schema: fuzzSchema }, dir);
            const complete = ends.filter((end) => end <= cut).length;
            const atBoundary =
              layout === 'concatenated' &&
              complete > 0 &&
              /^\s*$/.test(bytes.subarray(ends[complete - 1], cut).toString('latin1'));
            if (atBoundary) {
              expectAccounted(read, path, placed.slice(0, complete));
              return;
            }
            expect(read.error).toBeInstanceOf(SourceError);
            const error = read.error as SourceError;
            expect(error.code).toBe('SOURCE_FAILED');
            expect(error.message).toContain(path);
            expect(error.message).toMatch(/line \d+, byte \d+/);
            // Records quarantined before the file broke stay byte-exact.
            for (const entry of read.quarantined) {
              const generated = placed.find((r) => r.offset === entry.offset);
              expect(originalBytes(entry).equals(generated?.bytes ?? Buffer.alloc(0))).toBe(true);
            }
          },
        ),
        runs(200),
      );
    },
    TIMEOUT,
  );
});
