import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, ref, sink, source, sql, transform } from '../src/index.js';
import type { RunReport } from '../src/index.js';
import { incrementalWatermark } from '../src/engine/incremental.js';
import { ROOT, readNDJSON, runIn, tempDir } from './helpers.js';
import { readDeltaTable } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`PostgreSQL connector tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('PostgreSQL connectors', () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: pg.Client;

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    db = new pg.Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    // A replication slot keeps WAL and blocks dropping the database: remove any left behind.
    await db?.query(
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()`,
    );
    await db?.end();
    await drop?.();
  });

  const rows = async (query: string): Promise<Record<string, unknown>[]> =>
    (await db.query(query)).rows as Record<string, unknown>[];

  const copyThrough = async (
    table: string,
    target: string,
    extra: Record<string, unknown> = {},
  ): Promise<RunReport> =>
    runIn(
      await tempDir(),
      pipeline('copy', {
        steps: {
          read: source.postgres({ url, table }),
          write: sink.postgres({ input: ref('read'), url, table: target, ...extra }),
        },
      }),
    );

  it('round-trips every mapped type, NULLs and unicode through source and sink', async () => {
    await db.query(`CREATE TYPE mood AS ENUM ('happy', 'sad')`);
    await db.query(`CREATE TABLE types (
      id integer PRIMARY KEY, small smallint, big bigint, flag boolean, ratio real, score double precision,
      price numeric(12,2), huge numeric, label text, code varchar(10), fixed char(3), uid uuid,
      day date, at timestamp, instant timestamptz, doc jsonb, raw json, blob bytea,
      tags text[], counts integer[], feeling mood, span interval)`);
    await db.query(`INSERT INTO types VALUES
      (1, -32768, 9007199254740993, true, 1.5, 0.1, 12345678.91, 123456789012345678901234567890.123456789,
       'Grüße 👋 "quoted", comma', 'abc', 'xy', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29',
       '2024-03-01 12:34:56.789', '2024-03-01 12:34:56.789+02', '{"a": [1, 2, {"b": null}]}', '[1,"x"]',
       '\\x00ff10', ARRAY['one', 'two, three', NULL, 'quote"d'], ARRAY[1, NULL, 3], 'sad', '1 day 2 hours'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, ARRAY[]::text[], NULL, NULL, NULL)`);

    const report = await copyThrough('types', 'types_copy');
    expect(report.error).toBeUndefined();
    const read = report.steps.find((s) => s.id === 'read');
    expect(read?.rowsOut).toBe(2);

    const original = await rows(`SELECT * FROM types ORDER BY id`);
    const copied = await rows(`SELECT * FROM types_copy ORDER BY id`);
    const comparable = (row: Record<string, unknown>): Record<string, unknown> => ({
      ...row,
      blob: row['blob'] instanceof Buffer ? row['blob'].toString('hex') : row['blob'],
      span: row['span'] === null ? null : JSON.stringify(row['span']),
    });
    // Types without a logical counterpart travel as text and come back as text columns.
    const columns = await rows(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'types_copy' ORDER BY ordinal_position`,
    );
    expect(
      Object.fromEntries(columns.map((c) => [c['column_name'], c['data_type']])),
    ).toMatchObject({
      id: 'integer',
      big: 'bigint',
      flag: 'boolean',
      price: 'numeric',
      huge: 'text',
      instant: 'timestamp with time zone',
      doc: 'jsonb',
      blob: 'bytea',
      tags: 'ARRAY',
      counts: 'ARRAY',
      feeling: 'text',
      uid: 'text',
    });
    const [first, second] = copied.map(comparable);
    const [want, wantNulls] = original.map(comparable);
    expect(first).toMatchObject({
      id: 1,
      small: -32768,
      big: want?.['big'],
      flag: true,
      ratio: 1.5,
      score: 0.1,
      price: '12345678.91',
      huge: '123456789012345678901234567890.123456789',
      label: 'Grüße 👋 "quoted", comma',
      code: 'abc',
      fixed: 'xy ',
      uid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      doc: { a: [1, 2, { b: null }] },
      raw: [1, 'x'],
      blob: '00ff10',
      tags: ['one', 'two, three', null, 'quote"d'],
      counts: [1, null, 3],
      feeling: 'sad',
    });
    expect((first?.['day'] as Date).getTime()).toBe((want?.['day'] as Date).getTime());
    expect((first?.['at'] as Date).getTime()).toBe((want?.['at'] as Date).getTime());
    expect((first?.['instant'] as Date).toISOString()).toBe('2024-03-01T10:34:56.789Z');
    expect(second).toEqual({
      ...Object.fromEntries(Object.keys(wantNulls ?? {}).map((k) => [k, null])),
      id: 2,
      label: '',
      tags: [],
    });
  });

  it('reads from the watermark, re-reads the lag window, and loads no row twice', async () => {
    await db.query(
      `CREATE TABLE events (id integer PRIMARY KEY, status text, updated_at timestamptz NOT NULL)`,
    );
    await db.query(`INSERT INTO events VALUES
      (1, 'new', '2024-01-01 10:00:00+00'), (2, 'new', '2024-01-01 10:05:00+00'),
      (3, 'new', '2024-01-01 10:05:00+00')`);
    const dir = await tempDir();
    const p = pipeline('events', {
      steps: {
        events: source.postgres({
          url,
          table: 'events',
          incremental: { cursor: 'updated_at' },
          lagWindow: '2 minutes',
        }),
        out: sink.postgres({
          input: ref('events'),
          url,
          table: 'events_copy',
          mode: 'merge',
          keys: ['id'],
        }),
      },
    });
    const first = await runIn(dir, p);
    expect(first.error).toBeUndefined();
    expect(incrementalWatermark(first.watermarks?.['events'])).toMatch(/^2024-01-01 10:05:00/);
    expect(first.steps[0]?.rowsOut).toBe(3);

    // An update, a new row with the same cursor value as the boundary, and a late commit whose
    // cursor is just before the watermark (inside the lag window).
    await db.query(
      `UPDATE events SET status = 'paid', updated_at = '2024-01-01 10:10:00+00' WHERE id = 1`,
    );
    await db.query(
      `INSERT INTO events VALUES (4, 'new', '2024-01-01 10:05:00+00'), (5, 'late', '2024-01-01 10:04:00+00')`,
    );
    const second = await runIn(dir, p, { watermarks: first.watermarks ?? {} });
    expect(second.error).toBeUndefined();
    // The lag window (10:03 onwards) re-reads 2 and 3 (dropped: read before), 4 at 10:05 and 5 at
    // 10:04, plus 1 at 10:10.
    expect(second.steps[0]?.rowsOut).toBe(3);
    expect(incrementalWatermark(second.watermarks?.['events'])).toMatch(/^2024-01-01 10:10:00/);
    expect(await rows(`SELECT id, status FROM events_copy ORDER BY id`)).toEqual([
      { id: 1, status: 'paid' },
      { id: 2, status: 'new' },
      { id: 3, status: 'new' },
      { id: 4, status: 'new' },
      { id: 5, status: 'late' },
    ]);

    // Nothing new: only the lag window before the watermark (row 1 at 10:10) is read again, and
    // dropped.
    const third = await runIn(dir, p, { watermarks: second.watermarks ?? {} });
    expect(third.steps[0]?.rowsOut).toBe(0);
    expect(third.watermarks?.['events']).toBe(second.watermarks?.['events']);
    expect(await rows(`SELECT count(*)::int AS n FROM events_copy`)).toEqual([{ n: 5 }]);
  });

  it('reads in parallel ranges of a numeric or time key: the same rows as one read, NULL keys included', async () => {
    await db.query(`CREATE TABLE ranged (id bigint, at timestamptz, label text)`);
    await db.query(
      `INSERT INTO ranged SELECT i, timestamptz '2024-01-01' + i * interval '1 minute', 'row ' || i FROM generate_series(1, 20000) AS i`,
    );
    await db.query(`INSERT INTO ranged VALUES (NULL, NULL, 'no key')`);
    const readIds = async (parallel?: {
      column: string;
      partitions: number;
    }): Promise<string[]> => {
      const dir = await tempDir();
      const report = await runIn(
        dir,
        pipeline('ranged', {
          steps: {
            rows: source.postgres({
              url,
              table: 'ranged',
              ...(parallel === undefined ? {} : { parallel }),
            }),
            out: sink.ndjson({ input: ref('rows'), path: 'rows.ndjson' }),
          },
        }),
      );
      expect(report.error).toBeUndefined();
      return (await readNDJSON(join(dir, 'rows.ndjson')))
        .map((r) => `${String(r['id'])}:${String(r['label'])}`)
        .sort();
    };
    const whole = await readIds();
    expect(whole.length).toBe(20001);
    expect(await readIds({ column: 'id', partitions: 4 })).toEqual(whole);
    expect(await readIds({ column: 'at', partitions: 7 })).toEqual(whole);
    const bad = await runIn(
      await tempDir(),
      pipeline('ranged_bad', {
        steps: {
          rows: source.postgres({
            url,
            table: 'ranged',
            parallel: { column: 'label', partitions: 2 },
          }),
          out: sink.ndjson({ input: ref('rows'), path: 'rows.ndjson' }),
        },
      }),
    );
    expect(bad.error?.message).toContain('range reads need a number, date or timestamp column');
  });

  it('appends, overwrites, and deletes then inserts by non-unique keys', async () => {
    await db.query(`CREATE TABLE lines (order_id integer, sku text, qty integer)`);
    await db.query(`INSERT INTO lines VALUES (1, 'a', 1), (1, 'b', 2), (2, 'c', 3)`);
    const dir = await tempDir();
    const write = (mode: string, query: string, extra: Record<string, unknown> = {}) =>
      runIn(
        dir,
        pipeline('lines', {
          steps: {
            lines: source.postgres({ url, query }),
            out: sink.postgres({
              input: ref('lines'),
              url,
              table: 'public.lines_out',
              mode,
              ...extra,
            } as never),
          },
        }),
      );
    expect((await write('append', 'SELECT * FROM lines')).error).toBeUndefined();
    expect((await write('append', 'SELECT * FROM lines WHERE order_id = 2')).error).toBeUndefined();
    expect(await rows(`SELECT count(*)::int AS n FROM lines_out`)).toEqual([{ n: 4 }]);

    await write('overwrite', 'SELECT * FROM lines');
    expect(await rows(`SELECT count(*)::int AS n FROM lines_out`)).toEqual([{ n: 3 }]);

    const replaced = await write('delete_insert', `SELECT 1 AS order_id, 'z' AS sku, 9 AS qty`, {
      keys: ['order_id'],
    });
    expect(replaced.error).toBeUndefined();
    expect(await rows(`SELECT order_id, sku, qty FROM lines_out ORDER BY order_id, sku`)).toEqual([
      { order_id: 1, sku: 'z', qty: 9 },
      { order_id: 2, sku: 'c', qty: 3 },
    ]);
  });

  it('adds new columns to an existing table, and leaves the table untouched when the run fails', async () => {
    await db.query(`CREATE TABLE grow (id integer PRIMARY KEY, name text)`);
    await db.query(`INSERT INTO grow VALUES (1, 'a')`);
    const dir = await tempDir();
    const ok = await runIn(
      dir,
      pipeline('grow', {
        steps: {
          rows: sql`SELECT 2 AS id, 'b' AS name, 42 AS extra`,
          out: sink.postgres({
            input: ref('rows'),
            url,
            table: 'grow',
            mode: 'merge',
            keys: ['id'],
          }),
        },
      }),
    );
    expect(ok.error).toBeUndefined();
    expect(await rows(`SELECT id, name, extra FROM grow ORDER BY id`)).toEqual([
      { id: 1, name: 'a', extra: null },
      { id: 2, name: 'b', extra: 42 },
    ]);

    const failed = await runIn(
      dir,
      pipeline('grow', {
        steps: {
          rows: sql`SELECT 3 AS id, 'c' AS name`,
          out: sink.postgres({ input: ref('rows'), url, table: 'grow', mode: 'append' }),
          boom: transform({
            input: ref('rows'),
            map: () => {
              throw new Error('a later step fails');
            },
          }),
          sinkAfter: sink.ndjson({ input: ref('boom'), path: 'x.ndjson' }),
        },
      }),
    );
    expect(failed.status).toBe('failed');
    expect(await rows(`SELECT count(*)::int AS n FROM grow`)).toEqual([{ n: 2 }]);
    const leftovers = await rows(
      `SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%sluice_stage%'`,
    );
    expect(leftovers).toEqual([]);
  });

  it('says clearly when the database is missing, the server is down, or the table is missing', async () => {
    const reportFor = async (sourceUrl: string, table = 'types') =>
      runIn(
        await tempDir(),
        pipeline('bad', {
          steps: {
            read: source.postgres({ url: sourceUrl, table }),
            out: sink.ndjson({ input: ref('read'), path: 'out.ndjson' }),
          },
        }),
      );
    const noDatabase = new URL(url);
    noDatabase.pathname = '/sluice_no_such_database';
    noDatabase.password = 'secret-password';
    const wrong = await reportFor(noDatabase.toString());
    expect(wrong.error?.code).toBe('SOURCE_FAILED');
    expect(wrong.error?.message).toContain(
      'cannot connect to postgres@127.0.0.1:5432/sluice_no_such_database',
    );
    expect(wrong.error?.hint).toContain('create the database');
    expect(JSON.stringify(wrong)).not.toContain('secret-password');

    const down = await reportFor('postgres://postgres@127.0.0.1:1/nowhere');
    expect(down.error?.code).toBe('SOURCE_FAILED');
    expect(down.error?.message).toContain('cannot connect to postgres@127.0.0.1:1/nowhere');
    expect(down.error?.retryable).toBe(true);

    const missing = await reportFor(url, 'no_such_table');
    expect(missing.error?.message).toContain('relation "no_such_table" does not exist');
    expect(missing.error?.retryable).toBeUndefined();
  });

  it('captures changes with pgoutput and applies them as merges, deletes included, exactly once', async () => {
    await db.query(
      `CREATE TABLE accounts (id integer PRIMARY KEY, owner text, balance numeric(10,2), tags text[], photo bytea)`,
    );
    await db.query(
      `INSERT INTO accounts VALUES (1, 'ann', 10, ARRAY['a'], '\\x01'), (2, 'bob', 20, NULL, NULL)`,
    );
    const dir = await tempDir();
    const p = pipeline('accounts_cdc', {
      steps: {
        changes: source.postgresCdc({
          url,
          table: 'public.accounts',
          slot: 'sluice_test_accounts',
        }),
        out: sink.postgres({
          input: ref('changes'),
          url,
          table: 'accounts_replica',
          mode: 'merge',
          keys: ['id'],
          latestBy: '_lsn',
          deleteWhen: { column: '_op', equals: 'delete' },
          exclude: ['_op', '_lsn'],
        }),
        log: sink.ndjson({ input: ref('changes'), path: 'changes.ndjson' }),
        lake: sink.delta({
          input: ref('changes'),
          path: 'lake/accounts',
          mode: 'merge',
          keys: ['id'],
          latestBy: '_lsn',
          deleteWhen: { column: '_op', equals: 'delete' },
          exclude: ['_op', '_lsn'],
        }),
      },
    });
    const lake = async (): Promise<unknown[]> =>
      (await readDeltaTable(dir, join(dir, 'lake', 'accounts')))
        .map((r) => [Number(r['id']), r['owner'], Number(r['balance']).toFixed(2)])
        .sort((a, b) => Number(a[0]) - Number(b[0]));
    const expectedLake = async (): Promise<unknown[]> =>
      (await rows(`SELECT id, owner, balance::text AS balance FROM accounts ORDER BY id`)).map(
        (r) => [r['id'], r['owner'], r['balance']],
      );
    const loggedOps = async (): Promise<unknown[]> =>
      (await readNDJSON(join(dir, 'changes.ndjson')))
        .sort((a, b) => Number(a['_lsn']) - Number(b['_lsn']))
        .map((r) => r['_op']);
    const replica = () =>
      rows(
        `SELECT id, owner, balance::text AS balance, tags, photo FROM accounts_replica ORDER BY id`,
      );
    const source_ = () =>
      rows(`SELECT id, owner, balance::text AS balance, tags, photo FROM accounts ORDER BY id`);

    // First run: the snapshot (changes made after the slot exists may overlap it).
    const first = await runIn(dir, p);
    expect(first.error).toBeUndefined();
    expect(first.steps[0]?.rowsOut).toBe(2);
    expect(await replica()).toEqual(await source_());

    // Inserts, updates (twice in one transaction), a delete, a row inserted then deleted.
    await db.query(`INSERT INTO accounts VALUES (3, 'cy', 30, ARRAY['x', 'y, z'], '\\xdeadbeef')`);
    await db.query(
      `BEGIN; UPDATE accounts SET balance = 11 WHERE id = 1; UPDATE accounts SET balance = 12, owner = 'Ann' WHERE id = 1; COMMIT`,
    );
    await db.query(`DELETE FROM accounts WHERE id = 2`);
    await db.query(`INSERT INTO accounts VALUES (4, 'dee', 40, NULL, NULL)`);
    await db.query(`DELETE FROM accounts WHERE id = 4`);
    const second = await runIn(dir, p, { watermarks: first.watermarks ?? {} });
    expect(second.error).toBeUndefined();
    expect(await loggedOps()).toEqual(['insert', 'update', 'update', 'delete', 'insert', 'delete']);
    expect(await replica()).toEqual(await source_());
    expect(await lake()).toEqual(await expectedLake());

    // A failed run does not confirm its changes: the next run reads them again.
    await db.query(`UPDATE accounts SET owner = 'cyrus' WHERE id = 3`);
    const failing = pipeline('accounts_cdc', {
      steps: {
        changes: source.postgresCdc({
          url,
          table: 'public.accounts',
          slot: 'sluice_test_accounts',
        }),
        boom: transform({
          input: ref('changes'),
          map: () => {
            throw new Error('downstream failure');
          },
        }),
        out: sink.ndjson({ input: ref('boom'), path: 'never.ndjson' }),
      },
    });
    const failed = await runIn(dir, failing, { watermarks: second.watermarks ?? {} });
    expect(failed.status).toBe('failed');
    expect(failed.watermarks).toBeUndefined();
    const third = await runIn(dir, p, { watermarks: second.watermarks ?? {} });
    expect(third.error).toBeUndefined();
    expect(third.steps[0]?.rowsOut).toBe(1);
    expect(await replica()).toEqual(await source_());
    expect(await lake()).toEqual(await expectedLake());

    // Nothing new: nothing read, and the slot has been confirmed up to the last run's position.
    const fourth = await runIn(dir, p, { watermarks: third.watermarks ?? {} });
    expect(fourth.steps[0]?.rowsOut).toBe(0);
    const [slot] = await rows(
      `SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'sluice_test_accounts'`,
    );
    expect(slot?.['lsn']).toBe(third.watermarks?.['changes']);
    await db.query(`SELECT pg_drop_replication_slot('sluice_test_accounts')`);
  });

  it('leaves nothing behind when the process is killed with SIGKILL after the sink copied its rows', async () => {
    const dir = await tempDir();
    const file = join(dir, 'killed.ts');
    await writeFile(
      file,
      `import { pipeline, ref, sink, sql, transform } from 'sluice';
export default pipeline('killed', {
  steps: {
    rows: sql\`SELECT range AS id, 'row ' || range AS label FROM range(100000)\`,
    out: sink.postgres({ input: ref('rows'), url: ${JSON.stringify(url)}, table: 'killed_target' }),
    slow: transform({ input: ref('rows'), map: async (row) => { await new Promise((r) => setTimeout(r, 60_000)); return row; } }),
    log: sink.ndjson({ input: ref('slow'), path: 'slow.ndjson' }),
  },
});`,
    );
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'sluice.js'), 'run', file, '--log-level', 'silent'],
      {
        stdio: 'ignore',
      },
    );
    // The sink's transaction is open (idle) once its COPY is done: kill the process then.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [open] = await rows(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sluice' AND datname = current_database() AND state = 'idle in transaction'`,
      );
      if (Number(open?.['n']) > 0) break;
      if (Date.now() > deadline) throw new Error('the sink never reached its open transaction');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // The server notices the dropped connection and rolls the transaction back.
    for (let tries = 0; tries < 100; tries++) {
      const [left] = await rows(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sluice' AND datname = current_database()`,
      );
      if (Number(left?.['n']) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await rows(`SELECT to_regclass('killed_target') IS NULL AS gone`)).toEqual([
      { gone: true },
    ]);
  });

  it('refuses a merge without keys before running anything', async () => {
    const report = await runIn(
      await tempDir(),
      pipeline('nokeys', {
        steps: {
          rows: sql`SELECT 1 AS id`,
          out: sink.postgres({ input: ref('rows'), url, table: 'x', mode: 'merge' }),
        },
      }),
    ).catch((error: unknown) => error as Error);
    expect(String((report as Error).message)).toContain('merge and delete_insert need keys');
  });
});
