import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readRecords, scanLines } from './text-lines.js';

const text = fc
  .array(fc.constantFrom('a', 'b', ',', '"', '\n', '\r\n', '\r', ''), { maxLength: 200 })
  .map((parts) => parts.join(''));

/** Non-blank LF-terminated lines, by the plain definition. */
function nonBlankLines(content: string): number {
  return content.split('\n').filter((line) => line !== '' && line !== '\r').length;
}

let files = 0;
async function fileWith(content: string | Buffer, suffix = ''): Promise<string> {
  const path = join(tmpdir(), `sluice-text-lines-${process.pid}-${files++}${suffix}`);
  await writeFile(path, content);
  return path;
}

describe('text line scan', () => {
  it('counts non-blank lines whatever the chunk boundaries, plain and gzip', async () => {
    await fc.assert(
      fc.asyncProperty(text, fc.integer({ min: 1, max: 17 }), async (content, chunkSize) => {
        fc.pre(content.includes('\n'));
        const plain = await fileWith(content);
        const zipped = await fileWith(gzipSync(content), '.gz');
        const expected = nonBlankLines(content);
        expect((await scanLines(plain, { compression: 'auto', chunkSize })).nonBlankLines).toBe(
          expected,
        );
        expect((await scanLines(zipped, { compression: 'auto' })).nonBlankLines).toBe(expected);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('counts lines of files that end lines with \\r alone', async () => {
    const path = await fileWith('id\ra\r\rb');
    expect(await scanLines(path, { compression: 'none' })).toMatchObject({
      nonBlankLines: 3,
      terminator: 'cr',
    });
  });

  it('counts non-blank lines among the skipped ones', async () => {
    const path = await fileWith('title\n\nid,name\n1,a\n');
    expect(await scanLines(path, { compression: 'none', skipLines: 2 })).toMatchObject({
      nonBlankLines: 3,
      nonBlankSkipped: 1,
    });
  });
});

describe('reading records back', () => {
  it('returns each record whole from its offset, with its line, across chunk boundaries', async () => {
    const line = fc.stringMatching(/^[a-z,"]{1,30}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 40 }),
        fc.constantFrom('\n', '\r\n'),
        fc.integer({ min: 1, max: 23 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 5 }),
        async (lines, end, chunkSize, picks) => {
          const content = lines.join(end) + end;
          const path = await fileWith(content);
          const wanted = [...new Set(picks.map((p) => p % lines.length))];
          const offsets = wanted.map((i) =>
            Buffer.byteLength(
              lines
                .slice(0, i)
                .map((l) => l + end)
                .join(''),
            ),
          );
          // The reader may point at the line break before a record: it is skipped.
          const requests = offsets.map((offset, k) => ({
            offset: k % 2 === 1 && offset > 0 ? offset - 1 : offset,
            innerLineEnds: 0,
          }));
          const found = await readRecords(path, 'none', requests, { chunkSize });
          found.forEach((record, k) => {
            const i = wanted[k] as number;
            expect(record.bytes.toString()).toBe(lines[i]);
            expect(record.line).toBe(i + 1);
            expect(record.offset).toBe(offsets[k]);
          });
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it('reads records back from the nearest line mark of the scan, as a full pass does', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `${i},${'x'.repeat(i % 37)}`);
    const path = await fileWith(`${lines.join('\r\n')}\r\n`);
    const scan = await scanLines(path, { compression: 'none' });
    expect(scan.marks.length).toBeGreaterThan(20);
    const wanted = [0, 1, 977, 5_000, 12_345, 19_999];
    const requests = wanted.map((i) => ({
      offset: Buffer.byteLength(
        lines
          .slice(0, i)
          .map((l) => `${l}\r\n`)
          .join(''),
      ),
      innerLineEnds: 0,
    }));
    const near = await readRecords(path, 'none', requests, { marks: scan.marks, chunkSize: 100 });
    expect(near).toEqual(await readRecords(path, 'none', requests));
    expect(near.map((r) => [r.line, r.bytes.toString()])).toEqual(
      wanted.map((i) => [i + 1, lines[i]]),
    );
  });

  it('takes the line ends inside a record (a quoted value spanning lines)', async () => {
    const path = await fileWith('id,name\n1,"a\nb\nc"\n2,x\n');
    const [record] = await readRecords(path, 'none', [{ offset: 8, innerLineEnds: 2 }]);
    expect(record).toEqual({ bytes: Buffer.from('1,"a\nb\nc"'), line: 2, offset: 8 });
  });
});
