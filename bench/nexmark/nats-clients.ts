/**
 * The NATS clients of the streaming benchmark, run as child processes so that neither competes
 * with the stream runtime's event loop or shows in its CPU time:
 *
 * - `--role publish`: publishes `--events` Nexmark events (the seeded generator, `nexmarkRow` as
 *   JSON) to `--subject` with core NATS publishes, which JetStream stores. Without `--rate`, as
 *   fast as it can (the events keep their generated event time); with `--rate`, paced to that
 *   many events per second of wall-clock time, each event's `dateTime` set to the moment it is
 *   published (epoch ms), so a consumer of the output can tell each event's latency.
 * - `--role observe`: subscribes to `--subject`, and for each message (a JSON row with the
 *   `dateTime` of its event) records the time it arrived minus that `dateTime`, until
 *   `--expect` messages arrived or a line (or the end) comes on stdin. Prints `ready` once
 *   subscribed.
 *
 * Each prints one JSON line with its result.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { NexmarkGenerator } from './generator.js';
import type { LatencySummary } from './latency.js';
import { LatencyRecorder } from './latency.js';
import { nexmarkRow } from './stream-connectors.js';

/**
 * What `--role publish` reports.
 *
 * @example
 * ```ts
 * const rate = result.published / result.seconds; // achieved events/s
 * ```
 */
export interface PublishResult {
  readonly published: number;
  /** Wall-clock seconds from the first publish to the flush after the last. */
  readonly seconds: number;
  /** With `--rate`: the most the publisher fell behind its schedule, in ms. */
  readonly maxBehindMs: number;
}

async function publish(
  url: string,
  subject: string,
  events: number,
  seed: number,
  rate: number | undefined,
): Promise<PublishResult> {
  const nc = await connect({ servers: url, name: 'sluice bench publisher' });
  try {
    const generator = new NexmarkGenerator({ numEvents: events, seed });
    const began = performance.now();
    let sent = 0;
    let maxBehindMs = 0;
    if (rate === undefined) {
      while (sent < events) {
        nc.publish(subject, JSON.stringify(nexmarkRow(generator.next())));
        sent++;
        if (sent % 10_000 === 0) await nc.flush();
      }
    } else {
      // Every millisecond or so, publish the events due by now: a steady rate at timer
      // granularity, without spinning a core.
      while (sent < events) {
        const due = Math.min(events, Math.floor(((performance.now() - began) * rate) / 1000));
        maxBehindMs = Math.max(maxBehindMs, ((due - sent) * 1000) / rate);
        while (sent < due) {
          const row = nexmarkRow(generator.next());
          row['dateTime'] = Date.now();
          nc.publish(subject, JSON.stringify(row));
          sent++;
        }
        await sleep(1);
      }
    }
    await nc.flush();
    return { published: sent, seconds: (performance.now() - began) / 1000, maxBehindMs };
  } finally {
    await nc.close();
  }
}

async function observe(url: string, subject: string, expect: number): Promise<LatencySummary> {
  const nc = await connect({ servers: url, name: 'sluice bench observer' });
  try {
    const recorder = new LatencyRecorder(expect);
    nc.subscribe(subject, {
      callback: (error, message) => {
        if (error !== null) return recorder.finish();
        const now = Date.now();
        recorder.add(now, (JSON.parse(message.string()) as { dateTime?: unknown }).dateTime);
      },
    });
    await nc.flush();
    process.stdout.write('ready\n');
    process.stdin
      .once('data', () => recorder.finish())
      .once('end', () => recorder.finish())
      .resume();
    await recorder.complete;
    process.stdin.pause();
    return recorder.summary();
  } finally {
    await nc.close();
  }
}

const USAGE = `usage: node --import jiti/register bench/nexmark/nats-clients.ts --role publish --url nats://127.0.0.1:4222 --subject S --events N [--seed 42] [--rate 50000]
       node --import jiti/register bench/nexmark/nats-clients.ts --role observe --url nats://127.0.0.1:4222 --subject S --expect N   (a line on stdin stops it)`;

function positive(text: string | undefined, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer`);
  return value;
}

/**
 * Runs one client role from command-line arguments and prints its result as one JSON line.
 *
 * @example
 * ```ts
 * process.exitCode = await runNATSClientCLI(['--role', 'observe', '--url', url, '--subject', 's', '--expect', '10']);
 * ```
 */
export async function runNATSClientCLI(args: readonly string[]): Promise<number> {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        role: { type: 'string' },
        url: { type: 'string' },
        subject: { type: 'string' },
        events: { type: 'string' },
        seed: { type: 'string' },
        rate: { type: 'string' },
        expect: { type: 'string' },
      },
      strict: true,
    });
    const { role, url, subject } = values;
    if (url === undefined || subject === undefined)
      throw new Error('--url and --subject are required');
    let result: PublishResult | LatencySummary;
    if (role === 'publish') {
      result = await publish(
        url,
        subject,
        positive(values.events, 'events'),
        Number(values.seed ?? 42),
        values.rate === undefined ? undefined : positive(values.rate, 'rate'),
      );
    } else if (role === 'observe') {
      result = await observe(url, subject, positive(values.expect, 'expect'));
    } else {
      throw new Error('--role must be publish or observe');
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  process.exitCode = await runNATSClientCLI(process.argv.slice(2));
}
