import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamManager } from '@nats-io/jetstream';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { z } from 'zod';
import { natsSource } from '../../src/connectors/nats/index.js';
import type { NATSSourceConfig } from '../../src/connectors/nats/index.js';
import { randomHex } from '../../src/core/ids.js';
import type {
  StreamReader,
  StreamSinkConnector,
  StreamSourceConnector,
  StreamWriter,
} from '../../src/stream/index.js';
import { defineStreamSink } from '../../src/stream/index.js';
import type { LatencyRecorder } from './latency.js';

/**
 * The NATS server of the benchmark (env `SLUICE_BENCH_NATS`, default the machine's nats-server).
 *
 * @example
 * ```ts
 * const nc = await connect({ servers: BENCH_NATS_URL });
 * ```
 */
export const BENCH_NATS_URL = process.env['SLUICE_BENCH_NATS'] ?? 'nats://127.0.0.1:4222';

/**
 * Why NATS with JetStream cannot be used (undefined when it can): the benchmark then skips its
 * NATS part with this reason.
 *
 * @example
 * ```ts
 * const reason = await natsUnavailable(BENCH_NATS_URL); // "NATS with JetStream at ... is not reachable (...)"
 * ```
 */
export async function natsUnavailable(url: string): Promise<string | undefined> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: url, timeout: 2_000, reconnect: false });
    await jetstreamManager(nc);
    return undefined;
  } catch (error) {
    return `NATS with JetStream at ${url} is not reachable (${(error as Error).message})`;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}

/**
 * A JetStream stream made for one benchmark run: a unique name, one input subject that it
 * stores, and an output subject it does not store (so a stream's output never comes back in).
 */
export interface BenchStream {
  readonly name: string;
  /** The subject the events are published to (stored by the stream). */
  readonly input: string;
  /** A subject for the output, outside the stream's subjects. */
  readonly output: string;
}

/**
 * Creates a uniquely named stream (file storage, limits retention: the `nats` source's needs)
 * storing one input subject.
 *
 * @example
 * ```ts
 * const stream = await createBenchStream(jsm);
 * try { ... } finally { await jsm.streams.delete(stream.name); }
 * ```
 */
export async function createBenchStream(jsm: JetStreamManager): Promise<BenchStream> {
  const id = randomHex(6);
  const stream: BenchStream = {
    name: `SLUICE_BENCH_${id}`,
    input: `sluice_bench_${id}.in`,
    output: `sluice_bench_${id}.out`,
  };
  await jsm.streams.add({
    name: stream.name,
    subjects: [stream.input],
    storage: 'file',
    retention: 'limits',
  });
  return stream;
}

/**
 * Waits until the stream holds at least `count` messages and returns how many it holds; gives
 * up after `timeoutMs` with what is there.
 *
 * @example
 * ```ts
 * const stored = await waitForMessages(jsm, stream.name, 1_000_000, 30_000);
 * ```
 */
export async function waitForMessages(
  jsm: JetStreamManager,
  stream: string,
  count: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stored = (await jsm.streams.info(stream)).state.messages;
    if (stored >= count || Date.now() > deadline) return stored;
    await sleep(20);
  }
}

/**
 * Waits until a consumer exists on the stream (the runtime has placed its durable consumer).
 *
 * @example
 * ```ts
 * await waitForConsumer(jsm, stream.name, 'sluice-nexmark_q0', 20_000);
 * ```
 */
export async function waitForConsumer(
  jsm: JetStreamManager,
  stream: string,
  consumer: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await jsm.consumers.info(stream, consumer);
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`consumer ${consumer} of stream ${stream} did not appear`, {
          cause: error,
        });
      }
      await sleep(20);
    }
  }
}

/**
 * The `nats` stream source, unchanged, but calling `onAll` once its readers have handed out
 * `total` records: a benchmark aborts the stream there (as the generator source's
 * `onExhausted` does), and the runtime processes that batch and commits a final checkpoint.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * const source = countingNATSSource(1_000_000, () => stop.abort());
 * ```
 */
export function countingNATSSource(
  total: number,
  onAll: () => void,
): StreamSourceConnector<NATSSourceConfig> {
  let handedOut = 0;
  return {
    ...natsSource,
    open: async (config, context): Promise<StreamReader> => {
      const reader = await natsSource.open(config, context);
      return {
        pull: async (max, waitMs) => {
          const records = await reader.pull(max, waitMs);
          const before = handedOut;
          handedOut += records.length;
          if (before < total && handedOut >= total) onAll();
          return records;
        },
        ack: (positions) => reader.ack(positions),
        lag: async () => reader.lag?.(),
        close: () => reader.close(),
      };
    },
  };
}

const corePublishSinkConfig = z.strictObject({
  servers: z.string().describe('The NATS server URL.'),
  subject: z.string().min(1).describe('The subject every row is published to.'),
});

/**
 * A stream sink that publishes each row as JSON with a plain (core) NATS publish when the runtime
 * writes it, and flushes the connection at each commit: output becomes visible as soon as the
 * runtime hands it over, not at the next checkpoint. It stands for sinks that send on `write`
 * (the `redis_stream` sink pipelines XADDs there); the `nats` sink publishes at the commit,
 * awaiting JetStream's acknowledgement of each message. Not durable: a subscriber that is not
 * there misses the rows.
 *
 * @example
 * ```ts
 * const registry = new StreamRegistry([natsSource, corePublishStreamSink]);
 * // sink: streamSink.custom('nats_core', { servers: 'nats://127.0.0.1:4222', subject: 'out' })
 * ```
 */
export const corePublishStreamSink: StreamSinkConnector<z.output<typeof corePublishSinkConfig>> =
  defineStreamSink({
    name: 'nats_core',
    summary: 'Publishes rows as JSON with core NATS publishes as they are written',
    delivery: 'at-least-once',
    config: corePublishSinkConfig,
    open: async (config): Promise<StreamWriter> => {
      const nc = await connect({ servers: config.servers, name: 'sluice bench sink' });
      return {
        write: async (rows) => {
          for (const row of rows) nc.publish(config.subject, JSON.stringify(row));
        },
        commit: async () => {
          await nc.flush();
        },
        close: async () => {
          await nc.close().catch(() => undefined);
        },
      };
    },
  });

/**
 * A stream sink that notes, for each row, the moment the runtime hands it over (`write`) minus
 * the row's `dateTime` (its event's publish time) in `recorder`, and writes it nowhere: the
 * latency from the publish through JetStream, the `nats` source and the runtime to the sink,
 * without the cost and the hop of an output system.
 *
 * @example
 * ```ts
 * const recorder = new LatencyRecorder(920_000);
 * const registry = new StreamRegistry([natsSource, arrivalStreamSink(recorder)]);
 * // sink: streamSink.custom('arrival', {})
 * ```
 */
export function arrivalStreamSink(recorder: LatencyRecorder): StreamSinkConnector<object> {
  return defineStreamSink({
    name: 'arrival',
    summary: "Notes each row's arrival time minus its dateTime",
    delivery: 'at-least-once',
    config: z.strictObject({}),
    open: async (): Promise<StreamWriter> => ({
      write: async (rows) => {
        const now = Date.now();
        for (const row of rows) recorder.add(now, row['dateTime']);
      },
      commit: async () => undefined,
      close: async () => undefined,
    }),
  });
}

/**
 * Reads the CPU time (user + system, seconds) the local nats-server process has used so far,
 * from `/proc`: undefined when no single nats-server process listening on the URL's port is
 * found (another machine, no `/proc`). It counts everything the server does, for anyone.
 *
 * @example
 * ```ts
 * const cpu = await natsServerCPU('nats://127.0.0.1:4222');
 * const before = await cpu?.();
 * ```
 */
export async function natsServerCPU(
  url: string,
): Promise<(() => Promise<number | undefined>) | undefined> {
  let port: string;
  try {
    const parsed = new URL(url);
    if (parsed.hostname !== '127.0.0.1' && parsed.hostname !== 'localhost') return undefined;
    port = parsed.port || '4222';
  } catch {
    return undefined;
  }
  const candidates: string[] = [];
  try {
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
      if (comm.trim() !== 'nats-server') continue;
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      const portArg = args.findIndex((arg) => arg === '-p' || arg === '--port');
      const listens = portArg === -1 ? port === '4222' : args[portArg + 1] === port;
      if (listens) candidates.push(pid);
    }
  } catch {
    return undefined;
  }
  const [pid] = candidates;
  if (pid === undefined || candidates.length > 1) return undefined;
  return async () => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return undefined;
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th, in clock ticks (100 per second on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
}
