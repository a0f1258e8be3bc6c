import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, source, sql, t, transform } from '../src/index.js';
import { query, readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const orders = schema({
  order_id: t.int64().notNull(),
  customer: t.string().notNull(),
  amount: t.decimal(10, 2),
  ordered_at: t.timestamp(),
});

function readAll(step: ReturnType<typeof source.csv>) {
  return pipeline('read', {
    steps: { input: step, out: sink.ndjson({ input: ref('input'), path: 'out.ndjson' }) },
  });
}

describe('csv source', () => {
  it('types rows, quarantines bad lines with line number and reason, and loses nothing', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'orders.csv'),
      [
        'amount,order_id,customer,ordered_at',
        '10.50,1,acme,2026-01-01 10:00:00',
        'abc,2,globex,2026-01-01 11:00:00',
        '3.00,3,,2026-01-02 09:00:00',
        '7.25,4,initech,not-a-date',
        '1.00,5,acme,2026-01-03 09:00:00,EXTRA',
        '2.00,6,"multi',
        'line",2026-01-03 09:00:00',
        ',7,umbrella,',
      ].join('\n'),
    );
    const report = await runIn(dir, readAll(source.csv({ path: 'orders.csv', schema: orders })));
    expect(report.status).toBe('success');
    const input = stepOf(report, 'input');
    expect(input).toMatchObject({ rowsIn: 7, rowsOut: 3, rowsQuarantined: 4 });
    expect(input.rowsIn).toBe((input.rowsOut ?? NaN) + input.rowsQuarantined);

    const rows = await readNDJSON(join(dir, 'out.ndjson'));
    expect(rows).toEqual([
      { order_id: 1, customer: 'acme', amount: 10.5, ordered_at: '2026-01-01T10:00:00' },
      { order_id: 6, customer: 'multi\nline', amount: 2, ordered_at: '2026-01-03T09:00:00' },
      { order_id: 7, customer: 'umbrella', amount: null, ordered_at: null },
    ]);

    const quarantined = await readNDJSON(input.quarantineFile as string);
    const byLine = Object.fromEntries(quarantined.map((q) => [String(q['line']), q]));
    expect(byLine['3']).toMatchObject({
      column: 'amount',
      step: 'input',
      run_id: report.runId,
      record: 'abc,2,globex,2026-01-01 11:00:00',
    });
    expect(String(byLine['3']?.['reason'])).toMatch(/Could not convert string "abc"/);
    expect(byLine['5']).toMatchObject({ column: 'ordered_at' });
    expect(String(byLine['6']?.['reason'])).toMatch(/TOO MANY COLUMNS/);
    const missing = quarantined.find((q) => q['line'] === null);
    expect(missing).toMatchObject({
      column: 'customer',
      reason: 'column "customer": required value is missing',
      record: { order_id: 3, customer: null, amount: 3, ordered_at: '2026-01-02 09:00:00' },
      source_file: join(dir, 'orders.csv'),
    });
  });

  it('honours delimiter, quote, null strings, header, skip and latin-1 encoding', async () => {
    const dir = await tempDir();
    const text = "skip me\nid;name;score\n1;'Zoë; the first';NA\n2;Åsa;7\n";
    await writeFile(join(dir, 'people.csv'), Buffer.from(text, 'latin1'));
    const report = await runIn(
      dir,
      readAll(
        source.csv({
          path: 'people.csv',
          delimiter: ';',
          quote: "'",
          escape: "'",
          nullStrings: ['NA'],
          skipRows: 1,
          encoding: 'latin-1',
          schema: schema({ id: t.int32(), name: t.string(), score: t.int32() }),
        }),
      ),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { id: 1, name: 'Zoë; the first', score: null },
      { id: 2, name: 'Åsa', score: 7 },
    ]);
  });

  it('reads files without a header by position, tsv and gzip, and infers a schema', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.tsv.gz'), gzipSync('1\tx\t2026-02-01\n2\ty\t2026-02-02\n'));
    const report = await runIn(
      dir,
      readAll(
        source.tsv({
          path: 'a.tsv.gz',
          header: false,
          schema: schema({ n: t.int64(), s: t.string(), d: t.date() }),
        }),
      ),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { n: 1, s: 'x', d: '2026-02-01' },
      { n: 2, s: 'y', d: '2026-02-02' },
    ]);

    await writeFile(
      join(dir, 'inferred.csv'),
      'id,price,day\n1,2.5,2026-01-01\n2,3.25,2026-01-02\n',
    );
    const inferred = await runIn(
      dir,
      pipeline('infer', {
        steps: {
          input: source.csv({ path: 'inferred.csv' }),
          typed: sql`select typeof(id) as id_type, typeof(price) as price_type, typeof(day) as day_type from ${ref('input')} limit 1`,
          out: sink.ndjson({ input: ref('typed'), path: 'types.ndjson' }),
        },
      }),
    );
    expect(inferred.status).toBe('success');
    expect(await readNDJSON(join(dir, 'types.ndjson'))).toEqual([
      { id_type: 'BIGINT', price_type: 'DOUBLE', day_type: 'DATE' },
    ]);
  });

  it('reads many files by glob and adds metadata columns', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'part-1.csv'), 'id\n1\n2\n');
    await writeFile(join(dir, 'part-2.csv'), 'id\n3\n');
    await writeFile(join(dir, 'other.txt'), 'id\n99\n');
    const report = await runIn(
      dir,
      readAll(
        source.csv({
          path: 'part-*.csv',
          schema: schema({ id: t.int32() }),
          metadata: ['_source_file', '_run_id', '_extracted_at'],
        }),
      ),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'input').inputs).toEqual([
      join(dir, 'part-1.csv'),
      join(dir, 'part-2.csv'),
    ]);
    const rows = await readNDJSON(join(dir, 'out.ndjson'));
    expect(rows.map((r) => [r['id'], r['_source_file'], r['_run_id']])).toEqual([
      [1, join(dir, 'part-1.csv'), report.runId],
      [2, join(dir, 'part-1.csv'), report.runId],
      [3, join(dir, 'part-2.csv'), report.runId],
    ]);
    expect(new Date(String(rows[0]?.['_extracted_at'])).getTime()).toBe(
      new Date(report.startedAt).getTime(),
    );
  });

  it('fails clearly on a missing file, an empty glob, a missing column and malformed lines under onMalformed: fail', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.csv'), 'id,name\n1,x\n2,y,z\n');
    const cases: [ReturnType<typeof source.csv>, RegExp, RegExp][] = [
      [
        source.csv({ path: 'missing.csv' }),
        /file not found: .*missing\.csv/,
        /relative paths start at the folder of the pipeline file/,
      ],
      [
        source.csv({ path: 'nothing/*.csv' }),
        /no file matches .*nothing\/\*\.csv/,
        /\*\* matches sub-folders/,
      ],
      [
        source.csv({ path: 'a.csv', schema: schema({ id: t.int32(), email: t.string() }) }),
        /declared column "email" is missing from the input \(.*a\.csv; the file has "id", "name"\)/,
        /names match case-insensitively/,
      ],
      [
        source.csv({ path: 'a.csv', onMalformed: 'fail' }),
        /malformed CSV line .*a\.csv:3: Expected Number of Columns: 2 Found: 3/,
        /onMalformed/,
      ],
    ];
    for (const [step, message, hint] of cases) {
      const report = await runIn(dir, readAll(step));
      expect(report.status).toBe('failed');
      expect(report.error?.stepId).toBe('input');
      expect(report.error?.message).toMatch(message);
      expect(report.error?.hint).toMatch(hint);
      expect(stepOf(report, 'out').status).toBe('skipped');
    }
  });
});

describe('json sources', () => {
  it('quarantines invalid and non-object NDJSON lines and values that do not convert', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'events.ndjson'),
      [
        '{"id": 1, "amount": "3.50", "tags": ["a", "b"], "at": "2026-01-01T10:00:00", "meta": {"k": 1}}',
        '{"id": 2,',
        '[1, 2]',
        '',
        '{"id": "x", "amount": 1}',
        '{"id": 4, "amount": 1e2, "tags": null, "extra": true}',
        '{"amount": 5}',
      ].join('\n'),
    );
    const events = schema({
      id: t.int64().notNull(),
      amount: t.decimal(8, 2),
      tags: t.list(t.string()),
      at: t.timestamp(),
      meta: t.json(),
    });
    const report = await runIn(
      dir,
      readAll(source.ndjson({ path: 'events.ndjson', schema: events })),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'input')).toMatchObject({ rowsIn: 6, rowsOut: 2, rowsQuarantined: 4 });
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { id: 1, amount: 3.5, tags: ['a', 'b'], at: '2026-01-01T10:00:00', meta: { k: 1 } },
      { id: 4, amount: 100, tags: null, at: null, meta: null },
    ]);
    // Each quarantined record is the original line, byte for byte, with its line and offset.
    const reasons = (await readNDJSON(stepOf(report, 'input').quarantineFile as string)).map(
      (q) => [q['reason'], q['record'], q['line'], q['offset']],
    );
    expect(reasons).toEqual(
      expect.arrayContaining([
        ['not a valid JSON object', '{"id": 2,', 2, 95],
        ['not a valid JSON object', '[1, 2]', 3, 105],
        ['column "id": cannot convert "x" to int64', '{"id": "x", "amount": 1}', 5, 113],
        ['column "id": required value is missing', '{"amount": 5}', 7, 192],
      ]),
    );
  });

  it('reads JSON arrays and infers the schema of NDJSON', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'customers.json'),
      JSON.stringify([{ id: 1, name: 'a' }, { id: 2, name: 'b' }, 7]),
    );
    const report = await runIn(dir, readAll(source.json({ path: 'customers.json' })));
    expect(report.status).toBe('success');
    expect(stepOf(report, 'input')).toMatchObject({ rowsIn: 3, rowsOut: 2, rowsQuarantined: 1 });
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);

    await writeFile(join(dir, 'same.json'), '[{"id": 1, "tags": ["x"]}, {"id": 2, "tags": []}]');
    await writeFile(join(dir, 'one.json'), '{"id": 3, "tags": null}');
    const sameShape = await runIn(
      dir,
      readAll(
        source.json({
          path: ['same.json', 'one.json'],
          compression: 'none',
          schema: schema({ id: t.int64(), tags: t.list(t.string()) }),
        }),
      ),
    );
    expect(sameShape.status).toBe('success');
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { id: 1, tags: ['x'] },
      { id: 2, tags: [] },
      { id: 3, tags: null },
    ]);
    const inferredShape = await runIn(dir, readAll(source.json({ path: 'same.json' })));
    expect(inferredShape.status).toBe('success');
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { id: 1, tags: ['x'] },
      { id: 2, tags: [] },
    ]);

    await writeFile(join(dir, 'broken.json'), '[{"id": 1}, {"id": ');
    const broken = await runIn(dir, readAll(source.json({ path: 'broken.json' })));
    expect(broken.status).toBe('failed');
    expect(broken.error?.message).toMatch(/broken\.json/);
    expect(broken.error?.hint).toMatch(/source\.ndjson/);
  });
});

describe('parquet source', () => {
  it('reads Parquet written by a sink, converting to a declared schema and quarantining what does not fit', async () => {
    const dir = await tempDir();
    await query(
      `COPY (SELECT * FROM (VALUES (1, '10'), (2, 'x'), (3, NULL)) v(id, code)) TO '${join(dir, 'in.parquet')}' (FORMAT parquet)`,
    );
    const report = await runIn(
      dir,
      readAll(
        source.parquet({
          path: 'in.parquet',
          schema: schema({ id: t.int64(), code: t.int32().notNull() }),
        }),
      ),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([{ id: 1, code: 10 }]);
    const quarantined = await readNDJSON(stepOf(report, 'input').quarantineFile as string);
    expect(quarantined.map((q) => [q['column'], q['reason'], q['record']])).toEqual(
      expect.arrayContaining([
        ['code', 'column "code": cannot convert x to int32', { id: 2, code: 'x' }],
        ['code', 'column "code": required value is missing', { id: 3, code: null }],
      ]),
    );
  });
});

describe('compressed inputs', () => {
  it('reads zstd-compressed CSV and NDJSON by extension', async () => {
    const dir = await tempDir();
    await query(
      `COPY (SELECT range AS id FROM range(5)) TO '${join(dir, 'ids.csv.zst')}' (FORMAT csv, COMPRESSION zstd)`,
    );
    await query(
      `COPY (SELECT range AS id FROM range(3)) TO '${join(dir, 'ids.ndjson.zst')}' (FORMAT json, COMPRESSION zstd)`,
    );
    const report = await runIn(
      dir,
      pipeline('zstd', {
        steps: {
          csv: source.csv({ path: 'ids.csv.zst', schema: schema({ id: t.int32() }) }),
          json: source.ndjson({ path: 'ids.ndjson.zst', schema: schema({ id: t.int32() }) }),
          both: sql`select * from ${ref('csv')} union all select * from ${ref('json')}`,
          out: sink.ndjson({ input: ref('both'), path: 'both.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'out').rowsOut).toBe(8);
  });
});

describe('types without a logical counterpart', () => {
  it('read inferred TIME and UUID columns as text, so a pass-through transform keeps them', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'times.csv'),
      'id,at,key\n1,10:30:00,4b9bd6a2-4ab2-4c36-9bb3-47f5d6f3c0b4\n',
    );
    await query(
      `COPY (SELECT 1 AS id, TIME '10:30:00' AS at, UUID '4b9bd6a2-4ab2-4c36-9bb3-47f5d6f3c0b4' AS key) TO '${join(dir, 'times.parquet')}' (FORMAT parquet)`,
    );
    for (const step of [
      source.csv({ path: 'times.csv' }),
      source.parquet({ path: 'times.parquet' }),
    ]) {
      const report = await runIn(
        dir,
        pipeline('times', {
          steps: {
            input: step,
            same: transform({ input: ref('input'), map: (row) => row }),
            out: sink.ndjson({ input: ref('same'), path: 'times.ndjson' }),
          },
        }),
      );
      expect(report.status).toBe('success');
      expect(stepOf(report, 'same')).toMatchObject({ rowsIn: 1, rowsOut: 1, rowsQuarantined: 0 });
      expect(await readNDJSON(join(dir, 'times.ndjson'))).toEqual([
        { id: 1, at: '10:30:00', key: '4b9bd6a2-4ab2-4c36-9bb3-47f5d6f3c0b4' },
      ]);
    }
  });
});
