import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, sql, t, transform, UserCodeError } from '../src/index.js';
import type { Row } from '../src/index.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const numbers = (n: number) => sql`select range as id, range % 7 as bucket from range(${n})`;

describe('transform steps', () => {
  it('stream every row through and back without losing any (large input, separate connections)', async () => {
    const dir = await tempDir();
    const total = 300_000;
    const report = await runIn(
      dir,
      pipeline('big', {
        steps: {
          numbers: numbers(total),
          doubled: transform({
            input: ref('numbers'),
            schema: schema({ id: t.int64(), twice: t.int64() }),
            map: (row) => ({ id: row['id'], twice: (row['id'] as bigint) * 2n }),
          }),
          stats: sql`select count(*) as n, sum(twice) as s, count(distinct id) as d from ${ref('doubled')}`,
          out: sink.ndjson({ input: ref('stats'), path: 'stats.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'doubled')).toMatchObject({
      rowsIn: total,
      rowsOut: total,
      rowsQuarantined: 0,
    });
    expect(stepOf(report, 'numbers').rowsOut).toBe(total);
    const expectedSum = total * (total - 1);
    expect(await readNDJSON(join(dir, 'stats.ndjson'))).toEqual([
      { n: total, s: expectedSum, d: total },
    ]);
  });

  it('run a batch function with re-chunked batches, filtering and fanning out records', async () => {
    const dir = await tempDir();
    const sizes: number[] = [];
    const report = await runIn(
      dir,
      pipeline('batches', {
        params: { factor: '3' },
        steps: {
          numbers: numbers(5000),
          fanned: transform({
            input: ref('numbers'),
            batchSize: 1000,
            schema: schema({ id: t.int64(), copy: t.int32() }),
            async *run(batches, ctx) {
              const factor = Number(ctx.params['factor']);
              for await (const batch of batches) {
                sizes.push(batch.length);
                const out: Row[] = [];
                for (const row of batch) {
                  if (row['bucket'] !== 0n) continue;
                  for (let copy = 0; copy < factor; copy++) out.push({ id: row['id'], copy });
                }
                yield out;
              }
            },
          }),
          out: sink.csv({ input: ref('fanned'), path: 'fanned.csv' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(sizes).toEqual([1000, 1000, 1000, 1000, 1000]);
    const zeroBucket = Math.ceil(5000 / 7);
    expect(stepOf(report, 'fanned')).toMatchObject({ rowsIn: 5000, rowsOut: zeroBucket * 3 });
    expect(stepOf(report, 'out').rowsOut).toBe(zeroBucket * 3);
  });

  it('quarantine rows that do not fit the output schema and rows the code sends there', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('quarantine', {
        steps: {
          numbers: numbers(10),
          checked: transform({
            input: ref('numbers'),
            schema: schema({ id: t.int32().notNull(), label: t.string() }),
            map: (row, ctx) => {
              const id = Number(row['id']);
              if (id === 1) return { id: null, label: 'missing id' };
              if (id === 2) return { id, label: 42 };
              if (id === 3) return { id: 2 ** 40, label: 'too big' };
              if (id === 4) {
                ctx.quarantine(row, 'bucket 4 is embargoed');
                return null;
              }
              return { id, label: `n${id}` };
            },
          }),
          out: sink.ndjson({ input: ref('checked'), path: 'checked.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    const step = stepOf(report, 'checked');
    expect(step).toMatchObject({ rowsIn: 10, rowsOut: 6, rowsQuarantined: 4 });
    expect(report.rowsQuarantined).toBe(4);
    const entries = await readNDJSON(step.quarantineFile as string);
    expect(entries).toHaveLength(4);
    expect(entries.map((e) => [e['column'], e['reason'], e['run_id'], e['step']])).toEqual(
      expect.arrayContaining([
        ['id', 'column "id": required value is missing', report.runId, 'checked'],
        ['label', 'column "label": expected string, got number 42', report.runId, 'checked'],
        ['id', 'column "id": 1099511627776 is out of range for int32', report.runId, 'checked'],
        [null, 'bucket 4 is embargoed', report.runId, 'checked'],
      ]),
    );
    expect(entries.find((e) => e['column'] === null)?.['record']).toEqual({ id: 4, bucket: 4 });
    expect((await readNDJSON(join(dir, 'checked.ndjson'))).map((r) => r['id'])).toEqual([
      0, 5, 6, 7, 8, 9,
    ]);
  });

  it('wrap what user code throws with the step id and stop the run', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('throws', {
        steps: {
          numbers: numbers(100),
          broken: transform({
            input: ref('numbers'),
            map: (row) => {
              if (row['id'] === 42n) throw new RangeError('42 is not allowed');
              return row;
            },
          }),
          out: sink.csv({ input: ref('broken'), path: 'never.csv' }),
        },
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error).toMatchObject({
      code: 'USER_CODE_FAILED',
      stepId: 'broken',
      message: 'Step "broken" threw: RangeError: 42 is not allowed',
    });
    expect(stepOf(report, 'broken').status).toBe('failed');
    expect(stepOf(report, 'out').status).toBe('skipped');
    expect(new UserCodeError('broken', new Error('x')).code).toBe('USER_CODE_FAILED');
  });

  it('reject a transform that yields something other than arrays of rows', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('bad-yield', {
        steps: {
          numbers: numbers(3),
          bad: transform({
            input: ref('numbers'),
            async *run() {
              yield 'not rows' as never;
            },
          }),
        },
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error?.message).toMatch(/must yield arrays of rows, got string/);
  });
});

describe('transform values', () => {
  it('pass maps, lists and structs through, and check nested values element by element', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('nested', {
        steps: {
          rows: sql`select 1 as id, map {'k': 1} as attrs, [1, 2] as nums, {'a': 1, 'b': 'x'} as rec`,
          same: transform({ input: ref('rows'), map: (row) => row }),
          checked: transform({
            input: ref('same'),
            schema: schema({
              id: t.int32(),
              nums: t.list(t.int32()),
              rec: t.struct({ a: t.int32(), b: t.string() }),
            }),
            map: (row) => [
              row,
              { id: 2, nums: [1, 'two'], rec: null },
              { id: 3, nums: [], rec: { a: 'notint', b: 'y' } },
              { id: 4, nums: null, rec: { a: 4 } },
            ],
          }),
          out: sink.ndjson({ input: ref('checked'), path: 'nested.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'same')).toMatchObject({ rowsIn: 1, rowsOut: 1, rowsQuarantined: 0 });
    expect(await readNDJSON(join(dir, 'nested.ndjson'))).toEqual([
      { id: 1, nums: [1, 2], rec: { a: 1, b: 'x' } },
      { id: 4, nums: null, rec: { a: 4, b: null } },
    ]);
    const reasons = (await readNDJSON(stepOf(report, 'checked').quarantineFile as string)).map(
      (q) => q['reason'],
    );
    expect(reasons.sort()).toEqual([
      'column "nums": [1]: expected int32, got string "two"',
      'column "rec": .a: expected int32, got string "notint"',
    ]);
  });

  it('store zoned timestamp text as the instant it names, and check json text', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('zones', {
        steps: {
          one: sql`select 1 as x`,
          times: transform({
            input: ref('one'),
            schema: schema({ at: t.timestamptz(), wall: t.timestamp(), doc: t.json() }),
            map: () => [
              { at: '2026-03-01 10:00:00+02:00', wall: '2026-03-01 10:00:00', doc: '{"a": 1}' },
              { at: '2026-03-01T10:00:00Z', wall: '2026-03-01T10:00:00.250', doc: 'not json' },
            ],
          }),
          out: sink.ndjson({ input: ref('times'), path: 'times.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'times.ndjson'))).toEqual([
      { at: '2026-03-01T08:00:00Z', wall: '2026-03-01T10:00:00', doc: { a: 1 } },
    ]);
    const [entry] = await readNDJSON(stepOf(report, 'times').quarantineFile as string);
    expect(entry?.['reason']).toBe('column "doc": "not json" is not valid JSON text');
  });

  it('let a transform stop reading early without failing the run', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('head', {
        steps: {
          numbers: numbers(10_000),
          head: transform({
            input: ref('numbers'),
            batchSize: 10,
            async *run(batches) {
              for await (const batch of batches) {
                yield batch;
                break;
              }
            },
          }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'head')).toMatchObject({ rowsIn: 10, rowsOut: 10 });
  });
});
