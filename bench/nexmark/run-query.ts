import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { silentLogger } from '../../src/core/logger.js';
import { QuarantineStore } from '../../src/contracts/quarantine-store.js';
import type { SluiceMetrics } from '../../src/observe/metrics/recorder.js';
import { RunStore } from '../../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../../src/orchestrator/stream-checkpoints.js';
import type { StreamProgress, StreamRow } from '../../src/stream/index.js';
import {
  planStream,
  runStream,
  stream,
  StreamRegistry,
  streamSink,
  streamSource,
} from '../../src/stream/index.js';
import type { NexmarkQuery } from './queries.js';
import { NEXMARK_MAX_OUT_OF_ORDERNESS_MS, NEXMARK_QUERIES } from './queries.js';
import {
  BlackholeCollector,
  blackholeStreamSink,
  nexmarkStreamSource,
} from './stream-connectors.js';

/**
 * The generator seed of every benchmark run.
 *
 * @example
 * ```ts
 * computeNexmarkReference({ numEvents: 1000, seed: NEXMARK_SEED, keepRows: true });
 * ```
 */
export const NEXMARK_SEED = 42;
const CHECKPOINT_EVERY_MS = 1_000;
const MAX_IN_FLIGHT = 10_000;

/**
 * One stream run of a query: its times and what the runtime and the sink report.
 *
 * @example
 * ```ts
 * const run: QueryRun = await runNexmarkQuery(q7, 1_000_000, dir, { keepRows: false });
 * run.progress.recordsIn; // 1000000
 * ```
 */
export interface QueryRun {
  /** Wall-clock seconds of `runStream` (opening the run store and planning excluded). */
  readonly seconds: number;
  /** Process CPU seconds (user + system, every thread) over the same span. */
  readonly cpuSeconds: number;
  readonly progress: StreamProgress;
  readonly rowsWritten: number;
  readonly sinkCommits: number;
  /** The newest checkpoint id in the run store after the run. */
  readonly checkpointsSaved: number;
  /** The rows written, with `keepRows` (else empty). */
  readonly kept: readonly StreamRow[];
}

/**
 * Runs one query over `numEvents` generated events into a blackhole sink through `runStream`:
 * checkpoints every second into a SQLite run store in `dir`, 10,000 records in flight, event
 * time `dateTime` with 4 s of out-of-orderness. The stream stops when the source runs out.
 *
 * @example
 * ```ts
 * const q7 = NEXMARK_QUERIES.find((q) => q.id === 'q7')!;
 * const run = await runNexmarkQuery(q7, 1_000_000, dir, { keepRows: true });
 * console.log(1_000_000 / run.seconds, 'events/s', run.kept.length, 'windows');
 * ```
 */
export async function runNexmarkQuery(
  query: NexmarkQuery,
  numEvents: number,
  dir: string,
  options: { readonly keepRows: boolean; readonly metrics?: SluiceMetrics },
): Promise<QueryRun> {
  const stop = new AbortController();
  const collector = new BlackholeCollector();
  const registry = new StreamRegistry([
    nexmarkStreamSource({ onExhausted: () => stop.abort() }),
    blackholeStreamSink(collector),
  ]);
  const plan = planStream(
    stream(`nexmark_${query.id}`, {
      source: streamSource.custom('nexmark', { numEvents, seed: NEXMARK_SEED }),
      eventTime: 'dateTime',
      watermark: { maxOutOfOrderness: NEXMARK_MAX_OUT_OF_ORDERNESS_MS },
      steps: query.steps,
      sink: streamSink.custom('blackhole', { keep: options.keepRows }),
      checkpoint: { every: CHECKPOINT_EVERY_MS },
      maxInFlight: MAX_IN_FLIGHT,
    }),
    registry,
  );
  const store = await RunStore.open(join(dir, 'sluice.db'));
  try {
    const checkpoints = new StreamCheckpoints(store);
    const cpuBefore = process.cpuUsage();
    const began = performance.now();
    const progress = await runStream(plan, {
      checkpoints,
      quarantine: new QuarantineStore(join(dir, 'quarantine'), plan.name),
      signal: stop.signal,
      logger: silentLogger,
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
    });
    const seconds = (performance.now() - began) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const saved = await checkpoints.last(plan.name);
    return {
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      progress,
      rowsWritten: collector.rowsWritten,
      sinkCommits: collector.commits,
      checkpointsSaved: saved?.checkpointId ?? 0,
      kept: collector.kept,
    };
  } finally {
    await store.close();
  }
}

const USAGE =
  'usage: node [v8 flags] --import jiti/register bench/nexmark/run-query.ts --query q7 --events 10000000';

/**
 * Runs one query in this process and prints its {@link QueryRun} (without rows) as JSON: lets
 * the benchmark measure a query under other V8 flags, or a profiler watch one query.
 *
 * @example
 * ```sh
 * node --cpu-prof --import jiti/register bench/nexmark/run-query.ts --query q7 --events 10000000
 * ```
 */
export async function runNexmarkQueryCLI(args: readonly string[]): Promise<number> {
  let values: { query?: string | undefined; events?: string | undefined } = {};
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { query: { type: 'string' }, events: { type: 'string' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const query = NEXMARK_QUERIES.find((q) => q.id === values.query);
  const events = Number(values.events ?? 10_000_000);
  if (query === undefined || !Number.isSafeInteger(events) || events < 1) {
    process.stderr.write(
      `error: --query must be one of ${NEXMARK_QUERIES.map((q) => q.id).join(', ')} and --events a positive integer\n${USAGE}\n`,
    );
    return 2;
  }
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  try {
    const { kept: _kept, ...run } = await runNexmarkQuery(query, events, dir, { keepRows: false });
    process.stdout.write(`${JSON.stringify(run)}\n`);
    return 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  process.exitCode = await runNexmarkQueryCLI(process.argv.slice(2));
}
