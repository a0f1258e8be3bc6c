import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, sql, t, transform } from '../src/index.js';
import type { Row } from '../src/index.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const numbers = (n: number) => sql`select range as id from range(${n})`;

describe('a transform without schema', () => {
  it('keeps the columns it adds', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('adds', {
        steps: {
          numbers: numbers(3),
          tagged: transform({ input: ref('numbers'), map: (r) => ({ ...r, extra: 'x' }) }),
          out: sink.ndjson({ input: ref('tagged'), path: 'tagged.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'tagged')).toMatchObject({ rowsIn: 3, rowsOut: 3, rowsQuarantined: 0 });
    expect(await readNDJSON(join(dir, 'tagged.ndjson'))).toEqual([
      { id: 0, extra: 'x' },
      { id: 1, extra: 'x' },
      { id: 2, extra: 'x' },
    ]);
  });

  it('types added columns from their values, and keeps a column that is always null', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('typed', {
        steps: {
          one: numbers(1),
          made: transform({
            input: ref('one'),
            map: (r) => ({
              ...r,
              flag: true,
              ratio: 1.5,
              big: 2n ** 60n,
              text: 'a',
              at: new Date('2026-01-02T03:04:05Z'),
              bytes: new Uint8Array([1, 2]),
              doc: { a: [1, 2] },
              list: ['x'],
              nothing: null,
            }),
          }),
          types: sql`select typeof("flag") as flag, typeof("ratio") as ratio, typeof("big") as big,
            typeof("text") as "text", typeof("at") as at_type, typeof("bytes") as bytes,
            typeof("doc") as doc_type, typeof("list") as list_type, typeof("nothing") as nothing,
            "nothing" is null as nothing_null, "doc", "list", "big"::VARCHAR as big_text, "at" from ${ref('made')}`,
          out: sink.ndjson({ input: ref('types'), path: 'types.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'types.ndjson'))).toEqual([
      {
        flag: 'BOOLEAN',
        ratio: 'DOUBLE',
        big: 'BIGINT',
        text: 'VARCHAR',
        at_type: 'TIMESTAMP WITH TIME ZONE',
        bytes: 'BLOB',
        doc_type: 'JSON',
        list_type: 'JSON',
        doc: { a: [1, 2] },
        list: ['x'],
        nothing: 'VARCHAR',
        nothing_null: true,
        big_text: String(2n ** 60n),
        at: '2026-01-02T03:04:05Z',
      },
    ]);
  });

  it('adds a key first seen in a later batch, with null in the rows before it', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('later', {
        steps: {
          numbers: numbers(10),
          late: transform({
            input: ref('numbers'),
            batchSize: 3,
            map: (r) => {
              const id = Number(r['id']);
              if (id < 5) return r;
              // `note` is null in row 5 and typed from row 7 on; `late` starts at row 8.
              return {
                ...r,
                note: id >= 7 ? `n${id}` : null,
                ...(id >= 8 ? { late: BigInt(id) } : {}),
              };
            },
          }),
          out: sink.ndjson({ input: ref('late'), path: 'late.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'late')).toMatchObject({ rowsIn: 10, rowsOut: 10, rowsQuarantined: 0 });
    const rows = await readNDJSON(join(dir, 'late.ndjson'));
    expect(rows.map((r) => [r['id'], r['note'], r['late']])).toEqual([
      [0, null, null],
      [1, null, null],
      [2, null, null],
      [3, null, null],
      [4, null, null],
      [5, null, null],
      [6, null, null],
      [7, 'n7', null],
      [8, 'n8', 8],
      [9, 'n9', 9],
    ]);
  });

  it('quarantines a row whose value does not fit the type its column got, naming it', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('conflict', {
        steps: {
          numbers: numbers(6),
          mixed: transform({
            input: ref('numbers'),
            map: (r) => {
              const id = Number(r['id']);
              if (id === 3) return { ...r, score: 'high' };
              if (id === 4) return { ...r, score: 4, fn: () => 1 };
              return { ...r, score: id / 2 };
            },
          }),
          out: sink.ndjson({ input: ref('mixed'), path: 'mixed.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    const step = stepOf(report, 'mixed');
    expect(step).toMatchObject({ rowsIn: 6, rowsOut: 4, rowsQuarantined: 2 });
    expect((step.rowsOut ?? 0) + step.rowsQuarantined).toBe(step.rowsIn);
    const entries = await readNDJSON(step.quarantineFile as string);
    expect(entries.map((e) => [e['column'], e['reason']]).sort()).toEqual([
      ['fn', 'column "fn": a function cannot be stored in a column'],
      ['score', 'column "score": expected float64, got string "high"'],
    ]);
    expect((await readNDJSON(join(dir, 'mixed.ndjson'))).map((r) => r['score'])).toEqual([
      0, 0.5, 1, 2.5,
    ]);
  });

  it('fails naming a key that differs from a column only in case, or an empty key', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('clash', {
        steps: {
          numbers: numbers(2),
          upper: transform({ input: ref('numbers'), map: (r) => ({ ...r, ID: 'x' }) }),
          out: sink.ndjson({ input: ref('upper'), path: 'never.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error).toMatchObject({ code: 'SCHEMA_MISMATCH', stepId: 'upper' });
    expect(report.error?.message).toContain('"ID" besides "id"');
    expect(stepOf(report, 'out').status).toBe('skipped');

    const empty = await runIn(
      dir,
      pipeline('empty_key', {
        steps: {
          numbers: numbers(2),
          blank: transform({ input: ref('numbers'), map: (r) => ({ ...r, '': 1 }) }),
        },
      }),
    );
    expect(empty.error).toMatchObject({ code: 'SCHEMA_MISMATCH', stepId: 'blank' });
    expect(empty.error?.message).toContain('empty key');
  });

  it('keeps every row of a batch transform that adds columns over many batches', async () => {
    const dir = await tempDir();
    const total = 20_000;
    const report = await runIn(
      dir,
      pipeline('many', {
        steps: {
          numbers: numbers(total),
          wide: transform({
            input: ref('numbers'),
            batchSize: 1000,
            async *run(batches) {
              let batchNo = 0;
              for await (const batch of batches) {
                const out: Row[] = batch.map((r) => ({ ...r, [`c${batchNo}`]: batchNo }));
                batchNo++;
                yield out;
              }
            },
          }),
          stats: sql`select count(*) as n, count(c0) as c0, count(c19) as c19 from ${ref('wide')}`,
          out: sink.ndjson({ input: ref('stats'), path: 'stats.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'wide')).toMatchObject({ rowsIn: total, rowsOut: total });
    expect(await readNDJSON(join(dir, 'stats.ndjson'))).toEqual([
      { n: total, c0: 1000, c19: 1000 },
    ]);
  });
});

describe('a transform with schema', () => {
  it('leaves out keys the schema does not declare', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('declared', {
        steps: {
          numbers: numbers(2),
          narrow: transform({
            input: ref('numbers'),
            schema: schema({ id: t.int64() }),
            map: (r) => ({ ...r, extra: 'x' }),
          }),
          out: sink.ndjson({ input: ref('narrow'), path: 'narrow.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'narrow.ndjson'))).toEqual([{ id: 0 }, { id: 1 }]);
  });
});
