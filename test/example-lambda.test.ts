import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { publish, readMessages } from '../examples/medallion/publish.js';
import { ROOT, readNDJSON, tempDir } from './helpers.js';
import { appendedRows } from './support/delta-rows.js';
import { NATS_URL, createTestStream, natsUnavailable } from './support/nats.js';
import { readDeltaTable } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';
import { runSluice, startSluice, waitFor } from './support/sluice-process.js';

const missing = (await natsUnavailable()) ?? (await postgresUnavailable());
if (missing !== undefined) console.warn(`lambda example skipped: ${missing}`);

const EXAMPLE = join(ROOT, 'examples', 'lambda');

/** Rows of the merged view: store, minute (UTC), end of the minute, sales, revenue, layer. */
type ServedRow = [string, string, string, number, number, 'batch' | 'speed'];

describe.skipIf(missing !== undefined)('examples/lambda', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('serves exact batch totals before the cutoff and live speed totals after it, and the next batch run takes over', async () => {
    const nats = await createTestStream();
    cleanups.push(() => nats.drop());
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.push(() => db.end());
    await db.query(await readFile(join(EXAMPLE, 'setup.sql'), 'utf8'));
    const dir = await tempDir('sluice-example-');
    await cp(EXAMPLE, dir, {
      recursive: true,
      filter: (path) => !/^(out|\.sluice)(\/|$)/.test(relative(EXAMPLE, path)),
    });
    const env = {
      SLUICE_EXAMPLE_NATS: NATS_URL,
      SLUICE_EXAMPLE_STREAM: nats.name,
      SLUICE_EXAMPLE_POSTGRES: database.url,
    };
    const sales = (file: string): Promise<string[]> => readMessages(join(EXAMPLE, 'data', file));
    const subject = `${nats.prefix}.pos`;

    const served = async (): Promise<ServedRow[]> =>
      (
        await db.query<{ row: ServedRow }>(
          `SELECT json_build_array(store, to_char(window_start AT TIME ZONE 'UTC', 'HH24:MI'),
                  to_char(window_end AT TIME ZONE 'UTC', 'HH24:MI'), sales, revenue_cents, layer) AS row
           FROM serving.sales_per_minute ORDER BY window_start, store`,
        )
      ).rows.map((r) => r.row);
    const lake = join(dir, 'out', 'lake', 'sales');
    const quarantine = async (stream: string, kind: 'late' | 'invalid'): Promise<unknown[]> => {
      const file = join(dir, '.sluice', 'streams', stream, 'quarantine', `${kind}.ndjson`);
      return existsSync(file)
        ? (await readNDJSON(file)).map((q) => (q['record'] as Record<string, unknown>)['event_id'])
        : [];
    };
    const batchRun = async (...params: string[]): Promise<void> => {
      const run = await runSluice(['run', 'pipelines/batch_sales.ts', ...params], {
        cwd: dir,
        env,
      });
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
    };

    await publish({
      servers: NATS_URL,
      stream: nats.name,
      subject,
      messages: await sales('sales-1.ndjson'),
    });
    const masterStream = startSluice(['stream', 'streams/sales_master.ts'], { cwd: dir, env });
    cleanups.push(() => masterStream.stop('SIGKILL'));
    const speedStream = startSluice(['stream', 'streams/speed_sales.ts'], { cwd: dir, env });
    cleanups.push(() => speedStream.stop('SIGKILL'));

    // Before any batch run the speed layer serves everything: e3's retry counts once, e-bad
    // (no valid time) is quarantined by both streams.
    const live: ServedRow[] = [
      ['berlin', '10:00', '10:01', 2, 1200, 'speed'],
      ['paris', '10:00', '10:01', 1, 1200, 'speed'],
      ['berlin', '10:01', '10:02', 1, 300, 'speed'],
      ['paris', '10:01', '10:02', 1, 800, 'speed'],
      ['berlin', '10:02', '10:03', 1, 1000, 'speed'],
      ['paris', '10:02', '10:03', 1, 250, 'speed'],
    ];
    await waitFor(
      () => `the speed view (${speedStream.stderr().slice(-500)})`,
      async () => JSON.stringify(await served()) === JSON.stringify(live),
    );
    await waitFor(
      () => `the master dataset to hold 8 sales (${masterStream.stderr().slice(-500)})`,
      async () => (await appendedRows(lake)) === 8,
    );

    // First batch run, cutoff 10:02: the minutes before it come from the batch view.
    await batchRun('--param', 'cutoff=2026-11-01T10:02:00Z');
    expect(await served()).toEqual([
      ['berlin', '10:00', '10:01', 2, 1200, 'batch'],
      ['paris', '10:00', '10:01', 1, 1200, 'batch'],
      ['berlin', '10:01', '10:02', 1, 300, 'batch'],
      ['paris', '10:01', '10:02', 1, 800, 'batch'],
      ['berlin', '10:02', '10:03', 1, 1000, 'speed'],
      ['paris', '10:02', '10:03', 1, 250, 'speed'],
    ]);

    // New sales reach the view through the speed layer at once. e10 (berlin, 10:01:50) comes
    // after its minute closed plus 30 s: the speed layer quarantines it as late, and the batch
    // view does not have it yet. e4 comes again (a retry) and counts nowhere twice.
    await publish({
      servers: NATS_URL,
      stream: nats.name,
      subject,
      messages: await sales('sales-2.ndjson'),
    });
    await waitFor(
      () => `the new minutes in the speed view (${speedStream.stderr().slice(-500)})`,
      async () =>
        (await served()).length === 9 && (await quarantine('speed_sales', 'late')).length > 0,
    );
    expect(await served()).toEqual([
      ['berlin', '10:00', '10:01', 2, 1200, 'batch'],
      ['paris', '10:00', '10:01', 1, 1200, 'batch'],
      ['berlin', '10:01', '10:02', 1, 300, 'batch'],
      ['paris', '10:01', '10:02', 1, 800, 'batch'],
      ['berlin', '10:02', '10:03', 1, 1000, 'speed'],
      ['paris', '10:02', '10:03', 1, 250, 'speed'],
      ['berlin', '10:03', '10:04', 1, 400, 'speed'],
      ['paris', '10:03', '10:04', 1, 600, 'speed'],
      ['paris', '10:04', '10:05', 1, 100, 'speed'],
    ]);
    expect(await quarantine('speed_sales', 'late')).toEqual(['e10']);
    await waitFor(
      () => `the master dataset to hold 13 sales (${masterStream.stderr().slice(-500)})`,
      async () => (await appendedRows(lake)) === 13,
    );

    // Second batch run, default cutoff (the newest sale's minute, 10:04): the batch view now has
    // e10 in berlin's 10:01 (300 + 900) and e4 once; only 10:04 is still served by speed.
    await batchRun();
    expect(await served()).toEqual([
      ['berlin', '10:00', '10:01', 2, 1200, 'batch'],
      ['paris', '10:00', '10:01', 1, 1200, 'batch'],
      ['berlin', '10:01', '10:02', 2, 1200, 'batch'],
      ['paris', '10:01', '10:02', 1, 800, 'batch'],
      ['berlin', '10:02', '10:03', 1, 1000, 'batch'],
      ['paris', '10:02', '10:03', 1, 250, 'batch'],
      ['berlin', '10:03', '10:04', 1, 400, 'batch'],
      ['paris', '10:03', '10:04', 1, 600, 'batch'],
      ['paris', '10:04', '10:05', 1, 100, 'speed'],
    ]);
    const cutoff = await db.query<{ cutoff: Date }>('SELECT cutoff FROM serving.batch_cutoff');
    expect(cutoff.rows.map((r) => r.cutoff.toISOString())).toEqual(['2026-11-01T10:04:00.000Z']);

    const [masterExit, speedExit] = await Promise.all([masterStream.stop(), speedStream.stop()]);
    expect(masterExit.code, masterExit.stderr.slice(-2000)).toBe(0);
    expect(masterExit.stdout).toMatch(
      /stream sales_master stopped at checkpoint \d+: 14 records in, 13 out, 0 late, 1 invalid/,
    );
    expect(speedExit.code, speedExit.stderr.slice(-2000)).toBe(0);
    expect(speedExit.stdout).toMatch(
      /stream speed_sales stopped at checkpoint \d+: 14 records in, \d+ out, 1 late, 1 invalid/,
    );
    expect(await quarantine('sales_master', 'invalid')).toEqual(['e-bad']);
    expect(await quarantine('speed_sales', 'invalid')).toEqual(['e-bad']);
    // The master dataset keeps every sale as it arrived, retries included.
    expect(
      (await readDeltaTable(dir, lake))
        .map((s) => String(s['event_id']))
        .sort((a, b) => a.localeCompare(b, 'en', { numeric: true })),
    ).toEqual(['e1', 'e2', 'e3', 'e3', 'e4', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9', 'e10', 'e11']);
  }, 120_000);
});
