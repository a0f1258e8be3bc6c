import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamLeases } from '../src/orchestrator/stream-leases.js';
import { ROOT, sluice, tempDir } from './helpers.js';
import { createTestStream, natsUnavailable } from './support/nats.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const USERS = 8;
const PARTITIONS = 4;
const CHUNK = 3_000;

interface Click {
  readonly id: number;
  readonly user: string;
  readonly ts: number;
}

/** Click `i`: one every 10 ms of event time, users in turn; user `uN` lives in partition N % 4. */
const click = (i: number): Click => ({ id: i, user: `u${i % USERS}`, ts: T0 + i * 10 });
const partitionOf = (i: number): number => (i % USERS) % PARTITIONS;

/**
 * The windows a correct run writes: views per user and 1 s window, for the windows each
 * partition's watermark (its newest event time) has closed.
 */
function expectedWindows(total: number): Map<string, number> {
  const newest = new Map<number, number>();
  for (let i = 0; i < total; i++) newest.set(partitionOf(i), click(i).ts);
  const views = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const { user, ts } = click(i);
    const start = ts - ((ts - T0) % 1000);
    if (start + 1000 > (newest.get(partitionOf(i)) as number)) continue;
    const key = `${user}@${new Date(start).toISOString()}`;
    views.set(key, (views.get(key) ?? 0) + 1);
  }
  return views;
}

function startWorker(dir: string, store: string, worker: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'sluice.js'),
      'stream',
      'clicks.ts',
      '--store',
      store,
      '--worker',
      worker,
      '--log-level',
      'warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 45_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const missing = (await postgresUnavailable()) ?? (await natsUnavailable());
if (missing !== undefined) console.warn(`stream scale-out tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)(
  'a stream spread over several sluice stream processes',
  () => {
    it('shares the partitions by lease, takes a SIGKILLed worker over, and writes every window to PostgreSQL exactly once', async () => {
      const dir = await tempDir();
      const database = await createTestDatabase();
      const nats = await createTestStream();
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      const workers: ChildProcess[] = [];
      try {
        const subjects = Array.from({ length: PARTITIONS }, (_, p) => `${nats.prefix}.${p}`);
        await writeFile(
          join(dir, 'clicks.ts'),
          `import { count, stream, streamSink, streamSource, tumbling, window } from 'sluice/stream';
export default stream('clicks', {
  source: streamSource.nats({ servers: 'nats://127.0.0.1:4222', stream: ${JSON.stringify(nats.name)}, subjects: ${JSON.stringify(subjects)} }),
  eventTime: 'ts',
  steps: [window({ key: 'user', window: tumbling('1s'), aggregate: { views: count() } })],
  sink: streamSink.postgres({ url: ${JSON.stringify(database.url)}, table: 'views', mode: 'append' }),
  checkpoint: { every: '100ms' },
  scaleOut: { leaseTimeout: '2s' },
});
`,
        );
        let published = 0;
        const publish = async (count: number): Promise<void> => {
          for (let p = 0; p < PARTITIONS; p++) {
            const clicks: Click[] = [];
            for (let i = published; i < published + count; i++)
              if (partitionOf(i) === p) clicks.push(click(i));
            await nats.publish(clicks, String(p));
          }
          published += count;
        };
        const store = await RunStore.open(database.url);
        const owners = async (): Promise<Map<string, number>> => {
          const held = new Map<string, number>();
          const leases = await new StreamLeases(store).list('clicks');
          for (const lease of leases.filter((l) => l.expiresAt >= Date.now()))
            held.set(lease.owner, (held.get(lease.owner) ?? 0) + 1);
          return held;
        };
        const windowsWritten = async (): Promise<number> =>
          Number(
            (await db.query('SELECT count(*) AS n FROM views').catch(() => ({ rows: [{ n: 0 }] })))
              .rows[0].n,
          );

        const a = startWorker(dir, database.url, 'worker-a');
        workers.push(a);
        await publish(CHUNK);
        await waitFor(
          'worker a to hold every partition',
          async () => (await owners()).get('worker-a') === PARTITIONS,
        );
        const b = startWorker(dir, database.url, 'worker-b');
        workers.push(b);
        let stdout = '';
        b.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
        await waitFor('the partitions shared two and two', async () => {
          const held = await owners();
          return held.get('worker-a') === 2 && held.get('worker-b') === 2;
        });
        await publish(CHUNK);
        await waitFor('output of the second chunk', async () => (await windowsWritten()) > 20);
        const killed = new Promise<void>((resolve) => a.once('exit', () => resolve()));
        a.kill('SIGKILL');
        await killed;
        await publish(CHUNK);
        await waitFor(
          'worker b to take every partition over',
          async () => (await owners()).get('worker-b') === PARTITIONS,
        );
        await publish(CHUNK);

        const expected = expectedWindows(published);
        await waitFor('every closed window', async () => (await windowsWritten()) >= expected.size);
        const code = await new Promise<number | null>((resolve) => {
          b.once('exit', resolve);
          b.kill('SIGTERM');
        });
        expect(code).toBe(0);
        for (const subject of subjects)
          expect(stdout).toContain(`stream clicks@${subject} stopped at checkpoint`);

        const { rows } = await db.query<{ user: string; window_start: Date; views: string }>(
          'SELECT "user", window_start, views FROM views',
        );
        const written = new Map<string, number>();
        for (const row of rows) {
          const key = `${row.user}@${new Date(row.window_start).toISOString()}`;
          expect(written.has(key), `window ${key} written twice`).toBe(false);
          written.set(key, Number(row.views));
        }
        expect(written).toEqual(expected);

        const status = await sluice(['runs', '--streams', '--json', '--store', database.url], dir);
        expect(status.code).toBe(0);
        const streams = JSON.parse(status.stdout) as {
          stream: string;
          recordsIn: number;
          lag?: number;
        }[];
        expect(streams.map((s) => s.stream).sort()).toEqual(
          subjects.map((s) => `clicks@${s}`).sort(),
        );
        expect(streams.reduce((sum, s) => sum + s.recordsIn, 0)).toBe(published);
        expect(streams.every((s) => s.lag === 0)).toBe(true);
        await store.close();
      } finally {
        for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
        await db.end();
        await nats.drop();
        await database.drop();
      }
    }, 120_000);
  },
);
