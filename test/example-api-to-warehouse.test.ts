import { cp, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startDemoApi } from '../examples/api-to-warehouse/demo-api.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { ROOT, tempDir } from './helpers.js';
import { workUntilFinished } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`api-to-warehouse example skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('examples/api-to-warehouse', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  function setEnv(name: string, value: string): void {
    const previous = process.env[name];
    process.env[name] = value;
    cleanups.push(async () => {
      if (previous === undefined) delete process.env[name];
      else process.env[name] = previous;
    });
  }

  it('loads the paginated API into PostgreSQL incrementally and keeps its models and history, run after run', async () => {
    const database = await createTestDatabase();
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    await db.query("SET TIME ZONE 'UTC'");
    cleanups.push(async () => {
      await db.end();
      await database.drop();
    });
    const example = join(ROOT, 'examples', 'api-to-warehouse');
    const dir = await tempDir('sluice-example-');
    await cp(example, dir, { recursive: true });
    const dataFile = join(dir, 'demo-data.json');
    const server = await startDemoApi(0, dataFile);
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    setEnv('SLUICE_EXAMPLE_API', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    setEnv('SLUICE_EXAMPLE_POSTGRES', database.url);

    const project = await Project.open(dir);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    cleanups.push(() => store.close());
    const runOnce = async (): Promise<RunRecord> => {
      const [run] = await store.enqueueRuns([{ pipeline: 'api_to_warehouse', trigger: 'manual' }]);
      const [done] = await workUntilFinished(store, project, [run as RunRecord]);
      expect(done?.state, JSON.stringify(done?.error)).toBe('success');
      return done as RunRecord;
    };
    const rows = async (text: string): Promise<unknown[][]> =>
      (await db.query({ text, rowMode: 'array' })).rows as unknown[][];

    await runOnce();
    expect(await rows('select count(*)::int from raw.customers')).toEqual([[5]]);
    expect(
      await rows(
        'select order_id::int, country, item_count, amount::text from analytics.orders_enriched order by order_id',
      ),
    ).toEqual([
      [1001, 'UK', 1, '120.50'],
      [1002, 'US', 1, '35.00'],
      [1003, 'UK', 0, '9.99'],
      [1004, 'FR', 1, '250.00'],
      [1005, 'US', 1, '42.00'],
    ]);
    expect(
      await rows(
        'select country, orders, revenue::text from analytics.revenue_by_country order by country',
      ),
    ).toEqual([
      ['FR', 1, '250.00'],
      ['UK', 2, '130.49'],
      ['US', 2, '77.00'],
    ]);
    expect(
      await rows('select count(*)::int from snapshots.customers where sluice_valid_to is null'),
    ).toEqual([[5]]);

    // Grace moves up a tier, order 1002 is canceled and a new order arrives.
    const data = JSON.parse(await readFile(dataFile, 'utf8')) as {
      customers: Record<string, unknown>[];
      orders: Record<string, unknown>[];
    };
    Object.assign(data.customers[1] as object, {
      tier: 'gold',
      updated_at: '2026-11-01T10:00:00Z',
    });
    Object.assign(data.orders[1] as object, {
      status: 'canceled',
      updated_at: '2026-11-01T10:05:00Z',
    });
    data.orders.push({
      order_id: 1006,
      customer_id: 4,
      amount: 18.25,
      status: 'paid',
      items: [
        { sku: 'D-2', qty: 3 },
        { sku: 'A-1', qty: 1 },
      ],
      updated_at: '2026-11-01T10:10:00Z',
    });
    await writeFile(dataFile, JSON.stringify(data));

    const second = await runOnce();
    const steps = await store.listTasks(second.id);
    const rowsOf = (step: string): number | undefined =>
      steps.find((t) => t.step === step)?.rowsOut;
    expect(rowsOf('customers')).toBe(1);
    expect(rowsOf('orders')).toBe(2);
    expect(rowsOf('orders_enriched')).toBe(2);
    expect(
      await rows(
        'select order_id::int, status, item_count from analytics.orders_enriched where order_id >= 1002 and order_id <> 1003 and order_id <> 1004 and order_id <> 1005 order by order_id',
      ),
    ).toEqual([
      [1002, 'canceled', 1],
      [1006, 'paid', 2],
    ]);
    expect(
      await rows(
        'select country, orders, revenue::text from analytics.revenue_by_country order by country',
      ),
    ).toEqual([
      ['AT', 1, '18.25'],
      ['FR', 1, '250.00'],
      ['UK', 2, '130.49'],
      ['US', 1, '42.00'],
    ]);
    expect(
      await rows(
        `select tier, sluice_valid_from::text, sluice_valid_to::text from snapshots.customers
          where id = 2 order by sluice_valid_from`,
      ),
    ).toEqual([
      ['silver', '2026-10-01 09:05:00+00', '2026-11-01 10:00:00+00'],
      ['gold', '2026-11-01 10:00:00+00', null],
    ]);
  });
});
