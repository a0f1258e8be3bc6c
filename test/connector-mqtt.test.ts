import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compareMQTTPositions,
  mqttSink,
  mqttSinkConfig,
  mqttSource,
  mqttSourceConfig,
  mqttStreamConnectors,
} from '../src/connectors/mqtt/index.js';
import { mqttError } from '../src/connectors/mqtt/mqtt-connection.js';
import { silentLogger } from '../src/core/logger.js';
import type { Logger } from '../src/core/logger.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSinkContext,
  StreamSourceContext,
  StreamStart,
} from '../src/contracts/stream-connector.js';
import {
  MQTT_URL,
  connectTestClient,
  endTestSessions,
  mqttUnavailable,
  uniqueClientId,
  uniqueTopic,
} from './support/mqtt.js';

const unavailable = await mqttUnavailable();
if (unavailable !== undefined) console.warn(`MQTT connector tests skipped: ${unavailable}`);

function context(
  start: StreamStart,
  options: { consumer?: string; logger?: Logger } = {},
): StreamSourceContext {
  return {
    stepId: 'sensors',
    streamName: 'sensors',
    consumer: options.consumer ?? uniqueClientId(),
    worker: 'w1',
    start,
    logger: options.logger ?? silentLogger,
    signal: new AbortController().signal,
  };
}

const sinkContext: StreamSinkContext = {
  stepId: 'alerts',
  streamName: 'sensors',
  logger: silentLogger,
  signal: new AbortController().signal,
};

describe('mqtt positions, config and errors', () => {
  it('orders positions as counters', () => {
    expect(compareMQTTPositions('9', '10')).toBeLessThan(0);
    expect(compareMQTTPositions('10', '10')).toBe(0);
    expect(mqttSource.comparePositions('11', '2')).toBeGreaterThan(0);
    expect(mqttStreamConnectors.map((c) => `${c.role}:${c.name}`)).toEqual([
      'stream-source:mqtt',
      'stream-sink:mqtt',
    ]);
  });

  it('refuses to start at the beginning or at a time: a broker keeps no history', async () => {
    const config = mqttSourceConfig.parse({ url: MQTT_URL, topics: 'a/#' });
    for (const start of [{ kind: 'beginning' }, { kind: 'time', at: new Date() }] as const) {
      await expect(mqttSource.open(config, context(start))).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        diagnostics: [
          {
            code: 'unsupported-start',
            message: expect.stringContaining('keeps no history'),
            hint: expect.stringContaining('latest'),
          },
        ],
      });
    }
  });

  it('rejects wildcards and broken placeholders in the sink topic, and unknown options', () => {
    for (const topic of ['alerts/#', 'alerts/+/x', 'alerts/{region']) {
      const parsed = mqttSinkConfig.safeParse({ url: MQTT_URL, topic });
      expect(parsed.success, topic).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['topic']);
    }
    expect(mqttSourceConfig.safeParse({ url: MQTT_URL, topics: 'a', qos: 2 }).success).toBe(false);
    expect(mqttSourceConfig.safeParse({ url: 'http://x', topics: 'a' }).success).toBe(false);
    expect(mqttSourceConfig.safeParse({ url: MQTT_URL, topics: 'a', clean: true }).success).toBe(
      false,
    );
  });

  it('explains refused credentials and client ids (MQTT 5 and 3.1.1 codes)', () => {
    const where = { role: 'source', stepId: 'sensors' } as const;
    for (const code of [4, 134, 135]) {
      const error = mqttError(
        where,
        'cannot connect',
        Object.assign(new Error('refused'), { code }),
      );
      expect(error.hint).toContain('username and password');
      expect(error.retryable).toBe(false);
    }
    expect(
      mqttError(where, 'cannot connect', Object.assign(new Error('x'), { code: 133 })).hint,
    ).toContain('client id');
    expect(
      mqttError(where, 'cannot connect', Object.assign(new Error('x'), { code: 136 })).retryable,
    ).toBe(true);
  });
});

describe.skipIf(unavailable !== undefined)('mqtt against Mosquitto', () => {
  let publisher: MqttClient;
  const open: StreamReader[] = [];

  beforeAll(async () => {
    publisher = await connectTestClient();
  });
  afterEach(async () => {
    for (const reader of open.splice(0)) await reader.close();
    await endTestSessions();
  });
  afterAll(async () => {
    await publisher.endAsync(true);
  });

  async function openReader(
    config: Record<string, unknown>,
    ctx: StreamSourceContext,
  ): Promise<StreamReader> {
    const reader = await mqttSource.open(mqttSourceConfig.parse({ url: MQTT_URL, ...config }), ctx);
    open.push(reader);
    return reader;
  }

  async function publish(topic: string, from: number, count: number): Promise<void> {
    await Promise.all(
      Array.from({ length: count }, (_, i) =>
        publisher.publishAsync(topic, JSON.stringify({ n: from + i }), { qos: 1 }),
      ),
    );
  }

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

  function positionsOf(records: readonly StreamRecord[]): Record<string, string> {
    return Object.fromEntries(records.map((r) => [r.partition, r.position]));
  }

  it('reads JSON messages of topic filters, one partition per topic, in order', async () => {
    const base = uniqueTopic();
    const reader = await openReader({ topics: `${base}/+` }, context({ kind: 'latest' }));
    await publish(`${base}/a`, 0, 300);
    await publish(`${base}/b`, 0, 200);
    const records = await pullAll(reader, 500);
    for (const [topic, count] of [
      [`${base}/a`, 300],
      [`${base}/b`, 200],
    ] as const) {
      const own = records.filter((r) => r.partition === topic);
      expect(own.map((r) => r.value['n'])).toEqual([...Array(count).keys()]);
      const positions = own.map((r) => r.position);
      expect([...positions].sort(compareMQTTPositions)).toEqual(positions);
    }
    expect(await reader.pull(10, 100)).toEqual([]);
  });

  it('receives messages published while the reader was closed (persistent session)', async () => {
    const topic = uniqueTopic();
    const ctx = context({ kind: 'latest' });
    const first = await openReader({ topics: topic }, ctx);
    await publish(topic, 0, 3);
    const before = await pullAll(first, 3);
    await first.ack(positionsOf(before));
    await first.close();

    await publish(topic, 3, 50);
    const logs: string[] = [];
    const reopened = await openReader(
      { topics: topic },
      {
        ...ctx,
        start: { kind: 'checkpoint', positions: positionsOf(before) },
        logger: recording(logs),
      },
    );
    const records = await pullAll(reopened, 50);
    expect(records.map((r) => r.value['n'])).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
    expect(Number(records[0]!.position)).toBeGreaterThan(Number(before.at(-1)!.position));
    expect(logs.filter((line) => line.includes('no session'))).toEqual([]);
    expect(await reopened.pull(10, 100)).toEqual([]);
  });

  it('redelivers unacknowledged messages after reconnecting, with positions after the checkpoint', async () => {
    const topic = uniqueTopic();
    const ctx = context({ kind: 'latest' });
    const reader = await openReader({ topics: topic }, ctx);
    await publish(topic, 0, 10);
    const records = await pullAll(reader, 10);
    expect(records.map((r) => r.value['n'])).toEqual([...Array(10).keys()]);
    // The checkpoint covered the first four: only they are acknowledged before the crash.
    const checkpoint = { [topic]: records[3]!.position };
    await reader.ack(checkpoint);
    await reader.close();

    const reopened = await openReader(
      { topics: topic },
      { ...ctx, start: { kind: 'checkpoint', positions: checkpoint } },
    );
    const again = await pullAll(reopened, 6);
    expect(again.map((r) => r.value['n'])).toEqual([4, 5, 6, 7, 8, 9]);
    for (const record of again) {
      expect(mqttSource.comparePositions(record.position, checkpoint[topic]!)).toBeGreaterThan(0);
    }
    await reopened.ack(positionsOf(again));
    await reopened.close();

    const third = await openReader(
      { topics: topic },
      { ...ctx, start: { kind: 'checkpoint', positions: positionsOf(again) } },
    );
    expect(await third.pull(10, 300)).toEqual([]);
  });

  it('holds back PUBACKs: with maxInflight 5 the broker sends 5 until they are acknowledged', async () => {
    const topic = uniqueTopic();
    const reader = await openReader({ topics: topic, maxInflight: 5 }, context({ kind: 'latest' }));
    await publish(topic, 0, 12);
    const first = await pullAll(reader, 12, 600);
    expect(first.map((r) => r.value['n'])).toEqual([0, 1, 2, 3, 4]);
    await reader.ack(positionsOf(first));
    const rest: StreamRecord[] = [];
    for (let i = 0; i < 20 && rest.length < 7; i += 1) {
      const records = await reader.pull(7, 100);
      rest.push(...records);
      await reader.ack(positionsOf(records));
    }
    expect(rest.map((r) => r.value['n'])).toEqual([5, 6, 7, 8, 9, 10, 11]);
  });

  it('with MQTT 3.1.1 too: a persistent session redelivers what was not acknowledged', async () => {
    const topic = uniqueTopic();
    const ctx = context({ kind: 'latest' });
    const reader = await openReader({ topics: topic, protocolVersion: 4 }, ctx);
    await publish(topic, 0, 4);
    const records = await pullAll(reader, 4);
    await reader.ack({ [topic]: records[1]!.position });
    await reader.close();
    await publish(topic, 4, 1);
    const reopened = await openReader(
      { topics: topic, protocolVersion: 4 },
      { ...ctx, start: { kind: 'checkpoint', positions: { [topic]: records[1]!.position } } },
    );
    expect((await pullAll(reopened, 3)).map((r) => r.value['n'])).toEqual([2, 3, 4]);
  });

  it('warns when resuming from a checkpoint finds no session on the broker', async () => {
    const logs: string[] = [];
    await openReader(
      { topics: uniqueTopic() },
      context({ kind: 'checkpoint', positions: {} }, { logger: recording(logs) }),
    );
    expect(logs.filter((line) => line.includes('the broker had no session'))).toHaveLength(1);
  });

  it('reads QoS 0 at most once: nothing is redelivered', async () => {
    const topic = uniqueTopic();
    const ctx = context({ kind: 'latest' });
    const reader = await openReader({ topics: topic, qos: 0 }, ctx);
    await publish(topic, 0, 3);
    expect((await pullAll(reader, 3)).map((r) => r.value['n'])).toEqual([0, 1, 2]);
    await reader.close();
    const reopened = await openReader(
      { topics: topic, qos: 0 },
      { ...ctx, start: { kind: 'checkpoint', positions: {} } },
    );
    expect(await reopened.pull(10, 300)).toEqual([]);
  });

  it('starts a new session at latest, dropping what an old one kept', async () => {
    const topic = uniqueTopic();
    const ctx = context({ kind: 'latest' });
    const reader = await openReader({ topics: topic }, ctx);
    await reader.close();
    await publish(topic, 0, 3);
    const fresh = await openReader({ topics: topic }, ctx);
    expect(await fresh.pull(10, 300)).toEqual([]);
    await publish(topic, 3, 1);
    expect((await pullAll(fresh, 1)).map((r) => r.value['n'])).toEqual([3]);
  });

  it('turns payloads that are not JSON objects into invalid records', async () => {
    const topic = uniqueTopic();
    const reader = await openReader({ topics: topic }, context({ kind: 'latest' }));
    await publisher.publishAsync(topic, '{"ok":1}', { qos: 1 });
    await publisher.publishAsync(topic, 'hello', { qos: 1 });
    await publisher.publishAsync(topic, '42', { qos: 1 });
    await publisher.publishAsync(topic, Buffer.from([0xff, 0xfe]), { qos: 1 });
    const values = (await pullAll(reader, 4)).map((r) => r.value);
    expect(values[0]).toEqual({ ok: 1 });
    expect(values[1]).toMatchObject({ _sluice_payload: 'hello' });
    expect(values[1]?.['_sluice_invalid']).toMatch(/not JSON/);
    expect(values[2]).toEqual({
      _sluice_invalid: 'the payload is a JSON number, not an object',
      _sluice_payload: '42',
    });
    expect(values[3]).toEqual({
      _sluice_invalid: 'the payload is not UTF-8 text; _sluice_payload holds it as base64',
      _sluice_payload: '//4=',
    });
  });

  it('stops a reader whose connection keeps being taken over by a client with its id', async () => {
    const topic = uniqueTopic();
    const ctx = context({ kind: 'latest' });
    const first = await openReader({ topics: topic }, ctx);
    await openReader({ topics: topic }, { ...ctx, start: { kind: 'checkpoint', positions: {} } });
    const second = open.at(-1)!;
    // Both reconnect and push each other out, until one gives up.
    const failures = await Promise.all(
      [first, second].map((reader) => pullAll(reader, 1, 8_000).catch((e: unknown) => e)),
    );
    expect(failures.some((f) => f instanceof Error)).toBe(true);
    for (const failure of failures.filter((f) => f instanceof Error)) {
      expect(failure).toMatchObject({
        code: 'SOURCE_FAILED',
        hint: expect.stringContaining('one reader per client id'),
      });
    }
  });

  it('publishes rows to topics from a template and waits for the acknowledgements', async () => {
    const base = uniqueTopic();
    const subscriber = await connectTestClient();
    const received: { topic: string; value: unknown }[] = [];
    subscriber.on('message', (topic, payload) =>
      received.push({ topic, value: JSON.parse(payload.toString()) }),
    );
    await subscriber.subscribeAsync(`${base}/#`, { qos: 1 });
    const writer = await mqttSink.open(
      mqttSinkConfig.parse({ url: MQTT_URL, topic: `${base}/{region}` }),
      sinkContext,
    );
    await writer.write([
      { region: 'eu', n: 1, big: 2n ** 60n },
      { region: 'us', n: 2 },
      { region: 'eu/north', n: 3 },
    ]);
    await writer.commit({ checkpointId: 1 });
    await writer.close();
    for (let i = 0; i < 50 && received.length < 3; i += 1) await sleep(20);
    await subscriber.endAsync(true);
    expect(received).toEqual([
      { topic: `${base}/eu`, value: { region: 'eu', n: 1, big: '1152921504606846976' } },
      { topic: `${base}/us`, value: { region: 'us', n: 2 } },
      { topic: `${base}/eu/north`, value: { region: 'eu/north', n: 3 } },
    ]);
  });

  it('round-trips through the source, and keeps retained messages when asked', async () => {
    const topic = uniqueTopic();
    const writer = await mqttSink.open(
      mqttSinkConfig.parse({ url: MQTT_URL, topic, retain: true }),
      sinkContext,
    );
    await writer.write([{ state: 'on' }]);
    await writer.commit({ checkpointId: 1 });
    const reader = await openReader({ topics: topic }, context({ kind: 'latest' }));
    const retained = await pullAll(reader, 1);
    expect(retained.map((r) => r.value)).toEqual([{ state: 'on' }]);
    await writer.write(Array.from({ length: 1_000 }, (_, n) => ({ n })));
    await writer.commit({ checkpointId: 2 });
    await writer.close();
    const records = await pullAll(reader, 1_000);
    expect(records.map((r) => r.value['n'])).toEqual([...Array(1_000).keys()]);
    await publisher.publishAsync(topic, '', { qos: 1, retain: true });
  });

  it('refuses a batch with a row whose topic value is missing or a wildcard, publishing none', async () => {
    const base = uniqueTopic();
    const subscriber = await connectTestClient();
    let received = 0;
    subscriber.on('message', () => (received += 1));
    await subscriber.subscribeAsync(`${base}/#`, { qos: 1 });
    const writer = await mqttSink.open(
      mqttSinkConfig.parse({ url: MQTT_URL, topic: `${base}/{region}` }),
      sinkContext,
    );
    await expect(writer.write([{ region: 'eu' }, { region: 'a/#' }])).rejects.toMatchObject({
      code: 'SINK_FAILED',
      message: expect.stringContaining('row 1 of the batch has "a/#" in "region"'),
    });
    await expect(writer.write([{ region: 'eu' }, {}])).rejects.toMatchObject({
      message: expect.stringContaining('row 1 of the batch has no value for "region"'),
    });
    await writer.commit({ checkpointId: 1 });
    await writer.close();
    await sleep(200);
    await subscriber.endAsync(true);
    expect(received).toBe(0);
  });

  it('fails fast with a clear error for an unreachable broker', async () => {
    for (const url of ['mqtt://127.0.0.1:1', 'mqtt://no-such-host.invalid:1883']) {
      const started = Date.now();
      const error = await mqttSource
        .open(mqttSourceConfig.parse({ url, topics: 'a' }), context({ kind: 'latest' }))
        .catch((e: unknown) => e);
      expect(Date.now() - started, url).toBeLessThan(3_000);
      expect(error).toMatchObject({
        code: 'SOURCE_FAILED',
        message: expect.stringContaining('cannot connect to the MQTT broker at'),
        hint: expect.stringContaining('check that the broker is running'),
        retryable: true,
      });
    }
    const sinkError = await mqttSink
      .open(mqttSinkConfig.parse({ url: 'mqtt://127.0.0.1:1', topic: 't' }), sinkContext)
      .catch((e: unknown) => e);
    expect(sinkError).toMatchObject({ code: 'SINK_FAILED', retryable: true });
  });

  it('returns from a waiting pull when closed, and close never fails', async () => {
    const reader = await openReader({ topics: uniqueTopic() }, context({ kind: 'latest' }));
    const waiting = reader.pull(10, 5_000);
    await sleep(50);
    const started = Date.now();
    await reader.close();
    expect(await waiting).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1_000);
    await reader.close();
  });
});

function recording(messages: string[]): Logger {
  const logger: Logger = {
    debug: (_fields, message) => void messages.push(message ?? ''),
    info: (_fields, message) => void messages.push(message ?? ''),
    warn: (_fields, message) => void messages.push(message ?? ''),
    error: (_fields, message) => void messages.push(message ?? ''),
    child: () => logger,
  };
  return logger;
}
