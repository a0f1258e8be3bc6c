import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JSONLayout } from './json-framing.js';
import { RecordFramingError, recordSplitter } from './json-framing.js';

/** The records of `bytes` fed in chunks of the given sizes: text, line and offset. */
function split(layout: JSONLayout, bytes: Buffer, sizes: readonly number[] = [], max?: number) {
  const splitter = recordSplitter(layout, max);
  const out: [string, number, number][] = [];
  const take = (
    records: Iterable<{ buffer: Buffer; start: number; end: number; line: number; offset: number }>,
  ) => {
    for (const r of records)
      out.push([r.buffer.toString('latin1', r.start, r.end), r.line, r.offset]);
  };
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.max(1, sizes[i % Math.max(1, sizes.length)] ?? bytes.length);
    take(splitter.push(bytes.subarray(at, at + size)));
    at += size;
  }
  take(splitter.end());
  return out;
}

describe('recordSplitter', () => {
  it('splits NDJSON lines, keeping carriage returns inside a line and skipping blank lines', () => {
    expect(split('lines', Buffer.from('{"a":1}\r\n \t\r\n{"a":\r2}\n\n7'))).toEqual([
      ['{"a":1}', 1, 0],
      ['{"a":\r2}', 3, 13],
      ['7', 5, 23],
    ]);
  });

  it('splits JSON documents into array elements and top-level values, ignoring empty slots', () => {
    const doc = '[{"a":"x,]}"} , [1,2],\n"s\\"" ,, 7 ,]\n{"b":{}} 8 "t"';
    expect(split('documents', Buffer.from(doc))).toEqual([
      ['{"a":"x,]}"}', 1, 1],
      ['[1,2]', 1, 16],
      ['"s\\""', 2, 23],
      ['7', 2, 32],
      ['{"b":{}}', 3, 37],
      ['8', 3, 46],
      ['"t"', 3, 48],
    ]);
  });

  it('leaves a UTF-8 byte order mark at the start of a file out of the first record', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(split('lines', Buffer.concat([bom, Buffer.from('{"a":1}\n{"b":2}')]))).toEqual([
      ['{"a":1}', 1, 3],
      ['{"b":2}', 2, 11],
    ]);
    expect(split('documents', Buffer.concat([bom, Buffer.from('[{"a":1}]')]))).toEqual([
      ['{"a":1}', 1, 4],
    ]);
    expect(split('lines', Buffer.concat([bom, Buffer.from('\n{"a":1}')]))).toEqual([
      ['{"a":1}', 2, 4],
    ]);
  });

  it('finds the same records whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.json(),
            fc.constantFrom('{"a":"\\q"}', '{"a":NaN}', 'tru', '{"é":"€"}', '{"x":[1,{"y":"]"}]}'),
          ),
          { maxLength: 8 },
        ),
        fc.constantFrom('array', 'concatenated', 'lines'),
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }),
        (values, shape, sizes) => {
          const items =
            shape === 'concatenated' ? values.filter((v) => !v.startsWith('[')) : values;
          const text =
            shape === 'array'
              ? `[${items.join(' ,\n')}]`
              : items.map((v) => v.replaceAll('\n', ' ')).join(shape === 'lines' ? '\n' : '\n ');
          const layout = shape === 'lines' ? 'lines' : 'documents';
          const bytes = Buffer.from(text);
          expect(split(layout, bytes, sizes)).toEqual(split(layout, bytes));
        },
      ),
      {
        seed: Number(process.env['SLUICE_FUZZ_SEED'] ?? 20261207),
        numRuns: Number(process.env['SLUICE_FUZZ_RUNS'] ?? 0) || 500,
      },
    );
  });

  it('fails where a document cannot be split: truncated, unbalanced, a stray bracket', () => {
    for (const [doc, where] of [
      ['[{"a":1},{"a":', 'line 1, byte 9'],
      ['[{"a":1}', 'line 1, byte 1'],
      ['{"a":"x}', 'line 1, byte 0'],
      ['\n]', 'line 2, byte 1'],
      ['[{"a":1}}', 'line 1, byte 8'],
    ] as const) {
      expect(() => split('documents', Buffer.from(doc))).toThrow(RecordFramingError);
      expect(() => split('documents', Buffer.from(doc))).toThrow(where);
    }
  });

  it('fails a record longer than the limit, naming where it starts', () => {
    const lines = Buffer.from(`{"a":1}\n{"a":"${'x'.repeat(100)}"}\n`);
    expect(() => split('lines', lines, [10], 64)).toThrow(
      'a line is longer than 64 bytes (line 2, byte 8)',
    );
    const doc = Buffer.from(`[{"a":1}, {"a":"${'x'.repeat(100)}"}]`);
    expect(() => split('documents', doc, [10], 64)).toThrow('(line 1, byte 10)');
    expect(split('lines', lines, [10], 200)).toHaveLength(2);
  });
});
