import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JetStreamManager } from '@nats-io/jetstream';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsSink, natsSource } from '../src/connectors/nats/index.js';
import { randomHex } from '../src/core/ids.js';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import type {
  StreamProgress,
  StreamSinkConnector,
  StreamSourceConnector,
} from '../src/stream/index.js';
import {
  filter,
  map,
  planStream,
  runStream,
  stream,
  StreamRegistry,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
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
import type { BenchStream } from './nexmark/nats.js';
import {
  arrivalStreamSink,
  BENCH_NATS_URL,
  corePublishStreamSink,
  countingNATSSource,
  createBenchStream,
  natsServerCPU,
  natsUnavailable,
  waitForConsumer,
  waitForMessages,
} from './nexmark/nats.js';
import type { PublishResult } from './nexmark/nats-clients.js';
import type { LatencySummary } from './nexmark/latency.js';
import { LatencyRecorder } from './nexmark/latency.js';
import type { NexmarkQuery, NexmarkQueryId } from './nexmark/queries.js';
import { NEXMARK_MAX_OUT_OF_ORDERNESS_MS, NEXMARK_QUERIES } from './nexmark/queries.js';
import { computeNexmarkReference, firstDifference } from './nexmark/reference.js';
import type { QueryRun } from './nexmark/run-query.js';
import { NEXMARK_SEED } from './nexmark/run-query.js';
import { BlackholeCollector, blackholeStreamSink } from './nexmark/stream-connectors.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const CLIENT_SCRIPT = fileURLToPath(new URL('./nexmark/nats-clients.ts', import.meta.url));
/** As the in-process runs: checkpoints every second, 10,000 records in flight. */
const THROUGHPUT_CHECKPOINT_MS = 1_000;
const MAX_IN_FLIGHT = 10_000;
/**
 * The pass-through latency run's sink shows rows when they are written, so the interval adds
 * only each checkpoint's own pause (commit, run store, acknowledgement) to the records waiting
 * then; 1 s as in the throughput runs.
 */
const LATENCY_CHECKPOINT_MS = 1_000;
/**
 * The `nats` sink publishes at the checkpoint: a row waits for the next one (half the interval
 * on average, up to all of it), so the interval must sit well under the 1 s budget.
 */
const NATS_SINK_CHECKPOINT_MS = 250;
/** A throughput run that has not read every event by then is stopped (and fails its checks). */
const GIVE_UP_MS = 300_000;
/** How long the observer waits for the last row after the publisher's last event. */
const DRAIN_MS = 30_000;

/**
 * The NATS part of the `stream` group, skipped with a printed reason when NATS with JetStream is
 * not reachable (`SLUICE_BENCH_NATS`, default `nats://127.0.0.1:4222`):
 *
 * 1. Throughput: `BENCH_STREAM_NATS_EVENTS` (default 500,000) Nexmark events published into a
 *    JetStream stream beforehand, then read by `runStream` with the `nats` source running q7
 *    into a counting sink, `BENCH_ROUNDS` times; events per CPU-second of this process and per
 *    wall second.
 * 2. Latency: events published at a steady `BENCH_STREAM_NATS_RATE` (default 50,000/s) for
 *    `BENCH_STREAM_NATS_SECONDS` (default 20) while the runtime runs q0 from the `nats` source to
 *    a sink publishing each row to NATS as it is written; a subscriber in another process takes
 *    each row's arrival time minus its event's publish time. Then, for half as long each, q0 to
 *    a sink noting when the runtime writes each row (no output system), and q2 (few output rows)
 *    through the `nats` sink itself, which publishes at checkpoints.
 *
 * Every stream it makes is uniquely named and deleted afterwards.
 *
 * @example
 * ```ts
 * const results = await runStreamNATSBench(); // [] when NATS is not there
 * ```
 */
export async function runStreamNATSBench(): Promise<BenchResult[]> {
  const unavailable = await natsUnavailable(BENCH_NATS_URL);
  if (unavailable !== undefined) {
    log(`  stream: NATS part skipped: ${unavailable}`);
    return [];
  }
  const nc = await connect({ servers: BENCH_NATS_URL, name: 'sluice bench' });
  try {
    const jsm = await jetstreamManager(nc);
    const results = await measureThroughput(jsm);
    const rate = envInteger('BENCH_STREAM_NATS_RATE', 50_000);
    const seconds = envInteger('BENCH_STREAM_NATS_SECONDS', 20);
    const shorter = Math.max(1, Math.round(seconds / 2));
    const q0 = queryById('q0');
    const runs: LatencyOptions[] = [
      { query: q0, sink: 'core', rate, seconds, checkpointEveryMs: LATENCY_CHECKPOINT_MS },
      {
        query: q0,
        sink: 'arrival',
        rate,
        seconds: shorter,
        checkpointEveryMs: LATENCY_CHECKPOINT_MS,
      },
      {
        query: Q2_WITH_TIME,
        sink: 'nats',
        rate,
        seconds: shorter,
        checkpointEveryMs: NATS_SINK_CHECKPOINT_MS,
      },
    ];
    for (const options of runs) results.push(...(await measureLatency(jsm, options)));
    return results;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/**
 * q2 with each row's event time kept: the bids whose auction % 123 == 0 (about one event in
 * 134), as auction, price and dateTime, so a subscriber can tell each row's latency. Few rows
 * out, so the `nats` sink, which publishes them at checkpoints, keeps up at 50,000 events/s.
 */
const Q2_WITH_TIME: NexmarkQuery = {
  id: 'q2',
  summary: 'q2 (auction and price of bids whose auction % 123 == 0) plus dateTime',
  steps: [
    filter((r) => r['type'] === 'bid' && (r['auction'] as number) % 123 === 0),
    map((r) => ({ auction: r['auction'], price: r['price'], dateTime: r['dateTime'] })),
  ],
};

/** The `nats` source's `batchSize` (`BENCH_STREAM_NATS_BATCH`; default the connector's, 1000). */
function sourceBatchSize(): number {
  return envInteger('BENCH_STREAM_NATS_BATCH', 1_000);
}

function queryById(id: NexmarkQueryId): NexmarkQuery {
  const query = NEXMARK_QUERIES.find((candidate) => candidate.id === id);
  if (query === undefined) throw new Error(`no Nexmark query ${id}`);
  return query;
}

/** Events rounded down to whole blocks of 50, so the bids are exactly 46 of every 50. */
function wholeBlocks(events: number): number {
  return Math.max(50, Math.floor(events / 50) * 50);
}

async function measureThroughput(jsm: JetStreamManager): Promise<BenchResult[]> {
  const events = wholeBlocks(envInteger('BENCH_STREAM_NATS_EVENTS', 500_000));
  const rounds = benchRounds();
  const q7 = queryById('q7');
  const input = await createBenchStream(jsm);
  try {
    log(
      `  stream: publishing ${events.toLocaleString('en')} events to JetStream stream ${input.name} ...`,
    );
    const published = await startClient<PublishResult>([
      '--role',
      'publish',
      '--subject',
      input.input,
      '--events',
      String(events),
      '--seed',
      String(NEXMARK_SEED),
    ]).result;
    const stored = await waitForMessages(jsm, input.name, events, 60_000);
    assert(stored === events, `JetStream stored ${stored} of ${events} published events`);
    log(
      `  stream: published in ${published.seconds.toFixed(2)} s (${Math.round(events / published.seconds).toLocaleString('en')} events/s)`,
    );
    const expected = computeNexmarkReference({
      numEvents: events,
      seed: NEXMARK_SEED,
      keepRows: true,
    });
    const runs = await alternate('stream', rounds, {
      nats_q7: (dir) => runThroughput(q7, input, events, dir),
    });
    try {
      for (const { value: run } of runs.nats_q7) {
        checkQueryRun(q7, run, expected);
        const difference = firstDifference(run.kept, expected.outputs.q7.rows ?? [], {
          ordered: false,
        });
        assert(difference === undefined, `q7 through NATS: output differs: ${difference}`);
      }
      const best = fastest(runs.nats_q7.map((run) => ({ ...run, seconds: run.value.seconds })));
      const run = best.value;
      const server =
        run.serverCPUSeconds === undefined
          ? 'nats-server CPU not measured'
          : `nats-server used ${run.serverCPUSeconds.toFixed(2)} CPU-s meanwhile (everything it served), ${Math.round(events / (run.cpuSeconds + run.serverCPUSeconds)).toLocaleString('en')} events per CPU-second of both`;
      const what = `q7 (max price per tumbling 10 s window) with the nats source (batchSize ${sourceBatchSize()}) into a counting sink, ${events.toLocaleString('en')} events published beforehand, best of ${rounds}; runStream from start (connect, consumer) to its final checkpoint, checkpoints every ${THROUGHPUT_CHECKPOINT_MS} ms`;
      return [
        {
          id: 'stream.nats_events_per_s_per_core',
          value: Math.round(events / run.cpuSeconds),
          unit: 'events/s',
          note: `${what}: events per CPU-second of the Sluice process (user + system, every thread): ${run.cpuSeconds.toFixed(2)} CPU-s over ${run.seconds.toFixed(2)} s wall (${(run.cpuSeconds / run.seconds).toFixed(2)} cores busy); ${server}`,
        },
        {
          id: 'stream.nats_events_per_s_wall',
          value: Math.round(events / run.seconds),
          unit: 'events/s',
          note: `${what}: events / wall seconds; ${run.progress.checkpointId} checkpoints, ${run.rowsWritten} windows, output equal to the plain-JS q7`,
        },
      ];
    } finally {
      await removeRunDirs(runs.nats_q7);
    }
  } finally {
    await jsm.streams.delete(input.name).catch(() => undefined);
  }
}

/** A throughput run: the runtime's view, plus nats-server's CPU time over the same span. */
interface NATSQueryRun extends QueryRun {
  readonly serverCPUSeconds: number | undefined;
}

async function runThroughput(
  query: NexmarkQuery,
  input: BenchStream,
  events: number,
  dir: string,
): Promise<NATSQueryRun> {
  const stop = new AbortController();
  const collector = new BlackholeCollector();
  const serverCPU = await natsServerCPU(BENCH_NATS_URL);
  const serverBefore = await serverCPU?.();
  // A source that stops delivering would keep the stream waiting: stop it; the checks then fail.
  const giveUp = setTimeout(() => stop.abort(), GIVE_UP_MS);
  const measured = await runQuery({
    name: `nexmark_nats_${query.id}_${randomHex(4)}`,
    query,
    source: countingNATSSource(events, () => stop.abort()),
    sink: blackholeStreamSink(collector),
    sinkEndpoint: streamSink.custom('blackhole', { keep: true }),
    input,
    checkpointEveryMs: THROUGHPUT_CHECKPOINT_MS,
    signal: stop.signal,
    dir,
  }).finally(() => clearTimeout(giveUp));
  const serverAfter = await serverCPU?.();
  return {
    ...measured,
    rowsWritten: collector.rowsWritten,
    sinkCommits: collector.commits,
    kept: collector.kept,
    serverCPUSeconds:
      serverBefore === undefined || serverAfter === undefined
        ? undefined
        : serverAfter - serverBefore,
  };
}

interface QuerySpec {
  readonly name: string;
  readonly query: NexmarkQuery;
  /** A connector named `nats` (the `nats` source, or it wrapped). */
  readonly source: StreamSourceConnector;
  readonly sink: StreamSinkConnector;
  readonly sinkEndpoint: ReturnType<typeof streamSink.custom>;
  readonly input: BenchStream;
  readonly checkpointEveryMs: number;
  readonly signal: AbortSignal;
  readonly dir: string;
}

interface MeasuredRun {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly progress: StreamProgress;
  readonly checkpointsSaved: number;
}

/** Runs a query with the `nats` source through `runStream`, timed with this process's CPU. */
async function runQuery(spec: QuerySpec): Promise<MeasuredRun> {
  const plan = planStream(
    stream(spec.name, {
      source: streamSource.nats({
        servers: BENCH_NATS_URL,
        stream: spec.input.name,
        batchSize: sourceBatchSize(),
      }),
      eventTime: 'dateTime',
      watermark: { maxOutOfOrderness: NEXMARK_MAX_OUT_OF_ORDERNESS_MS },
      steps: spec.query.steps,
      sink: spec.sinkEndpoint,
      checkpoint: { every: spec.checkpointEveryMs },
      maxInFlight: MAX_IN_FLIGHT,
    }),
    new StreamRegistry([spec.source, spec.sink]),
  );
  const store = await RunStore.open(join(spec.dir, 'sluice.db'));
  try {
    const checkpoints = new StreamCheckpoints(store);
    const cpuBefore = process.cpuUsage();
    const began = performance.now();
    const progress = await runStream(plan, {
      checkpoints,
      quarantine: new QuarantineStore(join(spec.dir, 'quarantine'), plan.name),
      signal: spec.signal,
      logger: silentLogger,
    });
    const seconds = (performance.now() - began) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const saved = await checkpoints.last(plan.name);
    return {
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      progress,
      checkpointsSaved: saved?.checkpointId ?? 0,
    };
  } finally {
    await store.close();
  }
}

/**
 * Where a latency run's rows go and who sees them: `core` publishes each row to NATS as it is
 * written, seen by a subscriber in another process; `arrival` notes each row when the runtime
 * writes it, in process; `nats` is the `nats` sink (published at checkpoints), seen by a
 * subscriber in another process.
 */
type LatencySink = 'core' | 'arrival' | 'nats';

interface LatencyOptions {
  readonly query: NexmarkQuery;
  readonly sink: LatencySink;
  readonly rate: number;
  readonly seconds: number;
  readonly checkpointEveryMs: number;
}

const LATENCY_RUNS: Readonly<
  Record<LatencySink, { readonly prefix: string; readonly label: string; readonly setup: string }>
> = {
  core: {
    prefix: 'stream.nats_latency',
    label: 'latency',
    setup:
      'to a sink publishing each row with a core NATS publish as the runtime writes it; latency = arrival at a subscriber in another process - publish time',
  },
  arrival: {
    prefix: 'stream.nats_latency_to_sink',
    label: 'latency to the sink',
    setup:
      'to a sink noting the moment the runtime writes each row, in process (no output system); latency = that moment - publish time',
  },
  nats: {
    prefix: 'stream.nats_sink_latency',
    label: 'nats sink latency',
    setup:
      'to the nats sink (JetStream publishes with acknowledgements, at each checkpoint); latency = arrival at a subscriber in another process - publish time',
  },
};

/** Who sees a latency run's rows: a subscriber child, or the in-process sink's recorder. */
interface Observer {
  readonly result: Promise<LatencySummary>;
  stop(): void;
}

async function measureLatency(
  jsm: JetStreamManager,
  options: LatencyOptions,
): Promise<BenchResult[]> {
  const { query, rate } = options;
  const { prefix, label, setup } = LATENCY_RUNS[options.sink];
  const events = wholeBlocks(rate * options.seconds);
  const expectedRows = computeNexmarkReference({
    numEvents: events,
    seed: NEXMARK_SEED,
    keepRows: false,
  }).outputs[query.id].count;
  const input = await createBenchStream(jsm);
  const outputStream = `${input.name}_OUT`;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  const children: Client<unknown>[] = [];
  const stop = new AbortController();
  let run: Promise<MeasuredRun> | undefined;
  try {
    let observer: Observer;
    let sink: StreamSinkConnector;
    let sinkEndpoint: ReturnType<typeof streamSink.custom>;
    if (options.sink === 'arrival') {
      const recorder = new LatencyRecorder(expectedRows);
      observer = {
        result: recorder.complete.then(() => recorder.summary()),
        stop: () => recorder.finish(),
      };
      sink = arrivalStreamSink(recorder);
      sinkEndpoint = streamSink.custom('arrival', {});
    } else {
      if (options.sink === 'nats') {
        await jsm.streams.add({ name: outputStream, subjects: [input.output], storage: 'file' });
      }
      const child = startClient<LatencySummary>([
        '--role',
        'observe',
        '--subject',
        input.output,
        '--expect',
        String(expectedRows),
      ]);
      children.push(child);
      await child.ready;
      observer = child;
      sink = options.sink === 'core' ? corePublishStreamSink : natsSink;
      sinkEndpoint =
        options.sink === 'core'
          ? streamSink.custom('nats_core', { servers: BENCH_NATS_URL, subject: input.output })
          : streamSink.custom('nats', {
              servers: BENCH_NATS_URL,
              subject: input.output,
              stream: outputStream,
            });
    }
    const name = `nexmark_nats_latency_${query.id}_${randomHex(4)}`;
    run = runQuery({
      name,
      query,
      source: natsSource,
      sink,
      sinkEndpoint,
      input,
      checkpointEveryMs: options.checkpointEveryMs,
      signal: stop.signal,
      dir,
    });
    const failed = run.then(() => {
      throw new Error('the stream stopped before the events were all read');
    });
    failed.catch(() => undefined);
    // The runtime opens its sink, then places the source's durable consumer: ready to read.
    await Promise.race([waitForConsumer(jsm, input.name, `sluice-${name}`, 30_000), failed]);
    log(
      `  stream: ${label}: ${query.id}, ${events.toLocaleString('en')} events at ${rate.toLocaleString('en')}/s into ${input.name} ...`,
    );
    const serverCPU = await natsServerCPU(BENCH_NATS_URL);
    const serverBefore = await serverCPU?.();
    const cpuBefore = process.cpuUsage();
    const began = performance.now();
    const producer = startClient<PublishResult>([
      '--role',
      'publish',
      '--subject',
      input.input,
      '--events',
      String(events),
      '--seed',
      String(NEXMARK_SEED),
      '--rate',
      String(rate),
    ]);
    children.push(producer);
    const published = await Promise.race([producer.result, failed]);
    const publishedAt = performance.now();
    const drain = setTimeout(() => observer.stop(), DRAIN_MS);
    const observed = await Promise.race([observer.result, failed]).finally(() =>
      clearTimeout(drain),
    );
    const observedAt = performance.now();
    const wall = (observedAt - began) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = await serverCPU?.();
    stop.abort();
    const { progress } = await run;
    assert(published.published === events, `published ${published.published} of ${events} events`);
    assert(
      observed.malformed === 0,
      `${label}: ${observed.malformed} rows without a numeric dateTime`,
    );
    const complete = observed.received === expectedRows;
    if (complete) {
      assert(
        progress.recordsIn === events && progress.recordsOut === expectedRows,
        `${label}: every row was seen, yet the stream read ${progress.recordsIn} of ${events} events and wrote ${progress.recordsOut} of ${expectedRows} rows`,
      );
    } else {
      assert(
        observed.received < expectedRows && progress.recordsIn <= events,
        `${label}: ${observed.received} rows were seen and the stream read ${progress.recordsIn} events, more than the ${expectedRows} rows of ${events} events published`,
      );
    }
    // With rows missing, a percentile that falls on one is at least the wait after the last
    // publish.
    const waitedMs = Math.round(observedAt - publishedAt);
    const bound = (value: number | null): number => value ?? waitedMs;
    const shown = (value: number | null): string => (value === null ? `> ${waitedMs}` : `${value}`);
    const inputRate = events / published.seconds;
    const cores = (cpu.user + cpu.system) / 1e6 / wall;
    const server =
      serverBefore === undefined || serverAfter === undefined
        ? ''
        : `, nats-server ${((serverAfter - serverBefore) / wall).toFixed(2)} cores (everything it served)`;
    const behind = complete
      ? `over all ${observed.received.toLocaleString('en')} output rows`
      : `the stream FELL BEHIND: ${(expectedRows - observed.received).toLocaleString('en')} of ${expectedRows.toLocaleString('en')} rows had not come ${(waitedMs / 1000).toFixed(0)} s after the last publish (it had read ${progress.recordsIn.toLocaleString('en')} of ${events.toLocaleString('en')} events); missing rows count as slower than every arrival, so these are lower bounds`;
    const summary = `${query.id} (${query.summary}) from the nats source ${setup}; checkpoints every ${options.checkpointEveryMs} ms; ${events.toLocaleString('en')} events published at ${Math.round(inputRate).toLocaleString('en')}/s (target ${rate.toLocaleString('en')}/s, at most ${published.maxBehindMs.toFixed(0)} ms behind schedule), each stamped with its publish time; ${behind}: p50 ${shown(observed.p50)} ms, p90 ${shown(observed.p90)} ms, p99 ${shown(observed.p99)} ms, p99.9 ${shown(observed.p999)} ms, max of arrivals ${observed.max} ms, mean of arrivals ${observed.mean.toFixed(1)} ms; the Sluice process used ${cores.toFixed(2)} cores${server}`;
    const results: BenchResult[] = [
      { id: `${prefix}_p50_ms`, value: bound(observed.p50), unit: 'ms', note: summary },
      { id: `${prefix}_p99_ms`, value: bound(observed.p99), unit: 'ms', note: summary },
      {
        id: `${prefix}_input_events_per_s`,
        value: Math.round(inputRate),
        unit: 'events/s',
        note: `the rate this latency run's publisher achieved: ${events.toLocaleString('en')} events in ${published.seconds.toFixed(2)} s (target ${rate.toLocaleString('en')}/s)`,
      },
    ];
    log(
      `  stream: ${label}: p50 ${shown(observed.p50)} ms, p99 ${shown(observed.p99)} ms, max ${observed.max} ms at ${Math.round(inputRate).toLocaleString('en')} events/s${complete ? '' : ' (fell behind)'}`,
    );
    return results;
  } finally {
    stop.abort();
    await run?.catch(() => undefined);
    for (const child of children) child.kill();
    await jsm.streams.delete(input.name).catch(() => undefined);
    if (options.sink === 'nats') await jsm.streams.delete(outputStream).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/** A client child process: `ready` when it printed `ready`, `result` its JSON line. */
interface Client<T> {
  readonly ready: Promise<void>;
  readonly result: Promise<T>;
  /** Asks an observer to stop waiting and report. */
  stop(): void;
  kill(): void;
}

function startClient<T>(args: readonly string[]): Client<T> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'jiti/register', CLIENT_SCRIPT, '--url', BENCH_NATS_URL, ...args],
    { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (/^ready$/m.test(stdout)) markReady();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const result = new Promise<T>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = stdout
        .split('\n')
        .filter((text) => text.startsWith('{'))
        .at(-1);
      if (code === 0 && line !== undefined) resolve(JSON.parse(line) as T);
      else
        reject(
          new Error(
            `NATS client ${args.join(' ')} exited with ${code ?? signal}: ${stderr.trim()}`,
          ),
        );
    });
  });
  result.catch(() => undefined);
  return {
    ready: Promise.race([ready, result.then(() => undefined)]),
    result,
    stop: () => {
      child.stdin?.end('stop\n');
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}
