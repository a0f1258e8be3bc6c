import type { Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { UpdatesHub } from '../src/server/api-v1/updates-hub.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { apiTestProject } from './api-v1-support.js';
import { tempDir } from './helpers.js';

let store: RunStore;
let api: TriggerAPI | undefined;
let dir: string;

beforeEach(async () => {
  dir = await tempDir('sluice-api-v1-updates-');
  await apiTestProject(dir);
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
});
afterEach(async () => {
  await api?.close();
  api = undefined;
  await store.close();
});

async function start(token?: string): Promise<TriggerAPI> {
  api = await startTriggerAPI({
    store,
    project: await Project.open(dir),
    port: 0,
    ...(token === undefined ? {} : { token }),
    apiV1: { updates: { pollMs: 40, keepaliveMs: 150 } },
  });
  return api;
}

interface SSEFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Reads server-sent events from a fetch() body until `until` holds or the deadline passes. */
async function readFrames(
  response: Response,
  until: (frames: SSEFrame[]) => boolean,
  deadlineMs = 20_000,
): Promise<SSEFrame[]> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const frames: SSEFrame[] = [];
  let buffer = '';
  const deadline = Date.now() + deadlineMs;
  while (!until(frames)) {
    if (Date.now() > deadline) throw new Error(`no such events in time: ${JSON.stringify(frames)}`);
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: SSEFrame = {};
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim();
        const match = /^(id|event|data): (.*)$/.exec(line);
        if (match !== null) frame[match[1] as 'id' | 'event' | 'data'] = match[2];
      }
      frames.push(frame);
    }
  }
  await reader.cancel().catch(() => undefined);
  return frames;
}

describe('GET /api/v1/updates', () => {
  it('streams each store event after the newest, with keepalives; Last-Event-ID resumes', async () => {
    const { url } = await start('a-long-enough-test-token-0123456789');
    const headers = { authorization: 'Bearer a-long-enough-test-token-0123456789' };
    expect((await fetch(`${url}/api/v1/updates`)).status).toBe(401);
    const response = await fetch(`${url}/api/v1/updates`, { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const queued = await fetch(`${url}/api/v1/pipelines/failing/runs`, {
      method: 'POST',
      headers,
      body: '{}',
    });
    const run = (await queued.json()) as { id: string };
    const frames = await readFrames(
      response,
      (seen) =>
        seen.some((f) => f.event === 'runs.queued') && seen.some((f) => f.comment === 'keepalive'),
    );
    const event = frames.find((f) => f.event === 'runs.queued') as SSEFrame;
    expect(JSON.parse(event.data ?? '')).toMatchObject({
      runId: run.id,
      pipeline: 'failing',
      kind: 'runs.queued',
    });
    const firstId = Number(event.id);
    expect(firstId).toBeGreaterThan(0);
    // Two more events; a client resuming after the first gets both, in order, and no older one.
    await store.requestCancel(run.id);
    await store.appendEvent('test.marker', { pipeline: 'failing' });
    const resumed = await fetch(`${url}/api/v1/updates`, {
      headers: { ...headers, 'last-event-id': String(firstId) },
    });
    const later = await readFrames(resumed, (seen) => seen.some((f) => f.event === 'test.marker'));
    const kinds = later.filter((f) => f.id !== undefined).map((f) => f.event);
    expect(kinds).toEqual(['run.canceled', 'test.marker']);
    const ids = later.filter((f) => f.id !== undefined).map((f) => Number(f.id));
    expect(ids.every((id) => id > firstId)).toBe(true);
  });

  it('a read token may listen; the server closes promptly with streams open', async () => {
    const { url } = await start();
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => fetch(`${url}/api/v1/updates`)),
    );
    expect(streams.every((s) => s.status === 200)).toBe(true);
    // Read the greeting of each so the streams are surely open.
    for (const stream of streams) await readFrames(stream, (seen) => seen.length > 0);
    const began = Date.now();
    await api?.close();
    api = undefined;
    expect(Date.now() - began).toBeLessThan(2_000);
  });
});

describe('UpdatesHub', () => {
  it('polls the store once per tick for all subscribers, and stops when the last one leaves', async () => {
    let polls = 0;
    const read = store.allEventsAfter.bind(store);
    // Counts reads of the real store (no stand-in): one per tick whatever the subscribers.
    store.allEventsAfter = async (afterId, limit) => {
      polls += 1;
      return read(afterId, limit);
    };
    const hub = new UpdatesHub({ store, pollMs: 50, keepaliveMs: 10_000 });
    const aborts = Array.from({ length: 20 }, () => new AbortController());
    const responses = await Promise.all(aborts.map((a) => hub.subscribe(undefined, a.signal)));
    expect(hub.size).toBe(20);
    const readers = responses.map((r) => (r.body as ReadableStream<Uint8Array>).getReader());
    await store.appendEvent('test.one', {});
    const began = Date.now();
    // Every subscriber gets the event.
    for (const reader of readers) {
      let text = '';
      while (!text.includes('event: test.one')) {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
      }
    }
    const elapsedTicks = Math.ceil((Date.now() - began) / 50) + 2;
    expect(polls).toBeLessThanOrEqual(elapsedTicks + 2);
    for (const a of aborts.slice(0, 10)) a.abort();
    expect(hub.size).toBe(10);
    for (const reader of readers.slice(10)) await reader.cancel();
    expect(hub.size).toBe(0);
    // No subscriber: the poll and keepalive timers are stopped.
    expect(hub.active).toBe(false);
    await hub.close();
    const late = await hub.subscribe(undefined, new AbortController().signal);
    expect(await late.text()).toBe('');
  });
});

describe('GET /api/v1/updates over HTTP', () => {
  it('ends the stream on the server when the client aborts', async () => {
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const { mountAPIv1 } = await import('../src/server/api-v1/index.js');
    const { BodyBudget } = await import('../src/server/request-limits.js');
    const app = new Hono();
    const mounted = mountAPIv1(app, {
      store,
      project: await Project.open(dir),
      authorize: async () => ({ name: 'anonymous', role: 'admin' }),
      tokenRequired: async () => false,
      budget: new BodyBudget(1 << 20),
      maxBodyBytes: 1 << 20,
      updates: { pollMs: 30, keepaliveMs: 100 },
    });
    let server: Server | undefined;
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(info.port),
      ) as Server;
    });
    try {
      const abort = new AbortController();
      const response = await fetch(`http://127.0.0.1:${port}/api/v1/updates`, {
        signal: abort.signal,
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read(); // the greeting
      expect(mounted.hub.size).toBe(1);
      abort.abort();
      const deadline = Date.now() + 10_000;
      while (mounted.hub.size > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(mounted.hub.size).toBe(0);
      expect(mounted.hub.active).toBe(false);
    } finally {
      await mounted.close();
      server?.closeAllConnections();
      await new Promise<void>((resolve) => server?.close(() => resolve()));
    }
  });
});
