import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { JetStreamClient, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connect } from '@nats-io/transport-node';
import { randomHex } from '../../src/core/ids.js';

/** The server the NATS tests use (env SLUICE_TEST_NATS, default the machine's nats-server). */
export const NATS_URL = process.env['SLUICE_TEST_NATS'] ?? 'nats://127.0.0.1:4222';

/**
 * Why NATS with JetStream cannot be used here (undefined when it can). Under `CI=true` a missing
 * server fails instead.
 */
export async function natsUnavailable(): Promise<string | undefined> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({ servers: NATS_URL, timeout: 2_000, reconnect: false });
    await jetstreamManager(nc);
    return undefined;
  } catch (error) {
    const reason = `NATS with JetStream at ${NATS_URL} is not reachable (${(error as Error).message})`;
    if (process.env['CI'] === 'true') throw new Error(`${reason}; CI needs it`, { cause: error });
    return reason;
  } finally {
    await nc?.close().catch(() => undefined);
  }
}

/** A stream made for one test: its name, its subject prefix, clients, and its removal. */
export interface TestStream {
  readonly name: string;
  /** Every subject `<prefix>.>` goes to this stream. */
  readonly prefix: string;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Publishes JSON values on `<prefix>.<suffix>` and waits for JetStream to store them all. */
  publish(values: readonly unknown[], suffix?: string): Promise<number[]>;
  /** Publishes raw payloads (for payloads that are not JSON). */
  publishRaw(payloads: readonly (string | Uint8Array)[], suffix?: string): Promise<number[]>;
  drop(): Promise<void>;
}

/** Creates a stream with a unique name and subjects; `drop` deletes it and closes the clients. */
export async function createTestStream(config: Partial<StreamConfig> = {}): Promise<TestStream> {
  const suffix = randomHex(6);
  const name = `SLUICE_TEST_${suffix}`;
  const prefix = `sluice_test_${suffix}`;
  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name, subjects: [`${prefix}.>`], ...config });
  const publishRaw = async (
    payloads: readonly (string | Uint8Array)[],
    subjectSuffix = 'events',
  ): Promise<number[]> => {
    const sequences: number[] = [];
    const window = 2_000;
    for (let start = 0; start < payloads.length; start += window) {
      const acks = await Promise.all(
        payloads
          .slice(start, start + window)
          .map((payload) => js.publish(`${prefix}.${subjectSuffix}`, payload)),
      );
      for (const ack of acks) sequences.push(ack.seq);
    }
    return sequences;
  };
  return {
    name,
    prefix,
    nc,
    js,
    jsm,
    publish: (values, subjectSuffix) =>
      publishRaw(
        values.map((value) => JSON.stringify(value)),
        subjectSuffix,
      ),
    publishRaw,
    drop: async () => {
      await jsm.streams.delete(name).catch(() => undefined);
      await nc.close();
    },
  };
}

/** Path of the nats-server binary, when the machine has one (for servers with other settings). */
export function natsServerBinary(): string | undefined {
  for (const path of [
    '/usr/sbin/nats-server',
    '/usr/bin/nats-server',
    '/usr/local/bin/nats-server',
  ]) {
    if (existsSync(path)) return path;
  }
  return undefined;
}

/**
 * Starts a throwaway nats-server on `port` (default: a free one) with the given arguments (e.g.
 * `--user a --pass b`) and returns its URL and a function that stops it.
 */
export async function startNATSServer(
  binary: string,
  args: readonly string[],
  port?: number,
): Promise<{ url: string; port: number; stop: (signal?: NodeJS.Signals) => Promise<void> }> {
  port ??= await freePort();
  const child = spawn(binary, ['-a', '127.0.0.1', '-p', String(port), ...args], {
    stdio: 'ignore',
  });
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      const nc = await connect({ servers: url, timeout: 500, reconnect: false });
      await nc.close();
      break;
    } catch (error) {
      if ((error as Error).name === 'AuthorizationError') break;
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`nats-server did not start on ${url}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    port,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
