import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchResult } from './common.js';
import {
  alternate,
  assert,
  benchRounds,
  envInteger,
  fastest,
  log,
  removeRunDirs,
} from './common.js';
import { checkQueryRun } from './nexmark/check-run.js';
import type { NexmarkQuery, NexmarkQueryId } from './nexmark/queries.js';
import { NEXMARK_QUERIES } from './nexmark/queries.js';
import { computeNexmarkReference, firstDifference } from './nexmark/reference.js';
import type { QueryRun } from './nexmark/run-query.js';
import { NEXMARK_SEED, runNexmarkQuery } from './nexmark/run-query.js';
import { runStreamNATSBench } from './stream-nats.js';

/** Events of the runs whose every output row is compared with the plain-JS computation. */
const CHECK_EVENTS = 1_000_000;
/** Queries whose output order is the events' order (stateless); window output is compared as a set. */
const ORDERED: ReadonlySet<NexmarkQueryId> = new Set(['q0', 'q1', 'q2']);
/** A larger V8 young generation: fewer collections of the records in flight (bench/README.md, Nexmark). */
const SEMI_SPACE_FLAG = '--max-semi-space-size=64';
const SEMI_SPACE_VARIANT = 'q7_semi64';
const REPO = fileURLToPath(new URL('../', import.meta.url));
const RUN_QUERY_SCRIPT = fileURLToPath(new URL('./nexmark/run-query.ts', import.meta.url));

/**
 * The `stream` group: Nexmark q0, q1, q2, q5, q7 (and q7 keyed by auction, and q8) on the stream
 * runtime, from a generator source to a blackhole sink through `runStream` with checkpoints
 * every second in a SQLite run store. First every query's output over `CHECK_EVENTS` events is
 * compared row by row with a plain-JS computation over the same events; then each query runs
 * `BENCH_STREAM_EVENTS` events (default 10M) `BENCH_ROUNDS` times, alternating, plus q7 in a
 * child process with a larger V8 young generation, and every run's row count and final
 * watermark are checked against the plain-JS computation at that size. Then, when NATS with
 * JetStream is reachable, the same queries through NATS (`stream-nats.ts`): q7's throughput
 * from a JetStream stream, and the latency of q0 and q2 at a steady 50,000 events/s.
 *
 * @example
 * ```ts
 * const results = await runStreamGroup(); // [{ id: 'stream.q0_events_per_s', value, unit: 'events/s', note }, ...]
 * ```
 */
export async function runStreamGroup(): Promise<BenchResult[]> {
  const events = envInteger('BENCH_STREAM_EVENTS', 10_000_000);
  const rounds = benchRounds();
  await checkOutputs(Math.min(events, CHECK_EVENTS));

  log(`  stream: expected outputs of ${events.toLocaleString('en')} events (plain JS) ...`);
  const expected = computeNexmarkReference({
    numEvents: events,
    seed: NEXMARK_SEED,
    keepRows: false,
  });
  const variants: Record<string, (dir: string) => Promise<QueryRun>> = {};
  for (const query of NEXMARK_QUERIES)
    variants[query.id] = (dir) => runNexmarkQuery(query, events, dir, { keepRows: false });
  variants[SEMI_SPACE_VARIANT] = () => runInChild('q7', events, [SEMI_SPACE_FLAG]);
  const runs = await alternate('stream', rounds, variants);
  try {
    const best = (variant: string): QueryRun =>
      fastest((runs[variant] ?? []).map((run) => ({ ...run, seconds: run.value.seconds }))).value;
    for (const query of NEXMARK_QUERIES)
      for (const run of runs[query.id] ?? []) checkQueryRun(query, run.value, expected);
    const q7Query = NEXMARK_QUERIES.find((query) => query.id === 'q7') as NexmarkQuery;
    for (const run of runs[SEMI_SPACE_VARIANT] ?? []) checkQueryRun(q7Query, run.value, expected);

    const results = NEXMARK_QUERIES.map((query) =>
      eventsPerSecond(query, best(query.id), events, rounds),
    );
    const q7 = best('q7');
    results.push({
      id: 'stream.window_events_per_s_per_core',
      value: Math.round(events / q7.cpuSeconds),
      unit: 'events/s',
      note: `q7 events per CPU-second of the process (user + system from process.cpuUsage() over runStream, every thread, GC included) in its fastest run: ${q7.cpuSeconds.toFixed(2)} CPU-s over ${q7.seconds.toFixed(2)} s wall (${(q7.cpuSeconds / q7.seconds).toFixed(2)} cores busy), default V8 heap flags`,
    });
    const semi = best(SEMI_SPACE_VARIANT);
    results.push({
      id: 'stream.window_events_per_s_per_core_semi64',
      value: Math.round(events / semi.cpuSeconds),
      unit: 'events/s',
      note: `the same q7 run in a child process started with node ${SEMI_SPACE_FLAG} (fewer young-generation collections of the records in flight): ${semi.cpuSeconds.toFixed(2)} CPU-s, ${semi.seconds.toFixed(2)} s wall, ${Math.round(events / semi.seconds).toLocaleString('en')} events/s wall`,
    });
    results.push(...(await runStreamNATSBench()));
    return results;
  } finally {
    await removeRunDirs(Object.values(runs).flat());
  }
}

/** Runs every query over `numEvents` events keeping its output, and compares it row by row. */
async function checkOutputs(numEvents: number): Promise<void> {
  log(`  stream: checking every query's output over ${numEvents.toLocaleString('en')} events ...`);
  const expected = computeNexmarkReference({ numEvents, seed: NEXMARK_SEED, keepRows: true });
  for (const query of NEXMARK_QUERIES) {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
    try {
      const run = await runNexmarkQuery(query, numEvents, dir, { keepRows: true });
      checkQueryRun(query, run, expected);
      const rows = expected.outputs[query.id].rows ?? [];
      const difference = firstDifference(run.kept, rows, { ordered: ORDERED.has(query.id) });
      assert(difference === undefined, `${query.id} output differs: ${difference}`);
      log(`  stream: ${query.id} ok, ${rows.length.toLocaleString('en')} rows as expected`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Runs a query in a child Node process with extra V8 flags (`run-query.ts`), as JSON back. */
async function runInChild(
  query: NexmarkQueryId,
  events: number,
  nodeFlags: readonly string[],
): Promise<QueryRun> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      ...nodeFlags,
      '--import',
      'jiti/register',
      RUN_QUERY_SCRIPT,
      '--query',
      query,
      '--events',
      String(events),
    ],
    { cwd: REPO, maxBuffer: 1 << 20 },
  );
  return { ...(JSON.parse(stdout) as Omit<QueryRun, 'kept'>), kept: [] };
}

function eventsPerSecond(
  query: NexmarkQuery,
  run: QueryRun,
  events: number,
  rounds: number,
): BenchResult {
  return {
    id: `stream.${query.id}_events_per_s`,
    value: Math.round(events / run.seconds),
    unit: 'events/s',
    note: `${query.summary}; ${events.toLocaleString('en')} events, best of ${rounds}: ${run.seconds.toFixed(2)} s wall, ${run.cpuSeconds.toFixed(2)} CPU-s (${Math.round(events / run.cpuSeconds).toLocaleString('en')} events per CPU-second), ${run.rowsWritten.toLocaleString('en')} rows out, ${run.progress.checkpointId} checkpoints`,
  };
}
