import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pipeline, RunReport, SnapshotOptions, SQLStep, Warehouse } from '../src/index.js';
import { pipeline, ref, sink, source, sql } from '../src/index.js';
import { runIn, tempDir } from './helpers.js';
import type { ClickHouseTestDatabase } from './support/clickhouse.js';
import { clickhouseUnavailable, createClickHouseDatabase } from './support/clickhouse.js';

const unavailable = await clickhouseUnavailable();
if (unavailable !== undefined) console.warn(`ClickHouse warehouse tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('sql steps in a ClickHouse warehouse', () => {
  let db: ClickHouseTestDatabase;
  let warehouse: Warehouse;

  beforeAll(async () => {
    db = await createClickHouseDatabase();
    warehouse = { engine: 'clickhouse', url: db.url };
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function writeOrders(dir: string, lines: readonly string[]): Promise<void> {
    await writeFile(join(dir, 'orders.csv'), ['id,country,amount,updated_at', ...lines].join('\n'));
  }

  function elt(models: Record<string, SQLStep>): Pipeline {
    return pipeline('elt', {
      steps: {
        orders: source.csv({ path: 'orders.csv' }),
        raw_orders: sink.clickhouse({
          input: ref('orders'),
          url: db.url,
          table: 'raw_orders',
          mode: 'merge',
          keys: ['id'],
        }),
        ...models,
      },
    });
  }

  it('builds tables, views and incremental tables over what the sink staged in the same run', async () => {
    const dir = await tempDir();
    const models = {
      by_country:
        sql`select country, count() as orders, sum(amount) as amount from ${ref('raw_orders')} group by country`.options(
          { warehouse, table: 'by_country', materialize: 'table' },
        ),
      big: sql`select id, amount from ${ref('raw_orders')} where amount > 10`.options({
        warehouse,
        table: 'big_orders',
        materialize: 'view',
      }),
      seen: sql`select id, updated_at from ${ref('raw_orders')}`.options({
        warehouse,
        table: 'seen',
        materialize: 'incremental',
        incremental: { strategy: 'append', cursor: 'updated_at' },
      }),
      latest: sql`select id, country, amount, updated_at from ${ref('raw_orders')}`.options({
        warehouse,
        table: 'latest',
        materialize: 'incremental',
        incremental: { strategy: 'merge', uniqueKey: ['id'], cursor: 'updated_at' },
      }),
      per_country:
        sql`select country, id from ${ref('raw_orders')} where updated_at >= (select max(updated_at) from ${ref('raw_orders')})`.options(
          {
            warehouse,
            table: 'per_country',
            materialize: 'incremental',
            incremental: { strategy: 'insert_overwrite', partitionBy: 'country' },
          },
        ),
    };
    await writeOrders(dir, [
      '1,UK,5.5,2024-01-01 00:00:00',
      '2,US,20,2024-01-01 00:00:00',
      '3,FI,30,2024-01-01 00:00:00',
    ]);
    const first = await runIn(dir, elt(models));
    expect(first.error).toBeUndefined();
    expect(
      await db.text('SELECT country, orders, amount FROM by_country ORDER BY country'),
    ).toEqual([
      { country: 'FI', orders: '1', amount: '30' },
      { country: 'UK', orders: '1', amount: '5.5' },
      { country: 'US', orders: '1', amount: '20' },
    ]);
    expect(await db.text('SELECT id FROM big_orders ORDER BY id')).toEqual([
      { id: '2' },
      { id: '3' },
    ]);
    expect(first.steps.find((s) => s.id === 'latest')?.rowsOut).toBe(3);
    expect((await db.tables()).filter((t) => t.includes('__sluice_stage_'))).toEqual([]);

    await writeOrders(dir, ['2,US,25,2024-02-01 00:00:00', '4,US,7,2024-02-01 00:00:00']);
    const second = await runIn(dir, elt(models));
    expect(second.error).toBeUndefined();
    expect(await db.text('SELECT id, amount FROM latest ORDER BY id')).toEqual([
      { id: '1', amount: '5.5' },
      { id: '2', amount: '25' },
      { id: '3', amount: '30' },
      { id: '4', amount: '7' },
    ]);
    expect(second.steps.find((s) => s.id === 'latest')?.rowsOut).toBe(2);
    expect(
      await db.text('SELECT id, toString(updated_at) AS at FROM seen ORDER BY id, at'),
    ).toEqual([
      { id: '1', at: '2024-01-01 00:00:00' },
      { id: '2', at: '2024-01-01 00:00:00' },
      { id: '2', at: '2024-02-01 00:00:00' },
      { id: '3', at: '2024-01-01 00:00:00' },
      { id: '4', at: '2024-02-01 00:00:00' },
    ]);
    expect(await db.text('SELECT country, orders FROM by_country ORDER BY country')).toEqual([
      { country: 'FI', orders: '1' },
      { country: 'UK', orders: '1' },
      { country: 'US', orders: '2' },
    ]);
    // only US was returned by the query this run: its rows were replaced, the others kept
    expect(await db.text('SELECT country, id FROM per_country ORDER BY country, id')).toEqual([
      { country: 'FI', id: '3' },
      { country: 'UK', id: '1' },
      { country: 'US', id: '2' },
      { country: 'US', id: '4' },
    ]);
    expect((await db.tables()).filter((t) => t.includes('__sluice_stage_'))).toEqual([]);
  });

  it('leaves every table as it was and drops its staging tables when a step fails', async () => {
    const dir = await tempDir();
    await writeOrders(dir, ['9,SE,1,2024-03-01 00:00:00']);
    expect((await runIn(dir, elt({}))).status).toBe('success');
    await writeOrders(dir, ['10,SE,2,2024-03-02 00:00:00']);
    const before = await db.text('SELECT count() AS n FROM raw_orders');
    const report = await runIn(
      dir,
      elt({
        ok: sql`select id from ${ref('raw_orders')}`.options({
          warehouse,
          table: 'rollback_ok',
          materialize: 'table',
        }),
        broken: sql`select no_such_column from ${ref('ok')}`.options({
          warehouse,
          table: 'rollback_broken',
          materialize: 'table',
        }),
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error?.message).toMatch(/cannot build rollback_broken/);
    expect(await db.text('SELECT count() AS n FROM raw_orders')).toEqual(before);
    const tables = await db.tables();
    expect(tables).not.toContain('rollback_ok');
    expect(tables.filter((t) => t.includes('__sluice_stage_'))).toEqual([]);
  });

  it('records history with snapshots: changes close the current version, deletes invalidate it or add a deletion record, keys come back', async () => {
    const dir = await tempDir();
    await db.command(
      'CREATE TABLE app_users (id Int64, email String, updated_at DateTime) ENGINE = MergeTree ORDER BY id',
    );
    const users = async (values: string): Promise<void> => {
      await db.command('TRUNCATE TABLE app_users');
      await db.command(`INSERT INTO app_users VALUES ${values}`);
    };
    const history = (name: string, snapshot: SnapshotOptions): Pipeline =>
      pipeline(name, {
        steps: {
          users_history: sql`select * from app_users`.options({
            warehouse,
            table: name,
            materialize: 'snapshot',
            snapshot,
          }),
        },
      });
    const versions = (table: string) =>
      db.text(
        `SELECT id, email, toString(sluice_valid_from) AS from, ifNull(toString(sluice_valid_to), '') AS to${
          table === 'by_check' ? ', toString(sluice_is_deleted) AS deleted' : ''
        } FROM ${table} ORDER BY id, sluice_valid_from, isNull(sluice_valid_to)${table === 'by_check' ? ', sluice_is_deleted' : ''}`,
      );
    const byTime = history('by_time', {
      uniqueKey: ['id'],
      strategy: 'timestamp',
      updatedAt: 'updated_at',
      hardDeletes: 'invalidate',
    });
    const byCheck = history('by_check', {
      uniqueKey: ['id'],
      strategy: 'check',
      checkColumns: ['email'],
      hardDeletes: 'new_record',
    });
    const runAt = async (p: Pipeline): Promise<RunReport> => {
      const report = await runIn(dir, p);
      expect(report.error).toBeUndefined();
      return report;
    };
    await users("(1, 'a@x', '2024-01-01 00:00:00'), (2, 'b@x', '2024-01-01 00:00:00')");
    await runAt(byTime);
    await runAt(byCheck);
    await users("(1, 'a2@x', '2024-02-01 00:00:00')");
    await runAt(byTime);
    await runAt(byCheck);
    const unchanged = await runAt(byTime);
    expect(unchanged.steps[0]?.rowsOut).toBe(0);
    const timeRows = await versions('by_time');
    expect(
      timeRows.map((r) => [r['id'], r['email'], r['from'], r['to'] === '' ? 'current' : 'closed']),
    ).toEqual([
      ['1', 'a@x', '2024-01-01 00:00:00', 'closed'],
      ['1', 'a2@x', '2024-02-01 00:00:00', 'current'],
      ['2', 'b@x', '2024-01-01 00:00:00', 'closed'],
    ]);
    expect(timeRows[0]?.['to']).toBe('2024-02-01 00:00:00');
    // user 2 comes back: the deletion record closes and a current version starts
    await users("(1, 'a2@x', '2024-02-01 00:00:00'), (2, 'b@x', '2024-03-01 00:00:00')");
    await runAt(byCheck);
    const checkRows = await versions('by_check');
    expect(
      checkRows.map((r) => [
        r['id'],
        r['email'],
        r['to'] === '' ? 'current' : 'closed',
        r['deleted'],
      ]),
    ).toEqual([
      ['1', 'a@x', 'closed', '0'],
      ['1', 'a2@x', 'current', '0'],
      ['2', 'b@x', 'closed', '0'],
      ['2', 'b@x', 'closed', '1'],
      ['2', 'b@x', 'current', '0'],
    ]);
    expect((await db.tables()).filter((t) => t.includes('__sluice_stage_'))).toEqual([]);
  });
});
