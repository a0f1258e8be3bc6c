import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';
import { hasPromtool, promtoolCheckMetrics, samples, valueOf } from './support/exposition.js';
import { orchestratorProject } from './support/orchestrator-project.js';
import { sluiceEnv, startListener, stopListener } from './support/sluice-listener.js';

// `sluice worker --metrics-port` and `sluice stream --metrics-port` as a user runs them (dist/):
// the same token rules as `serve --http`, and the figures the process records as it works.

const CI = process.env['CI'] === 'true';
const promtool = hasPromtool();
if (CI && !promtool) throw new Error('promtool is missing (apt-get install prometheus)');
const TOKEN = 'metrics-test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };

const children: ChildProcess[] = [];
// Stopped and gone before the test's folders are removed: a stopping serve still writes there.
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => stopListener(child)));
});

function sluice(args: readonly string[], extra: Record<string, string> = {}, cwd = ROOT) {
  return spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), ...args], {
    cwd,
    env: sluiceEnv(extra),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** Starts a long-running command with a token set; resolves with its metrics URL. */
function start(
  args: readonly string[],
  cwd: string,
): { child: ChildProcess; url: Promise<string> } {
  const started = startListener(args, {
    cwd,
    env: { SLUICE_API_TOKEN: TOKEN },
    announces: 'metrics',
  });
  children.push(started.child);
  return started;
}

/** Scrapes until `done` says the figures are there; answers the last scrape. */
async function scrapeUntil(url: string, done: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const response = await fetch(url, { headers: auth });
    expect(response.status).toBe(200);
    const text = await response.text();
    if (done(text)) return text;
    if (Date.now() > deadline) throw new Error(`figures not there in 90 s:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('--metrics-port refuses unsafe or impossible settings at start-up', () => {
  it('refuses an address beyond loopback without a token, and a malformed one', async () => {
    const dir = await orchestratorProject();
    const open = sluice(['worker', '--project', dir, '--metrics-port', '0.0.0.0:0']);
    expect(open.status, open.stderr).toBe(2);
    expect(open.stderr).toContain('refusing to listen on 0.0.0.0:0 without authentication');
    const bad = sluice(['worker', '--project', dir, '--metrics-port', 'nine']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--metrics-port expects [host:]port, got "nine"');
    const empty = sluice(['worker', '--project', dir, '--metrics-port', '0'], {
      SLUICE_API_TOKEN: ' ',
    });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('the API token is empty');
  });
});

describe.skipIf(!promtool)('GET /metrics of sluice worker --metrics-port', () => {
  it('needs a token once one exists and counts the runs the worker ran', async () => {
    const dir = await orchestratorProject();
    const queued = sluice(['trigger', 'work', '--param', 'n=3', '--project', dir, '--json']);
    expect(queued.status, queued.stderr).toBe(0);
    const { child, url } = start(
      ['worker', '--project', dir, '--pipeline', 'work', '--metrics-port', '127.0.0.1:0'],
      ROOT,
    );
    const metrics = await url;
    expect((await fetch(metrics)).status).toBe(401);
    expect((await fetch(metrics, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(metrics.replace('/metrics', '/api/runs'), { headers: auth })).status).toBe(
      404,
    );
    const text = await scrapeUntil(metrics, (t) =>
      t.includes('sluice_runs_total{pipeline="work",status="success"} 1'),
    );
    expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
    const all = samples(text);
    expect(
      valueOf(all, 'sluice_step_records_total', {
        pipeline: 'work',
        step: 'item',
        direction: 'out',
      }),
    ).toBe(1);
    expect(text).toMatch(/^sluice_build_info\{version="[^"]+",node_version="v\d+/m);
    expect(await stopListener(child)).toBe(0);
  });
});

describe.skipIf(!promtool)('GET /metrics of sluice stream --metrics-port', () => {
  it('exports the stream families as the stream runs', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const events = Array.from({ length: 100 }, (_, i) => ({ page: `p${i % 4}`, ts: t0 + i * 100 }));
    await writeFile(
      join(dir, 'in', 'clicks.ndjson'),
      [...events.map((e) => JSON.stringify(e)), '{"broken'].join('\n') + '\n',
    );
    await writeFile(
      join(dir, 'clicks.ts'),
      `import { count, stream, streamSink, streamSource, tumbling, window } from 'sluice/stream';
export default stream('clicks', {
  source: streamSource.files({ path: 'in' }),
  eventTime: 'ts',
  steps: [window({ key: 'page', window: tumbling('1s'), aggregate: { views: count() } })],
  sink: streamSink.files({ path: 'out' }),
  checkpoint: { every: '100ms' },
});
`,
    );
    const { child, url } = start(['stream', 'clicks.ts', '--metrics-port', '127.0.0.1:0'], dir);
    const metrics = await url;
    expect((await fetch(metrics)).status).toBe(401);
    // Every record read, and a checkpoint taken after them.
    const text = await scrapeUntil(
      metrics,
      (t) =>
        t.includes(
          'sluice_stream_records_total{pipeline="clicks",step="source",direction="in"} 101',
        ) && /^sluice_stream_state_entries\{pipeline="clicks",step="window_1"\} /m.test(t),
    );
    expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
    const all = samples(text);
    const at = (name: string, labels: Record<string, string> = {}): number | undefined =>
      valueOf(all, name, { pipeline: 'clicks', ...labels });
    expect(at('sluice_stream_invalid_records_total', { step: 'source' })).toBe(1);
    // Ten 1 s windows of 4 pages; the watermark (10 s minus out-of-orderness) closed some.
    expect(at('sluice_stream_records_total', { step: 'sink', direction: 'out' })).toBeGreaterThan(
      0,
    );
    expect(at('sluice_stream_watermark_timestamp_seconds')).toBeLessThanOrEqual(t0 / 1000 + 10);
    expect(at('sluice_stream_checkpoint_duration_seconds_count')).toBeGreaterThan(0);
    expect(at('sluice_stream_checkpoint_size_bytes')).toBeGreaterThan(0);
    expect(at('sluice_stream_state_entries', { step: 'window_1' })).toBeGreaterThanOrEqual(0);
    expect(await stopListener(child)).toBe(0);
  });
});
