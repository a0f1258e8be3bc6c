import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  RetryableError,
  param,
  pipeline,
  ref,
  runPipeline,
  schema,
  sink,
  sql,
  t,
  transform,
} from '../src/index.js';
import type { RunReport, StepEvent } from '../src/index.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const slow = (input: string) =>
  transform({
    input: ref(input),
    map: async (row) => {
      await sleep(150);
      return row;
    },
  });

describe('runPipeline', () => {
  it('runs independent steps at the same time', async () => {
    const dir = await tempDir();
    const events: { event: StepEvent; at: number }[] = [];
    const report = await runIn(
      dir,
      pipeline('parallel', {
        steps: {
          a: sql`select 1 as x`,
          b: sql`select 2 as x`,
          slowA: slow('a'),
          slowB: slow('b'),
          both: sql`select * from ${ref('slowA')} union all select * from ${ref('slowB')}`,
          out: sink.ndjson({ input: ref('both'), path: 'both.ndjson' }),
        },
      }),
      { onEvent: (event) => events.push({ event, at: performance.now() }) },
    );
    expect(report.status).toBe('success');
    const at = (type: StepEvent['type'], id: string) =>
      events.find(
        (e) =>
          e.event.type === type && ('stepId' in e.event ? e.event.stepId : e.event.step.id) === id,
      )?.at ?? NaN;
    expect(at('step-started', 'slowB')).toBeLessThan(at('step-finished', 'slowA'));
    expect(at('step-started', 'slowA')).toBeLessThan(at('step-finished', 'slowB'));
    expect(at('step-started', 'both')).toBeGreaterThan(
      Math.max(at('step-finished', 'slowA'), at('step-finished', 'slowB')),
    );
    expect((await readNDJSON(join(dir, 'both.ndjson'))).map((r) => r['x']).sort()).toEqual([1, 2]);
  });

  it('binds params and values as literals, never as SQL', async () => {
    const dir = await tempDir();
    const evil = "x'); drop table t; --";
    const p = pipeline('params', {
      params: { region: 'EU' },
      steps: {
        rows: sql`select ${param('region')} as region, ${evil} as text, ${42} as n, ${true} as flag, ${null} as nothing`,
        out: sink.ndjson({ input: ref('rows'), path: 'rows.ndjson' }),
      },
    });
    const report = await runIn(dir, p, { params: { region: "O'Neill" } });
    expect(report.status).toBe('success');
    expect(report.params).toEqual({ region: "O'Neill" });
    expect(await readNDJSON(join(dir, 'rows.ndjson'))).toEqual([
      { region: "O'Neill", text: evil, n: 42, flag: true, nothing: null },
    ]);
    await expect(runIn(dir, p, { params: { regoin: 'x' } })).rejects.toThrow(ConfigError);
  });

  it('handles step and column names that need quoting', async () => {
    const dir = await tempDir();
    const nasty = 'a"; drop table x; --';
    const report = await runIn(
      dir,
      pipeline('quoting', {
        steps: {
          select: sql`select 1 as "a""; drop table x; --"`,
          typed: transform({
            input: ref('select'),
            schema: schema({ [nasty]: t.int32() }),
            map: (row) => row,
          }),
          out: sink.ndjson({ input: ref('typed'), path: 'q.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'q.ndjson'))).toEqual([{ [nasty]: 1 }]);
  });

  it('names the step and shows its SQL when a query fails', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('bad-sql', {
        steps: {
          orders: sql`select 1 as id`,
          daily: sql`select amount from ${ref('orders')}`,
        },
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error).toMatchObject({ code: 'ENGINE_FAILED', stepId: 'daily' });
    expect(report.error?.message).toMatch(/^Step "daily": Binder Error: .*amount/);
    expect(report.error?.hint).toContain('select amount from "orders"');
  });

  it('checks the schema a SQL step declares', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('declared', {
        steps: {
          daily: sql`select 1 as id, 'x' as name`.options({
            schema: schema({ id: t.int64(), name: t.string(), revenue: t.decimal(10, 2) }),
          }),
        },
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('SCHEMA_MISMATCH');
    expect(report.error?.message).toContain(
      'column "id" is int32, declared int64; column "revenue" is missing',
    );
  });

  it('counts rows of views through their consumer and of tables directly', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('counts', {
        steps: {
          numbers: sql`select range as n from range(100)`,
          evens: sql`select n from ${ref('numbers')} where n % 2 = 0`,
          fromView: sink.csv({ input: ref('evens'), path: 'evens.csv' }),
          shared: sql`select n from ${ref('numbers')} where n < 10`,
          one: sink.csv({ input: ref('shared'), path: 'one.csv' }),
          two: sink.csv({ input: ref('shared'), path: 'two.csv' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'numbers')).toMatchObject({ rowsOut: 100 });
    expect(stepOf(report, 'evens')).toMatchObject({ rowsIn: 100, rowsOut: 50 });
    expect(stepOf(report, 'shared')).toMatchObject({ rowsIn: 100, rowsOut: 10 });
    expect(stepOf(report, 'two')).toMatchObject({ rowsIn: 10, rowsOut: 10 });
  });

  it('counts every step of a chain of SQL steps', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('chain', {
        steps: {
          numbers: sql`select range as n from range(100)`,
          evens: sql`select n from ${ref('numbers')} where n % 2 = 0`,
          small: sql`select n from ${ref('evens')} where n < 20`,
          out: sink.csv({ input: ref('small'), path: 'small.csv' }),
        },
      }),
    );
    expect(report.steps.map((s) => [s.id, s.rowsIn, s.rowsOut])).toEqual([
      ['numbers', 0, 100],
      ['evens', 100, 50],
      ['small', 50, 10],
      ['out', 10, 10],
    ]);
  });

  it('passes SQL text as written, backslashes included', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('regex', {
        steps: {
          m: sql`select regexp_extract('order-1234', '\d+') as digits, 'a\b' as text`,
          out: sink.ndjson({ input: ref('m'), path: 'm.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'm.ndjson'))).toEqual([{ digits: '1234', text: 'a\\b' }]);
  });

  it('writes the run report as JSON under the state folder', async () => {
    const dir = await tempDir();
    const report = await runIn(dir, pipeline('reported', { steps: { one: sql`select 1 as x` } }));
    const saved = JSON.parse(
      await readFile(join(dir, '.sluice', 'runs', `${report.runId}.json`), 'utf8'),
    ) as RunReport;
    expect(saved).toEqual(JSON.parse(JSON.stringify(report)));
    expect(saved).toMatchObject({
      pipeline: 'reported',
      status: 'success',
      steps: [{ id: 'one', kind: 'sql', status: 'success' }],
    });
    expect(Date.parse(saved.endedAt)).toBeGreaterThanOrEqual(Date.parse(saved.startedAt));
  });

  it('stops at cancellation and reports the run as canceled', async () => {
    const dir = await tempDir();
    const abort = new AbortController();
    const running = runPipeline(
      pipeline('cancel', {
        steps: {
          numbers: sql`select range as n from range(100000)`,
          slow: transform({
            input: ref('numbers'),
            batchSize: 100,
            map: async (row) => {
              await sleep(1);
              return row;
            },
          }),
          out: sink.csv({ input: ref('slow'), path: 'never.csv' }),
        },
      }),
      { baseDir: dir, stateDir: join(dir, '.sluice'), signal: abort.signal },
    );
    await sleep(300);
    abort.abort(new Error('user pressed ctrl-c'));
    const report = await running;
    expect(report.status).toBe('canceled');
    expect(stepOf(report, 'out').status).toBe('skipped');
  });

  it('spills to disk instead of failing when data is larger than the memory limit (~400MB of tables, 128MB limit)', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('spill', {
        engine: { memoryLimit: '128MB', threads: 2 },
        steps: {
          wide: sql`select range as n, repeat(md5(range::varchar), 4) as pad from range(1500000)`.options(
            { materialize: 'table' },
          ),
          sorted: sql`select n, pad from ${ref('wide')} order by pad desc`.options({
            materialize: 'table',
          }),
          stats: sql`select count(*) as n, count(distinct pad) as d from ${ref('sorted')}`,
          out: sink.ndjson({ input: ref('stats'), path: 'stats.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'stats.ndjson'))).toEqual([{ n: 1500000, d: 1500000 }]);
  });
});

describe('step retries', () => {
  it('run a transform again after a retryable error, keeping only the last attempt’s quarantine', async () => {
    const dir = await tempDir();
    let calls = 0;
    const report = await runIn(
      dir,
      pipeline('retried', {
        steps: {
          rows: sql`select range as id from range(4)`,
          flaky: transform({
            input: ref('rows'),
            retries: { retries: 2, delay: '10ms', jitter: 0 },
            map: (row, context) => {
              if (row['id'] === 0n || row['id'] === 0) calls += 1;
              if (row['id'] === 3n || row['id'] === 3) {
                context.quarantine(row, 'three is not allowed');
                return null;
              }
              if (calls === 1 && (row['id'] === 2n || row['id'] === 2))
                throw new RetryableError('the service dropped the connection');
              return row;
            },
          }),
          out: sink.ndjson({ input: ref('flaky'), path: 'out.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(calls).toBe(2);
    expect(stepOf(report, 'flaky')).toMatchObject({ rowsIn: 4, rowsOut: 3, rowsQuarantined: 1 });
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toHaveLength(3);
    const quarantined = await readNDJSON(stepOf(report, 'flaky').quarantineFile ?? '');
    expect(quarantined).toHaveLength(1);
  });

  it('do not retry a step whose error is not retryable, nor one without retries', async () => {
    const dir = await tempDir();
    let calls = 0;
    const failing = (retries: number | undefined, error: () => Error) =>
      pipeline('not_retried', {
        steps: {
          rows: sql`select 1 as id`,
          bad: transform({
            input: ref('rows'),
            ...(retries === undefined ? {} : { retries }),
            map: () => {
              calls += 1;
              throw error();
            },
          }),
        },
      });
    expect(
      (
        await runIn(
          dir,
          failing(3, () => new TypeError('a bug')),
        )
      ).status,
    ).toBe('failed');
    expect(calls).toBe(1);
    expect(
      (
        await runIn(
          dir,
          failing(undefined, () => new RetryableError('reset')),
        )
      ).status,
    ).toBe('failed');
    expect(calls).toBe(2);
  });
});
