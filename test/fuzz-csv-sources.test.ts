import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, source, t } from '../src/index.js';
import { originalBytes } from '../src/contracts/quarantine-store.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

/**
 * Property: for generated CSV and TSV files with malformed records at random positions, every
 * record is typed or quarantined (rows in = the file's records = out + quarantined) and each
 * quarantined record is the generator's malformed record, byte for byte. `SLUICE_FUZZ_RUNS`
 * sets the number of files per property (CI runs the seeded default).
 */
const RUNS = Number(process.env['SLUICE_FUZZ_RUNS'] ?? 150);
const SEED = Number(process.env['SLUICE_FUZZ_SEED'] ?? 20261207);

const items = schema({ id: t.int64().notNull(), name: t.string(), score: t.float64() });
const pairs = schema({ id: t.int64().notNull(), name: t.string() });

type Cell = { readonly text: string };
interface GeneratedRecord {
  readonly bytes: Buffer;
  readonly bad: boolean;
  /** Opens a quoted value it never closes. */
  readonly unterminated?: boolean;
}

const plainText = fc.stringMatching(/^[a-zA-Z0-9 .:-]{0,12}$/).filter((s) => s.trim() === s);
const awkwardText = fc.oneof(
  plainText,
  fc.constantFrom('a,b', 'say "hi"', 'two\nlines', 'crlf\r\ninside', 'tab\there', 'é ü 中', ''),
);

function quoteCell(value: string, delimiter: string): Cell {
  const needs = /[",\t\r\n]/.test(value) || value.includes(delimiter) || value === '';
  return { text: needs ? `"${value.replaceAll('"', '""')}"` : value };
}

const goodRecord = (delimiter: string) =>
  fc
    .tuple(
      fc.integer({ min: -1e9, max: 1e9 }),
      awkwardText,
      fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    )
    .map(([id, name, score]): GeneratedRecord => {
      const cells = [String(id), quoteCell(name, delimiter).text, String(score)];
      return { bytes: Buffer.from(cells.join(delimiter)), bad: false };
    });

const badRecord = (delimiter: string) =>
  fc
    .oneof(
      // a value that is not an integer
      fc
        .tuple(awkwardText, fc.integer())
        .map(([name, n]) => `x${n}${delimiter}${quoteCell(name, delimiter).text}${delimiter}1.5`),
      // too many fields
      fc.integer().map((n) => `${n}${delimiter}a${delimiter}2${delimiter}extra`),
      // too few fields
      fc.integer().map((n) => `${n}${delimiter}only`),
      // a line far longer than the reader's copy of it
      fc
        .integer({ min: 10_001, max: 40_000 })
        .map((n) => `${'9'.repeat(n)}x${delimiter}long${delimiter}1`),
    )
    .map((text): GeneratedRecord => ({ bytes: Buffer.from(text), bad: true }));

const invalidUTF8 = (delimiter: string) =>
  fc.uint8Array({ minLength: 1, maxLength: 4 }).map((junk): GeneratedRecord => ({
    bytes: Buffer.concat([
      Buffer.from(`7${delimiter}`),
      Buffer.from([0xff, ...junk.map((b) => b | 0x80)]),
      Buffer.from(`${delimiter}1`),
    ]),
    bad: true,
  }));

const unterminated = (delimiter: string) =>
  fc.integer({ min: 0, max: 1000 }).map((n): GeneratedRecord => ({
    bytes: Buffer.from(`${n}${delimiter}"open${delimiter}1`),
    bad: true,
    unterminated: true,
  }));

const csvFile = (delimiter: string) =>
  fc.record({
    records: fc.array(
      fc.oneof(
        { weight: 8, arbitrary: goodRecord(delimiter) },
        { weight: 2, arbitrary: badRecord(delimiter) },
        { weight: 1, arbitrary: invalidUTF8(delimiter) },
        { weight: 1, arbitrary: unterminated(delimiter) },
      ),
      { minLength: 1, maxLength: 60 },
    ),
    lineEnd: fc.constantFrom('\n', '\r\n'),
    blankLines: fc.array(fc.nat(80), { maxLength: 3 }),
    finalNewline: fc.boolean(),
  });

function render(
  delimiter: string,
  file: {
    records: readonly GeneratedRecord[];
    lineEnd: string;
    blankLines: readonly number[];
    finalNewline: boolean;
  },
): Buffer {
  const end = Buffer.from(file.lineEnd);
  const parts: Buffer[] = [Buffer.from(['id', 'name', 'score'].join(delimiter)), end];
  file.records.forEach((record, i) => {
    if (file.blankLines.includes(i) && i > 0) parts.push(end);
    // Values spanning lines use the file's own line end.
    parts.push(ending(record.bytes, file.lineEnd));
    if (i < file.records.length - 1 || file.finalNewline) parts.push(end);
  });
  return Buffer.concat(parts);
}

/** A record as written: values spanning lines use the file's own line end. */
function ending(bytes: Buffer, lineEnd: string): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r?\n/g, lineEnd), 'latin1');
}

async function checkFile(
  kind: 'csv' | 'tsv',
  delimiter: string,
  file: Parameters<typeof render>[1],
): Promise<void> {
  const dir = await tempDir('sluice-fuzz-csv-');
  const bytes = render(delimiter, file);
  await writeFile(join(dir, `in.${kind}`), bytes);
  const read =
    kind === 'csv'
      ? source.csv({ path: 'in.csv', schema: items })
      : source.tsv({ path: 'in.tsv', schema: items });
  const report = await runIn(
    dir,
    pipeline('fuzz', {
      steps: { input: read, out: sink.ndjson({ input: ref('input'), path: 'out.ndjson' }) },
    }),
  );
  const input = stepOf(report, 'input');
  const bad = file.records.filter((r) => r.bad);
  if (report.status !== 'success') {
    // A loud failure loses nothing; it is allowed only where the reader cannot tell the dialect.
    expect(input.error?.code, JSON.stringify(input.error)).toBe('SOURCE_FAILED');
    expect(input.error?.message).toMatch(
      file.records.some((r) => r.unterminated) ? /sniff|never closed/i : /sniff/i,
    );
    return;
  }
  if (file.records.some((r) => r.unterminated)) {
    // The reader may close the quote at a later one; nothing is lost: each record the generator
    // wrote is in the output or inside a quarantined record.
    const out = (await readNDJSON(join(dir, 'out.ndjson'))).map((r) => String(r['id']));
    const quarantined =
      input.quarantineFile === undefined ? [] : await readNDJSON(input.quarantineFile);
    const kept = quarantined
      .map((q) => originalBytes(q as never).toString('latin1'))
      .join('\u0000');
    for (const record of file.records) {
      const text = ending(record.bytes, file.lineEnd).toString('latin1');
      expect(kept.includes(text) || out.includes(text.split(delimiter)[0] as string), text).toBe(
        true,
      );
    }
    return;
  }
  expect(input.rowsIn).toBe(file.records.length);
  expect(input.rowsQuarantined).toBe(bad.length);
  expect(input.rowsOut).toBe(file.records.length - bad.length);
  const quarantined =
    input.quarantineFile === undefined ? [] : await readNDJSON(input.quarantineFile);
  const kept = quarantined.map((q) => originalBytes(q as never).toString('base64')).sort();
  const expected = bad.map((r) => ending(r.bytes, file.lineEnd).toString('base64')).sort();
  expect(kept).toEqual(expected);
}

describe('fuzzing the CSV and TSV sources', () => {
  for (const [kind, delimiter] of [
    ['csv', ','],
    ['tsv', '\t'],
  ] as const) {
    it(`${kind}: every record is typed or quarantined as its original bytes`, async () => {
      await fc.assert(
        fc.asyncProperty(csvFile(delimiter), (file) => checkFile(kind, delimiter, file)),
        { numRuns: RUNS, seed: SEED },
      );
    }, 600_000);
  }

  it('csv: an unterminated quote anywhere never loses the records after it', async () => {
    const plainFile = fc
      .tuple(fc.integer({ min: 5000, max: 10000 }), fc.nat(), fc.constantFrom('\n', '\r\n'))
      .map(([count, at, lineEnd]) => ({ count, at: at % count, lineEnd }));
    await fc.assert(
      fc.asyncProperty(plainFile, async ({ count, at, lineEnd }) => {
        const dir = await tempDir('sluice-fuzz-csv-');
        const lines = ['id,name'];
        for (let i = 0; i < count; i++) lines.push(i === at ? `${i},"x,${i}` : `${i},n${i}`);
        await writeFile(join(dir, 'in.csv'), `${lines.join(lineEnd)}${lineEnd}`);
        const report = await runIn(
          dir,
          pipeline('fuzz', {
            steps: {
              input: source.csv({ path: 'in.csv', schema: pairs }),
              out: sink.ndjson({ input: ref('input'), path: 'out.ndjson' }),
            },
          }),
        );
        const input = stepOf(report, 'input');
        if (report.status === 'success') {
          expect(input).toMatchObject({ rowsIn: count, rowsOut: count - 1, rowsQuarantined: 1 });
        } else {
          expect(['SOURCE_FAILED', 'ROWS_UNACCOUNTED']).toContain(input.error?.code);
          expect(stepOf(report, 'out').status).not.toBe('success');
        }
      }),
      { numRuns: Math.max(20, Math.round(RUNS / 3)), seed: SEED },
    );
  }, 600_000);
});
