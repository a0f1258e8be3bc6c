import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compareEntryIds,
  redisStreamConnectors,
  redisStreamSink,
  redisStreamSinkConfig,
  redisStreamSource,
  redisStreamSourceConfig,
} from '../src/connectors/redis/index.js';
import { randomHex } from '../src/core/ids.js';
import { silentLogger } from '../src/core/logger.js';
import type { Logger } from '../src/core/logger.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSourceContext,
  StreamStart,
} from '../src/contracts/stream-connector.js';
import type { RedisTestClient } from './support/redis.js';
import {
  REDIS_URL,
  connectRedis,
  deleteTestKeys,
  redisUnavailable,
  uniqueKey,
} from './support/redis.js';

const unavailable = await redisUnavailable();
if (unavailable !== undefined) console.warn(`Redis connector tests skipped: ${unavailable}`);

describe('redis_stream positions and config', () => {
  it('orders entry ids as two unsigned 64-bit integers', () => {
    expect(compareEntryIds('1700000000000-9', '1700000000000-10')).toBeLessThan(0);
    expect(compareEntryIds('999-5', '1000-0')).toBeLessThan(0);
    expect(compareEntryIds('5-18446744073709551615', '5-18446744073709551614')).toBeGreaterThan(0);
    expect(compareEntryIds('42-7', '42-7')).toBe(0);
    expect(redisStreamSource.comparePositions('2-0', '10-0')).toBeLessThan(0);
  });

  it('lists its source and sink', () => {
    expect(redisStreamConnectors.map((c) => `${c.role}:${c.name}`)).toEqual([
      'stream-source:redis_stream',
      'stream-sink:redis_stream',
    ]);
  });

  it('rejects a config with both field and fields, a bad url and a broken key template', () => {
    const both = redisStreamSourceConfig.safeParse({
      url: REDIS_URL,
      keys: 'k',
      field: 'payload',
      fields: 'all',
    });
    expect(both.success).toBe(false);
    expect(both.error?.issues[0]?.message).toContain('not both');
    expect(redisStreamSourceConfig.safeParse({ url: 'http://x', keys: 'k' }).success).toBe(false);
    expect(redisStreamSourceConfig.safeParse({ url: REDIS_URL, keys: 'k', extra: 1 }).success).toBe(
      false,
    );
    const template = redisStreamSinkConfig.safeParse({ url: REDIS_URL, key: 'alerts:{region' });
    expect(template.success).toBe(false);
    expect(template.error?.issues[0]?.path).toEqual(['key']);
  });
});

describe.skipIf(unavailable !== undefined)('redis_stream against Redis', () => {
  let redis: RedisTestClient;
  const open: StreamReader[] = [];

  beforeAll(async () => {
    redis = await connectRedis();
  });
  afterEach(async () => {
    for (const reader of open.splice(0)) await reader.close();
    await deleteTestKeys(redis);
  });
  afterAll(async () => {
    redis.destroy();
  });

  function context(
    start: StreamStart,
    options: { consumer?: string; worker?: string; logger?: Logger } = {},
  ): StreamSourceContext {
    return {
      stepId: 'events',
      streamName: 'events',
      consumer: options.consumer ?? `group-${randomHex(4)}`,
      worker: options.worker ?? 'w1',
      start,
      logger: options.logger ?? silentLogger,
      signal: new AbortController().signal,
    };
  }

  async function openReader(
    config: Record<string, unknown>,
    ctx: StreamSourceContext,
  ): Promise<StreamReader> {
    const reader = await redisStreamSource.open(
      redisStreamSourceConfig.parse({ url: REDIS_URL, ...config }),
      ctx,
    );
    open.push(reader);
    return reader;
  }

  async function add(key: string, count: number, from = 0): Promise<string[]> {
    // One connection sends the appends in order, so ids increase with n.
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        redis.xAdd(key, '*', { data: JSON.stringify({ n: from + i }) }),
      ),
    );
  }

  /** Pulls until `count` records came or `timeoutMs` passed. */
  async function pullAll(
    reader: StreamReader,
    count: number,
    timeoutMs = 5_000,
  ): Promise<StreamRecord[]> {
    const records: StreamRecord[] = [];
    const until = Date.now() + timeoutMs;
    while (records.length < count && Date.now() < until) {
      records.push(...(await reader.pull(count - records.length, 100)));
    }
    return records;
  }

  function lastPosition(records: readonly StreamRecord[], key: string): string {
    const position = records.filter((r) => r.partition === key).at(-1)?.position;
    if (position === undefined) throw new Error(`no record of ${key}`);
    return position;
  }

  it('reads, acknowledges and resumes from a checkpoint without redelivering', async () => {
    const key = uniqueKey();
    const ids = await add(key, 2_000);
    const ctx = context({ kind: 'beginning' });
    const reader = await openReader({ keys: key, batchSize: 300 }, ctx);
    const records = await pullAll(reader, 2_000);
    expect(records.map((r) => r.value['n'])).toEqual([...Array(2_000).keys()]);
    expect(records.map((r) => r.position)).toEqual(ids);
    expect(records.every((r) => r.partition === key)).toBe(true);
    expect(records[0]?.brokerTime).toBe(Number(ids[0]!.split('-')[0]));
    expect(await reader.pull(10, 50)).toEqual([]);

    const position = lastPosition(records, key);
    await reader.ack({ [key]: position });
    expect((await redis.xPending(key, ctx.consumer)).pending).toBe(0);
    await reader.close();

    await add(key, 5, 2_000);
    const again = await openReader(
      { keys: key },
      { ...ctx, start: { kind: 'checkpoint', positions: { [key]: position } } },
    );
    const next = await pullAll(again, 5);
    expect(next.map((r) => r.value['n'])).toEqual([2000, 2001, 2002, 2003, 2004]);
    expect(await again.pull(10, 50)).toEqual([]);
  });

  it('re-reads its own pending entries first after a crash, then new ones', async () => {
    const key = uniqueKey();
    await add(key, 10);
    const ctx = context({ kind: 'beginning' });
    const reader = await openReader({ keys: key }, ctx);
    const first = await pullAll(reader, 10);
    await reader.ack({ [key]: first[3]!.position });
    await reader.close(); // entries 4..9 were read but never acknowledged

    await add(key, 2, 10);
    const reopened = await openReader(
      { keys: key },
      { ...ctx, start: { kind: 'checkpoint', positions: { [key]: first[3]!.position } } },
    );
    const records = await pullAll(reopened, 8);
    expect(records.map((r) => r.value['n'])).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    const positions = records.map((r) => r.position);
    expect([...positions].sort(compareEntryIds)).toEqual(positions);
    await reopened.ack({ [key]: lastPosition(records, key) });
    expect((await redis.xPending(key, ctx.consumer)).pending).toBe(0);
  });

  it('redelivers records pulled but not acknowledged to the next reader of the consumer', async () => {
    const key = uniqueKey();
    await add(key, 3);
    const ctx = context({ kind: 'beginning' });
    const reader = await openReader({ keys: key }, ctx);
    expect(await pullAll(reader, 3)).toHaveLength(3);
    await reader.close();
    const reopened = await openReader({ keys: key }, ctx);
    expect((await pullAll(reopened, 3)).map((r) => r.value['n'])).toEqual([0, 1, 2]);
  });

  it("claims a dead consumer's pending entries after claimIdle before reading new ones", async () => {
    const key = uniqueKey();
    const ctx = context({ kind: 'beginning' }, { worker: 'w2' });
    await redis.xGroupCreate(key, ctx.consumer, '0', { MKSTREAM: true });
    await add(key, 4);
    // A consumer that died after reading: its entries stay pending with it.
    await redis.xReadGroup(ctx.consumer, 'dead', { key, id: '>' }, { COUNT: 3 });
    const logs: string[] = [];
    const reader = await openReader(
      { keys: key, claimIdle: '400ms' },
      { ...ctx, logger: recordingLogger(logs) },
    );
    const opened = Date.now();
    const records = await pullAll(reader, 4);
    expect(records.map((r) => r.value['n'])).toEqual([0, 1, 2, 3]);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(300);
    expect(logs).toContain('claimed entries other consumers left pending');
    const pending = await redis.xPendingRange(key, ctx.consumer, '-', '+', 10);
    expect(pending.map((p) => p.consumer)).toEqual(['w2', 'w2', 'w2', 'w2']);
  });

  it("takes over more pending entries than one page, its own and a dead consumer's, in order", async () => {
    const key = uniqueKey();
    const ctx = context({ kind: 'beginning' }, { worker: 'w2' });
    await redis.xGroupCreate(key, ctx.consumer, '0', { MKSTREAM: true });
    await add(key, 1_205);
    await redis.xReadGroup(ctx.consumer, 'w2', { key, id: '>' }, { COUNT: 1_100 });
    await redis.xReadGroup(ctx.consumer, 'dead', { key, id: '>' }, { COUNT: 100 });
    const reader = await openReader({ keys: key, claimIdle: '200ms' }, ctx);
    const records = await pullAll(reader, 1_205);
    expect(records.map((r) => r.value['n'])).toEqual([...Array(1_205).keys()]);
  });

  it('claims entries another consumer leaves idle while the reader runs', async () => {
    const key = uniqueKey();
    const ctx = context({ kind: 'latest' }, { worker: 'w1' });
    const reader = await openReader({ keys: key, claimIdle: '300ms' }, ctx);
    expect(await reader.pull(10, 50)).toEqual([]);
    await add(key, 1);
    // Another consumer of the group takes the entry, then stops answering.
    const taken = await redis.xReadGroup(ctx.consumer, 'stuck', { key, id: '>' });
    expect(taken?.[0]?.messages).toHaveLength(1);
    const records = await pullAll(reader, 1, 3_000);
    expect(records.map((r) => r.value['n'])).toEqual([0]);
    const pending = await redis.xPendingRange(key, ctx.consumer, '-', '+', 10);
    expect(pending.map((p) => p.consumer)).toEqual(['w1']);
  });

  it('does not hand out its own entries again while they wait for a checkpoint', async () => {
    const key = uniqueKey();
    await add(key, 3);
    const reader = await openReader(
      { keys: key, claimIdle: '100ms' },
      context({ kind: 'beginning' }),
    );
    expect(await pullAll(reader, 3)).toHaveLength(3);
    await sleep(300);
    expect(await pullAll(reader, 1, 500)).toEqual([]);
  });

  it('reads several keys, each a partition in position order', async () => {
    const a = uniqueKey();
    const b = uniqueKey();
    await add(a, 5);
    await add(b, 7);
    const ctx = context({ kind: 'beginning' });
    const reader = await openReader({ keys: [a, b], batchSize: 2 }, ctx);
    const records = await pullAll(reader, 12);
    for (const [key, count] of [
      [a, 5],
      [b, 7],
    ] as const) {
      const own = records.filter((r) => r.partition === key);
      expect(own.map((r) => r.value['n'])).toEqual([...Array(count).keys()]);
    }
    await reader.ack({ [a]: lastPosition(records, a) });
    expect((await redis.xPending(a, ctx.consumer)).pending).toBe(0);
    expect((await redis.xPending(b, ctx.consumer)).pending).toBe(7);
  });

  it('starts at the latest entry, at a time, or at a checkpoint for a new group', async () => {
    const key = uniqueKey();
    const ids = await add(key, 3);
    const latest = await openReader({ keys: key }, context({ kind: 'latest' }));
    expect(await latest.pull(10, 50)).toEqual([]);

    await sleep(5);
    const at = new Date();
    await sleep(5);
    await add(key, 2, 3);
    const fromTime = await openReader({ keys: key }, context({ kind: 'time', at }));
    expect((await pullAll(fromTime, 2)).map((r) => r.value['n'])).toEqual([3, 4]);
    expect((await pullAll(latest, 2)).map((r) => r.value['n'])).toEqual([3, 4]);

    const all = (await redis.xRange(key, '-', '+')) ?? [];
    const atMs = Number(ids[1]!.split('-')[0]);
    const exact = await openReader({ keys: key }, context({ kind: 'time', at: new Date(atMs) }));
    const fromExact = await pullAll(exact, 5, 500);
    expect(fromExact.map((r) => r.position)).toEqual(
      all.map((e) => e.id).filter((id) => Number(id.split('-')[0]) >= atMs),
    );
    expect(fromExact.map((r) => r.position)).toContain(ids[1]);

    const fromCheckpoint = await openReader(
      { keys: key },
      context({ kind: 'checkpoint', positions: { [key]: ids[1]! } }),
    );
    expect((await pullAll(fromCheckpoint, 3)).map((r) => r.value['n'])).toEqual([2, 3, 4]);
  });

  it('keeps an existing group where it is, whatever the start', async () => {
    const key = uniqueKey();
    await add(key, 2);
    const ctx = context({ kind: 'beginning' });
    const reader = await openReader({ keys: key }, ctx);
    const records = await pullAll(reader, 2);
    await reader.ack({ [key]: lastPosition(records, key) });
    await reader.close();
    const again = await openReader({ keys: key }, { ...ctx, start: { kind: 'beginning' } });
    expect(await again.pull(10, 50)).toEqual([]);
  });

  it('turns entries that do not decode into invalid records instead of failing', async () => {
    const key = uniqueKey();
    await redis.xAdd(key, '*', { data: '{"ok":true}' });
    await redis.xAdd(key, '*', { data: 'not json' });
    await redis.xAdd(key, '*', { data: '[1,2]' });
    await redis.xAdd(key, '*', { other: 'x' });
    const reader = await openReader({ keys: key }, context({ kind: 'beginning' }));
    const values = (await pullAll(reader, 4)).map((r) => r.value);
    expect(values[0]).toEqual({ ok: true });
    expect(values[1]?.['_sluice_invalid']).toMatch(/not JSON/);
    expect(values[1]?.['_sluice_payload']).toBe('not json');
    expect(values[2]?.['_sluice_invalid']).toBe('the payload is a JSON array, not an object');
    expect(values[3]?.['_sluice_invalid']).toBe('the entry has no field "data"');
  });

  it('reports an entry deleted before it was processed as an invalid record', async () => {
    const key = uniqueKey();
    const ids = await add(key, 2);
    const ctx = context({ kind: 'beginning' });
    const reader = await openReader({ keys: key }, ctx);
    expect(await pullAll(reader, 2)).toHaveLength(2);
    await reader.close();
    await redis.xDel(key, ids[0]!);
    const reopened = await openReader({ keys: key }, ctx);
    const records = await pullAll(reopened, 2);
    expect(records.map((r) => r.position)).toEqual(ids);
    expect(records[0]?.value['_sluice_invalid']).toMatch(/deleted/);
    expect(records[1]?.value).toEqual({ n: 1 });
  });

  it("reads another field, or all of an entry's fields", async () => {
    const key = uniqueKey();
    await redis.xAdd(key, '*', { payload: '{"a":1}', region: 'eu' });
    const oneField = await openReader(
      { keys: key, field: 'payload' },
      context({ kind: 'beginning' }),
    );
    expect((await pullAll(oneField, 1))[0]?.value).toEqual({ a: 1 });
    const allFields = await openReader(
      { keys: key, fields: 'all' },
      context({ kind: 'beginning' }),
    );
    expect((await pullAll(allFields, 1))[0]?.value).toEqual({ payload: '{"a":1}', region: 'eu' });
  });

  it('writes rows to keys from a template and reads them back', async () => {
    const suffix = randomHex(4);
    const eu = uniqueKey(`alerts-${suffix}`);
    const us = uniqueKey(`alerts-${suffix}`);
    const template = `${eu.slice(0, eu.indexOf(':'))}:{region}`;
    const writer = await redisStreamSink.open(
      redisStreamSinkConfig.parse({ url: REDIS_URL, key: template }),
      {
        stepId: 'alerts',
        streamName: 'events',
        logger: silentLogger,
        signal: new AbortController().signal,
      },
    );
    const regionOf = (key: string) => key.slice(key.indexOf(':') + 1);
    const rows = [
      { region: regionOf(eu), n: 1, big: 2n ** 60n, at: new Date(0) },
      { region: regionOf(us), n: 2 },
      { region: regionOf(eu), n: 3 },
    ];
    await writer.write(rows);
    await writer.commit({ checkpointId: 1 });
    await writer.close();
    const euEntries = (await redis.xRange(eu, '-', '+')) ?? [];
    expect(euEntries.map((e) => JSON.parse(e.message['data']!))).toEqual([
      { region: regionOf(eu), n: 1, big: '1152921504606846976', at: '1970-01-01T00:00:00.000Z' },
      { region: regionOf(eu), n: 3 },
    ]);
    expect(await redis.xLen(us)).toBe(1);

    const reader = await openReader({ keys: [eu, us] }, context({ kind: 'beginning' }));
    expect((await pullAll(reader, 3)).map((r) => r.value['n']).sort()).toEqual([1, 2, 3]);
  });

  it('refuses a batch with a row missing a template column, writing none of it', async () => {
    const key = uniqueKey();
    const writer = await redisStreamSink.open(
      redisStreamSinkConfig.parse({ url: REDIS_URL, key: `${key}{{{region}}}` }),
      {
        stepId: 'alerts',
        streamName: 'events',
        logger: silentLogger,
        signal: new AbortController().signal,
      },
    );
    await expect(writer.write([{ region: 'eu' }, { region: null }])).rejects.toMatchObject({
      code: 'SINK_FAILED',
      message: expect.stringContaining('row 1 of the batch has no value for "region"'),
    });
    await writer.commit({ checkpointId: 1 });
    expect(await redis.exists(`${key}{eu}`)).toBe(0);
    await writer.write([{ region: 'eu' }]);
    await writer.commit({ checkpointId: 2 });
    expect(await redis.xLen(`${key}{eu}`)).toBe(1);
    await redis.del(`${key}{eu}`);
    await writer.close();
  });

  it('trims keys to about maxLen entries', async () => {
    const key = uniqueKey();
    const writer = await redisStreamSink.open(
      redisStreamSinkConfig.parse({ url: REDIS_URL, key, maxLen: 100 }),
      {
        stepId: 'alerts',
        streamName: 'events',
        logger: silentLogger,
        signal: new AbortController().signal,
      },
    );
    await writer.write(Array.from({ length: 2_000 }, (_, n) => ({ n })));
    await writer.commit({ checkpointId: 1 });
    await writer.close();
    const length = await redis.xLen(key);
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThan(2_000);
  });

  it('fails fast with a clear error for an unreachable server', async () => {
    const started = Date.now();
    const error = await redisStreamSource
      .open(
        redisStreamSourceConfig.parse({ url: 'redis://127.0.0.1:1', keys: 'k' }),
        context({ kind: 'latest' }),
      )
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toMatchObject({
      code: 'SOURCE_FAILED',
      message: expect.stringContaining('cannot connect to Redis at 127.0.0.1:1'),
      hint: expect.stringContaining('check that Redis is running'),
      retryable: true,
    });
    const sinkError = await redisStreamSink
      .open(redisStreamSinkConfig.parse({ url: 'redis://no-such-host.invalid:6379', key: 'k' }), {
        stepId: 'alerts',
        streamName: 'events',
        logger: silentLogger,
        signal: new AbortController().signal,
      })
      .catch((e: unknown) => e);
    expect(sinkError).toMatchObject({ code: 'SINK_FAILED' });
  });

  it('fails with a clear, permanent error for wrong credentials', async () => {
    const user = `sluice-test-${randomHex(3)}`;
    const error = await redisStreamSource
      .open(
        redisStreamSourceConfig.parse({
          url: REDIS_URL,
          keys: 'k',
          username: user,
          password: { env: 'SLUICE_TEST_REDIS_WRONG_PASSWORD' },
        }),
        context({ kind: 'latest' }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(String((error as Error).message)).toContain('SLUICE_TEST_REDIS_WRONG_PASSWORD');

    process.env['SLUICE_TEST_REDIS_WRONG_PASSWORD'] = 'not-the-password';
    try {
      const wrong = await redisStreamSource
        .open(
          redisStreamSourceConfig.parse({
            url: REDIS_URL,
            keys: 'k',
            username: user,
            password: { env: 'SLUICE_TEST_REDIS_WRONG_PASSWORD' },
          }),
          context({ kind: 'latest' }),
        )
        .catch((e: unknown) => e);
      expect(wrong).toMatchObject({
        code: 'SOURCE_FAILED',
        message: expect.stringContaining('WRONGPASS'),
        hint: expect.stringContaining('user name and password'),
        retryable: false,
      });
      expect(String((wrong as Error).message)).not.toContain('not-the-password');
    } finally {
      delete process.env['SLUICE_TEST_REDIS_WRONG_PASSWORD'];
    }
  });

  it('says so when a key holds something other than a stream', async () => {
    const key = uniqueKey();
    await redis.set(key, 'a string');
    const error = await redisStreamSource
      .open(
        redisStreamSourceConfig.parse({ url: REDIS_URL, keys: key }),
        context({ kind: 'latest' }),
      )
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SOURCE_FAILED',
      message: expect.stringContaining('WRONGTYPE'),
      hint: expect.stringContaining('other than a stream'),
    });
  });

  it('says what to do when the group disappears while reading', async () => {
    const key = uniqueKey();
    const ctx = context({ kind: 'latest' });
    const reader = await openReader({ keys: key }, ctx);
    await redis.del(key);
    await expect(reader.pull(10, 50)).rejects.toMatchObject({
      code: 'SOURCE_FAILED',
      hint: expect.stringContaining('restart the stream'),
    });
  });

  it('returns from a pull when closed while waiting, and close never fails', async () => {
    const key = uniqueKey();
    const reader = await openReader({ keys: key }, context({ kind: 'latest' }));
    const waiting = reader.pull(10, 5_000);
    await sleep(100);
    const started = Date.now();
    await reader.close();
    expect(await waiting).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1_000);
    await reader.close();
  });
});

function recordingLogger(messages: string[]): Logger {
  const logger: Logger = {
    debug: (_fields, message) => void messages.push(message ?? ''),
    info: (_fields, message) => void messages.push(message ?? ''),
    warn: (_fields, message) => void messages.push(message ?? ''),
    error: (_fields, message) => void messages.push(message ?? ''),
    child: () => logger,
  };
  return logger;
}
