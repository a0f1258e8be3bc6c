import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';
import { readDeltaTable } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`cdc-stream example skipped: ${unavailable}`);

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(unavailable !== undefined)('examples/cdc-stream', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('mirrors inserts, updates and deletes into Delta as they commit, across a SIGKILL', async () => {
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
    const example = join(ROOT, 'examples', 'cdc-stream');
    await db.query(await readFile(join(example, 'setup.sql'), 'utf8'));
    const dir = await tempDir('sluice-example-');
    await cp(example, dir, { recursive: true });
    const start = () =>
      spawn(
        process.execPath,
        [join(ROOT, 'bin', 'sluice.js'), 'stream', 'streams/accounts_replica.ts'],
        {
          cwd: dir,
          env: { ...process.env, SLUICE_EXAMPLE_POSTGRES: database.url },
          stdio: 'ignore',
        },
      );
    const lake = join(dir, 'lake', 'accounts');
    const mirror = async (): Promise<unknown[][]> =>
      existsSync(join(lake, '_delta_log'))
        ? (await readDeltaTable(dir, lake).catch(() => []))
            .map((r) => [Number(r['id']), r['owner'], Number(r['balance'])])
            .sort((a, b) => Number(a[0]) - Number(b[0]))
        : [];
    const slotReady = async (): Promise<boolean> =>
      ((await db.query('SELECT 1 FROM pg_replication_slots WHERE database = current_database()'))
        .rowCount ?? 0) > 0;

    const first = start();
    const firstExit = new Promise((resolve) => first.once('exit', resolve));
    await waitFor('the replication slot', slotReady);
    await db.query(
      "INSERT INTO accounts (id, owner, balance) VALUES (1, 'ada', 10), (2, 'grace', 20), (3, 'linus', 30)",
    );
    await db.query('UPDATE accounts SET balance = 11 WHERE id = 1');
    await db.query('UPDATE accounts SET balance = 12 WHERE id = 1');
    await waitFor('the first changes in Delta', async () => (await mirror()).length === 3);
    first.kill('SIGKILL');
    await firstExit;

    // Changes while the stream is down are kept by the slot and applied after the restart.
    await db.query('DELETE FROM accounts WHERE id = 2');
    await db.query("UPDATE accounts SET owner = 'torvalds' WHERE id = 3");
    await db.query("INSERT INTO accounts (id, owner, balance) VALUES (4, 'hedy', 40)");
    const second = start();
    const secondExit = new Promise((resolve) => second.once('exit', resolve));
    const expected = [
      [1, 'ada', 12],
      [3, 'torvalds', 30],
      [4, 'hedy', 40],
    ];
    await waitFor(
      'the changes made while it was down',
      async () => JSON.stringify(await mirror()) === JSON.stringify(expected),
    );
    second.kill('SIGTERM');
    expect(await secondExit).toBe(0);
    expect(await mirror()).toEqual(expected);
  }, 120_000);
});
