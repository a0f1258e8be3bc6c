import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { readDeltaTable } from './support/orchestrator-project.js';
import { ROOT, tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const PAGES = 5;
const CHUNK = 5_000;
const CHUNKS = 8;

/** `count` events from number `from` on: one every 10 ms of event time, pages in turn. */
function events(from: number, count: number): string {
  let text = '';
  for (let i = from; i < from + count; i++)
    text += `${JSON.stringify({ id: i, page: `p${i % PAGES}`, ts: T0 + i * 10 })}\n`;
  return text;
}

function startStream(dir: string): ChildProcess {
  return spawn(
    process.execPath,
    [join(ROOT, 'bin', 'sluice.js'), 'stream', 'clicks.ts', '--log-level', 'warn'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function fileRows(dir: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  const folder = join(dir, 'out');
  for (const name of (await readdir(folder).catch(() => [])).filter((n) => n.endsWith('.ndjson')))
    for (const line of (await readFile(join(folder, name), 'utf8')).split('\n'))
      if (line !== '') rows.push(JSON.parse(line) as Record<string, unknown>);
  return rows;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const postgresMissing = await postgresUnavailable();

/**
 * Runs `sluice stream` over input that keeps arriving, kills it with SIGKILL once it has written
 * output, starts it again, and checks the sink holds every closed window exactly once.
 */
async function killAndResume(
  dir: string,
  sink: string,
  outputRows: () => Promise<Record<string, unknown>[]>,
): Promise<void> {
  await mkdir(join(dir, 'in'));
  await writeFile(
    join(dir, 'clicks.ts'),
    `import { count, stream, streamSink, streamSource, tumbling, window } from 'sluice/stream';
export default stream('clicks', {
  source: streamSource.files({ path: 'in' }),
  eventTime: 'ts',
  watermark: { idleTimeout: '300ms' },
  steps: [window({ key: 'page', window: tumbling('1s'), aggregate: { views: count() } })],
  sink: ${sink},
  checkpoint: { every: '50ms' },
  maxInFlight: 1000,
});
`,
  );
  const first = startStream(dir);
  const exited = new Promise<void>((resolve) => first.once('exit', () => resolve()));
  for (let chunk = 0; chunk < CHUNKS / 2; chunk++) {
    await appendFile(join(dir, 'in', 'clicks.ndjson'), events(chunk * CHUNK, CHUNK));
    await new Promise((r) => setTimeout(r, 100));
  }
  await waitFor('output from the first process', async () => (await outputRows()).length > 0);
  first.kill('SIGKILL');
  await exited;

  for (let chunk = CHUNKS / 2; chunk < CHUNKS; chunk++)
    await appendFile(join(dir, 'in', 'clicks.ndjson'), events(chunk * CHUNK, CHUNK));
  const second = startStream(dir);
  let stdout = '';
  second.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
  // The last window stays open: no event past its end has arrived.
  const windows = (CHUNKS * CHUNK * 10) / 1000 - 1;
  await waitFor('every window', async () => (await outputRows()).length >= windows * PAGES);
  const code = await new Promise<number | null>((resolve) => {
    second.once('exit', resolve);
    second.kill('SIGTERM');
  });
  expect(code).toBe(0);
  expect(stdout).toMatch(/stream clicks stopped at checkpoint \d+: 40000 records in/);

  const rows = await outputRows();
  const seen = new Map<string, number>();
  for (const row of rows) {
    const key = `${String(row['page'])}@${new Date(String(row['window_start'])).toISOString()}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    expect(Number(row['views'])).toBe(100 / PAGES);
  }
  expect(rows).toHaveLength(windows * PAGES);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
}

describe('sluice stream killed with SIGKILL', () => {
  it('resumes from its last checkpoint and writes every window to files exactly once', async () => {
    const dir = await tempDir();
    await killAndResume(dir, "streamSink.files({ path: 'out' })", () => fileRows(dir));
  }, 60_000);

  it("resumes from the snapshot of the table's last txn and commits every window to Delta exactly once", async () => {
    const dir = await tempDir();
    await killAndResume(dir, "streamSink.delta({ path: 'lake/views' })", async () =>
      existsSync(join(dir, 'lake', 'views', '_delta_log'))
        ? readDeltaTable(dir, join(dir, 'lake', 'views')).catch(() => [])
        : [],
    );
  }, 60_000);

  it.skipIf(postgresMissing !== undefined)(
    'resumes from the checkpoint committed with the rows and appends every window to PostgreSQL exactly once',
    async () => {
      const dir = await tempDir();
      const database = await createTestDatabase();
      const db = new pg.Client({ connectionString: database.url });
      await db.connect();
      try {
        await killAndResume(
          dir,
          `streamSink.postgres({ url: ${JSON.stringify(database.url)}, table: 'views', mode: 'append' })`,
          async () =>
            (
              await db
                .query('SELECT page, window_start, views FROM views')
                .catch(() => ({ rows: [] }))
            ).rows as Record<string, unknown>[],
        );
      } finally {
        await db.end();
        await database.drop();
      }
    },
    60_000,
  );
});
