import { appendFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  defaultRegistry,
  defineSource,
  param,
  pipeline,
  ref,
  sink,
  source,
  sql,
  transform,
} from '../src/index.js';
import type { Pipeline, RunReport } from '../src/index.js';
import { readNDJSON, runIn, tempDir } from './helpers.js';

/** Statuses by step, with `cached` for steps whose output came from the cache. */
function statuses(report: RunReport): Record<string, string> {
  return Object.fromEntries(
    report.steps.map((s) => [s.id, s.cached === true ? 'cached' : s.status]),
  );
}

function ordersPipeline(options: { failWhen?: () => boolean } = {}): Pipeline {
  return pipeline('orders', {
    params: { region: 'EU' },
    steps: {
      orders: source.csv({ path: 'orders.csv' }),
      customers: source.csv({ path: 'customers.csv' }),
      regional: sql`SELECT o.id, o.amount, c.name FROM ${ref('orders')} o JOIN ${ref('customers')} c ON c.id = o.customer WHERE c.region = ${param('region')}`,
      doubled: transform({
        input: ref('regional'),
        map: (row) => {
          if (options.failWhen?.() === true) throw new Error('asked to fail');
          return { ...row, amount: Number(row['amount']) * 2 };
        },
      }),
      out: sink.ndjson({ input: ref('doubled'), path: 'out.ndjson' }),
    },
  });
}

async function ordersDir(): Promise<string> {
  const dir = await tempDir('sluice-task-cache-');
  await writeFile(join(dir, 'orders.csv'), 'id,customer,amount\n1,10,5\n2,11,7\n3,10,1\n');
  await writeFile(join(dir, 'customers.csv'), 'id,name,region\n10,ann,EU\n11,bob,US\n');
  return dir;
}

const cache = { codeHash: 'v1' };

describe('task cache (--use-cache)', () => {
  it('reuses every step of an unchanged run and does not write the sink again', async () => {
    const dir = await ordersDir();
    const first = await runIn(dir, ordersPipeline(), { cache });
    expect(first.status).toBe('success');
    expect(Object.values(statuses(first))).not.toContain('cached');
    const written = (await stat(join(dir, 'out.ndjson'))).mtimeMs;

    const second = await runIn(dir, ordersPipeline(), { cache });
    expect(second.status).toBe('success');
    expect(statuses(second)).toEqual({
      orders: 'cached',
      customers: 'cached',
      regional: 'cached',
      doubled: 'cached',
      out: 'cached',
    });
    expect(second.steps.find((s) => s.id === 'doubled')?.rowsOut).toBe(2);
    expect((await stat(join(dir, 'out.ndjson'))).mtimeMs).toBe(written);
  });

  it('runs again what a changed input reaches, and only that', async () => {
    const dir = await ordersDir();
    await runIn(dir, ordersPipeline(), { cache });
    await appendFile(join(dir, 'orders.csv'), '4,10,100\n');

    const report = await runIn(dir, ordersPipeline(), { cache });
    expect(statuses(report)).toEqual({
      orders: 'success',
      customers: 'cached',
      regional: 'success',
      doubled: 'success',
      out: 'success',
    });
    const rows = await readNDJSON(join(dir, 'out.ndjson'));
    expect(rows.map((r) => Number(r['amount'])).sort((a, b) => a - b)).toEqual([2, 10, 200]);
  });

  it('resumes after a failure from the step that failed', async () => {
    const dir = await ordersDir();
    let fail = true;
    const failed = await runIn(dir, ordersPipeline({ failWhen: () => fail }), { cache });
    expect(failed.status).toBe('failed');
    expect(statuses(failed)['doubled']).toBe('failed');

    fail = false;
    const resumed = await runIn(dir, ordersPipeline({ failWhen: () => fail }), { cache });
    expect(resumed.status).toBe('success');
    expect(statuses(resumed)).toEqual({
      orders: 'cached',
      customers: 'cached',
      regional: 'cached',
      doubled: 'success',
      out: 'success',
    });
    expect((await readNDJSON(join(dir, 'out.ndjson'))).length).toBe(2);
  });

  it('keys outputs by params and by the code hash', async () => {
    const dir = await ordersDir();
    await runIn(dir, ordersPipeline(), { cache });

    const otherRegion = await runIn(dir, ordersPipeline(), { cache, params: { region: 'US' } });
    expect(Object.values(statuses(otherRegion)).every((s) => s === 'success')).toBe(true);
    expect((await readNDJSON(join(dir, 'out.ndjson'))).map((r) => r['name'])).toEqual(['bob']);

    const newCode = await runIn(dir, ordersPipeline(), { cache: { codeHash: 'v2' } });
    expect(Object.values(statuses(newCode)).every((s) => s === 'success')).toBe(true);
  });

  it('runs a step again when its materialised output was deleted', async () => {
    const dir = await ordersDir();
    await runIn(dir, ordersPipeline(), { cache });
    const cacheDir = join(dir, '.sluice', 'cache', 'tasks');
    for (const file of await readdir(cacheDir))
      if (file.endsWith('.parquet')) await rm(join(cacheDir, file));

    const report = await runIn(dir, ordersPipeline(), { cache });
    expect(report.status).toBe('success');
    expect(statuses(report)['orders']).toBe('success');
    expect(statuses(report)['out']).toBe('cached');
  });

  it('never caches a source that cannot be fingerprinted, nor what depends on it', async () => {
    const dir = await ordersDir();
    let reads = 0;
    const counter = defineSource({
      name: 'counter',
      summary: 'a number that changes on every read',
      config: z.strictObject({}),
      async read(_config, context) {
        reads += 1;
        await context.connection.run(`CREATE VIEW "${context.stepId}" AS SELECT ${reads} AS n`);
        return {
          rowsRead: 1,
          rowsQuarantined: 0,
          fields: [{ name: 'n', type: { kind: 'int32' }, nullable: false }],
          inputs: [],
        };
      },
    });
    const registry = defaultRegistry.with(counter);
    const p = pipeline('counted', {
      steps: {
        n: source.custom('counter', {}),
        orders: source.csv({ path: 'orders.csv' }),
        joined: sql`SELECT o.id, n.n FROM ${ref('orders')} o, ${ref('n')} n`,
        out: sink.ndjson({ input: ref('joined'), path: 'counted.ndjson' }),
      },
    });
    await runIn(dir, p, { cache, registry });
    const second = await runIn(dir, p, { cache, registry });
    expect(statuses(second)).toEqual({
      n: 'success',
      orders: 'cached',
      joined: 'success',
      out: 'success',
    });
    expect(new Set((await readNDJSON(join(dir, 'counted.ndjson'))).map((r) => r['n']))).toEqual(
      new Set([2]),
    );
  });

  it('does nothing without the option', async () => {
    const dir = await ordersDir();
    await runIn(dir, ordersPipeline(), { cache });
    const report = await runIn(dir, ordersPipeline());
    expect(Object.values(statuses(report)).every((s) => s === 'success')).toBe(true);
  });
});
