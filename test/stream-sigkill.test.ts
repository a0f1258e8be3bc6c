import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';

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

async function outputRows(dir: string): Promise<Record<string, unknown>[]> {
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

describe('sluice stream killed with SIGKILL', () => {
  it('resumes from its last checkpoint and writes every window exactly once', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    await writeFile(
      join(dir, 'clicks.ts'),
      `import { count, stream, streamSink, streamSource, tumbling, window } from 'sluice/stream';
export default stream('clicks', {
  source: streamSource.files({ path: 'in' }),
  eventTime: 'ts',
  watermark: { idleTimeout: '300ms' },
  steps: [window({ key: 'page', window: tumbling('1s'), aggregate: { views: count() } })],
  sink: streamSink.files({ path: 'out' }),
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
    await waitFor('output from the first process', async () => (await outputRows(dir)).length > 0);
    first.kill('SIGKILL');
    await exited;

    for (let chunk = CHUNKS / 2; chunk < CHUNKS; chunk++)
      await appendFile(join(dir, 'in', 'clicks.ndjson'), events(chunk * CHUNK, CHUNK));
    const second = startStream(dir);
    let stdout = '';
    second.stdout?.on('data', (data: Buffer) => (stdout += data.toString()));
    // The last window stays open: no event past its end has arrived.
    const windows = (CHUNKS * CHUNK * 10) / 1000 - 1;
    await waitFor('every window', async () => (await outputRows(dir)).length >= windows * PAGES);
    const code = await new Promise<number | null>((resolve) => {
      second.once('exit', resolve);
      second.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/stream clicks stopped at checkpoint \d+: 40000 records in/);

    const rows = await outputRows(dir);
    const seen = new Map<string, number>();
    for (const row of rows) {
      const key = `${String(row['page'])}@${String(row['window_start'])}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      expect(row['views']).toBe(100 / PAGES);
    }
    expect(rows).toHaveLength(windows * PAGES);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);
});
