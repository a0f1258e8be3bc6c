import { appendFile, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restSource } from '../src/connectors/http/index.js';
import { mysqlSink, mysqlSource } from '../src/connectors/mysql/index.js';
import { randomHex } from '../src/core/ids.js';
import {
  formatIncrementalState,
  incrementalWatermark,
  parseIncrementalState,
} from '../src/engine/incremental.js';
import type { Logger } from '../src/core/logger.js';
import type { IncrementalOptions } from '../src/define/steps.js';
import type { RunReport } from '../src/index.js';
import { defaultRegistry, pipeline, ref, schema, sink, source, t } from '../src/index.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';
import { MYSQL_ADMIN_URL, mysqlUnavailable } from './support/mysql.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

/** A logger that keeps every message with its fields. */
function recordingLogger(): Logger & { readonly entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const logger = {
    entries,
    debug: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    info: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    warn: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    error: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    child: () => logger,
  };
  return logger;
}

/**
 * A CSV source read incrementally into an append-only NDJSON sink, one file per run: the engine
 * does all the filtering (files are read whole every time).
 */
async function csvProject(incremental: IncrementalOptions) {
  const dir = await tempDir();
  const data = join(dir, 'events.csv');
  let state: Record<string, string> = {};
  let runs = 0;
  const delivered: Record<string, unknown>[] = [];
  const run = async (logger?: Logger): Promise<RunReport> => {
    runs++;
    const report = await runIn(
      dir,
      pipeline('events', {
        steps: {
          events: source.csv({ path: 'events.csv', incremental }),
          out: sink.ndjson({ input: ref('events'), path: `out-${runs}.ndjson` }),
        },
      }),
      { watermarks: state, ...(logger === undefined ? {} : { logger }) },
    );
    expect(report.error).toBeUndefined();
    state = { ...state, ...report.watermarks };
    delivered.push(...(await readNDJSON(join(dir, `out-${runs}.ndjson`))));
    return report;
  };
  return {
    dir,
    write: (text: string) => writeFile(data, text),
    append: (text: string) => appendFile(data, text),
    run,
    state: () => state,
    setState: (next: Record<string, string>) => {
      state = next;
    },
    /** Ids every run delivered so far, sorted, repeats kept. */
    ids: () => delivered.map((r) => Number(r['id'])).sort((a, b) => a - b),
  };
}

describe('incremental state', () => {
  it('reads the JSON document it writes and an older plain watermark', () => {
    const text = formatIncrementalState({ watermark: '10', windowStart: '8', seen: ['a', 'a'] });
    expect(parseIncrementalState(text)).toEqual({
      watermark: '10',
      windowStart: '8',
      seen: ['a', 'a'],
    });
    expect(incrementalWatermark(text)).toBe('10');
    expect(parseIncrementalState('2024-01-01 12:00:00')).toEqual({
      watermark: '2024-01-01 12:00:00',
      seen: [],
    });
    expect(parseIncrementalState(undefined)).toBeUndefined();
    // A text cursor's watermark may itself look like JSON: without the format marker it stays text.
    expect(parseIncrementalState('{"a":1}')).toEqual({ watermark: '{"a":1}', seen: [] });
  });
});

describe('incremental sources filtered by the engine (CSV)', () => {
  it('reads a row added later with the cursor equal to the watermark, and no row twice', async () => {
    const p = await csvProject({ cursor: 'at' });
    await p.write('id,at\n1,2024-01-01 10:00:00\n2,2024-01-01 11:00:00\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(2);
    expect(incrementalWatermark(p.state()['events'])).toBe('2024-01-01 11:00:00');

    await p.append('3,2024-01-01 11:00:00\n');
    const tie = await p.run();
    expect(stepOf(tie, 'events')).toMatchObject({ rowsIn: 1, rowsOut: 1, rowsQuarantined: 0 });

    const idle = await p.run();
    expect(stepOf(idle, 'events')).toMatchObject({ rowsIn: 0, rowsOut: 0 });
    expect(p.ids()).toEqual([1, 2, 3]);
  });

  it('without a primary key, tells identical rows apart by how many were read', async () => {
    const p = await csvProject({ cursor: 'at' });
    await p.write('id,at\n1,2024-01-01 10:00:00\n');
    await p.run();
    // The same row again, at the watermark: a second record, not the first one re-read.
    await p.append('1,2024-01-01 10:00:00\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(1);
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(0);
    expect(p.ids()).toEqual([1, 1]);
  });

  it('recognises a re-read row by its primary key and cursor, so an update is new', async () => {
    const p = await csvProject({ cursor: 'at', primaryKey: 'id' });
    await p.write('id,v,at\n1,a,2024-01-01 10:00:00\n');
    await p.run();
    // Same key and cursor, other values: taken as the row already read.
    await p.write('id,v,at\n1,b,2024-01-01 10:00:00\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(0);
    await p.write('id,v,at\n1,c,2024-01-01 10:30:00\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(1);
    expect(p.ids()).toEqual([1, 1]);
  });

  it('catches rows committed late within the lag window, and only those', async () => {
    const p = await csvProject({ cursor: 'at', lagWindow: '10m' });
    await p.write('id,at\n1,2024-01-01 10:00:00\n2,2024-01-01 10:55:00\n3,2024-01-01 11:00:00\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(3);
    // 4 is late but inside the window (10:50 onwards), 5 is older than the window.
    await p.append('4,2024-01-01 10:52:00\n5,2024-01-01 10:40:00\n6,2024-01-01 11:00:00\n');
    const second = await p.run();
    expect(stepOf(second, 'events')).toMatchObject({ rowsIn: 2, rowsOut: 2 });
    expect(await p.run().then((r) => stepOf(r, 'events').rowsOut)).toBe(0);
    expect(p.ids()).toEqual([1, 2, 3, 4, 6]);
  });

  it('reads a numeric cursor with a numeric lag window', async () => {
    const p = await csvProject({ cursor: 'seq', lagWindow: 2 });
    await p.write('id,seq\n1,1\n2,5\n');
    await p.run();
    expect(parseIncrementalState(p.state()['events'])).toMatchObject({
      watermark: '5',
      windowStart: '3',
    });
    await p.append('3,4\n4,2\n5,5\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(2);
    expect(p.ids()).toEqual([1, 2, 3, 5]);
  });

  it('keeps reading an older plain watermark as "everything up to it was read"', async () => {
    const p = await csvProject({ cursor: 'at' });
    await p.write('id,at\n1,2024-01-01 10:00:00\n2,2024-01-01 11:00:00\n3,2024-01-01 12:00:00\n');
    p.setState({ events: '2024-01-01 11:00:00' });
    const report = await p.run();
    expect(stepOf(report, 'events')).toMatchObject({ rowsIn: 1, rowsOut: 1 });
    expect(parseIncrementalState(p.state()['events'])).toMatchObject({
      watermark: '2024-01-01 12:00:00',
      windowStart: '2024-01-01 12:00:00',
    });
    expect(p.ids()).toEqual([3]);
  });

  it('bounds the remembered rows: the window narrows to the newest values that fit', async () => {
    const p = await csvProject({ cursor: 'seq', lagWindow: 10, maxBoundaryRows: 3 });
    await p.write('id,seq\n1,1\n2,2\n3,3\n4,4\n5,5\n');
    const logger = recordingLogger();
    await p.run(logger);
    const state = parseIncrementalState(p.state()['events']);
    expect(state).toMatchObject({ watermark: '5', windowStart: '3' });
    expect(state?.seen).toHaveLength(3);
    expect(logger.entries.some((e) => /narrowed/.test(String(e['message'])))).toBe(true);
    // A late row older than the narrowed window is not read; none is read twice.
    await p.append('6,2\n7,4\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(1);
    expect(p.ids()).toEqual([1, 2, 3, 4, 5, 7]);
  });

  it('remembers every row at the watermark even past the bound', async () => {
    const p = await csvProject({ cursor: 'seq', maxBoundaryRows: 2 });
    await p.write('id,seq\n1,1\n2,7\n3,7\n4,7\n');
    await p.run();
    expect(parseIncrementalState(p.state()['events'])?.seen).toHaveLength(3);
    await p.append('5,7\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(1);
    expect(p.ids()).toEqual([1, 2, 3, 4, 5]);
  });

  it('reads rows with a NULL cursor on the first run only, and logs what it skipped', async () => {
    const p = await csvProject({ cursor: 'seq' });
    await p.write('id,seq\n1,\n2,5\n');
    expect(stepOf(await p.run(), 'events').rowsOut).toBe(2);
    await p.append('3,\n4,6\n');
    const logger = recordingLogger();
    expect(stepOf(await p.run(logger), 'events').rowsOut).toBe(1);
    expect(logger.entries).toContainEqual(
      expect.objectContaining({ message: 'rows read by an earlier run skipped', skipped: 3 }),
    );
    expect(p.ids()).toEqual([1, 2, 4]);
  });

  it('leaves run metadata columns out of a whole-row identity', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'events.csv'), 'id,seq\n1,5\n');
    const p = pipeline('events', {
      steps: {
        events: source.csv({
          path: 'events.csv',
          metadata: ['_extracted_at', '_run_id'],
          incremental: { cursor: 'seq' },
        }),
      },
    });
    const first = await runIn(dir, p);
    const second = await runIn(dir, p, { watermarks: first.watermarks ?? {} });
    expect(stepOf(second, 'events').rowsOut).toBe(0);
  });

  it('widening the lag window later does not deliver rows of the old window again', async () => {
    const narrow = await csvProject({ cursor: 'seq' });
    await narrow.write('id,seq\n1,3\n2,5\n');
    await narrow.run();
    const wide = await csvProject({ cursor: 'seq', lagWindow: 3 });
    await wide.write('id,seq\n1,3\n2,5\n3,4\n');
    wide.setState(narrow.state());
    // 1 was read before; 3 (late, at 4) is older than the saved window start (5): not read.
    expect(stepOf(await wide.run(), 'events').rowsOut).toBe(0);
    expect(parseIncrementalState(wide.state()['events'])).toMatchObject({ windowStart: '2' });
  });

  it('rejects a lag window that does not fit the cursor, and a key that is not a column', async () => {
    const p = await csvProject({ cursor: 'seq', lagWindow: '5m' });
    await p.write('id,seq\n1,1\n');
    const report = await runIn(
      p.dir,
      pipeline('events', {
        steps: {
          events: source.csv({
            path: 'events.csv',
            incremental: { cursor: 'seq', lagWindow: '5m' },
          }),
        },
      }),
    );
    expect(report.error?.code).toBe('CONFIG_INVALID');
    expect(report.error?.message).toMatch(/lagWindow "5m" does not fit the cursor "seq"/);
    const keyless = await runIn(
      p.dir,
      pipeline('events', {
        steps: {
          events: source.csv({
            path: 'events.csv',
            incremental: { cursor: 'seq', primaryKey: 'nope' },
          }),
        },
      }),
    );
    expect(keyless.error?.message).toMatch(/primary key column "nope" not in source "events"/);
  });
});

const pgUnavailable = await postgresUnavailable();
if (pgUnavailable !== undefined)
  console.warn(`PostgreSQL boundary tests skipped: ${pgUnavailable}`);

describe.skipIf(pgUnavailable !== undefined)('incremental PostgreSQL source', () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: pg.Client;

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    db = new pg.Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await drop?.();
  });

  const ids = async (table: string): Promise<number[]> =>
    (await db.query<{ id: number }>(`SELECT id FROM ${table} ORDER BY id`)).rows.map((r) => r.id);

  /** Runs source.postgres into an append sink, carrying the state from run to run. */
  function appendPipeline(table: string, options: Record<string, unknown>) {
    let state: Record<string, string> = {};
    const p = pipeline('pg_boundaries', {
      steps: {
        events: source.postgres({ url, table, ...options }),
        out: sink.postgres({ input: ref('events'), url, table: `${table}_copy`, mode: 'append' }),
      },
    });
    return async (): Promise<RunReport> => {
      const report = await runIn(await tempDir(), p, { watermarks: state });
      expect(report.error).toBeUndefined();
      state = { ...state, ...report.watermarks };
      return report;
    };
  }

  it('reads rows inserted later at the watermark, exactly once into an append sink', async () => {
    await db.query(`CREATE TABLE ties (id integer PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await db.query(
      `INSERT INTO ties VALUES (1, '2024-01-01 10:00:00+00'), (2, '2024-01-01 10:05:00+00')`,
    );
    const run = appendPipeline('ties', { incremental: { cursor: 'updated_at' } });
    expect(stepOf(await run(), 'events').rowsOut).toBe(2);
    await db.query(`INSERT INTO ties VALUES (3, '2024-01-01 10:05:00+00')`);
    expect(stepOf(await run(), 'events')).toMatchObject({ rowsIn: 1, rowsOut: 1 });
    expect(stepOf(await run(), 'events').rowsOut).toBe(0);
    expect(await ids('ties_copy')).toEqual([1, 2, 3]);
  });

  it('catches late commits within the lag window without loading re-read rows again', async () => {
    await db.query(
      `CREATE TABLE late (id integer PRIMARY KEY, status text, updated_at timestamptz NOT NULL)`,
    );
    await db.query(`INSERT INTO late VALUES
      (1, 'new', '2024-01-01 10:00:00+00'), (2, 'new', '2024-01-01 10:05:00+00'),
      (3, 'new', '2024-01-01 10:05:00+00')`);
    const run = appendPipeline('late', {
      incremental: { cursor: 'updated_at', primaryKey: 'id' },
      lagWindow: '2 minutes',
    });
    expect(stepOf(await run(), 'events').rowsOut).toBe(3);
    await db.query(
      `UPDATE late SET status = 'paid', updated_at = '2024-01-01 10:10:00+00' WHERE id = 1`,
    );
    await db.query(`INSERT INTO late VALUES (4, 'tie', '2024-01-01 10:05:00+00'),
      (5, 'late', '2024-01-01 10:04:00+00'), (6, 'too late', '2024-01-01 10:01:00+00')`);
    // 1 (updated), 4 (tie) and 5 (late, after 10:03) are new; 2 and 3 are re-read and dropped;
    // 6 is older than the lag window.
    const second = await run();
    expect(stepOf(second, 'events')).toMatchObject({ rowsIn: 3, rowsOut: 3 });
    expect(incrementalWatermark(second.watermarks?.['events'])).toMatch(/^2024-01-01 10:10:00/);
    // Nothing new: the window before the watermark is read again, and all of it dropped.
    expect(stepOf(await run(), 'events').rowsOut).toBe(0);
    expect(await ids('late_copy')).toEqual([1, 1, 2, 3, 4, 5]);
  });

  it('rejects two different lag windows, one in the config and one in incremental', async () => {
    await db.query(`CREATE TABLE twice (id integer PRIMARY KEY, at timestamptz NOT NULL)`);
    const report = await runIn(
      await tempDir(),
      pipeline('pg_twice', {
        steps: {
          events: source.postgres({
            url,
            table: 'twice',
            lagWindow: '2m',
            incremental: { cursor: 'at', lagWindow: '5m' },
          }),
        },
      }),
    );
    expect(report.error?.code).toBe('CONFIG_INVALID');
    expect(report.error?.message).toMatch(
      /incremental.lagWindow \(5m\) differs from the source's lagWindow \(2m\)/,
    );
  });

  it('takes the lag window from incremental options too, on a numeric cursor', async () => {
    await db.query(`CREATE TABLE seqs (id integer PRIMARY KEY, seq bigint NOT NULL)`);
    await db.query(`INSERT INTO seqs VALUES (1, 10), (2, 20)`);
    const run = appendPipeline('seqs', { incremental: { cursor: 'seq', lagWindow: 5 } });
    await run();
    await db.query(`INSERT INTO seqs VALUES (3, 17), (4, 20), (5, 12)`);
    expect(stepOf(await run(), 'events').rowsOut).toBe(2);
    expect(await ids('seqs_copy')).toEqual([1, 2, 3, 4]);
  });
});

const mysqlDown = await mysqlUnavailable();
if (mysqlDown !== undefined) console.warn(`MySQL boundary tests skipped: ${mysqlDown}`);

describe.skipIf(mysqlDown !== undefined)('incremental MySQL source', () => {
  const database = `sluice_test_${randomHex(6)}`;
  const address = new URL(MYSQL_ADMIN_URL);
  address.pathname = `/${database}`;
  const dbURL = address.toString();
  const registry = defaultRegistry.with(mysqlSource, mysqlSink);
  let db: mysql.Connection;

  beforeAll(async () => {
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    await admin.end();
    db = await mysql.createConnection({ uri: dbURL, dateStrings: true, timezone: 'Z' });
    await db.query("SET time_zone = '+00:00'");
  });
  afterAll(async () => {
    await db?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await db?.end();
  });

  const ids = async (table: string): Promise<number[]> => {
    const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT id FROM ${table} ORDER BY id`);
    return rows.map((r) => Number(r['id']));
  };

  function appendPipeline(table: string, options: Record<string, unknown>) {
    let state: Record<string, string> = {};
    const p = pipeline('mysql_boundaries', {
      steps: {
        events: source.custom('mysql', { url: dbURL, table, ...options }),
        out: sink.custom('mysql', {
          input: ref('events'),
          url: dbURL,
          table: `${table}_copy`,
          mode: 'append',
        }),
      },
    });
    return async (): Promise<RunReport> => {
      const report = await runIn(await tempDir(), p, { registry, watermarks: state });
      expect(report.error).toBeUndefined();
      state = { ...state, ...report.watermarks };
      return report;
    };
  }

  it('rejects a primary key in incremental that differs from the config one', async () => {
    await db.query(`CREATE TABLE keyed (id INT PRIMARY KEY, other INT, at DATETIME(6) NOT NULL)`);
    const report = await runIn(
      await tempDir(),
      pipeline('mysql_keys', {
        steps: {
          events: source.custom('mysql', {
            url: dbURL,
            table: 'keyed',
            primaryKey: ['id'],
            incremental: { cursor: 'at', primaryKey: 'other' },
          }),
        },
      }),
      { registry },
    );
    expect(report.error?.code).toBe('CONFIG_INVALID');
    expect(report.error?.message).toMatch(
      /incremental.primaryKey \(other\) differs from the source's primaryKey \(id\)/,
    );
  });

  for (const paged of [false, true])
    it(`reads ties and late commits once each into an append sink${paged ? ', in pages' : ''}`, async () => {
      const table = paged ? 'events_paged' : 'events';
      await db.query(
        `CREATE TABLE ${table} (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL)`,
      );
      await db.query(`INSERT INTO ${table} VALUES (1, 'a', '2024-01-01 10:00:00'),
        (2, 'b', '2024-01-01 11:00:00'), (3, 'c', '2024-01-01 11:00:00')`);
      const run = appendPipeline(table, {
        lagWindow: '10m',
        primaryKey: ['id'],
        incremental: { cursor: 'updated_at' },
        ...(paged ? { pageBy: { size: 2 } } : {}),
      });
      expect(stepOf(await run(), 'events').rowsOut).toBe(3);
      await db.query(
        `UPDATE ${table} SET v = 'a2', updated_at = '2024-01-01 12:00:00' WHERE id = 1`,
      );
      await db.query(`INSERT INTO ${table} VALUES (4, 'd', '2024-01-01 12:00:00'),
        (5, 'late', '2024-01-01 10:55:00'), (6, 'tie', '2024-01-01 11:00:00'),
        (7, 'too late', '2024-01-01 10:45:00')`);
      const second = await run();
      // New: 1 (updated), 4, 5 (late, after 10:50) and 6 (tie); 2 and 3 are dropped.
      expect(stepOf(second, 'events')).toMatchObject({ rowsIn: 4, rowsOut: 4 });
      expect(incrementalWatermark(second.watermarks?.['events'])).toBe('2024-01-01 12:00:00');
      await db.query(`INSERT INTO ${table} VALUES (8, 'tie', '2024-01-01 12:00:00')`);
      expect(stepOf(await run(), 'events').rowsOut).toBe(1);
      expect(stepOf(await run(), 'events').rowsOut).toBe(0);
      expect(await ids(`${table}_copy`)).toEqual([1, 1, 2, 3, 4, 5, 6, 8]);
    });
});

describe('incremental REST source', () => {
  let server: Server;
  let base: string;
  let records: Record<string, unknown>[] = [];
  const requests: URL[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      requests.push(url);
      const since = url.searchParams.get('since');
      // The API filters inclusively, as the source asks it to.
      const body =
        since === null
          ? records
          : records.filter((r) => String(r['at']) >= since.replace('T', ' '));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function restProject(config: Record<string, unknown>, incremental: IncrementalOptions) {
    const dir = await tempDir();
    let state: Record<string, string> = {};
    let runs = 0;
    const orders: unknown[] = [];
    const items: unknown[] = [];
    const children = config['nested'] === 'child_tables';
    const run = async (): Promise<RunReport> => {
      runs++;
      const report = await runIn(
        dir,
        pipeline('rest_boundaries', {
          steps: {
            orders: source.custom('rest', {
              url: `${base}/orders`,
              schema: schema({ id: t.int64().notNull(), at: t.timestamp().notNull() }),
              ...config,
              incremental,
            }),
            out: sink.ndjson({ input: ref('orders'), path: `orders-${runs}.ndjson` }),
            ...(children
              ? {
                  items_out: sink.ndjson({
                    input: ref('orders__items'),
                    path: `items-${runs}.ndjson`,
                  }),
                }
              : {}),
          },
        }),
        { registry: defaultRegistry.with(restSource), watermarks: state },
      );
      expect(report.error).toBeUndefined();
      state = { ...state, ...report.watermarks };
      orders.push(...(await readNDJSON(join(dir, `orders-${runs}.ndjson`))).map((r) => r['id']));
      if (children)
        items.push(...(await readNDJSON(join(dir, `items-${runs}.ndjson`))).map((r) => r['sku']));
      return report;
    };
    return { run, orders, items };
  }

  const order = (id: number, at: string, skus: string[] = []) => ({
    id,
    at,
    items: skus.map((sku) => ({ sku })),
  });

  for (const mode of ['engine', 'param', 'child_tables'] as const)
    it(`reads ties and late records once each (${mode === 'engine' ? 'filtered by the engine' : mode === 'param' ? 'watermark sent to the API' : 'with child tables'})`, async () => {
      records = [order(1, '2026-01-01 10:00:00', ['a']), order(2, '2026-01-01 11:00:00', ['b'])];
      const config =
        mode === 'param'
          ? { incrementalParam: 'since' }
          : mode === 'child_tables'
            ? { nested: 'child_tables', childTables: ['items'], primaryKey: 'id' }
            : {};
      const p = await restProject(config, { cursor: 'at', lagWindow: '30m' });
      expect(stepOf(await p.run(), 'orders').rowsOut).toBe(2);
      records.push(
        order(3, '2026-01-01 11:00:00', ['c']),
        order(4, '2026-01-01 10:45:00', ['d1', 'd2']),
        order(5, '2026-01-01 10:15:00', ['e']),
      );
      requests.length = 0;
      const second = await p.run();
      if (mode === 'param')
        expect(requests[0]?.searchParams.get('since')).toBe('2026-01-01T10:30:00');
      // 3 (tie) and 4 (late, after 10:30) are new; 2 is re-read and dropped; 5 is too late.
      expect(stepOf(second, 'orders')).toMatchObject({ rowsIn: 2, rowsOut: 2 });
      expect(stepOf(await p.run(), 'orders').rowsOut).toBe(0);
      expect([...p.orders].sort()).toEqual([1, 2, 3, 4]);
      if (mode === 'child_tables') expect([...p.items].sort()).toEqual(['a', 'b', 'c', 'd1', 'd2']);
    });
});
