import { createHmac } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compareBatchPositions,
  isRetryableStatus,
  parseBatchPosition,
  webhookIdempotencyKey,
  webhookStreamSink,
  webhookStreamSinkConfig,
  webhookStreamSource,
  webhookStreamSourceConfig,
} from '../src/connectors/http/index.js';
import { WebhookInbox } from '../src/connectors/http/webhook-inbox.js';
import { SluiceError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import type {
  CheckpointStore,
  StreamDefinition,
  StreamEndpoint,
  StreamReader,
  StreamRecord,
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

const open: (StreamReader | StreamWriter)[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const each of open.splice(0)) await each.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
  delete process.env['SLUICE_TEST_HOOK_TOKEN'];
});

async function openSource(
  stateDir: string,
  start: StreamStart,
  inbox = 'orders',
): Promise<StreamReader> {
  const reader = await webhookStreamSource.open(webhookStreamSourceConfig.parse({ inbox }), {
    stepId: 'source',
    streamName: 'orders',
    consumer: 'sluice-orders',
    worker: 'w1',
    start,
    // The inbox's state folder as `sluice stream --state-dir` gives it.
    stateDir,
    logger: silentLogger,
    signal: new AbortController().signal,
  });
  open.push(reader);
  return reader;
}

async function openSink(config: Record<string, unknown>): Promise<StreamWriter> {
  const writer = await webhookStreamSink.open(webhookStreamSinkConfig.parse(config), {
    stepId: 'sink',
    streamName: 'orders',
    logger: silentLogger,
    signal: new AbortController().signal,
  });
  open.push(writer);
  return writer;
}

/** Pulls until `count` records came or two seconds passed. */
async function pullAll(reader: StreamReader, count: number): Promise<StreamRecord[]> {
  const records: StreamRecord[] = [];
  const deadline = Date.now() + 2_000;
  while (records.length < count && Date.now() < deadline)
    records.push(...(await reader.pull(count - records.length, 100)));
  return records;
}

const batchFiles = async (folder: string): Promise<string[]> =>
  (await readdir(folder).catch(() => [] as string[])).filter((n) => n.endsWith('.ndjson')).sort();

describe('webhook stream positions and configs', () => {
  it('orders positions by batch number, then record index', () => {
    expect(compareBatchPositions('1764000000000000:9', '1764000000000000:10')).toBeLessThan(0);
    expect(compareBatchPositions('1764000000000001:0', '1764000000000000:99')).toBeGreaterThan(0);
    expect(compareBatchPositions('999:5', '1000:0')).toBeLessThan(0);
    expect(compareBatchPositions('1764000000000000:3', '1764000000000000:3')).toBe(0);
    expect(parseBatchPosition('1764000000000000:2')).toEqual({
      sequence: '1764000000000000',
      index: 2,
    });
    expect(parseBatchPosition('17:x')).toBeUndefined();
    expect(webhookStreamSource.comparePositions('5:1', '5:0')).toBeGreaterThan(0);
  });

  it('rejects bad configs', () => {
    expect(webhookStreamSourceConfig.safeParse({ inbox: '../x' }).success).toBe(false);
    // Without stateDir the source reads the inbox under `sluice stream --state-dir`.
    expect(webhookStreamSourceConfig.parse({ inbox: 'orders' }).stateDir).toBeUndefined();
    expect(webhookStreamSinkConfig.safeParse({ url: 'ftp://x' }).success).toBe(false);
    expect(
      webhookStreamSinkConfig.safeParse({ url: 'http://x', headers: { 'bad header': 'v' } })
        .success,
    ).toBe(false);
    expect(webhookStreamSinkConfig.safeParse({ url: 'http://x', batchSize: 0 }).success).toBe(
      false,
    );
    const parsed = webhookStreamSinkConfig.parse({ url: 'http://x' });
    expect(parsed).toMatchObject({
      format: 'json',
      batchSize: 500,
      retries: 5,
      idempotencyHeader: 'Idempotency-Key',
    });
  });

  it('retries 5xx, 408, 425 and 429 only, and keys requests by stream, checkpoint, index and body', () => {
    expect([500, 502, 503, 504, 408, 425, 429].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 422, 301].some(isRetryableStatus)).toBe(false);
    const key = webhookIdempotencyKey('orders', 7, 2, '[{"id":1}]');
    expect(key).toMatch(/^orders:7:2:[A-Za-z0-9_-]{16}$/);
    expect(webhookIdempotencyKey('orders', 7, 2, '[{"id":1}]')).toBe(key);
    expect(webhookIdempotencyKey('orders', 7, 2, '[{"id":2}]')).not.toBe(key);
    expect(webhookIdempotencyKey('orders', 8, 2, '[{"id":1}]')).not.toBe(key);
  });
});

describe('webhook stream source over an inbox', () => {
  it('reads every batch in order, tails new ones, and deletes only the batches an ack covers', async () => {
    const stateDir = await tempDir();
    const inbox = WebhookInbox.open(stateDir, 'orders');
    const first = await inbox.append([{ id: 1 }, { id: 2 }]);
    const second = await inbox.append([{ id: 3 }]);
    const reader = await openSource(stateDir, { kind: 'beginning' });

    const got = await pullAll(reader, 3);
    expect(got.map((r) => [r.value['id'], r.partition, r.position])).toEqual([
      [1, 'orders', `${first}:0`],
      [2, 'orders', `${first}:1`],
      [3, 'orders', `${second}:0`],
    ]);
    // The batch number is the arrival time in microseconds.
    expect(Math.abs((got[0]?.brokerTime ?? 0) - Date.now())).toBeLessThan(60_000);

    // A batch posted while the reader waits is handed out within the same pull.
    const waiting = reader.pull(10, 1_500);
    await new Promise((done) => setTimeout(done, 100));
    const third = await inbox.append([{ id: 4 }, { id: 5 }, { id: 6 }]);
    expect((await waiting).map((r) => r.value['id'])).toEqual([4, 5, 6]);

    // Covering part of the third batch deletes the two before it, not the third.
    await reader.ack({ orders: `${third}:1` });
    expect(await batchFiles(inbox.folder)).toEqual([`${third}.ndjson`]);
    await reader.ack({ orders: `${third}:2` });
    expect(await batchFiles(inbox.folder)).toEqual([]);
  });

  it('resumes after a checkpoint position inside a batch, and deletes the batches before it at open', async () => {
    const stateDir = await tempDir();
    const inbox = WebhookInbox.open(stateDir, 'orders');
    const first = await inbox.append([{ id: 1 }]);
    const second = await inbox.append([{ id: 2 }, { id: 3 }, { id: 4 }]);
    const third = await inbox.append([{ id: 5 }]);
    const reader = await openSource(stateDir, {
      kind: 'checkpoint',
      positions: { orders: `${second}:1` },
    });
    expect(await batchFiles(inbox.folder)).toEqual([`${second}.ndjson`, `${third}.ndjson`]);
    const got = await pullAll(reader, 2);
    expect(got.map((r) => [r.value['id'], r.position])).toEqual([
      [4, `${second}:2`],
      [5, `${third}:0`],
    ]);
    expect(first < second).toBe(true);
  });

  it('starts after the existing batches at latest, and at the first batch received at or after a time', async () => {
    const stateDir = await tempDir();
    const inbox = WebhookInbox.open(stateDir, 'orders');
    await inbox.append([{ id: 1 }]);
    await new Promise((done) => setTimeout(done, 20));
    const cut = new Date();
    await new Promise((done) => setTimeout(done, 20));
    await inbox.append([{ id: 2 }]);

    const latest = await openSource(stateDir, { kind: 'latest' });
    expect(await latest.pull(10, 100)).toEqual([]);
    await inbox.append([{ id: 3 }]);
    expect((await pullAll(latest, 1)).map((r) => r.value['id'])).toEqual([3]);

    const fromTime = await openSource(stateDir, { kind: 'time', at: cut });
    expect((await pullAll(fromTime, 2)).map((r) => r.value['id'])).toEqual([2, 3]);
  });

  it('turns a line that is not a JSON object into an invalid record instead of dropping it', async () => {
    const stateDir = await tempDir();
    const folder = join(stateDir, 'inbox', 'orders');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, '1700000000000000.ndjson'), '{"id":1}\n[1,2]\n');
    const reader = await openSource(stateDir, { kind: 'beginning' });
    const got = await pullAll(reader, 2);
    expect(got[0]?.value).toEqual({ id: 1 });
    expect(got[1]?.value).toEqual({
      _sluice_invalid: 'the record is a JSON array, not an object',
      _sluice_payload: '[1,2]',
    });
  });

  it('fails rather than skip a batch numbered below one already read, or one another reader took', async () => {
    const stateDir = await tempDir();
    const inbox = WebhookInbox.open(stateDir, 'orders');
    const first = await inbox.append([{ id: 1 }]);
    const reader = await openSource(stateDir, { kind: 'beginning' });
    expect(await pullAll(reader, 1)).toHaveLength(1);
    await writeFile(join(inbox.folder, '0000000000000001.ndjson'), '{"id":0}\n');
    const error = await reader.pull(10, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('SOURCE_FAILED');
    expect((error as Error).message).toContain(`appeared after batch ${first} was read`);

    const other = await tempDir();
    const shared = WebhookInbox.open(other, 'orders');
    const gone = await shared.append([{ id: 1 }]);
    const second = await openSource(other, { kind: 'beginning' });
    await shared.removeConsumed(gone);
    // The listing at open saw the batch; it was deleted before it was read.
    const missing = await second.pull(10, 100).catch((e: unknown) => e);
    expect((missing as Error).message).toContain(`batch ${gone} of inbox orders disappeared`);
    expect((missing as SluiceError).hint).toContain('another reader consumes this inbox');
  });
});

/** A local HTTP receiver that answers each request as `answer` says and records it. */
interface Receiver {
  readonly url: string;
  readonly requests: {
    readonly body: string;
    readonly headers: IncomingHttpHeaders;
    readonly at: number;
    readonly status: number;
  }[];
}

type Answer = { status: number; headers?: Record<string, string>; body?: string } | 'drop';

async function receiver(answer: (n: number, body: string) => Answer): Promise<Receiver> {
  const requests: Receiver['requests'][number][] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const reply = answer(requests.length, body);
      requests.push({
        body,
        headers: request.headers,
        at: Date.now(),
        status: reply === 'drop' ? 0 : reply.status,
      });
      if (reply === 'drop') {
        request.socket.destroy();
        return;
      }
      response.writeHead(reply.status, reply.headers ?? {});
      response.end(reply.body ?? '');
    });
  });
  servers.push(server);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/totals`, requests };
}

const rows = (ids: readonly number[]) => ids.map((id) => ({ id, total: id * 1.5 }));

describe('webhook stream sink against a local HTTP server', () => {
  it('posts each checkpoint in requests of batchSize, JSON or NDJSON, with headers, idempotency keys and signatures', async () => {
    const server = await receiver(() => ({ status: 202 }));
    process.env['SLUICE_TEST_HOOK_TOKEN'] = 'Bearer s3cret';
    const sink = await openSink({
      url: server.url,
      batchSize: 3,
      headers: { Authorization: { env: 'SLUICE_TEST_HOOK_TOKEN' }, 'X-Source': 'sluice' },
      signingSecret: 'shh',
    });
    await sink.write(rows([1, 2]));
    await sink.write(rows([3, 4, 5, 6, 7]));
    expect(server.requests).toHaveLength(0); // nothing is sent before the commit
    await sink.commit({ checkpointId: 4 });
    expect(server.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([
      rows([1, 2, 3]),
      rows([4, 5, 6]),
      rows([7]),
    ]);
    const [first] = server.requests;
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.headers['authorization']).toBe('Bearer s3cret');
    expect(first?.headers['x-source']).toBe('sluice');
    expect(server.requests.map((r) => r.headers['idempotency-key'])).toEqual(
      server.requests.map((r, i) => webhookIdempotencyKey('orders', 4, i, r.body)),
    );
    const signed = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(first?.headers['sluice-signature']));
    expect(Math.abs(Number(signed?.[1]) - Date.now() / 1000)).toBeLessThan(60);
    expect(signed?.[2]).toBe(
      createHmac('sha256', 'shh')
        .update(`${signed?.[1]}.${first?.body ?? ''}`)
        .digest('hex'),
    );
    // A commit with nothing written sends nothing.
    await sink.commit({ checkpointId: 5 });
    expect(server.requests).toHaveLength(3);

    const ndjson = await openSink({ url: server.url, format: 'ndjson' });
    await ndjson.write(rows([8, 9]));
    await ndjson.commit({ checkpointId: 6 });
    const last = server.requests.at(-1);
    expect(last?.headers['content-type']).toBe('application/x-ndjson');
    expect(last?.body).toBe('{"id":8,"total":12}\n{"id":9,"total":13.5}\n');
  });

  it('retries 5xx, 429 and dropped connections with back-off until each request is taken', async () => {
    const script: Answer[] = [
      { status: 503, headers: { 'retry-after': '0' } },
      { status: 500, body: 'boom' },
      'drop',
      { status: 429 },
    ];
    const server = await receiver((n) => script[n] ?? { status: 200 });
    const sink = await openSink({ url: server.url, batchSize: 2, retryDelay: '20ms' });
    await sink.write(rows([1, 2, 3]));
    await sink.commit({ checkpointId: 1 });
    expect(server.requests.map((r) => r.status)).toEqual([503, 500, 0, 429, 200, 200]);
    // The first request was tried five times with the same body and key.
    const tries = server.requests.slice(0, 5);
    expect(new Set(tries.map((r) => r.body)).size).toBe(1);
    expect(new Set(tries.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    // Back-off doubles: 20, 40, 80, 160 ms (±20%).
    const gaps = tries.slice(1).map((r, i) => r.at - (tries[i]?.at ?? 0));
    expect(gaps[3]).toBeGreaterThanOrEqual(120);
    expect(gaps.reduce((sum, gap) => sum + gap, 0)).toBeGreaterThanOrEqual(240);
    expect(JSON.parse(server.requests[5]?.body ?? '')).toEqual(rows([3]));
  });

  it('waits what Retry-After asks for', async () => {
    const server = await receiver((n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    const sink = await openSink({ url: server.url, retryDelay: '10ms' });
    await sink.write(rows([1]));
    await sink.commit({ checkpointId: 1 });
    const [refused, taken] = server.requests;
    expect((taken?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('fails at once on another 4xx, after its retries on 5xx, and on a Retry-After past maxRetryDelay', async () => {
    const refusing = await receiver(() => ({ status: 422, body: '{"error":"total is required"}' }));
    const sink = await openSink({ url: refusing.url, retryDelay: '10ms' });
    await sink.write(rows([1]));
    const refused = (await sink
      .commit({ checkpointId: 1 })
      .catch((e: unknown) => e)) as SluiceError;
    expect(refused.code).toBe('SINK_FAILED');
    expect(refused.retryable).toBe(false);
    expect(refused.message).toContain('HTTP 422: {"error":"total is required"}');
    expect(refusing.requests).toHaveLength(1);

    const failing = await receiver(() => ({ status: 502 }));
    const flaky = await openSink({ url: failing.url, retries: 2, retryDelay: '10ms' });
    await flaky.write(rows([1]));
    const spent = (await flaky.commit({ checkpointId: 1 }).catch((e: unknown) => e)) as SluiceError;
    expect(spent.message).toContain('failed after 3 tries; last: HTTP 502');
    expect(spent.retryable).toBe(true);
    expect(failing.requests).toHaveLength(3);
    // The rows are kept: committing the checkpoint again sends them with the same key.
    const keys = new Set(failing.requests.map((r) => r.headers['idempotency-key']));
    await flaky.commit({ checkpointId: 1 }).catch(() => undefined);
    expect(new Set(failing.requests.map((r) => r.headers['idempotency-key']))).toEqual(keys);

    const slow = await receiver(() => ({ status: 503, headers: { 'retry-after': '120' } }));
    const patient = await openSink({ url: slow.url, maxRetryDelay: '5s' });
    await patient.write(rows([1]));
    const backoff = (await patient.commit({ checkpointId: 1 }).catch((e: unknown) => e)) as Error;
    expect(backoff.message).toContain('asking to wait 120 s, longer than maxRetryDelay');
    expect(slow.requests).toHaveLength(1);

    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const { port } = closed.address() as AddressInfo;
    await new Promise((done) => closed.close(done));
    const nobody = await openSink({
      url: `http://127.0.0.1:${port}/hooks/x`,
      retries: 1,
      retryDelay: '10ms',
    });
    await nobody.write(rows([1]));
    const network = (await nobody.commit({ checkpointId: 1 }).catch((e: unknown) => e)) as Error;
    expect(network.message).toMatch(/network error: .*ECONNREFUSED/);
  });
});

describe('webhooks into a stream and out of it', () => {
  let dir: string;
  let store: RunStore;
  let api: { url: string; close(): Promise<void> };

  afterEach(async () => {
    await api.close();
    await store.close();
  });

  async function start(): Promise<void> {
    dir = await tempDir('sluice-webhook-stream-');
    await mkdir(join(dir, 'pipelines'));
    const project = await Project.open(dir);
    store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    api = await startTriggerAPI({ store, project, port: 0 });
  }

  const post = async (records: readonly Record<string, unknown>[]): Promise<void> => {
    const response = await fetch(`${api.url}/hooks/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(records),
    });
    expect(response.status).toBe(202);
  };

  function definition(sink: StreamEndpoint): StreamDefinition {
    return stream('orders', {
      source: streamSource.webhook({ inbox: 'orders', stateDir: join(dir, '.sluice') }),
      eventTime: 'at',
      sink,
      checkpoint: { every: '50ms' },
    });
  }

  /** Runs the stream until it has taken `records` records in all, then stops it. */
  async function runUntil(
    sink: StreamEndpoint,
    records: number,
    checkpoints: CheckpointStore = new StreamCheckpoints(store),
  ): Promise<number> {
    const stop = new AbortController();
    const progress = await runStream(planStream(definition(sink), defaultStreamRegistry), {
      checkpoints,
      quarantine: new QuarantineStore(join(dir, 'quarantine'), 'orders'),
      signal: stop.signal,
      logger: silentLogger,
      onCheckpoint: (p) => {
        if (p.recordsIn >= records) stop.abort();
      },
    });
    return progress.recordsIn;
  }

  const order = (id: number) => ({ id, at: 1_700_000_000_000 + id });

  it('writes every posted record exactly once into a transactional sink across restarts, and deletes consumed batches', async () => {
    await start();
    const out = streamSink.files({ path: join(dir, 'out') });
    const inbox = join(dir, '.sluice', 'inbox', 'orders');
    await post([order(1), order(2)]);
    await post([order(3)]);
    expect(await runUntil(out, 3)).toBe(3);
    expect(await batchFiles(inbox)).toEqual([]);

    // The process dies after a checkpoint committed and before the batches were deleted: put
    // them back as they were, and the restart must not write them again.
    await post([order(4), order(5)]);
    const saved = join(dir, 'saved');
    await mkdir(saved);
    const [pending] = await batchFiles(inbox);
    await copyFile(join(inbox, pending as string), join(saved, pending as string));
    expect(await runUntil(out, 5)).toBe(5);
    await rename(join(saved, pending as string), join(inbox, pending as string));
    await post([order(6)]);
    expect(await runUntil(out, 6)).toBe(6);

    const written: number[] = [];
    for (const name of (await readdir(join(dir, 'out'))).filter((n) => n.endsWith('.ndjson')))
      for (const line of (await readFile(join(dir, 'out', name), 'utf8')).split('\n'))
        if (line !== '') written.push((JSON.parse(line) as { id: number }).id);
    expect(written.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await batchFiles(inbox)).toEqual([]);
  });

  it('forwards posted records to a receiver that fails some requests, each taken once after dropping repeated keys', async () => {
    await start();
    const taken = new Map<string, number[]>();
    const server = await receiver((n, body) => {
      if (n % 3 === 1) return { status: 503, headers: { 'retry-after': '0' } };
      return { status: 200, body };
    });
    const out = streamSink.webhook({ url: server.url, batchSize: 2, retryDelay: '10ms' });
    for (let i = 1; i <= 5; i++) await post([order(i * 2 - 1), order(i * 2)]);
    expect(await runUntil(out, 10)).toBe(10);
    await post([order(11)]);
    expect(await runUntil(out, 11)).toBe(11);
    for (const request of server.requests.filter((r) => r.status === 200)) {
      const key = String(request.headers['idempotency-key']);
      if (!taken.has(key))
        taken.set(
          key,
          (JSON.parse(request.body) as { id: number }[]).map((row) => row.id),
        );
    }
    expect([...taken.values()].flat().sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ]);
    expect(server.requests.some((r) => r.status === 503)).toBe(true);
  });
  it('sends a checkpoint replayed after a crash with the same idempotency keys, so the receiver keeps one copy', async () => {
    await start();
    const server = await receiver((_, body) => ({ status: 200, body }));
    const out = streamSink.webhook({ url: server.url, batchSize: 2 });
    await post([order(1), order(2), order(3)]);
    await post([order(4)]);
    // The run store fails to save the first checkpoint after the sink sent it: the stream
    // stops, and the restart replays that checkpoint.
    const checkpoints = new StreamCheckpoints(store);
    let failed = false;
    const flaky: CheckpointStore = {
      last: (name) => checkpoints.last(name),
      save: async (checkpoint) => {
        if (!failed) {
          failed = true;
          throw new Error('the run store is unreachable');
        }
        await checkpoints.save(checkpoint);
      },
    };
    await expect(runUntil(out, 4, flaky)).rejects.toThrow('the run store is unreachable');
    const sent = server.requests.map((r) => [r.headers['idempotency-key'], r.body]);
    expect(sent).toHaveLength(2);
    expect(await runUntil(out, 4)).toBe(4);
    const resent = server.requests.slice(2, 4).map((r) => [r.headers['idempotency-key'], r.body]);
    expect(resent).toEqual(sent);
    const kept = new Map(server.requests.map((r) => [r.headers['idempotency-key'], r.body]));
    const ids = [...kept.values()].flatMap((body) =>
      (JSON.parse(body) as { id: number }[]).map((row) => row.id),
    );
    expect(ids.sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
  });
});
