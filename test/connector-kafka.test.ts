import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Admin,
  AuthenticationError,
  NetworkError,
  ProtocolError,
  ResponseError,
} from '@platformatic/kafka';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compareOffsets,
  encodeKey,
  encodeValue,
  kafkaFailure,
  kafkaMessageId,
  kafkaSink,
  kafkaSinkConfig,
  kafkaSource,
  kafkaSourceConfig,
  kafkaStreamConnectors,
  messageEncoder,
  messageRecord,
  parsePartitionName,
  partitionName,
  resolveStart,
} from '../src/connectors/kafka/index.js';
import { randomHex } from '../src/core/ids.js';
import { SluiceError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSourceContext,
  StreamStart,
  StreamWriter,
} from '../src/stream/index.js';
import {
  defaultStreamRegistry,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';

/**
 * There is no Kafka broker on the development machine, and none can be installed there: the
 * tests against a broker run only when KAFKA_BROKERS names one (`host:port[,host:port]`), and are
 * skipped otherwise, also under CI=true (unlike the tests of services the machine runs, whose
 * absence fails CI). Everything that needs no broker is tested below regardless.
 */
const BROKERS = process.env['KAFKA_BROKERS']?.split(',').map((b) => b.trim()) ?? [];
const brokerMissing =
  BROKERS.length === 0 ? 'KAFKA_BROKERS is not set (no Kafka broker to test against)' : undefined;
if (brokerMissing !== undefined) console.warn(`Kafka integration tests skipped: ${brokerMissing}`);

function sourceContext(start: StreamStart, consumer: string): StreamSourceContext {
  return {
    stepId: 'source',
    streamName: 'clicks',
    consumer,
    worker: 'w1',
    start,
    logger: silentLogger,
    signal: new AbortController().signal,
  };
}

describe('kafka configs', () => {
  it('lists its source and sink', () => {
    expect(kafkaStreamConnectors.map((c) => `${c.role}:${c.name}`)).toEqual([
      'stream-source:kafka',
      'stream-sink:kafka',
    ]);
  });

  it('fills defaults and refuses bad brokers, topics, templates and options', () => {
    expect(kafkaSourceConfig.parse({ brokers: 'k1:9092', topics: 'clicks' })).toMatchObject({
      isolationLevel: 'read_committed',
      batchSize: 1000,
      tls: false,
    });
    expect(kafkaSinkConfig.parse({ brokers: ['k1:9092', 'k2:9092'], topic: 'out' })).toMatchObject({
      idempotent: true,
      compression: 'none',
      retries: 10,
    });
    const issue = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
      result.error?.issues[0]?.message ?? '';
    expect(
      issue(kafkaSourceConfig.safeParse({ brokers: 'kafka://k1:9092', topics: 'a' })),
    ).toContain('host:port');
    expect(issue(kafkaSourceConfig.safeParse({ brokers: 'k1:9092', topics: 'a b' }))).toContain(
      'Kafka topic name',
    );
    expect(
      issue(
        kafkaSourceConfig.safeParse({
          brokers: 'k1:9092',
          topics: 'a',
          keyColumn: 'k',
          timestampColumn: 'k',
        }),
      ),
    ).toContain('must differ');
    expect(
      issue(kafkaSinkConfig.safeParse({ brokers: 'k1:9092', topic: 'views.{region' })),
    ).toContain('without a column name');
    expect(
      issue(kafkaSinkConfig.safeParse({ brokers: 'k1:9092', topic: 'views/{region}' })),
    ).toContain('which topic cannot hold');
    expect(kafkaSinkConfig.safeParse({ brokers: 'k1:9092', topic: 'a', retries: 1 }).success).toBe(
      false,
    );
    expect(
      kafkaSinkConfig.safeParse({
        brokers: 'k1:9092',
        topic: 'a',
        sasl: { mechanism: 'GSSAPI', username: 'u', password: 'p' },
      }).success,
    ).toBe(false);
    expect(
      kafkaSourceConfig.safeParse({ brokers: 'k1:9092', topics: 'a', group: 'g' }).success,
    ).toBe(false);
  });
});

describe('kafka positions and start', () => {
  it('names partitions <topic>/<partition> and orders offsets as integers', () => {
    expect(partitionName('clicks.eu', 3)).toBe('clicks.eu/3');
    expect(parsePartitionName('clicks.eu/3')).toEqual({ topic: 'clicks.eu', partition: 3 });
    expect(parsePartitionName('clicks')).toBeUndefined();
    expect(parsePartitionName('clicks/x')).toBeUndefined();
    expect(compareOffsets('9', '10')).toBeLessThan(0);
    expect(compareOffsets('10', '9')).toBeGreaterThan(0);
    expect(compareOffsets('18446744073709551615', '18446744073709551614')).toBeGreaterThan(0);
    expect(compareOffsets('42', '42')).toBe(0);
    expect(kafkaSource.comparePositions('99', '100')).toBeLessThan(0);
  });

  const bounds = [
    { topic: 'clicks', partition: 0, earliest: 0n, latest: 100n, atTime: 40n },
    { topic: 'clicks', partition: 1, earliest: 50n, latest: 80n, atTime: undefined },
    { topic: 'clicks', partition: 2, earliest: 0n, latest: 0n, atTime: undefined },
  ];

  it('starts each partition where the start says', () => {
    const offsets = (start: StreamStart) => Object.fromEntries(resolveStart(start, bounds).offsets);
    expect(offsets({ kind: 'beginning' })).toEqual({
      'clicks/0': 0n,
      'clicks/1': 50n,
      'clicks/2': 0n,
    });
    expect(offsets({ kind: 'latest' })).toEqual({
      'clicks/0': 100n,
      'clicks/1': 80n,
      'clicks/2': 0n,
    });
    // A partition with no message at or after the time starts at its end.
    expect(offsets({ kind: 'time', at: new Date(0) })).toEqual({
      'clicks/0': 40n,
      'clicks/1': 80n,
      'clicks/2': 0n,
    });
    // From the checkpoint's offset + 1; a partition the checkpoint does not name from its start.
    expect(
      offsets({ kind: 'checkpoint', positions: { 'clicks/0': '41', 'clicks/1': '79' } }),
    ).toEqual({ 'clicks/0': 42n, 'clicks/1': 80n, 'clicks/2': 0n });
  });

  it('reports messages retention deleted after a checkpoint, positions past the end and bad positions', () => {
    const plan = resolveStart(
      { kind: 'checkpoint', positions: { 'clicks/0': '120', 'clicks/1': '10', 'clicks/2': 'x' } },
      bounds,
    );
    expect(plan.removed).toEqual([{ partition: 'clicks/1', from: 11n, to: 49n }]);
    expect(plan.offsets.get('clicks/1')).toBe(50n);
    expect(plan.pastEnd).toEqual([{ partition: 'clicks/0', position: '120', latest: 100n }]);
    expect(plan.invalid).toEqual([{ partition: 'clicks/2', position: 'x' }]);
    // The last message read exactly at the end is not past it.
    expect(
      resolveStart({ kind: 'checkpoint', positions: { 'clicks/0': '99' } }, bounds).pastEnd,
    ).toEqual([]);
  });
});

describe('kafka records and messages', () => {
  it('makes a record of a message, quarantining what is not a JSON object', () => {
    const message = {
      topic: 'clicks',
      partition: 2,
      offset: 41n,
      timestamp: 1_700_000_000_123n,
      key: Buffer.from('user-7'),
      value: Buffer.from('{"page":"/home"}'),
    };
    expect(messageRecord(message, { keyColumn: '_key', timestampColumn: '_ts' })).toEqual({
      value: { page: '/home', _key: 'user-7', _ts: 1_700_000_000_123 },
      partition: 'clicks/2',
      position: '41',
      brokerTime: 1_700_000_000_123,
    });
    expect(messageRecord({ ...message, key: undefined }, { keyColumn: '_key' }).value['_key']).toBe(
      null,
    );
    expect(messageRecord({ ...message, value: undefined }, {}).value).toEqual({
      _sluice_invalid: 'the message has no value (a tombstone)',
      _sluice_payload: '',
    });
    expect(messageRecord({ ...message, value: Buffer.from('7') }, {}).value).toEqual({
      _sluice_invalid: 'the payload is a JSON number, not an object',
      _sluice_payload: '7',
    });
    // A key that is not UTF-8 is kept as base64.
    expect(
      messageRecord({ ...message, key: Buffer.from([0xff, 0xfe]) }, { keyColumn: 'k' }).value['k'],
    ).toBe('//4=');
  });

  it('encodes keys and values as text and JSON', () => {
    expect(encodeKey('eu')?.toString()).toBe('eu');
    expect(encodeKey(42)?.toString()).toBe('42');
    expect(encodeKey(12345678901234567890n)?.toString()).toBe('12345678901234567890');
    expect(encodeKey(true)?.toString()).toBe('true');
    expect(encodeKey(new Date(Date.UTC(2024, 0, 2)))?.toString()).toBe('2024-01-02T00:00:00.000Z');
    expect(encodeKey({ a: 1n })?.toString()).toBe('{"a":1}');
    expect(encodeKey(new Uint8Array([1, 2]))).toEqual(Buffer.from([1, 2]));
    expect(encodeKey(null)).toBeUndefined();
    expect(encodeKey(undefined)).toBeUndefined();
    expect(
      encodeValue({
        id: 9007199254740993n,
        at: new Date(0),
        raw: new Uint8Array([104, 105]),
      }).toString(),
    ).toBe('{"id":"9007199254740993","at":"1970-01-01T00:00:00.000Z","raw":"aGk="}');
    const id = kafkaMessageId('clicks', 7, 3, Buffer.from('{"n":1}'));
    expect(id).toMatch(/^clicks:7:3:[A-Za-z0-9_-]{16}$/);
    expect(kafkaMessageId('clicks', 7, 3, Buffer.from('{"n":2}'))).not.toBe(id);
  });

  it('routes rows to topics and keys, and names the row that cannot be sent', () => {
    const encode = messageEncoder({ topic: 'views.{region}', key: 'page' }, 'sink');
    const [message] = encode([{ region: 'eu', page: '/home', views: 3 }]);
    expect(message?.topic).toBe('views.eu');
    expect(message?.key?.toString()).toBe('/home');
    expect(JSON.parse(message?.value.toString() ?? '')).toEqual({
      region: 'eu',
      page: '/home',
      views: 3,
    });
    const fail = (rows: Record<string, unknown>[]) => {
      try {
        encode(rows);
        return '';
      } catch (error) {
        expect(error).toBeInstanceOf(SluiceError);
        return (error as Error).message;
      }
    };
    expect(fail([{ region: 'eu', page: '/' }, { region: 'us' }])).toContain(
      'row 2 of the batch has no value for the key column "page"',
    );
    expect(fail([{ page: '/' }])).toContain('row 1 of the batch has no value for "region"');
    expect(fail([{ region: 'eu west', page: '/' }])).toContain('makes topic part "eu west"');
    expect(messageEncoder({ topic: 'fixed', key: undefined }, 'sink')([{ a: 1 }])[0]?.key).toBe(
      undefined,
    );
  });

  it("reads the client's errors: Kafka's error name, retryable or not, with a hint", () => {
    const denied = kafkaFailure(new ProtocolError('TOPIC_AUTHORIZATION_FAILED'));
    expect(denied).toMatchObject({ code: 'TOPIC_AUTHORIZATION_FAILED', retryable: false });
    expect(denied.hint).toContain('ACLs');
    const refused = kafkaFailure(
      new NetworkError('Connection to k1:9092 failed.', {
        cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9092'), {
          code: 'ECONNREFUSED',
        }),
      }),
    );
    expect(refused).toMatchObject({ code: 'ECONNREFUSED', retryable: true });
    expect(refused.text).toContain('ECONNREFUSED');
    const unknownHost = kafkaFailure(
      new NetworkError('Connection to nohost:9092 failed.', {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND nohost'), { code: 'ENOTFOUND' }),
      }),
    );
    expect(unknownHost).toMatchObject({ code: 'ENOTFOUND', retryable: false });
    expect(unknownHost.hint).toContain('does not resolve');
    const auth = kafkaFailure(new AuthenticationError('SASL authentication failed.'));
    expect(auth).toMatchObject({ code: 'PLT_KFK_AUTHENTICATION', retryable: false });
    expect(auth.hint).toContain('sasl');
    const inResponse = kafkaFailure(
      new ResponseError(0, 9, { '/topics/0/partitions/0': [3, null] }, {}),
    );
    expect(inResponse).toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION', retryable: true });
  });
});

describe('kafka without a broker', () => {
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    await new Promise((done) => server.close(done));
    return port;
  }

  it('fails to open with a retryable error naming the brokers when none listens', async () => {
    const brokers = `127.0.0.1:${await closedPort()}`;
    const error = (await kafkaSource
      .open(
        kafkaSourceConfig.parse({ brokers, topics: 'clicks', connectTimeout: '1s' }),
        sourceContext({ kind: 'beginning' }, 'sluice-clicks'),
      )
      .catch((e: unknown) => e)) as SluiceError;
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toContain(`cannot connect to Kafka at ${brokers}`);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.retryable).toBe(true);
    expect(error.hint).toContain('check that a Kafka broker listens');
  }, 30_000);

  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const hasZstd = major > 23 || (major === 23 && minor >= 8) || (major === 22 && minor >= 15);
  it.skipIf(hasZstd)('refuses compression this Node.js cannot do, before connecting', async () => {
    const error = (await kafkaSink
      .open(kafkaSinkConfig.parse({ brokers: '127.0.0.1:9', topic: 'out', compression: 'zstd' }), {
        stepId: 'sink',
        streamName: 'clicks',
        logger: silentLogger,
        signal: new AbortController().signal,
      })
      .catch((e: unknown) => e)) as SluiceError;
    expect(error.code).toBe('SINK_FAILED');
    expect(error.message).toContain('zstd compression is not available');
  });
});

describe.skipIf(brokerMissing !== undefined)('kafka against a broker (KAFKA_BROKERS)', () => {
  let admin: Admin;
  const topics: string[] = [];
  const groups: string[] = [];
  const open: (StreamReader | StreamWriter)[] = [];

  beforeAll(() => {
    admin = new Admin({ clientId: 'sluice-test', bootstrapBrokers: BROKERS });
  });
  afterEach(async () => {
    for (const each of open.splice(0)) await each.close();
    if (groups.length > 0) await admin.deleteGroups({ groups: groups.splice(0) }).catch(() => {});
    if (topics.length > 0) await admin.deleteTopics({ topics: topics.splice(0) });
  });
  afterAll(async () => {
    await admin.close();
  });

  async function createTopic(partitions: number): Promise<string> {
    const name = `sluice-test-${randomHex(6)}`;
    await admin.createTopics({ topics: [name], partitions, replicas: 1 });
    topics.push(name);
    return name;
  }

  async function openWriter(config: Record<string, unknown>): Promise<StreamWriter> {
    const writer = await kafkaSink.open(kafkaSinkConfig.parse({ brokers: BROKERS, ...config }), {
      stepId: 'sink',
      streamName: 'clicks',
      logger: silentLogger,
      signal: new AbortController().signal,
    });
    open.push(writer);
    return writer;
  }

  async function openReader(
    config: Record<string, unknown>,
    start: StreamStart,
    group = `sluice-test-${randomHex(4)}`,
  ): Promise<StreamReader> {
    groups.push(group);
    const reader = await kafkaSource.open(
      kafkaSourceConfig.parse({ brokers: BROKERS, sessionTimeout: '10s', ...config }),
      sourceContext(start, group),
    );
    open.push(reader);
    return reader;
  }

  async function produce(topic: string, rows: Record<string, unknown>[], checkpointId = 1) {
    const writer = await openWriter({ topic, key: 'user' });
    await writer.write(rows);
    await writer.commit({ checkpointId });
    await writer.close();
  }

  /** Pulls until `count` records came or twenty seconds passed. */
  async function pullAll(reader: StreamReader, count: number): Promise<StreamRecord[]> {
    const records: StreamRecord[] = [];
    const deadline = Date.now() + 20_000;
    while (records.length < count && Date.now() < deadline)
      records.push(...(await reader.pull(count - records.length, 500)));
    return records;
  }

  const clicks = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => ({ n: from + i, user: `u${(from + i) % 5}` }));

  it('produces keyed rows and reads every one back by partition, in offset order', async () => {
    const topic = await createTopic(3);
    await produce(topic, clicks(1, 30));
    const reader = await openReader(
      { topics: topic, keyColumn: '_key', timestampColumn: '_ts' },
      { kind: 'beginning' },
    );
    const records = await pullAll(reader, 30);
    expect(records.map((r) => r.value['n']).sort((a, b) => Number(a) - Number(b))).toEqual(
      clicks(1, 30).map((c) => c.n),
    );
    const byPartition = new Map<string, StreamRecord[]>();
    for (const record of records) {
      expect(record.partition).toMatch(new RegExp(`^${topic}/[0-2]$`));
      byPartition.set(record.partition, [...(byPartition.get(record.partition) ?? []), record]);
      expect(record.value['_key']).toBe(record.value['user']);
      expect(typeof record.value['_ts']).toBe('number');
    }
    for (const list of byPartition.values())
      expect(list.map((r) => Number(r.position))).toEqual(list.map((_, i) => i));
    // One key, one partition.
    const partitionOf = new Map<unknown, string>();
    for (const record of records) {
      const seen = partitionOf.get(record.value['user']);
      if (seen !== undefined) expect(record.partition).toBe(seen);
      partitionOf.set(record.value['user'], record.partition);
    }
  }, 60_000);

  it('commits offsets after the ack and resumes after a checkpoint, at latest or at a time', async () => {
    const topic = await createTopic(1);
    await produce(topic, clicks(1, 10));
    const group = `sluice-test-${randomHex(4)}`;
    const reader = await openReader({ topics: topic }, { kind: 'beginning' }, group);
    const first = await pullAll(reader, 10);
    await reader.ack({ [`${topic}/0`]: first[5]?.position ?? '' });
    const [committed] = await admin.listConsumerGroupOffsets({ groups: [group] });
    expect(committed?.topics[0]?.partitions[0]?.committedOffset).toBe(6n);
    await reader.close();

    const resumed = await openReader(
      { topics: topic },
      { kind: 'checkpoint', positions: { [`${topic}/0`]: '5' } },
      group,
    );
    expect((await pullAll(resumed, 4)).map((r) => r.value['n'])).toEqual([7, 8, 9, 10]);

    const latest = await openReader({ topics: topic }, { kind: 'latest' });
    expect(await latest.pull(10, 1_000)).toEqual([]);
    await new Promise((done) => setTimeout(done, 50));
    const cut = new Date();
    await new Promise((done) => setTimeout(done, 50));
    await produce(topic, clicks(11, 12), 2);
    expect((await pullAll(latest, 2)).map((r) => r.value['n'])).toEqual([11, 12]);
    const fromTime = await openReader({ topics: topic }, { kind: 'time', at: cut });
    expect((await pullAll(fromTime, 2)).map((r) => r.value['n'])).toEqual([11, 12]);
  }, 60_000);

  it('fails to open on a missing topic, naming it', async () => {
    const error = (await openReader(
      { topics: `sluice-test-missing-${randomHex(4)}` },
      {
        kind: 'beginning',
      },
    ).catch((e: unknown) => e)) as SluiceError;
    expect(error.code).toBe('SOURCE_FAILED');
    expect(error.message).toContain('does not exist');
  }, 60_000);

  it('runs a stream from Kafka into files exactly once across a restart', async () => {
    const topic = await createTopic(2);
    const dir = await tempDir();
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const name = `kafka_${randomHex(4)}`;
    groups.push(`sluice-${name}`);
    const run = async (records: number) => {
      const stop = new AbortController();
      return runStream(
        planStream(
          stream(name, {
            source: streamSource.kafka({ brokers: BROKERS, topics: topic, sessionTimeout: '10s' }),
            eventTime: () => 0,
            sink: streamSink.files({ path: join(dir, 'out') }),
            checkpoint: { every: '100ms' },
          }),
          defaultStreamRegistry,
        ),
        {
          checkpoints: new StreamCheckpoints(store),
          quarantine: new QuarantineStore(join(dir, 'quarantine'), name),
          signal: stop.signal,
          logger: silentLogger,
          onCheckpoint: (p) => {
            if (p.recordsIn >= records) stop.abort();
          },
        },
      );
    };
    try {
      await produce(topic, clicks(1, 20));
      expect((await run(20)).recordsIn).toBe(20);
      await produce(topic, clicks(21, 25), 2);
      expect((await run(25)).recordsIn).toBe(25);
      const written: number[] = [];
      for (const file of (await readdir(join(dir, 'out'))).filter((f) => f.endsWith('.ndjson')))
        for (const line of (await readFile(join(dir, 'out', file), 'utf8')).split('\n'))
          if (line !== '') written.push((JSON.parse(line) as { n: number }).n);
      expect(written.sort((a, b) => a - b)).toEqual(clicks(1, 25).map((c) => c.n));
    } finally {
      await store.close();
    }
  }, 120_000);
});
