import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { ROOT, tempDir } from './helpers.js';
import { readDeltaTable, workUntilFinished } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`postgres-to-lake example skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('examples/postgres-to-lake', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('lands orders incrementally and customers by CDC in Delta, run after run, under the orchestrator', async () => {
    const database = await createTestDatabase();
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.push(async () => {
      await db.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()',
      );
      await db.end();
      await database.drop();
    });
    const example = join(ROOT, 'examples', 'postgres-to-lake');
    await db.query(await readFile(join(example, 'setup.sql'), 'utf8'));
    const dir = await tempDir('sluice-example-');
    await cp(example, dir, { recursive: true, filter: (path) => !path.includes('/out') });
    const previousURL = process.env['SLUICE_EXAMPLE_POSTGRES'];
    process.env['SLUICE_EXAMPLE_POSTGRES'] = database.url;
    cleanups.push(async () => {
      if (previousURL === undefined) delete process.env['SLUICE_EXAMPLE_POSTGRES'];
      else process.env['SLUICE_EXAMPLE_POSTGRES'] = previousURL;
    });
    const project = await Project.open(dir);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    cleanups.push(() => store.close());
    const runOnce = async (): Promise<RunRecord> => {
      const [run] = await store.enqueueRuns([{ pipeline: 'postgres_to_lake', trigger: 'manual' }]);
      const [done] = await workUntilFinished(store, project, [run as RunRecord]);
      expect(done?.state, JSON.stringify(done?.error)).toBe('success');
      return done as RunRecord;
    };
    const lake = async (table: string, key: string): Promise<Record<string, unknown>[]> =>
      (await readDeltaTable(dir, join(dir, 'out', 'lake', table))).sort(
        (a, b) => Number(a[key]) - Number(b[key]),
      );

    const first = await runOnce();
    expect(
      (await lake('orders', 'order_id')).map((o) => [Number(o['order_id']), o['status']]),
    ).toEqual([
      [1001, 'paid'],
      [1002, 'paid'],
      [1003, 'pending'],
    ]);
    expect((await lake('customers', 'customer_id')).map((c) => c['name'])).toEqual([
      'Ada Lovelace',
      'Grace Hopper',
      'Émilie du Châtelet',
      'Hedy Lamarr',
    ]);
    const quality = (await store.listEvents({ runId: first.id })).find(
      (e) => e.kind === 'quality.result',
    );
    expect(JSON.stringify(quality?.data)).toContain('orders');

    await db.query(
      `UPDATE orders SET status = 'shipped', updated_at = '2026-11-01 10:00:00+00' WHERE order_id = 1001`,
    );
    await db.query(
      `INSERT INTO orders VALUES (1005, 2, 'paid', 19.99, '[]', '2026-11-01 10:01:00+00')`,
    );
    await db.query(`UPDATE customers SET email = 'grace@navy.example' WHERE customer_id = 2`);
    await db.query(`DELETE FROM customers WHERE customer_id = 4`);
    await db.query(
      `INSERT INTO customers (customer_id, name, country) VALUES (5, 'Katherine Johnson', 'US')`,
    );
    await runOnce();

    expect(
      (await lake('orders', 'order_id')).map((o) => [Number(o['order_id']), o['status']]),
    ).toEqual([
      [1001, 'shipped'],
      [1002, 'paid'],
      [1003, 'pending'],
      [1005, 'paid'],
    ]);
    expect(
      (await lake('customers', 'customer_id')).map((c) => [Number(c['customer_id']), c['email']]),
    ).toEqual([
      [1, 'ada@example.com'],
      [2, 'grace@navy.example'],
      [3, null],
      [5, null],
    ]);

    // Nothing changed: the third run reads only the orders' lag window and no change.
    await runOnce();
    expect((await lake('orders', 'order_id')).length).toBe(4);
    expect((await lake('customers', 'customer_id')).length).toBe(4);
  });
});
