import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline, SQLStep, Warehouse } from '../src/index.js';
import { pipeline, planPipeline, defaultRegistry, ref, sink, source, sql } from '../src/index.js';
import { runIn, tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`PostgreSQL warehouse tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('sql steps in a PostgreSQL warehouse', () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: pg.Client;
  let warehouse: Warehouse;

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    warehouse = { engine: 'postgres', url };
    db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query("SET TIME ZONE 'UTC'");
  });
  afterAll(async () => {
    await db?.end();
    await drop?.();
  });

  const rows = async (text: string): Promise<Record<string, unknown>[]> =>
    (await db.query(text)).rows as Record<string, unknown>[];

  /** Customers as a CSV file the pipeline reads, loaded into raw.customers by merge. */
  async function writeCustomers(dir: string, lines: readonly string[]): Promise<void> {
    await writeFile(
      join(dir, 'customers.csv'),
      ['id,name,country,updated_at', ...lines].join('\n'),
    );
  }

  function elt(models: Record<string, SQLStep>): Pipeline {
    return pipeline('elt', {
      steps: {
        customers: source.csv({ path: 'customers.csv' }),
        raw_customers: sink.postgres({
          input: ref('customers'),
          url,
          table: 'raw.customers',
          mode: 'merge',
          keys: ['id'],
        }),
        ...models,
      },
    });
  }

  it('builds views, tables and incremental tables over what a sink loaded in the same run', async () => {
    const dir = await tempDir();
    await db.query('CREATE SCHEMA IF NOT EXISTS raw');
    const models = {
      by_country:
        sql`select country, count(*)::int as customers from ${ref('raw_customers')} group by country`.options(
          { warehouse, table: 'analytics.by_country', materialize: 'table' },
        ),
      named: sql`select id, upper(name) as name from ${ref('raw_customers')}`.options({
        warehouse,
        table: 'analytics.named',
        materialize: 'view',
      }),
      latest: sql`select id, name, updated_at from ${ref('raw_customers')}`.options({
        warehouse,
        table: 'analytics.latest',
        materialize: 'incremental',
        incremental: { strategy: 'merge', uniqueKey: ['id'], cursor: 'updated_at' },
      }),
      seen: sql`select id, updated_at from ${ref('raw_customers')}`.options({
        warehouse,
        table: 'analytics.seen',
        materialize: 'incremental',
        incremental: { strategy: 'append', cursor: 'updated_at' },
      }),
      per_country:
        sql`select country, id from ${ref('by_country')} join ${ref('raw_customers')} using (country)`.options(
          {
            warehouse,
            table: 'analytics.per_country',
            materialize: 'incremental',
            incremental: { strategy: 'insert_overwrite', partitionBy: 'country' },
          },
        ),
    };
    await writeCustomers(dir, [
      '1,ada,UK,2024-01-01T00:00:00Z',
      '2,grace,US,2024-01-01T00:00:00Z',
      '3,linus,FI,2024-01-01T00:00:00Z',
    ]);
    const first = await runIn(dir, elt(models));
    expect(first.error).toBeUndefined();
    expect(first.status).toBe('success');
    expect(await rows('select * from analytics.by_country order by country')).toEqual([
      { country: 'FI', customers: 1 },
      { country: 'UK', customers: 1 },
      { country: 'US', customers: 1 },
    ]);
    expect(await rows('select id::int as id, name from analytics.named order by id')).toEqual([
      { id: 1, name: 'ADA' },
      { id: 2, name: 'GRACE' },
      { id: 3, name: 'LINUS' },
    ]);
    expect(first.steps.find((s) => s.id === 'latest')?.rowsOut).toBe(3);

    await writeCustomers(dir, [
      '2,grace hopper,US,2024-02-01T00:00:00Z',
      '4,margaret,US,2024-02-01T00:00:00Z',
    ]);
    const second = await runIn(dir, elt(models));
    expect(second.error).toBeUndefined();
    expect(await rows('select id::int as id, name from analytics.latest order by id')).toEqual([
      { id: 1, name: 'ada' },
      { id: 2, name: 'grace hopper' },
      { id: 3, name: 'linus' },
      { id: 4, name: 'margaret' },
    ]);
    expect(second.steps.find((s) => s.id === 'latest')?.rowsOut).toBe(2);
    // append keeps the old version of customer 2 beside the new one
    expect(
      await rows(
        'select id::int as id, updated_at::text as at from analytics.seen order by id, at',
      ),
    ).toEqual([
      { id: 1, at: '2024-01-01 00:00:00+00' },
      { id: 2, at: '2024-01-01 00:00:00+00' },
      { id: 2, at: '2024-02-01 00:00:00+00' },
      { id: 3, at: '2024-01-01 00:00:00+00' },
      { id: 4, at: '2024-02-01 00:00:00+00' },
    ]);
    // the view sees the merged raw table; the table was rebuilt
    expect(await rows('select name from analytics.named where id = 2')).toEqual([
      { name: 'GRACE HOPPER' },
    ]);
    expect(await rows('select * from analytics.by_country order by country')).toEqual([
      { country: 'FI', customers: 1 },
      { country: 'UK', customers: 1 },
      { country: 'US', customers: 2 },
    ]);
    // insert_overwrite replaced each country's rows with the run's
    expect(
      await rows('select country, id::int as id from analytics.per_country order by country, id'),
    ).toEqual([
      { country: 'FI', id: 3 },
      { country: 'UK', id: 1 },
      { country: 'US', id: 2 },
      { country: 'US', id: 4 },
    ]);

    // A full refresh starts over from what the sources read now: the merge sink's table is
    // replaced by the file's two customers, and the incremental model is rebuilt from it.
    const rebuilt = await runIn(dir, elt(models), { fullRefresh: true });
    expect(rebuilt.status).toBe('success');
    expect(await rows('select id::int as id from raw.customers order by id')).toEqual([
      { id: 2 },
      { id: 4 },
    ]);
    expect(rebuilt.steps.find((s) => s.id === 'seen')?.rowsOut).toBe(2);
    expect(
      await rows('select id::int as id, updated_at::text as at from analytics.seen order by id'),
    ).toEqual([
      { id: 2, at: '2024-02-01 00:00:00+00' },
      { id: 4, at: '2024-02-01 00:00:00+00' },
    ]);
  });

  it('replaces every row of a key with delete_insert, and refuses duplicate keys for merge', async () => {
    const dir = await tempDir();
    await db.query('CREATE TABLE lines (order_id int, line int, sku text)');
    await db.query("INSERT INTO lines VALUES (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c')");
    const model = (strategy: 'delete_insert' | 'merge'): Pipeline =>
      pipeline('lines', {
        steps: {
          order_lines: sql`select order_id, line, sku from lines`.options({
            warehouse,
            table: `analytics.lines_${strategy}`,
            materialize: 'incremental',
            incremental: { strategy, uniqueKey: ['order_id'] },
          }),
        },
      });
    expect((await runIn(dir, model('delete_insert'))).status).toBe('success');
    await db.query(
      "DELETE FROM lines WHERE order_id = 1 AND line = 2; UPDATE lines SET sku = 'z' WHERE order_id = 1",
    );
    expect((await runIn(dir, model('delete_insert'))).status).toBe('success');
    expect(
      await rows('select * from analytics.lines_delete_insert order by order_id, line'),
    ).toEqual([
      { order_id: 1, line: 1, sku: 'z' },
      { order_id: 2, line: 1, sku: 'c' },
    ]);

    expect((await runIn(dir, model('merge'))).status).toBe('success');
    await db.query("INSERT INTO lines VALUES (2, 2, 'd')");
    const refused = await runIn(dir, model('merge'));
    expect(refused.status).toBe('failed');
    expect(refused.error?.message).toMatch(
      /2 rows with order_id = 2; merge needs one row per unique key/,
    );
  });

  it('commits nothing of the run when a later step fails: the sink rows and the models roll back', async () => {
    const dir = await tempDir();
    await writeCustomers(dir, ['10,kim,KR,2024-01-01T00:00:00Z']);
    const report = await runIn(
      dir,
      elt({
        ok: sql`select id from ${ref('raw_customers')}`.options({
          warehouse,
          table: 'analytics.rollback_ok',
          materialize: 'table',
        }),
        broken: sql`select no_such_column from ${ref('ok')}`.options({
          warehouse,
          table: 'analytics.rollback_broken',
          materialize: 'table',
        }),
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error?.message).toMatch(
      /PostgreSQL: cannot build analytics.rollback_broken: column "no_such_column" does not exist/,
    );
    expect(await rows("select to_regclass('analytics.rollback_ok') as t")).toEqual([{ t: null }]);
    expect(await rows('select count(*)::int as n from raw.customers where id = 10')).toEqual([
      { n: 0 },
    ]);
  });

  it('records history with a snapshot: changes close the current version, deletes invalidate it', async () => {
    const dir = await tempDir();
    await db.query('CREATE TABLE app_users (id int, email text, updated_at timestamptz)');
    await db.query(
      "INSERT INTO app_users VALUES (1, 'a@x', '2024-01-01'), (2, 'b@x', '2024-01-01')",
    );
    const history = pipeline('history', {
      steps: {
        users_history: sql`select * from app_users`.options({
          warehouse,
          table: 'snapshots.users',
          materialize: 'snapshot',
          snapshot: {
            uniqueKey: ['id'],
            strategy: 'timestamp',
            updatedAt: 'updated_at',
            hardDeletes: 'invalidate',
          },
        }),
      },
    });
    const first = await runIn(dir, history);
    expect(first.error).toBeUndefined();
    await db.query(
      "UPDATE app_users SET email = 'a2@x', updated_at = '2024-02-01' WHERE id = 1; DELETE FROM app_users WHERE id = 2",
    );
    const second = await runIn(dir, history);
    expect(second.error).toBeUndefined();
    expect(
      await rows(
        `select id, email, sluice_valid_from::date::text as valid_from, sluice_valid_to is null as current
           from snapshots.users order by id, sluice_valid_from`,
      ),
    ).toEqual([
      { id: 1, email: 'a@x', valid_from: '2024-01-01', current: false },
      { id: 1, email: 'a2@x', valid_from: '2024-02-01', current: true },
      { id: 2, email: 'b@x', valid_from: '2024-01-01', current: false },
    ]);
    const unchanged = await runIn(dir, history);
    expect(unchanged.steps[0]?.rowsOut).toBe(0);
  });

  it('rejects at planning a warehouse step reading a DuckDB dataset, and a DuckDB step reading a warehouse step', () => {
    const result = planPipeline(
      pipeline('bad', {
        steps: {
          files: source.csv({ path: 'x.csv' }),
          model: sql`select * from ${ref('files')}`.options({ warehouse, materialize: 'table' }),
          local: sql`select * from ${ref('model')}`,
          merge: sql`select 1 as id`.options({
            warehouse,
            materialize: 'incremental',
            incremental: { strategy: 'merge' },
          }),
          loose: sql`select 1`.options({ materialize: 'snapshot' }),
        },
      }),
      { connectors: defaultRegistry.lookup },
    );
    expect(result.ok).toBe(false);
    const messages = result.diagnostics.map((d) => `${d.code}: ${d.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'warehouse-ref: step "model" runs in PostgreSQL and cannot read "files", a DuckDB dataset',
        'warehouse-output: step "local" runs in DuckDB but reads "model", which runs in PostgreSQL',
        "invalid-warehouse-model: the merge strategy needs uniqueKey: ['<column>', ...]",
        "invalid-warehouse-model: materialize: 'snapshot' needs a warehouse (set warehouse: {...})",
      ]),
    );
  });
});
