import { createHmac } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../src/core/logger.js';
import { silentLogger } from '../src/core/logger.js';
import { UsageError } from '../src/core/errors.js';
import { APITokens } from '../src/orchestrator/api-tokens.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { LINGER_MS } from '../src/server/lingering-close.js';
import { orchestratorProject } from './support/orchestrator-project.js';

// Attacks on the HTTP API of `sluice serve --http`, in-process on 127.0.0.1 with port 0.
// Bounded: a few thousand requests and one 300 MB upload that is cut off at the limit.

const SECRET = 'whsec_5c1f0e2b7a9d4e8f9a0b1c2d3e4f5a6b';
const ENV_TOKEN = 'env-token-0123456789abcdef0123456789abcdef';

let dir: string;
let store: RunStore;
let project: Project;
let api: TriggerAPI;
const tokens: Record<'ops' | 'bot' | 'viewer', string> = { ops: '', bot: '', viewer: '' };
const env = { SLUICE_WEBHOOK_SECRET_SIGNED: SECRET, SLUICE_WEBHOOK_SECRET_SIGNED_2: SECRET };
const start = (): Promise<TriggerAPI> =>
  startTriggerAPI({
    store,
    project,
    port: 0,
    token: ENV_TOKEN,
    env,
    limits: { requestsPerSecond: 100_000, burst: 100_000 },
  });

beforeAll(async () => {
  // Kept for the whole file (tempDir() folders go after each test).
  dir = await mkdtemp(join(tmpdir(), 'sluice-attack-'));
  await cp(await orchestratorProject(), dir, { recursive: true });
  project = await Project.open(dir);
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
  const created = new APITokens(store);
  tokens.ops = (await created.create('ops', 'admin')).token;
  tokens.bot = (await created.create('bot', 'trigger')).token;
  tokens.viewer = (await created.create('viewer', 'read')).token;
  api = await start();
});
afterAll(async () => {
  await api.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function call(
  method: string,
  path: string,
  options: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });
}

async function errorOf(response: Response): Promise<string> {
  return ((await response.json()) as { error: string }).error;
}

function sign(body: string, t = Math.floor(Date.now() / 1000), secret = SECRET): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Every record in an inbox's batch files. */
async function inboxRecords(inbox: string): Promise<Record<string, unknown>[]> {
  const folder = join(dir, '.sluice', 'inbox', inbox);
  const names = (await readdir(folder).catch(() => [] as string[])).filter((n) =>
    n.endsWith('.ndjson'),
  );
  const records: Record<string, unknown>[] = [];
  for (const name of names)
    for (const line of (await readFile(join(folder, name), 'utf8')).split('\n'))
      if (line !== '') records.push(JSON.parse(line) as Record<string, unknown>);
  return records;
}

describe('authentication and roles', () => {
  it('refuses a request with no token or a wrong one, before reading anything', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/api/runs'],
      ['GET', '/api/pipelines'],
      ['POST', '/api/pipelines/work/runs'],
      ['POST', '/api/runs/run_x/cancel'],
      ['POST', '/hooks/orders'],
    ] as const) {
      const none = await call(method, path, { body: method === 'POST' ? '{}' : undefined });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(await errorOf(none)).toMatch(/token is required/);
      const wrong = await call(method, path, {
        token: 'sluice_not-a-real-token',
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      expect(wrong.status, `${method} ${path}`).toBe(401);
    }
    const basic = await call('GET', '/api/runs', {
      headers: { authorization: 'Basic b3BzOm9wcw==' },
    });
    expect(basic.status).toBe(401);
    expect(await store.listRuns()).toEqual([]);
  });

  it('answers 403 naming the role needed, and records the token name as the actor', async () => {
    const viewerTrigger = await call('POST', '/api/pipelines/work/runs', {
      token: tokens.viewer,
      body: '{}',
    });
    expect(viewerTrigger.status).toBe(403);
    expect(await errorOf(viewerTrigger)).toMatch(/"trigger" role.*"viewer" has "read"/);
    expect(
      (await call('POST', '/hooks/orders', { token: tokens.viewer, body: '{"id":1}' })).status,
    ).toBe(403);
    expect((await call('GET', '/api/runs', { token: tokens.viewer })).status).toBe(200);

    const queued = await call('POST', '/api/pipelines/work/runs', {
      token: tokens.bot,
      body: '{}',
    });
    expect(queued.status, await queued.clone().text()).toBe(202);
    const run = (await queued.json()) as { id: string };
    const botCancel = await call('POST', `/api/runs/${run.id}/cancel`, { token: tokens.bot });
    expect(botCancel.status).toBe(403);
    expect(await errorOf(botCancel)).toMatch(/"admin" role/);
    expect((await store.getRun(run.id))?.state).toBe('queued');

    const canceled = await call('POST', `/api/runs/${run.id}/cancel`, { token: tokens.ops });
    expect(canceled.status).toBe(200);
    expect((await store.getRun(run.id))?.state).toBe('canceled');
    expect((await call('POST', '/api/pipelines/work/pause', { token: tokens.ops })).status).toBe(
      200,
    );
    expect((await store.getPipeline('work'))?.paused).toBe(true);
    expect((await call('POST', '/api/pipelines/work/unpause', { token: ENV_TOKEN })).status).toBe(
      200,
    );
    const backfill = await call('POST', '/api/pipelines/hourly/backfills', {
      token: tokens.ops,
      body: '{"from": "2024-01-01T00:00:00Z", "to": "2024-01-01T03:00:00Z"}',
    });
    expect(backfill.status, await backfill.clone().text()).toBe(202);
    expect(await backfill.json()).toMatchObject({ create: 3, dryRun: false });
    // The pipeline starts 2024-01-01: the API says what of the asked range it left out.
    const bounded = await call('POST', '/api/pipelines/hourly/backfills', {
      token: tokens.ops,
      body: '{"from": "2023-12-31T22:00:00Z", "to": "2024-01-01T01:00:00Z", "dryRun": true}',
    });
    expect(await bounded.json()).toMatchObject({
      dryRun: true,
      intervals: 1,
      cut: [
        {
          from: '2023-12-31T22:00:00.000Z',
          to: '2024-01-01T00:00:00.000Z',
          reason: 'before-start',
        },
      ],
    });

    const actors = (await store.listEvents({ limit: 50 }))
      .filter((e) =>
        [
          'runs.queued',
          'run.canceled',
          'pipeline.paused',
          'pipeline.unpaused',
          'backfill.created',
        ].includes(e.kind),
      )
      .map((e) => [e.kind, e.pipeline, (e.data as { actor?: string }).actor])
      .reverse();
    expect(actors).toEqual([
      ['runs.queued', 'work', 'bot'],
      ['run.canceled', 'work', 'ops'],
      ['pipeline.paused', 'work', 'ops'],
      ['pipeline.unpaused', 'work', 'env'],
      ['runs.queued', 'hourly', 'ops'],
      ['backfill.created', 'hourly', 'ops'],
    ]);
  });

  it('refuses a revoked token at once and keeps each token’s last use, never the token', async () => {
    const created = new APITokens(store);
    const { token } = await created.create('temporary', 'read');
    expect((await call('GET', '/api/runs', { token })).status).toBe(200);
    const listed = (await created.list()).find((t) => t.name === 'temporary');
    expect(listed?.lastUsedAt).toBeGreaterThan(0);
    const stored = JSON.stringify(await store.db.all('SELECT * FROM api_tokens'));
    for (const secret of [token, tokens.ops, tokens.bot, tokens.viewer])
      expect(stored).not.toContain(secret);
    expect(await created.revoke('temporary')).toBe(true);
    expect((await call('GET', '/api/runs', { token })).status).toBe(401);
  });
});

describe('signed webhooks', () => {
  it('refuses a stale, a future, a forged and a replayed signature, also after a restart', async () => {
    const body = '[{"id": 1}, {"id": 2}]';
    const post = (signature: string | undefined, text = body) =>
      call('POST', '/hooks/signed', {
        body: text,
        headers: signature === undefined ? {} : { 'sluice-signature': signature },
      });
    const now = Math.floor(Date.now() / 1000);
    const missing = await post(undefined);
    expect(missing.status).toBe(401);
    expect(await errorOf(missing)).toMatch(/Sluice-Signature header is missing/);
    // A bearer token does not stand in for the signature of an inbox with a secret.
    expect((await call('POST', '/hooks/signed', { token: tokens.ops, body })).status).toBe(401);
    const stale = await post(sign(body, now - 600));
    expect(stale.status).toBe(401);
    expect(await errorOf(stale)).toMatch(/60\d s old, outside the tolerance of 300 s/);
    const future = await post(sign(body, now + 600));
    expect(future.status).toBe(401);
    expect(await errorOf(future)).toMatch(/in the future/);
    expect((await post(sign(body, now, 'another secret'))).status).toBe(401);
    expect((await post(sign('[{"id": 666}]', now))).status).toBe(401); // signed another body
    expect((await post('t=abc,v1=zz')).status).toBe(401);

    const signature = sign(body, now);
    expect((await post(signature)).status).toBe(202);
    const replay = await post(signature);
    expect(replay.status).toBe(409);
    expect(await errorOf(replay)).toMatch(/replay/);
    // Many copies at once: none is taken.
    const copies = await Promise.all(Array.from({ length: 20 }, () => post(signature)));
    expect(copies.map((r) => r.status)).toEqual(Array(20).fill(409));

    await api.close();
    api = await start();
    expect((await post(signature)).status).toBe(409);
    expect(await inboxRecords('signed')).toEqual([{ id: 1 }, { id: 2 }]);
    // A new request signed now is taken.
    expect((await post(sign(body, now + 1))).status).toBe(202);
    expect(await inboxRecords('signed')).toHaveLength(4);
  });

  it('deduplicates batches by Idempotency-Key, across a restart too', async () => {
    const post = (key: string, text: string) =>
      call('POST', '/hooks/keyed', {
        token: tokens.bot,
        body: text,
        headers: { 'idempotency-key': key },
      });
    const first = await post('order-17', '{"id": 17}');
    expect(first.status).toBe(202);
    const { batch } = (await first.json()) as { batch: string };
    const copies = await Promise.all(
      Array.from({ length: 10 }, () => post('order-17', '{"id": 17}')),
    );
    for (const copy of copies) {
      expect(copy.status).toBe(200);
      expect(await copy.json()).toMatchObject({ batch, records: 1, duplicate: true });
    }
    const other = await post('order-17', '{"id": 18}');
    expect(other.status).toBe(422);
    expect(await errorOf(other)).toMatch(/different body/);
    expect((await post('x'.repeat(300), '{"id": 19}')).status).toBe(400);

    await api.close();
    api = await start();
    const again = await post('order-17', '{"id": 17}');
    expect(again.status).toBe(200);
    expect(((await again.json()) as { batch: string }).batch).toBe(batch);
    expect(await inboxRecords('keyed')).toEqual([{ id: 17 }]);
  });
});

describe('bad bodies and names', () => {
  it('answers malformed JSON with 400 and stays up', async () => {
    const bodies = [
      'not json',
      '{"id": 1',
      '[1, 2]',
      '"text"',
      'null',
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      '\u0000\u0001\u0002',
    ];
    for (const body of bodies) {
      expect((await call('POST', '/hooks/orders', { token: tokens.bot, body })).status).toBe(400);
      expect(
        (await call('POST', '/api/pipelines/work/runs', { token: tokens.bot, body })).status,
      ).toBe(400);
    }
    const ndjson = await call('POST', '/hooks/orders', {
      token: tokens.bot,
      body: '{"id": 1}\n{"id": \n',
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(ndjson.status).toBe(400);
    expect(await errorOf(ndjson)).toMatch(/line 2 is not valid JSON/);
    expect(
      (
        await call('POST', '/api/pipelines/work/runs', {
          token: tokens.bot,
          body: '{"params": {"__proto__": {"polluted": "yes"}}}',
        })
      ).status,
    ).toBe(400);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(await inboxRecords('orders')).toEqual([]);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });

  it('splits arrays into records exactly as JSON.parse reads them, and refuses what it refuses', async () => {
    const valid = [
      '[]',
      ' [ ] ',
      '[{"a": "]"}, {"b": "},{"}, {"c": "\\"],"}]',
      '[{"n": [1, [2, {"x": "[{"}]], "s": "a\\\\"}, {}]',
      '\n[\n  {"id": 1},\n  {"id": 2, "tags": ["x,y"]}\n]\n',
      '{"single": {"nested": [1, 2]}}',
      '[{"u": "\\u005d\\u002c"}, {"__proto__": {"x": 1}}]',
    ];
    let expected: unknown[] = [];
    for (const body of valid) {
      const response = await call('POST', '/hooks/split', { token: tokens.bot, body });
      expect(response.status, body).toBe(202);
      const parsed = JSON.parse(body) as unknown;
      expected = [...expected, ...(Array.isArray(parsed) ? parsed : [parsed])];
    }
    expect(JSON.stringify(await inboxRecords('split'))).toBe(JSON.stringify(expected));
    const invalid = [
      '[',
      '[{}',
      '[{},]',
      '[,{}]',
      '[{}}]',
      '[{}] x',
      '[{"a": 1}]]',
      '[{"a": "unterminated}]',
      '[{} {}]',
      '[{}, 1]',
      '[{}, [{}]]',
    ];
    for (const body of invalid) {
      const response = await call('POST', '/hooks/split', { token: tokens.bot, body });
      expect(response.status, body).toBe(400);
    }
    expect(JSON.stringify(await inboxRecords('split'))).toBe(JSON.stringify(expected));
  });

  it('refuses path tricks in inbox and pipeline names without touching the disk', async () => {
    const before = await readdir(join(dir, '.sluice', 'inbox'));
    const runsBefore = (await store.listRuns()).length;
    const names = [
      '..%2F..%2Fetc',
      '..%2F..',
      '%2e%2e',
      '..',
      'a%00b',
      '%00',
      'x%2Fy',
      'a'.repeat(65),
      'b'.repeat(5_000),
      '%C0%AE%C0%AE',
      'orders%20',
    ];
    for (const name of names) {
      const hook = await call('POST', `/hooks/${name}`, { token: tokens.bot, body: '{"id":1}' });
      expect([404, 400], name.slice(0, 40)).toContain(hook.status);
      const run = await call('POST', `/api/pipelines/${name}/runs`, {
        token: tokens.bot,
        body: '{}',
      });
      expect([404, 400], name.slice(0, 40)).toContain(run.status);
      if (run.status !== 400) expect((await errorOf(run)).length).toBeLessThan(400);
    }
    const traversal = await call('POST', '/api/pipelines/..%2Fpipelines%2Fwork/runs', {
      token: tokens.bot,
      body: '{}',
    });
    expect(traversal.status).toBe(404);
    expect(await readdir(join(dir, '.sluice', 'inbox'))).toEqual(before);
    expect((await store.listRuns()).length).toBe(runsBefore);
  });
});

describe('limits', () => {
  /**
   * Streams `total` bytes as a chunked body (no Content-Length), as fast as the server takes
   * them, until it answers; resolves to the status and the bytes sent.
   */
  function chunkedUpload(
    path: string,
    total: number,
    headers: Record<string, string>,
  ): Promise<{ status: number; sent: number }> {
    const url = new URL(`${api.url}${path}`);
    const chunk = Buffer.alloc(1024 * 1024, 0x20); // whitespace: valid JSON padding
    return new Promise((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const request = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
        (response) => {
          answered = true;
          response.resume();
          resolve({ status: response.statusCode ?? 0, sent });
          request.destroy();
        },
      );
      request.on('error', (error) => {
        if (!answered) reject(error);
      });
      const pump = (): void => {
        while (!answered && sent < total) {
          sent += chunk.length;
          if (!request.write(chunk)) {
            request.once('drain', pump);
            return;
          }
        }
        if (!answered) request.end();
      };
      pump();
    });
  }

  it('a refused upload gets its answer and a clean close, not a reset, while the client keeps sending', async () => {
    // Written at the socket level: the client sends the headers and then body bytes without
    // pause until it has read the whole answer and seen the server close.
    const url = new URL(api.url);
    const outcome = await new Promise<{ head: string; error?: string; closedAfterMs: number }>(
      (resolve) => {
        const socket = connect(Number(url.port), url.hostname);
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let answer = '';
        let answeredAt = 0;
        let error: string | undefined;
        const pump = (): void => {
          while (!socket.destroyed && socket.write(`${chunk.length.toString(16)}\r\n`)) {
            if (!socket.write(chunk) || !socket.write('\r\n')) break;
          }
        };
        socket.on('connect', () => {
          socket.write(
            'POST /hooks/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
          );
          pump();
        });
        socket.on('drain', pump);
        socket.on('data', (data: Buffer) => {
          answer += data.toString('latin1');
          if (answeredAt === 0 && answer.includes('\r\n\r\n')) answeredAt = Date.now();
        });
        socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
        // The server's FIN: stop sending and close our side too.
        socket.on('end', () => socket.end());
        socket.on('close', () =>
          resolve({
            head: answer.split('\r\n\r\n')[0] ?? '',
            ...(error === undefined ? {} : { error }),
            closedAfterMs: answeredAt === 0 ? -1 : Date.now() - answeredAt,
          }),
        );
      },
    );
    expect(outcome.error).toBeUndefined();
    expect(outcome.head).toMatch(/^HTTP\/1\.1 401 /);
    expect(outcome.head.toLowerCase()).toContain('connection: close');
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(0);
    expect(outcome.closedAfterMs).toBeLessThan(LINGER_MS + 10_000);
  });

  it('cuts a 300 MB chunked upload off at the limit with bounded memory, with or without a token', async () => {
    const total = 300 * 1024 * 1024;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    try {
      const anonymous = await chunkedUpload('/hooks/orders', total, {
        'content-type': 'application/json',
      });
      expect(anonymous.status).toBe(401);
      const authorised = await chunkedUpload('/hooks/orders', total, {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.bot}`,
      });
      expect(authorised.status).toBe(413);
      expect(authorised.sent).toBeLessThan(total);
      const apiBody = await chunkedUpload('/api/pipelines/work/runs', total, {
        'content-type': 'application/json',
        authorization: `Bearer ${tokens.bot}`,
      });
      expect(apiBody.status).toBe(413);
      // A declared length over the limit is refused before a byte is read.
      const declared = await call('POST', '/hooks/orders', {
        token: tokens.bot,
        body: ' '.repeat(11 * 1024 * 1024),
      });
      expect(declared.status).toBe(413);
    } finally {
      clearInterval(sampler);
    }
    const growthMB = (peak - baseline) / 1024 / 1024;
    console.log(`RSS growth under the 300 MB chunked uploads: ${growthMB.toFixed(1)} MB`);
    expect(growthMB).toBeLessThan(100);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect(await inboxRecords('orders')).toEqual([]);
  });

  it('takes a 10 MB body of 3.5 million tiny records without holding them all as objects', async () => {
    const count = Math.floor((10 * 1024 * 1024 - 2) / 3);
    const body = `[${Array(count).fill('{}').join(',')}]`;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      const response = await call('POST', '/hooks/tiny', { token: tokens.bot, body });
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ records: count });
    } finally {
      clearInterval(sampler);
    }
    const growthMB = (peak - baseline) / 1024 / 1024;
    console.log(`RSS growth taking ${count} records in one body: ${growthMB.toFixed(1)} MB`);
    expect(growthMB).toBeLessThan(150);
    const folder = join(dir, '.sluice', 'inbox', 'tiny');
    const [file] = (await readdir(folder)).filter((n) => n.endsWith('.ndjson'));
    const text = await readFile(join(folder, file as string), 'utf8');
    expect(text.length).toBe(count * 3);
  }, 60_000);

  it('takes 2,000 concurrent small webhook requests without losing a batch', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    const inboxes = ['load-a', 'load-b', 'signed', 'signed-2'];
    const already = (await inboxRecords('signed')).length;
    const started = Date.now();
    const url = new URL(api.url);
    const post = (path: string, headers: Record<string, string>, body: string) =>
      new Promise<number>((resolve, reject) => {
        const request = httpRequest(
          { host: url.hostname, port: url.port, path, method: 'POST', headers, agent },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
          },
        );
        request.on('error', reject);
        request.end(body);
      });
    const responses = await Promise.all(
      Array.from({ length: 2_000 }, (_, i) => {
        const inbox = inboxes[i % inboxes.length] as string;
        const body = JSON.stringify({ n: i });
        return post(
          `/hooks/${inbox}`,
          {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            ...(inbox.startsWith('signed')
              ? { 'sluice-signature': sign(body) }
              : { authorization: `Bearer ${tokens.bot}` }),
          },
          body,
        );
      }),
    );
    agent.destroy();
    expect(responses.filter((s) => s !== 202)).toEqual([]);
    const seen = new Set<number>();
    for (const inbox of inboxes)
      for (const record of await inboxRecords(inbox))
        if (typeof record['n'] === 'number') seen.add(record['n']);
    expect(seen.size).toBe(2_000);
    expect((await inboxRecords('signed')).length).toBe(already + 500);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('limits each token’s rate with 429 and Retry-After, and slows token guessing', async () => {
    const limited = await startTriggerAPI({
      store,
      project,
      port: 0,
      env,
      token: ENV_TOKEN,
      limits: { requestsPerSecond: 1, burst: 3 },
    });
    try {
      const get = (token: string) =>
        fetch(`${limited.url}/api/runs?limit=1`, { headers: { authorization: `Bearer ${token}` } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await get(tokens.viewer)).status);
      expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
      expect(statuses.at(-1)).toBe(429);
      const refused = await get(tokens.viewer);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another token has its own bucket.
      expect((await get(tokens.ops)).status).toBe(200);

      // Forged signatures do not use up a signed inbox's rate: its sender still gets in.
      const hook = (signature: string) =>
        fetch(`${limited.url}/hooks/signed`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'sluice-signature': signature },
          body: '{"id": 99}',
        });
      for (let i = 0; i < 5; i++)
        expect((await hook(sign('{"id": 99}', undefined, `forged ${i}`))).status).toBe(401);
      expect((await hook(sign('{"id": 99}'))).status).toBe(202);

      const guesses: number[] = [];
      for (let i = 0; i < 30; i++) guesses.push((await get(`sluice_guess${i}`)).status);
      expect(guesses.slice(0, 15)).toEqual(Array(15).fill(401));
      expect(guesses.at(-1)).toBe(429);
      // While the address is slowed, even the right $SLUICE_API_TOKEN is refused (a guess that
      // hit would be told apart otherwise); stored tokens, 256 random bits, still get in.
      expect((await get(ENV_TOKEN)).status).toBe(429);
      expect((await get(tokens.ops)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('start-up checks', () => {
  it('refuses empty secrets and tokens, naming the variable', async () => {
    const refused = (options: Partial<Parameters<typeof startTriggerAPI>[0]>) =>
      startTriggerAPI({ store, project, port: 0, ...options }).then(
        async (started) => {
          await started.close();
          return undefined;
        },
        (error: unknown) => error as Error,
      );
    const secret = await refused({ env: { SLUICE_WEBHOOK_SECRET_ORDERS: '' } });
    expect(secret?.message).toMatch(/SLUICE_WEBHOOK_SECRET_ORDERS is set but empty/);
    expect(secret?.name).toBe('ConfigError');
    const blank = await refused({ env: { SLUICE_WEBHOOK_SECRET_X: '  ', SLUICE_API_TOKEN: '' } });
    expect(blank?.message).toMatch(/SLUICE_API_TOKEN is set but empty/);
    expect(blank?.message).toMatch(/SLUICE_WEBHOOK_SECRET_X is set but empty/);
    expect((await refused({ env: {}, token: '' }))?.message).toMatch(/the API token is empty/);
  });

  it('warns of secrets short enough to guess', async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      ...silentLogger,
      warn: (_fields, message) => warnings.push(String(message)),
    };
    const started = await startTriggerAPI({
      store,
      project,
      port: 0,
      env: { SLUICE_WEBHOOK_SECRET_X: 'short', SLUICE_WEBHOOK_SECRET_Y: SECRET },
      logger,
    });
    await started.close();
    expect(warnings).toEqual([
      'SLUICE_WEBHOOK_SECRET_X: shorter than 16 characters, easy to guess; use at least 32 random ones (openssl rand -hex 32)',
    ]);
  });

  it('refuses to listen beyond loopback with no token unless insecure, and says so loudly', async () => {
    const bare = await orchestratorProject();
    const bareStore = await RunStore.open(join(bare, '.sluice', 'sluice.db'));
    const bareProject = await Project.open(bare);
    try {
      const refused = await startTriggerAPI({
        store: bareStore,
        project: bareProject,
        hostname: '0.0.0.0',
        port: 0,
        env: {},
      }).catch((error: unknown) => error as Error);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).name).toBe('UsageError');
      expect((refused as Error).message).toMatch(
        /refusing to listen on 0\.0\.0\.0:0 without authentication/,
      );
      // On loopback, with no token, it is open (a laptop); with a token it requires it.
      const local = await startTriggerAPI({
        store: bareStore,
        project: bareProject,
        port: 0,
        env: {},
      });
      expect((await fetch(`${local.url}/api/runs`)).status).toBe(200);
      await local.close();
      const warnings: string[] = [];
      const logger: Logger = {
        ...silentLogger,
        warn: (_fields, message) => warnings.push(String(message)),
      };
      const insecure = await startTriggerAPI({
        store: bareStore,
        project: bareProject,
        hostname: '0.0.0.0',
        port: 0,
        env: {},
        insecure: true,
        logger,
      });
      await insecure.close();
      expect(warnings.join('\n')).toMatch(/^INSECURE: .* no token/);
    } finally {
      await bareStore.close();
    }
  });

  it('closes within seconds although a client holds an upload open', async () => {
    const extra = await start();
    const url = new URL(extra.url);
    const request = httpRequest({
      host: url.hostname,
      port: url.port,
      path: '/hooks/slow',
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.bot}`, 'content-type': 'application/json' },
    });
    request.on('error', () => undefined);
    request.write('[{"id": 1}'); // and never the rest
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await extra.close();
    expect(Date.now() - started).toBeLessThan(15_000);
    request.destroy();
  });

  it('answers a busy port with a clear error', async () => {
    const port = Number(new URL(api.url).port);
    const busy: unknown = await startTriggerAPI({ store, project, port, env }).then(
      async (started) => {
        await started.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(busy).toBeInstanceOf(UsageError);
    expect((busy as UsageError).message).toBe(
      `cannot listen on 127.0.0.1:${port}: the port is in use by another process`,
    );
    expect((busy as UsageError).hint).toMatch(/choose another port with --http/);
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
