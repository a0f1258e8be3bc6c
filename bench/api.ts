/**
 * The `api` group: latency of the HTTP API `/api/v1` over a SQLite run store holding 100,000
 * runs (`BENCH_API_RUNS`). 5,000 of them belong to `wide`, a 20-step pipeline, and carry a task
 * per step (100,000 tasks); the rest are spread over 50 other pipelines. Timed through HTTP on
 * loopback, one request at a time: the first page of `GET /api/v1/runs` (50 runs), a page deep
 * in the list by cursor, a filtered page (`state=failed`), and `GET /api/v1/pipelines/wide/grid`
 * (25 runs x 20 steps), one run's detail and the overview. Median and p95 are printed, not asserted (issue 19 asks p95 < 100 ms).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import type { BenchResult } from './common.js';
import { assert, envInteger, log } from './common.js';

const STEPS = 20;
const WIDE_RUNS = 5_000;
const REQUESTS = 200;

/**
 * Runs the `api` group and resolves to its figures.
 *
 * @example
 * ```ts
 * for (const result of await runAPIGroup()) console.log(result.id, result.value);
 * ```
 */
export async function runAPIGroup(): Promise<BenchResult[]> {
  const total = envInteger('BENCH_API_RUNS', 100_000);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-api-'));
  try {
    await mkdir(join(dir, 'pipelines'));
    const steps = Array.from({ length: STEPS }, (_, i) =>
      i === 0 ? `s0: sql\`select 1 as x\`` : `s${i}: sql\`select * from \${ref('s${i - 1}')}\``,
    );
    await writeFile(
      join(dir, 'pipelines', 'wide.ts'),
      `import { pipeline, ref, sql } from 'sluice';\nexport default pipeline('wide', { steps: { ${steps.join(', ')} } });\n`,
    );
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      log(`  api: filling the store with ${total} runs ...`);
      await fill(store, total);
      const api = await startTriggerAPI({ store, project: await Project.open(dir), port: 0 });
      try {
        const deep = await cursorAt(api.url, Math.floor(total / 2));
        const cases: [string, string][] = [
          ['runs_first_page', '/api/v1/runs?limit=50'],
          ['runs_deep_page', `/api/v1/runs?limit=50&cursor=${deep}`],
          ['runs_failed_page', '/api/v1/runs?limit=50&state=failed'],
          ['grid_wide', '/api/v1/pipelines/wide/grid?limit=25'],
          ['run_detail', `/api/v1/runs/run_bench_${String(0).padStart(7, '0')}`],
          ['overview', '/api/v1/overview'],
        ];
        const results: BenchResult[] = [];
        for (const [name, path] of cases) {
          const times = await timeRequests(`${api.url}${path}`);
          log(
            `  api ${name}: median ${times.median.toFixed(1)} ms, p95 ${times.p95.toFixed(1)} ms`,
          );
          const note = `GET ${path.split('?')[0] ?? path}, ${total} runs in SQLite, ${REQUESTS} requests`;
          results.push(
            { id: `api.${name}.median_ms`, value: round(times.median), unit: 'ms', note },
            { id: `api.${name}.p95_ms`, value: round(times.p95), unit: 'ms', note },
          );
        }
        return results;
      } finally {
        await api.close();
      }
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Inserts the runs (and the `wide` runs' tasks) in large transactions, as a busy store holds them. */
async function fill(store: RunStore, total: number): Promise<void> {
  const states = ['success', 'success', 'success', 'failed', 'canceled'];
  const began = Date.UTC(2025, 0, 1);
  await store.db.transaction(async (tx) => {
    for (let i = 0; i < total; i += 1) {
      const wide = i % Math.max(1, Math.floor(total / WIDE_RUNS)) === 0;
      const pipeline = wide ? 'wide' : `p${i % 50}`;
      const id = `run_bench_${String(i).padStart(7, '0')}`;
      const queuedAt = began + i * 1_000;
      const state = states[i % states.length] as string;
      await tx.run(
        `INSERT INTO runs (id, pipeline, run_key, trigger, params, state, priority, max_attempts,
           not_before, queued_at, queue_order, started_at, finished_at, attempt)
         VALUES (?, ?, ?, 'schedule', '{}', ?, 0, 1, ?, ?, 0, ?, ?, 1)`,
        [id, pipeline, id, state, queuedAt, queuedAt, queuedAt + 10, queuedAt + 500],
      );
      if (wide)
        for (let s = 0; s < STEPS; s += 1)
          await tx.run(
            `INSERT INTO tasks (run_id, step, attempt, state, started_at, finished_at, rows_in, rows_out, cached)
             VALUES (?, ?, 1, 'success', ?, ?, 100, 100, 0)`,
            [id, `s${s}`, queuedAt + 10 + s, queuedAt + 11 + s],
          );
    }
  });
}

/** The cursor after `skip` runs, found by paging with the largest pages. */
async function cursorAt(url: string, skip: number): Promise<string> {
  let cursor: string | null = null;
  for (let seen = 0; seen < skip; seen += 1_000) {
    const response = await fetch(
      `${url}/api/v1/runs?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`,
    );
    const page = (await response.json()) as { nextCursor: string | null };
    assert(page.nextCursor !== null, 'the runs list ended before the deep page');
    cursor = page.nextCursor;
  }
  assert(cursor !== null, 'no cursor');
  return cursor;
}

async function timeRequests(url: string): Promise<{ median: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS + 10; i += 1) {
    const began = performance.now();
    const response = await fetch(url);
    const body = await response.text();
    const elapsed = performance.now() - began;
    assert(response.status === 200, `${url}: ${response.status} ${body.slice(0, 200)}`);
    if (i >= 10) times.push(elapsed); // the first requests warm the caches
  }
  times.sort((a, b) => a - b);
  const at = (q: number): number =>
    times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0;
  return { median: at(0.5), p95: at(0.95) };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
