import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { INVALID_PAYLOAD_FIELD, INVALID_REASON_FIELD } from '../src/contracts/payload.js';
import {
  natsSink,
  natsSinkConfig,
  natsSource,
  natsSourceConfig,
  natsStreamConnectors,
} from '../src/connectors/nats/index.js';
import { randomHex } from '../src/core/ids.js';
import type { Logger } from '../src/core/logger.js';
import { toJSONValue } from '../src/contracts/json-values.js';
import { ConfigError, SinkError, SourceError } from '../src/core/errors.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSinkContext,
  StreamSourceContext,
  StreamStart,
} from '../src/contracts/stream-connector.js';
import { tempDir } from './helpers.js';
import type { TestStream } from './support/nats.js';
import {
  createTestStream,
  freePort,
  NATS_URL,
  natsServerBinary,
  natsUnavailable,
  startNATSServer,
} from './support/nats.js';

const unavailable = await natsUnavailable();
if (unavailable !== undefined) console.warn(`NATS connector tests skipped: ${unavailable}`);

/** A logger that keeps every entry, for asserting what the connector reported. */
function recordingLogger(): Logger & { readonly entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const record =
    (level: string) =>
    (fields: object, message?: string): void =>
      void entries.push({ ...fields, level, message });
  const logger: Logger & { entries: Record<string, unknown>[] } = {
    entries,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    child: () => logger,
  };
  return logger;
}

function sourceContext(
  start: StreamStart,
  consumer: string,
  logger: Logger = recordingLogger(),
): StreamSourceContext {
  return {
    stepId: 'events',
    streamName: 'test_stream',
    consumer,
    worker: 'w1',
    start,
    logger,
    signal: new AbortController().signal,
  };
}

function sinkContext(logger: Logger = recordingLogger()): StreamSinkContext {
  return {
    stepId: 'out',
    streamName: `test_stream_${randomHex(3)}`,
    logger,
    signal: new AbortController().signal,
  };
}

async function openSource(
  stream: TestStream,
  start: StreamStart,
  consumer: string,
  config: Record<string, unknown> = {},
  logger?: Logger,
): Promise<StreamReader> {
  return natsSource.open(
    natsSourceConfig.parse({ servers: NATS_URL, stream: stream.name, ...config }),
    sourceContext(start, consumer, logger),
  );
}

/** Pulls until `count` records arrived or `timeoutMs` passed. */
async function pullUntil(
  reader: StreamReader,
  count: number,
  timeoutMs = 10_000,
): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (records.length < count && Date.now() < deadline) {
    records.push(...(await reader.pull(count - records.length, 200)));
  }
  return records;
}

function positions(records: readonly StreamRecord[]): number[] {
  return records.map((record) => Number(record.position));
}

async function withStream<T>(
  body: (stream: TestStream) => Promise<T>,
  config?: Parameters<typeof createTestStream>[0],
): Promise<T> {
  const stream = await createTestStream(config);
  try {
    return await body(stream);
  } finally {
    await stream.drop();
  }
}

const consumerName = (): string => `sluice_test_${randomHex(4)}`;

describe.skipIf(unavailable !== undefined)('nats stream source', () => {
  it('reads 10k messages in order in several pulls; after the ack a reopened reader gets nothing more', async () => {
    await withStream(async (stream) => {
      const values = Array.from({ length: 10_000 }, (_, i) => ({ id: i, name: `event ${i}` }));
      const sequences = await stream.publish(values);
      const consumer = consumerName();
      const first = await openSource(stream, { kind: 'beginning' }, consumer, {
        batchSize: 500,
      });
      let records: StreamRecord[];
      try {
        records = [];
        const pullSizes: number[] = [];
        while (records.length < values.length && pullSizes.length < 1_000) {
          const pulled = await first.pull(1_000, 1_000);
          records.push(...pulled);
          pullSizes.push(pulled.length);
        }
        // A pull gives at most what was asked: 10k messages take at least ten pulls.
        expect(Math.max(...pullSizes)).toBeLessThanOrEqual(1_000);
        expect(pullSizes.length).toBeGreaterThanOrEqual(10);
        expect(records.map((r) => r.value)).toEqual(values);
        expect(positions(records)).toEqual(sequences);
        expect(records.every((r) => r.partition === '')).toBe(true);
        expect(records.every((r) => typeof r.brokerTime === 'number')).toBe(true);
        await first.ack({ '': records.at(-1)!.position });
        const info = await stream.jsm.consumers.info(stream.name, consumer);
        expect(info.num_ack_pending).toBe(0);
        expect(info.ack_floor.stream_seq).toBe(sequences.at(-1));
      } finally {
        await first.close();
      }
      const created = (await stream.jsm.consumers.info(stream.name, consumer)).created;
      const again = await openSource(
        stream,
        { kind: 'checkpoint', positions: { '': records.at(-1)!.position } },
        consumer,
      );
      try {
        expect(await again.pull(100, 500)).toEqual([]);
        // The idle consumer at the checkpoint was kept, not made again.
        expect((await stream.jsm.consumers.info(stream.name, consumer)).created).toBe(created);
        const [next] = await stream.publish([{ id: 'after' }]);
        const more = await pullUntil(again, 1);
        expect(more.map((r) => [r.value, Number(r.position)])).toEqual([[{ id: 'after' }, next]]);
      } finally {
        await again.close();
      }
    });
  });

  it('lets the server redeliver unacknowledged messages after ackWait without handing them out twice', async () => {
    await withStream(async (stream) => {
      await stream.publish([1, 2, 3, 4, 5].map((id) => ({ id })));
      const consumer = consumerName();
      const reader = await openSource(stream, { kind: 'beginning' }, consumer, { ackWait: '1s' });
      try {
        const records = await pullUntil(reader, 5);
        expect(records.map((r) => r.value)).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
        await sleep(1_600);
        expect(await reader.pull(100, 500)).toEqual([]);
        const redelivered = await stream.jsm.consumers.info(stream.name, consumer);
        expect(redelivered.num_redelivered).toBe(5);
        expect(redelivered.num_ack_pending).toBe(5);
        await reader.ack({ '': records[2]!.position });
        expect((await stream.jsm.consumers.info(stream.name, consumer)).num_ack_pending).toBe(2);
        await reader.ack({ '': records[4]!.position });
        expect((await stream.jsm.consumers.info(stream.name, consumer)).num_ack_pending).toBe(0);
        await stream.publish([{ id: 6 }]);
        expect((await pullUntil(reader, 1)).map((r) => r.value)).toEqual([{ id: 6 }]);
      } finally {
        await reader.close();
      }
    });
  });

  it('gives records pulled and not acknowledged to the next reader, at once and in order', async () => {
    await withStream(async (stream) => {
      const sequences = await stream.publish(Array.from({ length: 20 }, (_, id) => ({ id })));
      const consumer = consumerName();
      const logger = recordingLogger();
      const first = await openSource(stream, { kind: 'beginning' }, consumer, { ackWait: '1m' });
      try {
        const records = await pullUntil(first, 20);
        expect(records).toHaveLength(20);
        await first.ack({ '': String(sequences[7]) });
      } finally {
        await first.close();
      }
      // The checkpoint covers the first 8; the other 12 were pulled and never acknowledged.
      const started = Date.now();
      const second = await openSource(
        stream,
        { kind: 'checkpoint', positions: { '': String(sequences[7]) } },
        consumer,
        { ackWait: '1m' },
        logger,
      );
      try {
        const again = await pullUntil(second, 12);
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(positions(again)).toEqual(sequences.slice(8));
        expect(again.map((r) => r.value)).toEqual(
          Array.from({ length: 12 }, (_, i) => ({ id: i + 8 })),
        );
        expect(logger.entries.some((e) => String(e['reason']).includes('not acknowledged'))).toBe(
          true,
        );
      } finally {
        await second.close();
      }
    });
  });

  it('places the consumer again when a delivery never reaches it: no record skipped or out of order', async () => {
    await withStream(async (stream) => {
      const consumer = consumerName();
      const logger = recordingLogger();
      const reader = await openSource(
        stream,
        { kind: 'beginning' },
        consumer,
        { batchSize: 1 },
        logger,
      );
      try {
        // Another client pulls from the same consumer: the delivery it takes is a gap for the reader.
        const thief = await stream.js.consumers.get(stream.name, consumer);
        const stolen = thief.next({ expires: 5_000 });
        await sleep(100);
        const [first, second] = await stream.publish([{ id: 1 }, { id: 2 }]);
        expect((await stolen)?.seq).toBe(second);
        const [third] = await stream.publish([{ id: 3 }]);
        const records = await pullUntil(reader, 3);
        expect(positions(records)).toEqual([first, second, third]);
        expect(records.map((r) => r.value)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
        expect(logger.entries.some((e) => e['level'] === 'warn' && e['delivery'] === 3)).toBe(true);
        expect(await reader.pull(10, 300)).toEqual([]);
      } finally {
        await reader.close();
      }
    });
  });

  it('returns a waiting pull on close or abort, and close never fails', async () => {
    await withStream(async (stream) => {
      const controller = new AbortController();
      const reader = await natsSource.open(
        natsSourceConfig.parse({ servers: NATS_URL, stream: stream.name }),
        { ...sourceContext({ kind: 'latest' }, consumerName()), signal: controller.signal },
      );
      let started = Date.now();
      setTimeout(() => controller.abort(), 100);
      expect(await reader.pull(10, 10_000)).toEqual([]);
      expect(Date.now() - started).toBeLessThan(2_000);
      started = Date.now();
      const waiting = new AbortController();
      const second = await natsSource.open(
        natsSourceConfig.parse({ servers: NATS_URL, stream: stream.name }),
        { ...sourceContext({ kind: 'latest' }, consumerName()), signal: waiting.signal },
      );
      const pending = second.pull(10, 10_000);
      await sleep(100);
      await second.close();
      expect(await pending).toEqual([]);
      expect(Date.now() - started).toBeLessThan(2_000);
      await second.close();
      await reader.close();
      expect(await reader.pull(10, 10)).toEqual([]);
    });
  });

  it('fails the next pull clearly when its consumer is deleted under it', async () => {
    await withStream(async (stream) => {
      const consumer = consumerName();
      const reader = await openSource(stream, { kind: 'latest' }, consumer);
      try {
        expect(await reader.pull(1, 200)).toEqual([]);
        await stream.jsm.consumers.delete(stream.name, consumer);
        const error = await pullUntil(reader, 1, 25_000).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SourceError);
        expect((error as SourceError).message).toContain(`reading consumer ${consumer}`);
        expect((error as SourceError).hint).toMatch(/resumes from its last checkpoint/);
        await expect(reader.pull(1, 10)).rejects.toBe(error);
      } finally {
        await reader.close();
      }
    });
  });

  it('starts after a checkpoint position, at a time, at the beginning or at the latest message', async () => {
    await withStream(async (stream) => {
      const early = await stream.publish(Array.from({ length: 10 }, (_, id) => ({ id })));
      await sleep(50);
      const at = new Date();
      await sleep(50);
      const late = await stream.publish(Array.from({ length: 5 }, (_, i) => ({ id: 10 + i })));

      const fromCheckpoint = await openSource(
        stream,
        { kind: 'checkpoint', positions: { '': String(early[6]) } },
        consumerName(),
      );
      try {
        expect(positions(await pullUntil(fromCheckpoint, 8))).toEqual([...early.slice(7), ...late]);
      } finally {
        await fromCheckpoint.close();
      }

      const fromTime = await openSource(stream, { kind: 'time', at }, consumerName());
      try {
        const records = await pullUntil(fromTime, 5);
        expect(positions(records)).toEqual(late);
        expect(records.every((r) => r.brokerTime! >= at.getTime())).toBe(true);
        expect(await fromTime.pull(10, 300)).toEqual([]);
      } finally {
        await fromTime.close();
      }

      const fromBeginning = await openSource(stream, { kind: 'beginning' }, consumerName());
      try {
        expect(positions(await pullUntil(fromBeginning, 15))).toEqual([...early, ...late]);
      } finally {
        await fromBeginning.close();
      }

      const fromLatest = await openSource(stream, { kind: 'latest' }, consumerName());
      try {
        expect(await fromLatest.pull(10, 300)).toEqual([]);
        const newer = await stream.publish([{ id: 'new1' }, { id: 'new2' }]);
        expect(positions(await pullUntil(fromLatest, 2))).toEqual(newer);
      } finally {
        await fromLatest.close();
      }

      // A checkpoint without the source's partition starts at the beginning.
      const noPosition = await openSource(
        stream,
        { kind: 'checkpoint', positions: {} },
        consumerName(),
      );
      try {
        expect((await pullUntil(noPosition, 17)).length).toBe(17);
      } finally {
        await noPosition.close();
      }
    });
  });

  it('a restart with an older checkpoint than the consumer acknowledged reads from the checkpoint', async () => {
    await withStream(async (stream) => {
      const sequences = await stream.publish(Array.from({ length: 10 }, (_, id) => ({ id })));
      const consumer = consumerName();
      const first = await openSource(stream, { kind: 'beginning' }, consumer);
      try {
        await pullUntil(first, 10);
        await first.ack({ '': String(sequences[9]) });
      } finally {
        await first.close();
      }
      const replay = await openSource(
        stream,
        { kind: 'checkpoint', positions: { '': String(sequences[3]) } },
        consumer,
      );
      try {
        expect(positions(await pullUntil(replay, 6))).toEqual(sequences.slice(4));
      } finally {
        await replay.close();
      }
    });
  });

  it('filters by subject and can add the subject to each record', async () => {
    await withStream(async (stream) => {
      await stream.publish([{ n: 1 }], 'eu');
      await stream.publish([{ n: 2 }], 'us');
      await stream.publish([{ n: 3 }], 'eu');
      const reader = await openSource(stream, { kind: 'beginning' }, consumerName(), {
        subjects: `${stream.prefix}.eu`,
        subjectColumn: '_subject',
      });
      try {
        expect((await pullUntil(reader, 2)).map((r) => r.value)).toEqual([
          { n: 1, _subject: `${stream.prefix}.eu` },
          { n: 3, _subject: `${stream.prefix}.eu` },
        ]);
        expect(await reader.pull(10, 300)).toEqual([]);
      } finally {
        await reader.close();
      }
    });
  });

  it('reads several subjects on NATS 2.10 and later, and says why not on older servers', async () => {
    await withStream(async (stream) => {
      await stream.publish([{ n: 1 }], 'eu');
      await stream.publish([{ n: 2 }], 'us');
      await stream.publish([{ n: 3 }], 'asia');
      const [major = 0, minor = 0] = (stream.nc.info?.version ?? '0.0').split('.').map(Number);
      const open = (): Promise<StreamReader> =>
        openSource(stream, { kind: 'beginning' }, consumerName(), {
          subjects: [`${stream.prefix}.eu`, `${stream.prefix}.us`],
        });
      if (major > 2 || (major === 2 && minor >= 10)) {
        const reader = await open();
        try {
          expect((await pullUntil(reader, 2)).map((r) => r.value)).toEqual([{ n: 1 }, { n: 2 }]);
        } finally {
          await reader.close();
        }
      } else {
        const error = await open().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SourceError);
        expect((error as SourceError).message).toMatch(/filters a consumer by one subject/);
        expect((error as SourceError).hint).toMatch(/wildcards/);
      }
    });
  });

  it('turns payloads that are not JSON objects into records for the quarantine', async () => {
    await withStream(async (stream) => {
      await stream.publishRaw([
        '{"ok":true}',
        'not json',
        '[1,2]',
        '42',
        new Uint8Array([0xff, 0xfe, 0x00]),
        '',
      ]);
      const reader = await openSource(stream, { kind: 'beginning' }, consumerName());
      try {
        const values = (await pullUntil(reader, 6)).map((r) => r.value);
        expect(values[0]).toEqual({ ok: true });
        expect(values[1]).toEqual({
          [INVALID_REASON_FIELD]: expect.stringMatching(/^the payload is not JSON/),
          [INVALID_PAYLOAD_FIELD]: 'not json',
        });
        expect(values[2]).toEqual({
          [INVALID_REASON_FIELD]: 'the payload is a JSON array, not an object',
          [INVALID_PAYLOAD_FIELD]: '[1,2]',
        });
        expect(values[3]?.[INVALID_REASON_FIELD]).toBe(
          'the payload is a JSON number, not an object',
        );
        expect(values[4]).toEqual({
          [INVALID_REASON_FIELD]: expect.stringMatching(/not UTF-8.*base64/),
          [INVALID_PAYLOAD_FIELD]: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'),
        });
        expect(values[5]).toEqual({
          [INVALID_REASON_FIELD]: 'the payload is empty',
          [INVALID_PAYLOAD_FIELD]: '',
        });
      } finally {
        await reader.close();
      }
    });
  });

  it('fails clearly on a missing stream, a work-queue stream and a checkpoint past the stream end', async () => {
    await withStream(async (stream) => {
      const missing = await natsSource
        .open(
          natsSourceConfig.parse({ servers: NATS_URL, stream: `${stream.name}_NOPE` }),
          sourceContext({ kind: 'beginning' }, consumerName()),
        )
        .catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(SourceError);
      expect((missing as SourceError).message).toContain(
        `stream ${stream.name}_NOPE does not exist on nats://127.0.0.1:4222`,
      );
      expect((missing as SourceError).hint).toMatch(/nats stream add|streams there/);

      await stream.publish([{ id: 1 }]);
      const ahead = await openSource(
        stream,
        { kind: 'checkpoint', positions: { '': '999' } },
        consumerName(),
      ).catch((e: unknown) => e);
      expect(ahead).toBeInstanceOf(SourceError);
      expect((ahead as SourceError).message).toMatch(
        /checkpoint is at sequence 999 but stream .* ends at sequence 1/,
      );

      const garbage = await openSource(
        stream,
        { kind: 'checkpoint', positions: { '': 'abc' } },
        consumerName(),
      ).catch((e: unknown) => e);
      expect((garbage as SourceError).message).toMatch(/"abc" is not a stream sequence/);
    });
    await withStream(
      async (stream) => {
        const error = await openSource(stream, { kind: 'beginning' }, consumerName()).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(SourceError);
        expect((error as SourceError).message).toMatch(/workqueue retention/);
      },
      { retention: 'workqueue' },
    );
  });

  it('fails quickly and clearly when the server cannot be reached', async () => {
    const port = await freePort();
    for (const servers of [`nats://127.0.0.1:${port}`, 'nats://no-such-host.invalid:4222']) {
      const started = Date.now();
      const error = await natsSource
        .open(
          natsSourceConfig.parse({ servers, stream: 'ANY' }),
          sourceContext({ kind: 'beginning' }, consumerName()),
        )
        .catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(error).toBeInstanceOf(SourceError);
      expect((error as SourceError).code).toBe('SOURCE_FAILED');
      expect((error as SourceError).message).toContain(`cannot connect to ${servers}`);
      expect((error as SourceError).hint).toMatch(/nats-server runs|does not resolve/);
    }
    const refused = await natsSource
      .open(
        natsSourceConfig.parse({ servers: `nats://127.0.0.1:${port}`, stream: 'ANY' }),
        sourceContext({ kind: 'beginning' }, consumerName()),
      )
      .catch((e: unknown) => e);
    expect((refused as SourceError).retryable).toBe(true);

    // A server that never answers: the connect timeout bounds the wait.
    const started = Date.now();
    const silent = await natsSource
      .open(
        natsSourceConfig.parse({
          servers: 'nats://10.255.255.1:4222',
          stream: 'ANY',
          connectTimeout: '500ms',
        }),
        sourceContext({ kind: 'beginning' }, consumerName()),
      )
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(silent).toBeInstanceOf(SourceError);
  });

  const binary = natsServerBinary();
  it.skipIf(binary === undefined)(
    'says when credentials are wrong or missing, and when JetStream is off',
    async () => {
      const server = await startNATSServer(binary!, ['--user', 'alice', '--pass', 's3cret']);
      try {
        const open = (config: Record<string, unknown>) =>
          natsSource
            .open(
              natsSourceConfig.parse({ servers: server.url, stream: 'ANY', ...config }),
              sourceContext({ kind: 'beginning' }, consumerName()),
            )
            .catch((e: unknown) => e);
        const wrong = await open({ user: 'alice', password: 'nope' });
        expect(wrong).toBeInstanceOf(SourceError);
        expect((wrong as SourceError).message).toMatch(/Authorization Violation/);
        expect((wrong as SourceError).message).not.toContain('nope');
        expect((wrong as SourceError).hint).toMatch(/user and password/);
        expect((wrong as SourceError).retryable).toBe(false);

        const noEnv = `SLUICE_TEST_NATS_PASSWORD_${randomHex(3)}`;
        const missingSecret = await open({ user: 'alice', password: { env: noEnv } });
        expect(missingSecret).toBeInstanceOf(ConfigError);
        expect((missingSecret as ConfigError).message).toContain(noEnv);

        process.env[noEnv] = 's3cret';
        try {
          const noJetStream = await open({ user: 'alice', password: { env: noEnv } });
          expect(noJetStream).toBeInstanceOf(SourceError);
          expect((noJetStream as SourceError).hint).toMatch(/JetStream is not enabled/);
        } finally {
          delete process.env[noEnv];
        }
      } finally {
        await server.stop();
      }
    },
  );

  it.skipIf(binary === undefined)(
    'reads on after the server is killed and restarted: nothing skipped, nothing twice, in order',
    async () => {
      const dir = await tempDir('sluice-nats-');
      let server = await startNATSServer(binary!, ['-js', '-sd', dir]);
      const nc = await connect({
        servers: server.url,
        reconnectTimeWait: 100,
        maxReconnectAttempts: -1,
      });
      try {
        const jsm = await jetstreamManager(nc);
        const js = jetstream(nc);
        await jsm.streams.add({ name: 'RESTART', subjects: ['restart.>'] });
        // Retried until the restarted server answers; the message id makes a retry harmless.
        const publish = async (from: number, count: number): Promise<void> => {
          for (let id = from; id < from + count; id++) {
            for (let attempt = 0; ; attempt++) {
              try {
                await js.publish('restart.x', `{"id":${id}}`, { msgID: `m${id}`, timeout: 1_000 });
                break;
              } catch (error) {
                if (attempt > 20) throw error;
              }
            }
          }
        };
        await publish(0, 100);
        const reader = await natsSource.open(
          natsSourceConfig.parse({ servers: server.url, stream: 'RESTART', batchSize: 10 }),
          sourceContext({ kind: 'beginning' }, 'restart_reader'),
        );
        try {
          const records = await pullUntil(reader, 40);
          await server.stop('SIGKILL');
          server = await startNATSServer(binary!, ['-js', '-sd', dir], server.port);
          await publish(100, 100);
          const last = (await jsm.streams.info('RESTART')).state.last_seq;
          records.push(...(await pullUntil(reader, last - 40, 30_000)));
          expect(positions(records)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
          expect(records.map((r) => r.value)).toEqual(
            Array.from({ length: last }, (_, id) => ({ id })),
          );
          expect(await reader.pull(10, 300)).toEqual([]);
        } finally {
          await reader.close();
        }
      } finally {
        await nc.close();
        await server.stop();
      }
    },
  );

  it.skipIf(binary === undefined)(
    'closes at once while the server is gone; pulls meanwhile return nothing',
    async () => {
      const dir = await tempDir('sluice-nats-');
      const server = await startNATSServer(binary!, ['-js', '-sd', dir]);
      try {
        const nc = await connect({ servers: server.url });
        await (await jetstreamManager(nc)).streams.add({ name: 'GONE', subjects: ['gone.>'] });
        await nc.close();
        const reader = await natsSource.open(
          natsSourceConfig.parse({ servers: server.url, stream: 'GONE' }),
          sourceContext({ kind: 'beginning' }, 'gone_reader'),
        );
        const writer = await natsSink.open(
          natsSinkConfig.parse({ servers: server.url, subject: 'gone.x' }),
          sinkContext(),
        );
        await server.stop('SIGKILL');
        expect(await reader.pull(10, 300)).toEqual([]);
        const started = Date.now();
        await reader.close();
        await writer.close();
        expect(Date.now() - started).toBeLessThan(1_000);
        expect(await reader.pull(10, 10)).toEqual([]);
      } finally {
        await server.stop();
      }
    },
  );

  it('measures pull throughput on 200k small messages', async () => {
    await withStream(async (stream) => {
      const total = 200_000;
      const subject = `${stream.prefix}.bench`;
      for (let i = 0; i < total; i++) {
        stream.nc.publish(subject, `{"id":${i},"v":"x"}`);
        if (i % 10_000 === 9_999) await stream.nc.flush();
      }
      await stream.nc.flush();
      for (let tries = 0; tries < 200; tries++) {
        if ((await stream.jsm.streams.info(stream.name)).state.messages === total) break;
        await sleep(50);
      }
      expect((await stream.jsm.streams.info(stream.name)).state.messages).toBe(total);

      const reader = await openSource(stream, { kind: 'beginning' }, consumerName());
      try {
        const started = performance.now();
        let count = 0;
        let previous = 0;
        let ordered = true;
        while (count < total) {
          const records = await reader.pull(5_000, 2_000);
          if (records.length === 0) break;
          for (const record of records) {
            const position = Number(record.position);
            if (position <= previous) ordered = false;
            previous = position;
          }
          count += records.length;
          if (count % 20_000 < records.length) await reader.ack({ '': String(previous) });
        }
        await reader.ack({ '': String(previous) });
        const seconds = (performance.now() - started) / 1000;
        console.info(
          `nats source: ${total} messages in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} messages/s`,
        );
        expect(count).toBe(total);
        expect(ordered).toBe(true);
      } finally {
        await reader.close();
      }
    });
  });
});

describe.skipIf(unavailable !== undefined)('nats stream sink', () => {
  it('publishes rows as JSON to templated subjects; a replayed checkpoint is dropped as duplicates', async () => {
    await withStream(async (stream) => {
      const logger = recordingLogger();
      const context = sinkContext(logger);
      const writer = await natsSink.open(
        natsSinkConfig.parse({
          servers: NATS_URL,
          subject: `${stream.prefix}.out.{region}`,
          stream: stream.name,
        }),
        context,
      );
      const rows = Array.from({ length: 100 }, (_, i) => ({
        id: i,
        region: i % 2 === 0 ? 'eu' : 'us',
        big: 9_007_199_254_740_993n,
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
        nested: { tags: ['a', 'b'] },
      }));
      try {
        await writer.write(rows.slice(0, 60));
        await writer.write(rows.slice(60));
        await writer.commit({ checkpointId: 1 });
        // The same checkpoint again, as after a crash between the sink's commit and the checkpoint.
        await writer.write(rows);
        await writer.commit({ checkpointId: 1 });
        await writer.write([{ id: 100, region: 'eu' }]);
        await writer.commit({ checkpointId: 2 });
        await writer.commit({ checkpointId: 3 });
      } finally {
        await writer.close();
      }
      expect((await stream.jsm.streams.info(stream.name)).state.messages).toBe(101);
      expect(logger.entries.find((e) => e['duplicates'] !== undefined)).toMatchObject({
        checkpointId: 1,
        duplicates: 100,
      });

      const reader = await openSource(stream, { kind: 'beginning' }, consumerName(), {
        subjectColumn: '_subject',
      });
      try {
        const records = await pullUntil(reader, 101);
        expect(records.map((r) => r.value)).toEqual(
          [...rows, { id: 100, region: 'eu' }].map((row) => ({
            ...(toJSONValue(row) as object),
            _subject: `${stream.prefix}.out.${row.region}`,
          })),
        );
        const message = await stream.jsm.streams.getMessage(stream.name, { seq: 1 });
        expect(message?.header.get('Nats-Msg-Id')).toMatch(
          new RegExp(`^${context.streamName}:out:1:0:[\\w-]{16}$`),
        );
      } finally {
        await reader.close();
      }
    });
  });

  it('publishes a row a replay makes differently instead of dropping it as a duplicate', async () => {
    await withStream(async (stream) => {
      const writer = await natsSink.open(
        natsSinkConfig.parse({ servers: NATS_URL, subject: `${stream.prefix}.out` }),
        sinkContext(),
      );
      try {
        await writer.write([{ n: 1 }, { n: 2 }]);
        await writer.commit({ checkpointId: 5 });
        // The replay of checkpoint 5 makes the same first row and another second row.
        await writer.write([{ n: 1 }, { n: 2.5 }]);
        await writer.commit({ checkpointId: 5 });
      } finally {
        await writer.close();
      }
      const reader = await openSource(stream, { kind: 'beginning' }, consumerName());
      try {
        expect((await pullUntil(reader, 3)).map((r) => r.value)).toEqual([
          { n: 1 },
          { n: 2 },
          { n: 2.5 },
        ]);
        expect(await reader.pull(10, 300)).toEqual([]);
      } finally {
        await reader.close();
      }
    });
  });

  it('refuses rows that cannot fill the subject, and keeps nothing of that batch', async () => {
    await withStream(async (stream) => {
      const writer = await natsSink.open(
        natsSinkConfig.parse({ servers: NATS_URL, subject: `${stream.prefix}.{region}` }),
        sinkContext(),
      );
      try {
        for (const [row, problem] of [
          [{ id: 1 }, /column "region" of the subject template is missing or null/],
          [{ region: 'a b' }, /holds whitespace/],
          [{ region: '*' }, /wildcard/],
          [{ region: { x: 1 } }, /holds a object, not text or a number/],
        ] as const) {
          const error = await writer.write([{ region: 'ok' }, row]).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(SinkError);
          expect((error as SinkError).message).toMatch(/row 2 of the batch/);
          expect((error as SinkError).message).toMatch(problem);
        }
        await writer.commit({ checkpointId: 1 });
      } finally {
        await writer.close();
      }
      expect((await stream.jsm.streams.info(stream.name)).state.messages).toBe(0);
    });
  });

  it('fails clearly when no stream stores the subject, another stream does, or the stream is missing', async () => {
    await withStream(async (stream) => {
      const orphan = `sluice_test_orphan_${randomHex(4)}`;
      const writer = await natsSink.open(
        natsSinkConfig.parse({ servers: NATS_URL, subject: orphan, publishTimeout: '2s' }),
        sinkContext(),
      );
      try {
        await writer.write([{ id: 1 }]);
        const error = await writer.commit({ checkpointId: 1 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SinkError);
        expect((error as SinkError).message).toContain(
          `no JetStream stream stores subject ${orphan}`,
        );
      } finally {
        await writer.close();
      }

      const other = await createTestStream();
      try {
        const wrong = await natsSink.open(
          natsSinkConfig.parse({
            servers: NATS_URL,
            subject: `${other.prefix}.x`,
            stream: stream.name,
          }),
          sinkContext(),
        );
        try {
          await wrong.write([{ id: 1 }]);
          const error = await wrong.commit({ checkpointId: 1 }).catch((e: unknown) => e);
          expect((error as SinkError).message).toContain(
            `stored by another stream than ${stream.name}`,
          );
        } finally {
          await wrong.close();
        }
      } finally {
        await other.drop();
      }

      const missing = await natsSink
        .open(
          natsSinkConfig.parse({ servers: NATS_URL, subject: 'x', stream: `${stream.name}_NOPE` }),
          sinkContext(),
        )
        .catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(SinkError);
      expect((missing as SinkError).message).toContain(`stream ${stream.name}_NOPE does not exist`);
    });
  });

  it('fails quickly when the server cannot be reached', async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await natsSink
      .open(
        natsSinkConfig.parse({ servers: `nats://u:secret@127.0.0.1:${port}`, subject: 'x' }),
        sinkContext(),
      )
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(SinkError);
    expect((error as SinkError).message).toContain(`cannot connect to nats://127.0.0.1:${port}`);
    expect((error as SinkError).message).not.toContain('secret');
  });
});

describe('nats connector configs', () => {
  it('lists the source and the sink', () => {
    expect(natsStreamConnectors.map((c) => `${c.role}:${c.name}`)).toEqual([
      'stream-source:nats',
      'stream-sink:nats',
    ]);
  });

  it('rejects unknown keys, bad URLs, bad credentials combinations and bad templates', () => {
    const problems = (schema: typeof natsSourceConfig | typeof natsSinkConfig, input: unknown) =>
      schema
        .safeParse(input)
        .error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(problems(natsSourceConfig, { servers: 'http://x', stream: 'S' })).toEqual([
      expect.stringMatching(/^servers: /),
    ]);
    expect(problems(natsSourceConfig, { servers: NATS_URL, stream: 'a.b' })).toEqual([
      expect.stringMatching(/^stream: .*stream name/),
    ]);
    expect(problems(natsSourceConfig, { servers: NATS_URL, stream: 'S', batchsize: 1 })).toEqual([
      expect.stringMatching(/batchsize/),
    ]);
    expect(problems(natsSourceConfig, { servers: NATS_URL, stream: 'S', password: 'p' })).toEqual([
      'password: password goes with user; add user',
    ]);
    expect(
      problems(natsSourceConfig, { servers: NATS_URL, stream: 'S', user: 'u', token: 't' }),
    ).toEqual(['token: give either token or user and password, not both']);
    expect(problems(natsSinkConfig, { servers: NATS_URL, subject: 'a.{region' })).toEqual([
      expect.stringMatching(/^subject: "\{" without "\}"/),
    ]);
    expect(problems(natsSinkConfig, { servers: NATS_URL, subject: 'a.>' })).toEqual([
      expect.stringMatching(/^subject: subject template: .*wildcard/),
    ]);
    expect(natsSourceConfig.parse({ servers: [NATS_URL], stream: 'S' })).toMatchObject({
      batchSize: 1000,
      ackWait: '30s',
      connectTimeout: '5s',
    });
  });
});
