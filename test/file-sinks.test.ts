import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, sql, t, transform } from '../src/index.js';
import type { StepDefinition } from '../src/index.js';
import { query, readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const DAYS = sql`
  select (date '2026-01-01' + cast(i % 3 as integer)) as day, i as n, 'name ' || i as label
  from range(30) t(i)`;

function writeDays(out: StepDefinition) {
  return pipeline('write', { steps: { days: DAYS, out } });
}

describe('file sinks', () => {
  it('write one Parquet file, or a hive-partitioned folder split by target size', async () => {
    const dir = await tempDir();
    const single = await runIn(
      dir,
      writeDays(
        sink.parquet({ input: ref('days'), path: 'out/days.parquet', compression: 'snappy' }),
      ),
    );
    expect(single.status).toBe('success');
    expect(stepOf(single, 'out')).toMatchObject({
      rowsIn: 30,
      rowsOut: 30,
      outputs: [join(dir, 'out/days.parquet')],
    });
    expect(
      await query(`SELECT count(*) AS n, sum(n) AS total FROM '${join(dir, 'out/days.parquet')}'`),
    ).toEqual([{ n: 30n, total: 435n }]);

    const partitioned = await runIn(
      dir,
      writeDays(sink.parquet({ input: ref('days'), path: 'out/by_day', partitionBy: ['day'] })),
    );
    expect(partitioned.status).toBe('success');
    expect((await readdir(join(dir, 'out/by_day'))).sort()).toEqual([
      'day=2026-01-01',
      'day=2026-01-02',
      'day=2026-01-03',
    ]);
    const rows = await query(
      `SELECT day, count(*) AS n FROM read_parquet('${join(dir, 'out/by_day')}/**/*.parquet', hive_partitioning = true) GROUP BY day ORDER BY day`,
    );
    expect(rows.map((r) => Number(r['n']))).toEqual([10, 10, 10]);

    const split = await runIn(
      dir,
      pipeline('split', {
        steps: {
          rows: sql`select range as n, md5(range::varchar) as pad from range(200000)`,
          out: sink.parquet({
            input: ref('rows'),
            path: 'out/split',
            targetFileSize: '512KB',
            rowGroupSize: 10000,
          }),
        },
      }),
    );
    expect(split.status).toBe('success');
    expect((await readdir(join(dir, 'out/split'))).length).toBeGreaterThan(1);
    expect(await query(`SELECT count(*) AS n FROM '${join(dir, 'out/split')}/*.parquet'`)).toEqual([
      { n: 200000n },
    ]);
  });

  it('write CSV and NDJSON files, compressed when asked', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('write', {
        steps: {
          days: DAYS,
          top: sql`select n, label from ${ref('days')} where n < 2 order by n`,
          csv: sink.csv({ input: ref('top'), path: 'top.csv', delimiter: '|' }),
          gz: sink.ndjson({ input: ref('top'), path: 'top.ndjson.gz', compression: 'gzip' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(readFileSync(join(dir, 'top.csv'), 'utf8')).toBe('n|label\n0|name 0\n1|name 1\n');
    expect(gunzipSync(readFileSync(join(dir, 'top.ndjson.gz'))).toString()).toBe(
      '{"n":0,"label":"name 0"}\n{"n":1,"label":"name 1"}\n',
    );
  });

  it('replace or append a table in a DuckDB database file', async () => {
    const dir = await tempDir();
    const write = (mode: 'replace' | 'append') =>
      runIn(
        dir,
        writeDays(
          sink.duckdb({
            input: ref('days'),
            path: 'db/new/warehouse.duckdb',
            table: 'marts.days',
            mode,
          }),
        ),
      );
    expect((await write('replace')).status).toBe('success');
    expect((await write('append')).status).toBe('success');
    const rows = await query(
      `ATTACH '${join(dir, 'db/new/warehouse.duckdb')}' AS w (READ_ONLY); SELECT count(*) AS n FROM w.marts.days`,
    );
    expect(rows).toEqual([{ n: 60n }]);
    expect((await write('replace')).status).toBe('success');
    expect(
      await query(
        `ATTACH '${join(dir, 'db/new/warehouse.duckdb')}' AS w (READ_ONLY); SELECT count(*) AS n FROM w.marts.days`,
      ),
    ).toEqual([{ n: 30n }]);
  });

  it('publish nothing when a later step fails: previous outputs stay intact', async () => {
    const dir = await tempDir();
    const good = await runIn(
      dir,
      pipeline('first', {
        steps: {
          days: DAYS,
          parquet: sink.parquet({ input: ref('days'), path: 'out/days', partitionBy: ['day'] }),
          csv: sink.csv({ input: ref('days'), path: 'out/days.csv' }),
          db: sink.duckdb({ input: ref('days'), path: 'out/w.duckdb', table: 'days' }),
        },
      }),
    );
    expect(good.status).toBe('success');
    const csvBefore = readFileSync(join(dir, 'out/days.csv'), 'utf8');

    const failing = await runIn(
      dir,
      pipeline('second', {
        steps: {
          days: sql`select date '2030-01-01' as day, 1 as n, 'new' as label`,
          parquet: sink.parquet({ input: ref('days'), path: 'out/days', partitionBy: ['day'] }),
          csv: sink.csv({ input: ref('days'), path: 'out/days.csv' }),
          db: sink.duckdb({ input: ref('days'), path: 'out/w.duckdb', table: 'days' }),
          boom: transform({
            input: ref('days'),
            map: () => {
              throw new Error('transform bug');
            },
          }),
          after: sink.csv({ input: ref('boom'), path: 'out/never.csv' }),
        },
      }),
    );
    expect(failing.status).toBe('failed');
    expect(failing.error).toMatchObject({ code: 'USER_CODE_FAILED', stepId: 'boom' });
    expect(readFileSync(join(dir, 'out/days.csv'), 'utf8')).toBe(csvBefore);
    expect((await readdir(join(dir, 'out/days'))).sort()).toEqual([
      'day=2026-01-01',
      'day=2026-01-02',
      'day=2026-01-03',
    ]);
    expect(
      await query(
        `ATTACH '${join(dir, 'out/w.duckdb')}' AS w (READ_ONLY); SELECT count(*) AS n FROM w.days`,
      ),
    ).toEqual([{ n: 30n }]);
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['days', 'days.csv', 'w.duckdb']);
  });

  it('restore the previous folder when a run died between the two renames of a swap', async () => {
    const dir = await tempDir();
    const write = () =>
      runIn(
        dir,
        writeDays(sink.parquet({ input: ref('days'), path: 'out/days', partitionBy: ['day'] })),
      );
    expect((await write()).status).toBe('success');
    // The state a SIGKILL between "old out" and "new in" leaves behind.
    await rename(join(dir, 'out/days'), join(dir, 'out/.days.sluice-previous-run_dead'));
    await mkdir(join(dir, 'out/.days.sluice-staging-run_dead/day=2026-01-01'), { recursive: true });
    await writeFile(
      join(dir, 'out/.days.sluice-staging-run_dead/day=2026-01-01/partial.parquet'),
      'partial',
    );
    const failing = await runIn(
      dir,
      pipeline('fails', {
        steps: {
          days: DAYS,
          out: sink.parquet({ input: ref('days'), path: 'out/days', partitionBy: ['day'] }),
          bad: sql`select * from ${ref('days')} where no_such_column > 1`,
        },
      }),
    );
    expect(failing.status).toBe('failed');
    const rows = await query(
      `SELECT count(*) AS n FROM read_parquet('${join(dir, 'out/days')}/**/*.parquet')`,
    );
    expect(rows).toEqual([{ n: 30n }]);
    expect((await readdir(join(dir, 'out'))).filter((e) => e.includes('previous'))).toEqual([]);
  });

  it('write rows from a TS step with every column type', async () => {
    const dir = await tempDir();
    const out = schema({
      flag: t.bool(),
      small: t.int16(),
      n: t.int64(),
      price: t.decimal(10, 2),
      ratio: t.float64(),
      label: t.string(),
      day: t.date(),
      ts: t.timestamptz(),
      tags: t.list(t.string()),
      point: t.struct({ x: t.int32(), y: t.int32() }),
      attrs: t.map(t.string(), t.int32()),
      doc: t.json(),
      bytes: t.binary(),
    });
    const report = await runIn(
      dir,
      pipeline('types', {
        steps: {
          one: sql`select 1 as x`,
          typed: transform({
            input: ref('one'),
            schema: out,
            map: () => ({
              flag: true,
              small: 7,
              n: 9007199254740993n,
              price: '12345678.91',
              ratio: 0.25,
              label: 'é',
              day: '2026-02-03',
              ts: new Date('2026-02-03T04:05:06.789Z'),
              tags: ['a', 'b'],
              point: { x: 1, y: 2 },
              attrs: { k: 1 },
              doc: { any: ['json'] },
              bytes: new Uint8Array([0, 255]),
            }),
          }),
          check: sql`
            select flag, small, n::varchar as n, price::varchar as price, ratio, label, day::varchar as day,
                   epoch_ms(ts) as ts_ms, tags, point.y as y, attrs['k'] as k, doc->>'$.any[0]' as doc, hex(bytes) as bytes
            from ${ref('typed')}`,
          sinkOut: sink.ndjson({ input: ref('check'), path: 'typed.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'typed.ndjson'))).toEqual([
      {
        flag: true,
        small: 7,
        n: '9007199254740993',
        price: '12345678.91',
        ratio: 0.25,
        label: 'é',
        day: '2026-02-03',
        ts_ms: 1770091506789,
        tags: ['a', 'b'],
        y: 2,
        k: 1,
        doc: 'json',
        bytes: '00FF',
      },
    ]);
  });
});
