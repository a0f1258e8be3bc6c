import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, ref, sink, source } from '../src/index.js';
import { readNDJSON, runIn, sluice, tempDir } from './helpers.js';
import { readDeltaTable, recordingLogger } from './support/full-refresh.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined)
  console.warn(`PostgreSQL CDC truncate tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('postgres_cdc source and TRUNCATE', () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: pg.Client;

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    db = new pg.Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()',
    );
    await db?.end();
    await drop?.();
  });

  it('refuses a TRUNCATE clearly, and --full-refresh starts over with a new snapshot past it and replaces the merged replicas', async () => {
    await db.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await db.query("INSERT INTO items VALUES (1, 'a'), (2, 'b')");
    const dir = await tempDir();
    const p = pipeline('items_cdc', {
      steps: {
        changes: source.postgresCdc({ url, table: 'public.items', slot: 'sluice_test_truncate' }),
        log: sink.ndjson({ input: ref('changes'), path: 'changes.ndjson' }),
        replica: sink.postgres({
          input: ref('changes'),
          url,
          table: 'items_replica',
          mode: 'merge',
          keys: ['id'],
          latestBy: '_lsn',
          deleteWhen: { column: '_op', equals: 'delete' },
          exclude: ['_op', '_lsn'],
        }),
        lake: sink.delta({
          input: ref('changes'),
          path: 'lake/items',
          mode: 'merge',
          keys: ['id'],
          latestBy: '_lsn',
          deleteWhen: { column: '_op', equals: 'delete' },
          exclude: ['_op', '_lsn'],
        }),
      },
    });
    const replica = async (): Promise<unknown[]> =>
      (await db.query('SELECT id, name FROM items_replica ORDER BY id')).rows;
    const lake = async (version?: number): Promise<unknown[]> =>
      (await readDeltaTable(join(dir, 'lake', 'items'), version)).map((r) => ({
        id: r['id'],
        name: r['name'],
      }));
    const table = async (): Promise<unknown[]> =>
      (await db.query('SELECT id, name FROM items ORDER BY id')).rows;
    const logged = async (): Promise<unknown[]> =>
      (await readNDJSON(join(dir, 'changes.ndjson')))
        .map((r) => [r['_op'], r['id'], r['name']])
        .sort((a, b) => Number(a[1]) - Number(b[1]));

    const first = await runIn(dir, p);
    expect(first.error).toBeUndefined();
    expect(await logged()).toEqual([
      ['snapshot', 1, 'a'],
      ['snapshot', 2, 'b'],
    ]);

    await db.query("INSERT INTO items VALUES (3, 'c')");
    await db.query('TRUNCATE items');
    await db.query("INSERT INTO items VALUES (7, 'g'), (8, 'h')");

    // A normal run refuses the truncate, names it, and says how to start over.
    const refused = await runIn(dir, p, { watermarks: first.watermarks ?? {} });
    expect(refused.status).toBe('failed');
    expect(refused.error?.code).toBe('SOURCE_FAILED');
    expect(refused.error?.message).toMatch(/public\.items was truncated \(at /);
    expect(refused.error?.hint).toMatch(/--full-refresh/);
    expect(refused.watermarks).toBeUndefined();

    expect(refused.error?.hint).not.toMatch(/clear it first/);
    const before = [
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ];
    expect(await replica()).toEqual(before);
    expect(await lake()).toEqual(before);

    // --full-refresh (no state) reads the table as it is now, and none of the changes before;
    // the merged replicas are replaced by the snapshot (nothing cleared by hand), so the rows
    // the truncate removed are gone from them too.
    const logger = recordingLogger();
    const refreshed = await runIn(dir, p, { watermarks: {}, fullRefresh: true, logger });
    expect(refreshed.error).toBeUndefined();
    expect(await logged()).toEqual([
      ['snapshot', 7, 'g'],
      ['snapshot', 8, 'h'],
    ]);
    expect(await table()).toEqual([
      { id: 7, name: 'g' },
      { id: 8, name: 'h' },
    ]);
    expect(await replica()).toEqual(await table());
    expect(await lake()).toEqual(await table());
    // The Delta replica changed in one commit: the version before it still reads the old rows.
    expect(await lake(0)).toEqual(before);
    expect(await lake(1)).toEqual(await table());
    const replaced = logger.entries.filter((e) => /^full refresh: /.test(String(e['message'])));
    expect(replaced.map((e) => e['table']).sort()).toEqual(
      ['items_replica', join(dir, 'lake', 'items')].sort(),
    );
    const refreshedAt = refreshed.watermarks?.['changes'];
    expect(refreshedAt).toBeDefined();

    // The next run moves the slot to the refresh's position and reads only what came after it.
    await db.query("UPDATE items SET name = 'G' WHERE id = 7");
    const next = await runIn(dir, p, { watermarks: refreshed.watermarks ?? {} });
    expect(next.error).toBeUndefined();
    expect(await logged()).toEqual([['update', 7, 'G']]);
    expect(await replica()).toEqual(await table());
    expect(await lake()).toEqual(await table());
    const slot = await db.query<{ lsn: string }>(
      "SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = 'sluice_test_truncate'",
    );
    expect(slot.rows[0]?.lsn).toBe(refreshedAt);
  });

  it('sluice run --full-refresh, after the run a TRUNCATE failed, leaves the replicas equal to the table', async () => {
    await db.query('CREATE TABLE cli_items (id int PRIMARY KEY, name text)');
    await db.query("INSERT INTO cli_items VALUES (1, 'a'), (2, 'b')");
    const dir = await tempDir();
    const file = join(dir, 'p.ts');
    await writeFile(
      file,
      `import { pipeline, ref, sink, source } from 'sluice';
const url = ${JSON.stringify(url)};
const change = { mode: 'merge', keys: ['id'], latestBy: '_lsn', deleteWhen: { column: '_op', equals: 'delete' }, exclude: ['_op', '_lsn'] } as const;
export default pipeline('cli_items_cdc', {
  steps: {
    changes: source.postgresCdc({ url, table: 'public.cli_items', slot: 'sluice_test_truncate_cli' }),
    replica: sink.postgres({ input: ref('changes'), url, table: 'cli_items_replica', ...change }),
    lake: sink.delta({ input: ref('changes'), path: 'lake/cli_items', ...change }),
  },
});
`,
    );
    const run = (...extra: string[]) =>
      sluice(['run', file, '--state-dir', join(dir, 'state'), ...extra], dir);
    const table = async (name: string): Promise<unknown[]> =>
      (await db.query(`SELECT id, name FROM ${name} ORDER BY id`)).rows;
    const lake = async (): Promise<unknown[]> =>
      (await readDeltaTable(join(dir, 'lake', 'cli_items'))).map((r) => ({
        id: r['id'],
        name: r['name'],
      }));

    const first = run();
    expect(first.code, first.stderr).toBe(0);
    await db.query('TRUNCATE cli_items');
    await db.query("INSERT INTO cli_items VALUES (5, 'e')");
    const refused = run();
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/Error \[SOURCE_FAILED\]: .*public\.cli_items was truncated/);
    expect(refused.stdout).toMatch(/hint: .*`sluice run <pipeline> --full-refresh`/);
    expect(await table('cli_items_replica')).toEqual([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);

    const refreshed = run('--full-refresh');
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(await table('cli_items_replica')).toEqual([{ id: 5, name: 'e' }]);
    expect(await lake()).toEqual([{ id: 5, name: 'e' }]);
    expect(refreshed.stderr.match(/full refresh: the target table was replaced/g)).toHaveLength(2);

    // The runs after it merge changes again.
    await db.query("INSERT INTO cli_items VALUES (6, 'f')");
    const next = run();
    expect(next.code, next.stderr).toBe(0);
    expect(await table('cli_items_replica')).toEqual(await table('cli_items'));
    expect(await lake()).toEqual(await table('cli_items'));
  });

  it('a failed full refresh loses nothing: the run after it with the old state still refuses', async () => {
    await db.query('CREATE TABLE parts (id int PRIMARY KEY, name text)');
    await db.query("INSERT INTO parts VALUES (1, 'a')");
    const dir = await tempDir();
    const steps = {
      changes: source.postgresCdc({ url, table: 'public.parts', slot: 'sluice_test_truncate2' }),
      log: sink.ndjson({ input: ref('changes'), path: 'changes.ndjson' }),
    };
    const first = await runIn(dir, pipeline('parts_cdc', { steps }));
    expect(first.error).toBeUndefined();
    await db.query('TRUNCATE parts');
    await db.query("INSERT INTO parts VALUES (2, 'b')");
    const failing = pipeline('parts_cdc', {
      steps: {
        ...steps,
        log: sink.ndjson({ input: ref('changes'), path: join('missing\0', 'x.ndjson') }),
      },
    });
    const failedRefresh = await runIn(dir, failing, { watermarks: {}, fullRefresh: true });
    expect(failedRefresh.status).toBe('failed');
    // The slot did not move past the truncate, so a run with the old state still meets it.
    const again = await runIn(dir, pipeline('parts_cdc', { steps }), {
      watermarks: first.watermarks ?? {},
    });
    expect(again.error?.message).toMatch(/public\.parts was truncated/);
  });

  it('a TRUNCATE of another table of the same publication is not refused', async () => {
    await db.query('CREATE TABLE kept (id int PRIMARY KEY)');
    await db.query('CREATE TABLE other (id int PRIMARY KEY)');
    await db.query('CREATE PUBLICATION sluice_test_shared FOR TABLE kept, other');
    const dir = await tempDir();
    const p = pipeline('kept_cdc', {
      steps: {
        changes: source.postgresCdc({
          url,
          table: 'public.kept',
          slot: 'sluice_test_truncate3',
          publication: 'sluice_test_shared',
        }),
        log: sink.ndjson({ input: ref('changes'), path: 'changes.ndjson' }),
      },
    });
    const first = await runIn(dir, p);
    expect(first.error).toBeUndefined();
    await db.query('INSERT INTO other VALUES (1)');
    await db.query('TRUNCATE other');
    await db.query('INSERT INTO kept VALUES (5)');
    const second = await runIn(dir, p, { watermarks: first.watermarks ?? {} });
    expect(second.error).toBeUndefined();
    expect((await readNDJSON(join(dir, 'changes.ndjson'))).map((r) => [r['_op'], r['id']])).toEqual(
      [['insert', 5]],
    );
  });
});
