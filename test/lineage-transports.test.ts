import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, sink, sql } from '../src/index.js';
import { LineageEmitter } from '../src/observe/lineage/lineage-emitter.js';
import type { LineageTransport } from '../src/observe/lineage/lineage-transport.js';
import type { RunEvent } from '../src/observe/lineage/openlineage-event.js';
import {
  OPENLINEAGE_SCHEMA_URL,
  SLUICE_PRODUCER,
} from '../src/observe/lineage/openlineage-event.js';
import { lineageRunId } from '../src/observe/lineage/run-uuid.js';
import { fileTransport } from '../src/observe/lineage/transports/file-transport.js';
import { httpTransport } from '../src/observe/lineage/transports/http-transport.js';
import { natsTransport } from '../src/observe/lineage/transports/nats-transport.js';
import { ROOT, readNDJSON, runIn, tempDir } from './helpers.js';
import { startHTTPReceiver } from './support/http-receiver.js';
import { createTestStream, NATS_URL, natsUnavailable } from './support/nats.js';

function event(
  runId: string,
  eventType: RunEvent['eventType'],
  facets: RunEvent['run']['facets'] = {},
): RunEvent {
  return {
    eventType,
    eventTime: new Date().toISOString(),
    producer: SLUICE_PRODUCER,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    run: { runId: lineageRunId(runId), facets },
    job: { namespace: 'test', name: 'job' },
    inputs: [],
    outputs: [],
  } as unknown as RunEvent;
}

/** START then COMPLETE of `count` runs. */
function runs(count: number, prefix = 'r'): RunEvent[] {
  return Array.from({ length: count }, (_, i) => [
    event(`${prefix}${i}`, 'START'),
    event(`${prefix}${i}`, 'COMPLETE'),
  ]).flat();
}

const SMALL_PIPELINE = pipeline('lineage_transport_run', {
  steps: {
    rows: sql`select n from range(100) t(n)`,
    out: sink.ndjson({ input: ref('rows'), path: 'out.ndjson' }),
  },
});

describe('the lineage emitter', () => {
  it('refuses what breaks the run-state rules or a facet without _producer/_schemaURL', async () => {
    const seen: RunEvent[] = [];
    const emitter = LineageEmitter.create({
      transports: [{ name: 'memory', send: async (e) => void seen.push(e) }],
    });
    emitter.emit(event('a', 'COMPLETE')); // no START
    emitter.emit(event('a', 'START'));
    emitter.emit(event('a', 'START')); // second START
    emitter.emit(event('a', 'RUNNING'));
    emitter.emit(event('a', 'FAIL'));
    emitter.emit(event('a', 'COMPLETE')); // after the end
    emitter.emit(event('b', 'START', { bare: { _schemaURL: 'https://x/y.json' } as never }));
    emitter.emit(event('c', 'START', { bare: { _producer: 'https://x' } as never }));
    await emitter.close(5_000);
    expect(emitter.refused).toBe(5);
    expect(seen.map((e) => e.eventType)).toEqual(['START', 'RUNNING', 'FAIL']);
  });

  it('drops and counts what a full queue cannot take; emit never waits', async () => {
    let release: () => void = () => undefined;
    const hanging: LineageTransport = {
      name: 'hanging',
      send: () => new Promise<void>((resolve) => (release = resolve)),
    };
    const dropped: string[] = [];
    const emitter = LineageEmitter.create({
      transports: [hanging],
      queueCapacity: 3,
      onDropped: (_, reason) => dropped.push(reason),
    });
    for (const e of runs(5)) emitter.emit(e);
    expect(emitter.status()).toEqual([{ name: 'hanging', queued: 3, sent: 0, dropped: 7 }]);
    expect(await emitter.flush(50)).toBe(3);
    // The transport ignores the abort: close still returns, and counts what it held.
    await emitter.close(50);
    release();
    expect(emitter.status()[0]).toEqual({ name: 'hanging', queued: 0, sent: 0, dropped: 10 });
    expect(dropped.every((reason) => reason === 'queue_full')).toBe(true);
  });
});

describe('the HTTP transport', () => {
  it('retries a 5xx and a 429 (waiting its Retry-After), with the bearer token', async () => {
    const receiver = await startHTTPReceiver();
    try {
      receiver.script({ status: 503 }, { status: 429, headers: { 'retry-after': '1' } });
      const emitter = LineageEmitter.create({
        transports: [httpTransport({ url: `${receiver.origin}/`, token: 'tok', backoffMs: 10 })],
      });
      emitter.emit(runs(1)[0]!);
      await receiver.waitFor(3);
      expect(await emitter.flush(30_000)).toBe(0);
      await emitter.close(1_000);
      expect(emitter.dropped).toBe(0);
      expect(receiver.requests.map((r) => [r.method, r.path])).toEqual(
        Array(3).fill(['POST', '/api/v1/lineage']),
      );
      expect(receiver.requests[0]!.headers['authorization']).toBe('Bearer tok');
      expect(JSON.parse(receiver.requests[2]!.body)).toMatchObject({ eventType: 'START' });
      // The 429 asked for a second; the 503 only for the 10 ms backoff.
      expect(receiver.requests[2]!.at - receiver.requests[1]!.at).toBeGreaterThanOrEqual(950);
    } finally {
      await receiver.close();
    }
  });

  it('does not retry a 4xx: the event is dropped and counted', async () => {
    const receiver = await startHTTPReceiver();
    try {
      receiver.fallback = { status: 400, body: 'bad event' };
      const emitter = LineageEmitter.create({
        transports: [httpTransport({ url: receiver.origin, backoffMs: 10 })],
      });
      emitter.emit(runs(1)[0]!);
      expect(await emitter.flush(30_000)).toBe(0);
      expect(receiver.requests).toHaveLength(1);
      expect(emitter.dropped).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver that hangs: the run ends as it would, the events are dropped at close', async () => {
    const receiver = await startHTTPReceiver();
    try {
      receiver.fallback = { hang: true };
      const emitter = LineageEmitter.create({
        transports: [httpTransport({ url: receiver.origin, timeoutMs: 60_000 })],
      });
      const dir = await tempDir();
      const report = await runIn(dir, SMALL_PIPELINE, { lineage: emitter });
      expect(report.status).toBe('success');
      expect(await readNDJSON(join(dir, 'out.ndjson'))).toHaveLength(100);
      await receiver.waitFor(1);
      // The run returned while its first event was still unanswered.
      expect(emitter.status()[0]).toMatchObject({ sent: 0, queued: 6 });
      await emitter.close(100);
      expect(emitter.dropped).toBe(6);
    } finally {
      await receiver.close();
    }
  });

  it('a receiver that disappears: retried, then dropped and counted; the run is unaffected', async () => {
    const receiver = await startHTTPReceiver();
    const origin = receiver.origin;
    await receiver.close();
    const emitter = LineageEmitter.create({
      transports: [httpTransport({ url: origin, retries: 2, backoffMs: 5 })],
    });
    const dir = await tempDir();
    const report = await runIn(dir, SMALL_PIPELINE, { lineage: emitter });
    expect(report.status).toBe('success');
    expect(report.steps.map((s) => s.status)).toEqual(['success', 'success']);
    expect(await emitter.flush(30_000)).toBe(0);
    expect(emitter.dropped).toBe(6);
  });

  it('a receiver that fails the first events then recovers gets the rest in order', async () => {
    const receiver = await startHTTPReceiver();
    try {
      receiver.script({ status: 500 }, { status: 502 }, { status: 500 });
      const emitter = LineageEmitter.create({
        transports: [httpTransport({ url: receiver.origin, retries: 1, backoffMs: 5 })],
      });
      for (const e of runs(2)) emitter.emit(e);
      expect(await emitter.flush(30_000)).toBe(0);
      // The first event: 500, 502, dropped. The second: 500, then delivered; then the rest.
      expect(emitter.dropped).toBe(1);
      expect(emitter.status()[0]!.sent).toBe(3);
      const delivered = receiver.requests
        .filter((_, i) => i >= 3)
        .map((r) => JSON.parse(r.body) as RunEvent);
      expect(delivered.map((e) => e.eventType)).toEqual(['COMPLETE', 'START', 'COMPLETE']);
    } finally {
      await receiver.close();
    }
  });
});

describe('the file transport', () => {
  it('two processes appending to one file never interleave their lines', async () => {
    const dir = await tempDir();
    const path = join(dir, 'lineage.ndjson');
    const script = join(dir, 'append.ts');
    await writeFile(
      script,
      `import { LineageEmitter } from ${JSON.stringify(join(ROOT, 'src/observe/lineage/lineage-emitter.ts'))};
import { fileTransport } from ${JSON.stringify(join(ROOT, 'src/observe/lineage/transports/file-transport.ts'))};
import { lineageRunId } from ${JSON.stringify(join(ROOT, 'src/observe/lineage/run-uuid.ts'))};
const who = process.argv[2];
const emitter = LineageEmitter.create({ transports: [fileTransport({ path: ${JSON.stringify(path)} })] });
const pad = 'x'.repeat(20_000);
for (let i = 0; i < 300; i++) {
  const base = { eventTime: new Date().toISOString(), producer: 'https://p', schemaURL: 'https://s',
    run: { runId: lineageRunId(who + i), facets: {} }, job: { namespace: who, name: pad }, inputs: [], outputs: [] };
  emitter.emit({ ...base, eventType: 'START' });
  emitter.emit({ ...base, eventType: 'COMPLETE' });
}
await emitter.close(60_000);
if (emitter.dropped > 0) process.exit(3);
`,
    );
    const run = (who: string) =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'jiti/register', script, who], {
          cwd: ROOT,
          stdio: 'inherit',
        });
        child.on('error', reject);
        child.on('exit', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(1200);
    const parsed = lines.map((line) => JSON.parse(line) as RunEvent);
    expect(parsed.filter((e) => e.job.namespace === 'a')).toHaveLength(600);
    expect(parsed.filter((e) => e.job.namespace === 'b')).toHaveLength(600);
  }, 120_000);

  it('one event per line, in order, through a run', async () => {
    const dir = await tempDir();
    const path = join(dir, 'nested', 'lineage.ndjson');
    const emitter = LineageEmitter.create({ transports: [fileTransport({ path })] });
    const report = await runIn(dir, SMALL_PIPELINE, { lineage: emitter });
    await emitter.close(10_000);
    const events = (await readNDJSON(path)) as unknown as RunEvent[];
    expect(events.map((e) => [e.job.name, e.eventType])).toEqual([
      ['lineage_transport_run', 'START'],
      ['lineage_transport_run.rows', 'START'],
      ['lineage_transport_run.rows', 'COMPLETE'],
      ['lineage_transport_run.out', 'START'],
      ['lineage_transport_run.out', 'COMPLETE'],
      ['lineage_transport_run', 'COMPLETE'],
    ]);
    expect(events[0]!.run.runId).toBe(lineageRunId(report.runId));
  });
});

describe('the NATS transport', () => {
  it('publishes each event through JetStream', async (context) => {
    const why = await natsUnavailable();
    if (why !== undefined) return context.skip(why);
    const stream = await createTestStream();
    try {
      const emitter = LineageEmitter.create({
        transports: [natsTransport({ servers: NATS_URL, subject: `${stream.prefix}.lineage` })],
      });
      const dir = await tempDir();
      const report = await runIn(dir, SMALL_PIPELINE, { lineage: emitter });
      expect(report.status).toBe('success');
      expect(await emitter.flush(30_000)).toBe(0);
      await emitter.close(5_000);
      expect(emitter.dropped).toBe(0);
      const info = await stream.jsm.streams.info(stream.name);
      expect(info.state.messages).toBe(6);
      const first = await stream.jsm.streams.getMessage(stream.name, { seq: 1 });
      expect(first?.json<RunEvent>()).toMatchObject({
        eventType: 'START',
        job: { name: 'lineage_transport_run' },
        run: { runId: lineageRunId(report.runId) },
      });
    } finally {
      await stream.drop();
    }
  });

  it('a subject no stream captures: every event dropped and counted, nothing waits forever', async (context) => {
    const why = await natsUnavailable();
    if (why !== undefined) return context.skip(why);
    const emitter = LineageEmitter.create({
      transports: [
        natsTransport({
          servers: NATS_URL,
          subject: `sluice_nobody_${Date.now()}`,
          timeoutMs: 1_000,
        }),
      ],
    });
    for (const e of runs(1)) emitter.emit(e);
    expect(await emitter.flush(30_000)).toBe(0);
    await emitter.close(1_000);
    expect(emitter.dropped).toBe(2);
  });
});
