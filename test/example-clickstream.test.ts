import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { click, produce } from '../examples/clickstream/produce.js';
import { ROOT, tempDir } from './helpers.js';
import { NATS_URL, createTestStream, natsUnavailable } from './support/nats.js';
import { readDeltaTable } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const missing = (await natsUnavailable()) ?? (await postgresUnavailable());
if (missing !== undefined) console.warn(`clickstream example skipped: ${missing}`);

const CLICKS = 1_200;
const START = Date.parse('2026-11-01T09:00:00Z');

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `sluice stream <file>` in `dir` until `done`, then stops it with SIGTERM. */
async function runStreamUntil(
  dir: string,
  file: string,
  env: NodeJS.ProcessEnv,
  done: () => Promise<boolean>,
): Promise<string> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sluice.js'), 'stream', file], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(`${file} to write its output (${stderr.slice(-500)})`, done);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited, stderr).toBe(0);
  return stdout;
}

describe.skipIf(missing !== undefined)('examples/clickstream', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('counts views and visitors per page and minute into PostgreSQL and lands every click in Delta, once', async () => {
    const nats = await createTestStream();
    cleanups.push(() => nats.drop());
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    cleanups.push(() => db.end());
    const dir = await tempDir('sluice-example-');
    await cp(join(ROOT, 'examples', 'clickstream'), dir, { recursive: true });
    const published = await produce({
      servers: NATS_URL,
      stream: nats.name,
      subject: `${nats.prefix}.web`,
      count: CLICKS,
      start: START,
    });
    const env = {
      SLUICE_EXAMPLE_NATS: NATS_URL,
      SLUICE_EXAMPLE_STREAM: nats.name,
      SLUICE_EXAMPLE_POSTGRES: database.url,
    };

    // Only the first minute closes: the newest click is at 09:01:59.9, the watermark 5 s behind.
    const expected = new Map<string, { views: number; visitors: Set<string> }>();
    for (let i = 0; i < CLICKS; i++) {
      const c = click(i, START);
      if (c['user_agent'] === 'bot' || Date.parse(String(c['ts'])) >= START + 60_000) continue;
      const page = String(c['page']);
      const entry = expected.get(page) ?? { views: 0, visitors: new Set<string>() };
      entry.views++;
      entry.visitors.add(String(c['user_id']));
      expected.set(page, entry);
    }
    const viewRows = async (): Promise<Record<string, unknown>[]> =>
      (
        await db
          .query(
            'SELECT page, window_start, views::int AS views, visitors::int AS visitors FROM analytics.page_views ORDER BY page',
          )
          .catch(() => ({ rows: [] }))
      ).rows as Record<string, unknown>[];
    await runStreamUntil(
      dir,
      'streams/page_views.ts',
      env,
      async () => (await viewRows()).length === expected.size,
    );
    expect(await viewRows()).toEqual(
      [...expected]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([page, e]) => ({
          page,
          window_start: new Date(START),
          views: e.views,
          visitors: e.visitors.size,
        })),
    );

    const lake = join(dir, 'lake', 'clicks');
    const lakeRows = async (): Promise<Record<string, unknown>[]> =>
      existsSync(join(lake, '_delta_log')) ? readDeltaTable(dir, lake).catch(() => []) : [];
    const stdout = await runStreamUntil(
      dir,
      'streams/clicks_lake.ts',
      env,
      async () => (await lakeRows()).length >= published,
    );
    expect(stdout).toMatch(
      new RegExp(`stream clicks_lake stopped at checkpoint \\d+: ${published} records in`),
    );
    expect(await lakeRows()).toHaveLength(published);
  }, 120_000);
});
