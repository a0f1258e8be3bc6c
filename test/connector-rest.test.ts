import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { restSource } from '../src/connectors/http/index.js';
import { incrementalWatermark } from '../src/engine/incremental.js';
import { restSourceConfig } from '../src/connectors/http/rest-config.js';
import type { RESTSourceConfig } from '../src/connectors/http/rest-config.js';
import { nextLink } from '../src/connectors/http/link-header.js';
import { retryAfterMs } from '../src/contracts/retry-after.js';
import { recordColumns } from '../src/connectors/http/record-columns.js';
import { RateLimiter } from '../src/connectors/http/rate-limiter.js';
import { silentLogger } from '../src/core/logger.js';
import { SluiceError } from '../src/core/errors.js';
import type { SourceReadContext } from '../src/contracts/batch-connector.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import {
  check,
  defaultRegistry,
  expect as expectation,
  pipeline,
  ref,
  schema,
  sink,
  source,
  sql,
  suite,
  t,
} from '../src/index.js';
import { planPipeline } from '../src/plan/planner.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, body: string) => void;

interface Seen {
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly at: number;
  readonly body: string;
}

const routes = new Map<string, Handler>();
const seen = new Map<string, Seen[]>();
let server: Server;
let base: string;
let routeCount = 0;

/** Serves `handler` on a fresh path; returns its URL and the requests it saw. */
function route(handler: Handler): { url: string; requests: Seen[] } {
  const path = `/r${++routeCount}`;
  const requests: Seen[] = [];
  routes.set(path, handler);
  seen.set(path, requests);
  return { url: `${base}${path}`, requests };
}

function json(
  res: ServerResponse,
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = Buffer.concat(chunks).toString('utf8');
      seen.get(url.pathname)?.push({ url, headers: req.headers, at: performance.now(), body });
      const handler = routes.get(url.pathname);
      if (handler === undefined) json(res, { error: 'no route' }, 404);
      else handler(req, res, url, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const sessions: DuckDBSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
});

const fast = { count: 3, delay: '10ms', maxDelay: '2s', jitter: 0 };

/**
 * Runs the source directly and returns its result, its rows, the rows of its child datasets
 * (by name, in parent and list order) and its quarantine.
 */
async function read(
  config: RESTSourceConfig,
  extra: Partial<Pick<SourceReadContext, 'incremental' | 'signal' | 'runId'>> = {},
) {
  const dir = await tempDir();
  const session = await DuckDBSession.create();
  sessions.push(session);
  const connection = await session.connect('api');
  const quarantine = new QuarantineStore(join(dir, 'quarantine'), 'run_test');
  const context: SourceReadContext = {
    stepId: 'api',
    runId: extra.runId ?? 'run_test',
    baseDir: dir,
    stateDir: dir,
    connection,
    extractedAt: new Date(),
    quarantine,
    logger: silentLogger,
    signal: extra.signal ?? new AbortController().signal,
    ...(extra.incremental === undefined ? {} : { incremental: extra.incremental }),
  };
  const result = await restSource.read(restSourceConfig.parse(config), context);
  const rows = await connection.rows('SELECT * FROM "api"');
  const children: Record<string, Record<string, unknown>[]> = {};
  for (const child of result.children ?? [])
    children[child.name] = await connection.rows(
      `SELECT * FROM "${child.name}" ORDER BY _sluice_parent_id, _sluice_list_idx`,
    );
  const quarantined =
    quarantine.count('api') === 0 ? [] : await readNDJSON(quarantine.pathFor('api'));
  return { result, rows, children, quarantined };
}

async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

describe('rest source: retries and failures', () => {
  it('honours Retry-After on 429, then reads', async () => {
    const api = route((_req, res) => {
      if (api.requests.length === 1) json(res, { error: 'slow down' }, 429, { 'retry-after': '1' });
      else json(res, [{ id: 1 }]);
    });
    const { rows } = await read({ url: api.url, retries: fast });
    expect(rows).toEqual([{ id: 1n }]);
    expect(api.requests).toHaveLength(2);
    const [first, second] = api.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('retries 500s with backoff and succeeds', async () => {
    const api = route((_req, res) => {
      if (api.requests.length <= 2) json(res, { error: 'boom' }, 500);
      else json(res, [{ id: 1 }, { id: 2 }]);
    });
    const { result } = await read({ url: api.url, retries: fast });
    expect(result.rowsRead).toBe(2);
    expect(api.requests).toHaveLength(3);
  });

  it('gives up with a retryable error naming the tries and the last status', async () => {
    const api = route((_req, res) => json(res, { error: 'down' }, 503));
    const error = await failure(read({ url: api.url, retries: { ...fast, count: 2 } }));
    expect(error.message).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/r\d+ \(page 1\) failed after 3 tries; last: HTTP 503/,
    );
    expect(error.retryable).toBe(true);
    expect(error.hint).toMatch(/check that it is up/);
    expect(api.requests).toHaveLength(3);
  });

  it('does not retry other 4xx', async () => {
    const api = route((_req, res) => json(res, { error: 'no such thing' }, 404));
    const error = await failure(read({ url: api.url, retries: fast }));
    expect(error.message).toMatch(/answered HTTP 404 Not Found: \{"error":"no such thing"\}/);
    expect(error.retryable).toBe(false);
    expect(api.requests).toHaveLength(1);
  });

  it('retries a response slower than the timeout, then fails clearly', async () => {
    const api = route((_req, res) => {
      setTimeout(() => json(res, [{ id: 1 }]), 600).unref();
    });
    const started = performance.now();
    const error = await failure(
      read({ url: api.url, timeout: '100ms', retries: { ...fast, count: 1 } }),
    );
    expect(performance.now() - started).toBeLessThan(590);
    expect(error.message).toMatch(
      /failed after 2 tries; last: no complete answer within 100 ms \(timeout\)/,
    );
    expect(error.retryable).toBe(true);
    expect(api.requests).toHaveLength(2);
  });

  it('names the URL and page of a body that is not valid JSON', async () => {
    const api = route((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('[{"id": 1}, {"id": 2');
    });
    const error = await failure(read({ url: api.url, retries: fast }));
    expect(error.message).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/r\d+ \(page 1\) answered invalid JSON/,
    );
    expect(error.hint).toMatch(/cut off/);
  });

  it('reports a body cut off by a dropped connection', async () => {
    const api = route((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('[{"id": 1}, {"id"');
      setTimeout(() => res.socket?.destroy(), 20).unref();
    });
    const error = await failure(read({ url: api.url, retries: { ...fast, count: 1 } }));
    expect(error.message).toMatch(/\(page 1\) failed after 2 tries; last: HTTP 200 body truncated/);
    expect(error.retryable).toBe(true);
  });

  it('refuses a body that is not JSON, with a hint', async () => {
    const api = route((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    });
    const error = await failure(read({ url: api.url }));
    expect(error.message).toMatch(
      /\(page 1\) answered content type text\/html, not JSON: <html>login<\/html>/,
    );
    expect(error.hint).toMatch(/login page/);
  });

  it('fails clearly when the host is unreachable', async () => {
    const error = await failure(
      read({ url: `http://127.0.0.1:${await closedPort()}/items`, retries: { ...fast, count: 1 } }),
    );
    expect(error.message).toMatch(/failed after 2 tries; last: network error: ECONNREFUSED/);
  });

  it('explains where records are when the body is an object', async () => {
    const api = route((_req, res) => json(res, { items: [{ id: 1 }] }));
    const error = await failure(read({ url: api.url }));
    expect(error.message).toMatch(/the body is not an array of records/);
    expect(error.hint).toMatch(/set recordsPath .* keys "items"/);
  });

  it('is cancelled by the signal while a request is in flight', async () => {
    // The run is cancelled once the request arrives, and the answer is held until the read has
    // ended: only the signal can end it.
    const controller = new AbortController();
    let held: ServerResponse | undefined;
    const api = route((_req, res) => {
      held = res;
      controller.abort(new Error('run cancelled'));
    });
    const error = await failure(read({ url: api.url }, { signal: controller.signal }));
    held?.destroy();
    expect(held).toBeDefined();
    expect(error.message).toMatch(/\(page 1\) cancelled/);
    expect(api.requests).toHaveLength(1);
  });
});

describe('rest source: pagination', () => {
  const items = Array.from({ length: 7 }, (_, i) => ({ id: i + 1 }));

  it('page numbers, stopping at a short page', async () => {
    const api = route((_req, res, url) => {
      const page = Number(url.searchParams.get('p'));
      const size = Number(url.searchParams.get('size'));
      json(res, { data: items.slice((page - 1) * size, page * size) });
    });
    const { rows } = await read({
      url: api.url,
      recordsPath: '$.data',
      pagination: { type: 'page', param: 'p', startAt: 1, pageSize: 3, sizeParam: 'size' },
    });
    expect(rows.map((r) => r['id'])).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(api.requests.map((r) => r.url.search)).toEqual([
      '?size=3&p=1',
      '?size=3&p=2',
      '?size=3&p=3',
    ]);
  });

  it('page numbers, stopping at an empty page', async () => {
    const api = route((_req, res, url) => {
      const page = Number(url.searchParams.get('page'));
      json(res, items.slice(page * 4, page * 4 + 4));
    });
    const { rows } = await read({ url: api.url, pagination: { type: 'page', startAt: 0 } });
    expect(rows).toHaveLength(7);
    expect(api.requests).toHaveLength(3);
  });

  it('offset and limit, stopping at the total', async () => {
    const api = route((_req, res, url) => {
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      json(res, { total: 6, rows: items.slice(offset, Math.min(6, offset + limit)) });
    });
    const { rows } = await read({
      url: api.url,
      recordsPath: '$.rows',
      pagination: {
        type: 'offset',
        offsetParam: 'offset',
        limitParam: 'limit',
        limit: 2,
        totalPath: '$.total',
      },
    });
    expect(rows).toHaveLength(6);
    expect(api.requests.map((r) => r.url.searchParams.get('offset'))).toEqual(['0', '2', '4']);
  });

  it('cursor from the body until it is null', async () => {
    const api = route((_req, res, url) => {
      const at = Number(url.searchParams.get('after') ?? 0);
      const next = at + 3 < items.length ? String(at + 3) : null;
      json(res, { data: items.slice(at, at + 3), meta: { next } });
    });
    const { rows } = await read({
      url: api.url,
      recordsPath: '$.data',
      pagination: { type: 'cursor', cursorPath: '$.meta.next', cursorParam: 'after' },
    });
    expect(rows).toHaveLength(7);
    expect(api.requests.map((r) => r.url.searchParams.get('after'))).toEqual([null, '3', '6']);
  });

  it('Link header rel="next"', async () => {
    const api = route((_req, res, url) => {
      const page = Number(url.searchParams.get('page') ?? 1);
      const links = [
        `<${url.pathname}?page=${page + 1}>; rel="next"`,
        `<${url.pathname}?page=3>; rel="last"`,
      ];
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        ...(page < 3 ? { link: links.join(', ') } : {}),
      });
      res.end(JSON.stringify(items.slice((page - 1) * 3, page * 3)));
    });
    const { rows } = await read({ url: api.url, pagination: { type: 'link' } });
    expect(rows).toHaveLength(7);
    expect(api.requests).toHaveLength(3);
  });

  it('next URL from the body', async () => {
    const api = route((_req, res, url) => {
      const page = Number(url.searchParams.get('page') ?? 1);
      json(res, {
        results: items.slice((page - 1) * 4, page * 4),
        next: page < 2 ? `${base}${url.pathname}?page=${page + 1}` : null,
      });
    });
    const { rows } = await read({
      url: api.url,
      recordsPath: '$.results',
      pagination: { type: 'next_url', nextUrlPath: '$.next' },
    });
    expect(rows).toHaveLength(7);
  });

  it('fails instead of silently stopping at maxPages', async () => {
    const api = route((_req, res, url) => {
      const page = Number(url.searchParams.get('page'));
      json(res, [{ id: page }]);
    });
    const error = await failure(read({ url: api.url, maxPages: 3, pagination: { type: 'page' } }));
    expect(error.message).toMatch(/more than maxPages \(3\) pages/);
    expect(api.requests).toHaveLength(3);
  });

  it('fails when the API hands back the same cursor again', async () => {
    const api = route((_req, res) => json(res, { data: [{ id: 1 }], next: 'same' }));
    const error = await failure(
      read({
        url: api.url,
        recordsPath: '$.data',
        pagination: { type: 'cursor', cursorPath: '$.next', cursorParam: 'c' },
      }),
    );
    expect(error.message).toMatch(/pagination loops/);
  });
});

describe('rest source: authentication', () => {
  const guarded = (check: (req: IncomingMessage, url: URL) => boolean) =>
    route((req, res, url) =>
      check(req, url) ? json(res, [{ ok: true }]) : json(res, { error: 'who are you' }, 401),
    );

  it('bearer token, read from the environment', async () => {
    const api = guarded((req) => req.headers.authorization === 'Bearer s3cret');
    process.env['SLUICE_TEST_TOKEN'] = 's3cret';
    const { rows } = await read({
      url: api.url,
      auth: { type: 'bearer', token: { env: 'SLUICE_TEST_TOKEN' } },
    });
    expect(rows).toEqual([{ ok: true }]);
  });

  it('a missing environment secret is a config error naming the variable', async () => {
    const api = guarded(() => true);
    const error = await failure(
      read({
        url: api.url,
        auth: { type: 'bearer', token: { env: 'SLUICE_TEST_UNSET_VARIABLE' } },
      }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/environment variable SLUICE_TEST_UNSET_VARIABLE is not set/);
  });

  it('basic', async () => {
    const expected = `Basic ${Buffer.from('etl:pw:with:colons').toString('base64')}`;
    const api = guarded((req) => req.headers.authorization === expected);
    const { rows } = await read({
      url: api.url,
      auth: { type: 'basic', username: 'etl', password: 'pw:with:colons' },
    });
    expect(rows).toHaveLength(1);
  });

  it('api key in a header and in the query (masked in messages)', async () => {
    const header = guarded((req) => req.headers['x-api-key'] === 'k1');
    expect(
      (await read({ url: header.url, auth: { type: 'api_key', name: 'X-API-Key', value: 'k1' } }))
        .rows,
    ).toHaveLength(1);
    const query = guarded((_req, url) => url.searchParams.get('api_key') === 'k2');
    expect(
      (
        await read({
          url: query.url,
          auth: { type: 'api_key', name: 'api_key', value: 'k2', in: 'query' },
        })
      ).rows,
    ).toHaveLength(1);
    const down = route((_req, res) => json(res, {}, 500));
    const error = await failure(
      read({
        url: down.url,
        retries: { ...fast, count: 0 },
        auth: { type: 'api_key', name: 'api_key', value: 'topsecret', in: 'query' },
      }),
    );
    expect(error.message).toMatch(/api_key=\*\*\*/);
    expect(error.message).not.toMatch(/topsecret/);
  });

  it('bad credentials fail at once with an auth error', async () => {
    const api = guarded((req) => req.headers.authorization === 'Bearer right');
    const error = await failure(
      read({ url: api.url, retries: fast, auth: { type: 'bearer', token: 'wrong' } }),
    );
    expect(error.message).toMatch(
      /\(page 1\) was refused: HTTP 401 Unauthorized; the credentials were not accepted/,
    );
    expect(error.hint).toMatch(/check the auth settings/);
    expect(error.message).not.toMatch(/wrong/);
    expect(error.retryable).toBe(false);
    expect(api.requests).toHaveLength(1);
  });

  it('403 says the credentials lack access', async () => {
    const api = route((_req, res) => json(res, { error: 'forbidden' }, 403));
    const error = await failure(read({ url: api.url, auth: { type: 'bearer', token: 't' } }));
    expect(error.hint).toMatch(/lack access/);
  });

  it('OAuth2 client credentials: caches the token, refreshes it before expiry and after a 401', async () => {
    let issued = 0;
    const valid = new Map<string, number>();
    const tokens = route((req, res, _url, body) => {
      const form = new URLSearchParams(body);
      const expectedAuth = `Basic ${Buffer.from('client-1:shh').toString('base64')}`;
      if (
        req.headers.authorization !== expectedAuth ||
        form.get('grant_type') !== 'client_credentials'
      )
        return json(res, { error: 'invalid_client' }, 401);
      const token = `tok${++issued}`;
      valid.set(token, Date.now() + 1000);
      json(res, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: 1,
        scope: form.get('scope'),
      });
    });
    const api = route((req, res, url) => {
      const token = (req.headers.authorization ?? '').replace('Bearer ', '');
      const until = valid.get(token);
      if (until === undefined || until < Date.now()) return json(res, { error: 'expired' }, 401);
      const page = Number(url.searchParams.get('page'));
      json(res, page <= 4 ? [{ page, token }] : []);
    });
    const auth = {
      type: 'oauth2_client_credentials' as const,
      tokenUrl: tokens.url,
      clientId: 'client-1',
      clientSecret: 'shh',
      scope: 'read',
    };
    const { rows } = await read({
      url: api.url,
      pagination: { type: 'page' },
      rateLimit: { requestsPerSecond: 3 },
      auth,
    });
    expect(rows).toHaveLength(4);
    // 5 requests 333 ms apart with a 1 s token refreshed 100 ms before expiry: more than one token, far fewer than requests.
    expect(issued).toBeGreaterThanOrEqual(2);
    expect(issued).toBeLessThan(5);
    expect(new URLSearchParams(tokens.requests[0]?.body).get('scope')).toBe('read');

    valid.clear();
    const before = issued;
    const revoked = route((req, res) => {
      const token = (req.headers.authorization ?? '').replace('Bearer ', '');
      if (token === `tok${before + 1}`) return json(res, { error: 'revoked' }, 401);
      json(res, [{ token }]);
    });
    const again = await read({ url: revoked.url, auth });
    expect(again.rows).toEqual([{ token: `tok${before + 2}` }]);

    const error = await failure(read({ url: api.url, auth: { ...auth, clientSecret: 'bad' } }));
    expect(error.message).toMatch(/OAuth2 token request to .* failed: HTTP 401 invalid_client/);
    expect(error.hint).toMatch(/auth.clientSecret/);
  });
});

describe('rest source: requests', () => {
  it('honours the rate limit', async () => {
    const api = route((_req, res, url) =>
      json(res, Number(url.searchParams.get('page')) <= 4 ? [{ id: 1 }] : []),
    );
    await read({
      url: api.url,
      pagination: { type: 'page' },
      rateLimit: { requestsPerSecond: 10 },
    });
    expect(api.requests).toHaveLength(5);
    // Requests start 100 ms apart; arrivals jitter under load, so check the span of all five
    // (unlimited, they would arrive within a few milliseconds).
    const span = (api.requests[4]?.at ?? 0) - (api.requests[0]?.at ?? 0);
    expect(span).toBeGreaterThanOrEqual(300);
  });

  it('fills url placeholders, query, headers and a POST body', async () => {
    const api = route((req, res, url, body) =>
      json(res, [
        {
          method: req.method,
          path: url.pathname,
          q: url.searchParams.get('status'),
          h: req.headers['x-tenant'],
          body: JSON.parse(body),
        },
      ]),
    );
    const [path, id] = new URL(api.url).pathname.split('/r');
    const { rows } = await read({
      url: `${base}${path}/r{id}`,
      params: { id: Number(id) },
      method: 'POST',
      query: { status: 'open' },
      headers: { 'X-Tenant': 'acme' },
      body: { filter: { region: 'eu' } },
    });
    expect(rows[0]).toMatchObject({ method: 'POST', q: 'open', h: 'acme' });
    expect(JSON.parse(String(rows[0]?.['body']))).toEqual({ filter: { region: 'eu' } });
  });

  it('sends the watermark as the incremental parameter', async () => {
    const api = route((_req, res, url) =>
      json(res, [
        { id: 2, updated_at: '2026-02-02', since: url.searchParams.get('updated_since') },
      ]),
    );
    const { rows } = await read(
      { url: api.url, incrementalParam: 'updated_since' },
      { incremental: { cursor: 'updated_at', watermark: '2026-01-01' } },
    );
    expect(api.requests[0]?.url.searchParams.get('updated_since')).toBe('2026-01-01');
    expect(rows).toHaveLength(1);
  });

  it('leaves filtering by the watermark to the engine without an incremental parameter', async () => {
    const api = route((_req, res) =>
      json(res, [
        { id: 1, seq: 5 },
        { id: 2, seq: 10 },
        { id: 3, seq: 11 },
      ]),
    );
    const dir = await tempDir();
    const p = pipeline('api_filtered', {
      steps: {
        items: source.custom('rest', { url: api.url, incremental: { cursor: 'seq' } }),
        out: sink.ndjson({ input: ref('items'), path: 'items.ndjson' }),
      },
    });
    const report = await runIn(dir, p, {
      registry: defaultRegistry.with(restSource),
      watermarks: { items: '10' },
    });
    expect(report.error).toBeUndefined();
    expect(api.requests[0]?.url.search).toBe('');
    expect(await readNDJSON(join(dir, 'items.ndjson'))).toEqual([{ id: 3, seq: 11 }]);
    expect(report.steps[0]?.rowsIn).toBe(1);
    expect(incrementalWatermark(report.watermarks?.['items'])).toBe('11');
  });

  it('validates config: unknown keys, a body without POST, a placeholder without a value', () => {
    expect(restSourceConfig.safeParse({ url: 'http://x/y', bogus: 1 }).success).toBe(false);
    expect(restSourceConfig.safeParse({ url: 'http://x/y', body: {} }).success).toBe(false);
    expect(restSourceConfig.safeParse({ url: 'http://x/{id}' }).success).toBe(false);
    expect(restSourceConfig.safeParse({ url: 'ftp://x/y' }).success).toBe(false);
  });
});

describe('rest source: records', () => {
  const nestedRecords = [
    { id: 1, customer: { name: 'acme', address: { city: 'Oslo' } }, tags: ['a', 'b'] },
    { id: 2, customer: { name: 'globex', address: { city: 'Rome' } }, tags: [] },
  ];

  it('keeps nested values as JSON by default', async () => {
    const api = route((_req, res) => json(res, nestedRecords));
    const { rows, result } = await read({ url: api.url });
    expect(result.fields.map((f) => [f.name, f.type.kind])).toEqual([
      ['id', 'int64'],
      ['customer', 'json'],
      ['tags', 'json'],
    ]);
    expect(JSON.parse(String(rows[0]?.['customer']))).toEqual({
      name: 'acme',
      address: { city: 'Oslo' },
    });
  });

  it('flattens nested objects to parent__child columns, arrays stay JSON', async () => {
    const api = route((_req, res) => json(res, nestedRecords));
    const { rows, result } = await read({ url: api.url, nested: 'flatten' });
    expect(result.fields.map((f) => [f.name, f.type.kind])).toEqual([
      ['id', 'int64'],
      ['customer__name', 'string'],
      ['customer__address__city', 'string'],
      ['tags', 'json'],
    ]);
    expect(rows[1]).toMatchObject({
      id: 2n,
      customer__name: 'globex',
      customer__address__city: 'Rome',
      tags: '[]',
    });
  });

  it('quarantines records that do not fit the declared schema, with the reason', async () => {
    const api = route((_req, res) =>
      json(res, {
        data: [
          { id: 1, amount: 9.5, customer: { id: 7 } },
          { id: 'x', amount: 1, customer: { id: 8 } },
          { amount: 2 },
          'not an object',
        ],
      }),
    );
    const { rows, result, quarantined } = await read({
      url: api.url,
      recordsPath: '$.data',
      nested: 'flatten',
      schema: schema({ id: t.int64().notNull(), amount: t.float64(), customer__id: t.int32() }),
    });
    expect(rows).toEqual([{ id: 1n, amount: 9.5, customer__id: 7 }]);
    expect(result).toMatchObject({ rowsRead: 4, rowsQuarantined: 3 });
    const reasons = quarantined.map((q) => String(q['reason'])).sort();
    expect(reasons).toEqual([
      'column "id": cannot convert "x" to int64',
      'column "id": required value is missing',
      'the record is not a JSON object',
    ]);
    expect(quarantined[0]?.['source_file']).toMatch(/^http:\/\/127\.0\.0\.1/);
  });

  it('fails when the schema is strict and the API adds a field', async () => {
    const api = route((_req, res) => json(res, [{ id: 1, extra: true }]));
    const error = await failure(
      read({ url: api.url, schema: schema({ id: t.int64() }), schemaPolicy: 'strict' }),
    );
    expect(error.message).toMatch(/column "extra" is not declared/);
  });
});

describe('rest source: child tables', () => {
  const orders = [
    {
      id: 1,
      customer: { name: 'acme' },
      items: [
        {
          sku: 'a',
          qty: 2,
          product: { name: 'Apple', size: { w: 3 } },
          discounts: [
            { code: 'X', pct: 0.1 },
            { code: 'Y', pct: 0.2 },
          ],
        },
        { sku: 'b', qty: 1, discounts: [] },
      ],
      tags: ['new', 'vip'],
    },
    { id: 2, customer: { name: 'globex' }, items: [], tags: [] },
    { id: 3, customer: { name: 'initech' } },
    { id: 4, customer: { name: 'hooli' }, items: null, tags: null },
    { id: 5, items: [{ sku: 'c', qty: 5, discounts: null }] },
  ];
  const childTables = ['items', 'items.discounts', 'tags'];
  const names = (rows: readonly Record<string, unknown>[], key: string) => rows.map((r) => r[key]);

  it('unnests two levels: ids, parent ids and list indexes; nested objects flatten', async () => {
    const api = route((_req, res) => json(res, orders));
    const { result, rows, children } = await read({
      url: api.url,
      nested: 'child_tables',
      childTables,
    });
    expect(result).toMatchObject({ rowsRead: 5, rowsQuarantined: 0 });
    expect(result.fields.map((f) => f.name)).toEqual(['id', 'customer__name', '_sluice_id']);
    expect(rows.map((r) => [r['id'], r['_sluice_id']])).toEqual(
      orders.map((o, i) => [BigInt(o.id), `run_test:${i}`]),
    );
    expect(result.children?.map((c) => [c.name, c.rowsRead])).toEqual([
      ['api__items', 3],
      ['api__tags', 2],
      ['api__items__discounts', 2],
    ]);
    expect(children['api__items']).toEqual([
      {
        sku: 'a',
        qty: 2n,
        product__name: 'Apple',
        product__size__w: 3n,
        _sluice_parent_id: 'run_test:0',
        _sluice_list_idx: 0n,
        _sluice_id: 'run_test:0.0',
      },
      {
        sku: 'b',
        qty: 1n,
        product__name: null,
        product__size__w: null,
        _sluice_parent_id: 'run_test:0',
        _sluice_list_idx: 1n,
        _sluice_id: 'run_test:0.1',
      },
      {
        sku: 'c',
        qty: 5n,
        product__name: null,
        product__size__w: null,
        _sluice_parent_id: 'run_test:4',
        _sluice_list_idx: 0n,
        _sluice_id: 'run_test:4.0',
      },
    ]);
    expect(children['api__items__discounts']).toEqual([
      {
        code: 'X',
        pct: 0.1,
        _sluice_parent_id: 'run_test:0.0',
        _sluice_list_idx: 0n,
        _sluice_id: 'run_test:0.0.0',
      },
      {
        code: 'Y',
        pct: 0.2,
        _sluice_parent_id: 'run_test:0.0',
        _sluice_list_idx: 1n,
        _sluice_id: 'run_test:0.0.1',
      },
    ]);
    const fieldsOf = (name: string) =>
      result.children?.find((c) => c.name === name)?.fields.map((f) => [f.name, f.type.kind]);
    expect(fieldsOf('api__tags')).toEqual([
      ['value', 'string'],
      ['_sluice_parent_id', 'string'],
      ['_sluice_list_idx', 'int64'],
      ['_sluice_id', 'string'],
    ]);
    expect(children['api__tags']?.map((r) => [r['value'], r['_sluice_parent_id']])).toEqual([
      ['new', 'run_test:0'],
      ['vip', 'run_test:0'],
    ]);
    // Every child row points at an existing parent row.
    const ids = new Set(names(rows, '_sluice_id'));
    const itemIds = new Set(names(children['api__items'] ?? [], '_sluice_id'));
    for (const item of children['api__items'] ?? [])
      expect(ids).toContain(item['_sluice_parent_id']);
    for (const discount of children['api__items__discounts'] ?? [])
      expect(itemIds).toContain(discount['_sluice_parent_id']);
  });

  it('keeps elements that are not objects as a JSON value column', async () => {
    const api = route((_req, res) =>
      json(res, [
        { id: 1, mixed: [1, 'two', { three: 3 }], grid: [[1, 2], [3]] },
        { id: 2, mixed: [null], grid: [] },
      ]),
    );
    const { result, children } = await read({
      url: api.url,
      nested: 'child_tables',
      childTables: ['mixed', 'grid'],
    });
    const kinds = result.children?.map((c) => [c.name, c.fields[0]?.name, c.fields[0]?.type.kind]);
    expect(kinds).toEqual([
      ['api__mixed', 'value', 'json'],
      ['api__grid', 'value', 'json'],
    ]);
    expect(children['api__mixed']?.map((r) => [r['value'], r['_sluice_id']])).toEqual([
      ['1', 'run_test:0.0'],
      ['"two"', 'run_test:0.1'],
      ['{"three":3}', 'run_test:0.2'],
      [null, 'run_test:1.0'],
    ]);
    expect(children['api__grid']?.map((r) => r['value'])).toEqual(['[1,2]', '[3]']);
  });

  it('quarantines a record whose declared array holds something else, with its child rows', async () => {
    const api = route((_req, res) =>
      json(res, [
        { id: 1, items: [{ sku: 'a', discounts: [{ code: 'X' }] }] },
        { id: 2, items: { sku: 'b' } },
        {
          id: 3,
          items: [
            { sku: 'c', discounts: 'none' },
            { sku: 'd', discounts: 7 },
          ],
        },
        { id: 4, items: [{ sku: 'e' }] },
      ]),
    );
    const { result, rows, children, quarantined } = await read({
      url: api.url,
      nested: 'child_tables',
      childTables: ['items', 'items.discounts'],
    });
    expect(result).toMatchObject({ rowsRead: 4, rowsQuarantined: 2 });
    expect(names(rows, 'id')).toEqual([1n, 4n]);
    expect(names(children['api__items'] ?? [], 'sku')).toEqual(['a', 'e']);
    expect(names(children['api__items__discounts'] ?? [], 'code')).toEqual(['X']);
    expect(result.children?.map((c) => c.rowsRead)).toEqual([2, 1]);
    const byRecord = new Map(
      quarantined.map((q) => [(q['record'] as { id: number }).id, String(q['reason'])]),
    );
    expect(byRecord.get(2)).toBe('child table "api__items": "items" holds OBJECT, not an array');
    expect(byRecord.get(3)).toMatch(
      /^child table "api__items__discounts": "discounts" holds (UBIGINT|VARCHAR), not an array \(and 1 more\)$/,
    );
    expect(quarantined[0]?.['source_file']).toMatch(/^http:\/\/127\.0\.0\.1/);
  });

  it('leaves out child rows of records the schema quarantines', async () => {
    const api = route((_req, res) =>
      json(res, [
        { id: 1, items: [{ sku: 'a' }] },
        { id: 'x', items: [{ sku: 'b' }] },
      ]),
    );
    const { result, rows, children, quarantined } = await read({
      url: api.url,
      nested: 'child_tables',
      childTables: ['items'],
      schema: schema({ id: t.int64().notNull() }),
    });
    expect(names(rows, 'id')).toEqual([1n]);
    expect(names(children['api__items'] ?? [], 'sku')).toEqual(['a']);
    expect(result.children?.[0]?.rowsRead).toBe(1);
    expect(quarantined.map((q) => q['reason'])).toEqual([
      'column "id": cannot convert "x" to int64',
    ]);
  });

  it('creates every declared child dataset, with key columns only, when nothing is nested', async () => {
    const api = route((_req, res) => json(res, []));
    const { result, rows, children } = await read({
      url: api.url,
      nested: 'child_tables',
      childTables: ['items', 'items.discounts'],
      schema: schema({ id: t.int64().notNull() }),
    });
    expect(rows).toEqual([]);
    expect(result.children?.map((c) => [c.name, c.rowsRead, c.fields.map((f) => f.name)])).toEqual([
      ['api__items', 0, ['_sluice_parent_id', '_sluice_list_idx', '_sluice_id']],
      ['api__items__discounts', 0, ['_sluice_parent_id', '_sluice_list_idx', '_sluice_id']],
    ]);
    expect(children).toEqual({ api__items: [], api__items__discounts: [] });
  });

  it('derives ids from the primary key, the same in every run, and carries the key down', async () => {
    const api = route((_req, res) =>
      json(res, [
        { id: 7, items: [{ sku: 'a', discounts: [{ code: 'X' }] }] },
        { items: [{ sku: 'lost' }] },
      ]),
    );
    const config: RESTSourceConfig = {
      url: api.url,
      nested: 'child_tables',
      childTables: ['items', 'items.discounts'],
      primaryKey: 'id',
    };
    const first = await read(config, { runId: 'run_a' });
    const second = await read(config, { runId: 'run_b' });
    expect(first.rows).toEqual([{ id: 7n, _sluice_id: '[7]' }]);
    expect(first.result.fields.find((f) => f.name === 'id')?.nullable).toBe(false);
    expect(first.children['api__items']).toEqual([
      {
        sku: 'a',
        _sluice_root_id: 7n,
        _sluice_parent_id: '[7]',
        _sluice_list_idx: 0n,
        _sluice_id: '[7].0',
      },
    ]);
    expect(first.children['api__items__discounts']).toEqual([
      {
        code: 'X',
        _sluice_root_id: 7n,
        _sluice_parent_id: '[7].0',
        _sluice_list_idx: 0n,
        _sluice_id: '[7].0.0',
      },
    ]);
    expect(second.rows).toEqual(first.rows);
    expect(second.children).toEqual(first.children);
    expect(first.quarantined.map((q) => q['reason'])).toEqual([
      'column "id": required value is missing',
    ]);
  });

  it('fails clearly on a declared path that crosses an undeclared array, or a missing key', async () => {
    const api = route((_req, res) => json(res, [{ id: 1, items: [{ discounts: [] }] }]));
    const crossing = await failure(
      read({ url: api.url, nested: 'child_tables', childTables: ['items.discounts'] }),
    );
    expect(crossing.message).toMatch(
      /childTables "items.discounts" goes through "items", which is an array but not a child table/,
    );
    expect(crossing.hint).toMatch(/list "items" in childTables too/);
    const key = await failure(
      read({ url: api.url, nested: 'child_tables', childTables: ['items'], primaryKey: 'code' }),
    );
    expect(key.message).toMatch(/primaryKey column "code" is not a column of the records/);
  });

  it('validates the child-table options together', () => {
    const issues = (config: Record<string, unknown>) => {
      const parsed = restSourceConfig.safeParse({ url: 'http://x/y', ...config });
      return parsed.success ? [] : parsed.error.issues.map((i) => i.message);
    };
    expect(issues({ nested: 'child_tables' })).toEqual([
      "nested: 'child_tables' needs childTables naming the arrays to unnest, e.g. ['items']",
    ]);
    expect(issues({ childTables: ['items'], primaryKey: 'id' })).toEqual([
      "childTables go with nested: 'child_tables'",
      "primaryKey goes with nested: 'child_tables'",
    ]);
    expect(issues({ nested: 'child_tables', childTables: ['items', 'items', 'a-b'] })).toHaveLength(
      2,
    );
    expect(issues({ nested: 'child_tables', childTables: ['items'], primaryKey: ['id'] })).toEqual(
      [],
    );
    expect(restSource.childDatasets?.(restSourceConfig.parse({ url: 'http://x/y' }))).toEqual([]);
    expect(
      restSource.childDatasets?.(
        restSourceConfig.parse({
          url: 'http://x/y',
          nested: 'child_tables',
          childTables: ['items', 'items.discounts'],
        }),
      ),
    ).toEqual(['items', 'items__discounts']);
  });
});

describe('rest source: pieces', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(
      retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:55 GMT')),
    ).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('finds rel="next" in a Link header', () => {
    expect(
      nextLink('<https://a.x/i?p=2>; rel="next", <https://a.x/i?p=5>; rel="last"', 'https://a.x/i'),
    ).toBe('https://a.x/i?p=2');
    expect(nextLink('</i?p=3>; rel=next', 'https://a.x/i?p=2')).toBe('https://a.x/i?p=3');
    expect(nextLink('<https://a.x/i?p=1>; rel="prev"', 'https://a.x/i')).toBeUndefined();
  });

  it('plans flattened columns from a JSON structure', () => {
    expect(
      recordColumns(
        { a: 'UBIGINT', b: { c: 'VARCHAR', d: ['DOUBLE'] }, e: 'NULL', f: {} },
        'flatten',
      ),
    ).toEqual([
      { name: 'a', keys: ['a'], type: { kind: 'int64' } },
      { name: 'b__c', keys: ['b', 'c'], type: { kind: 'string' } },
      { name: 'b__d', keys: ['b', 'd'], type: { kind: 'json' } },
      { name: 'e', keys: ['e'], type: { kind: 'json' } },
      { name: 'f', keys: ['f'], type: { kind: 'json' } },
    ]);
  });

  it('spaces acquisitions of the rate limiter', async () => {
    const limiter = new RateLimiter(20);
    const signal = new AbortController().signal;
    const started = performance.now();
    for (let i = 0; i < 4; i++) await limiter.acquire(signal);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });
});

describe('docs/connectors/rest.md', () => {
  it('documents every config field', async () => {
    const text = await readFile(new URL('../docs/connectors/rest.md', import.meta.url), 'utf8');
    // Table cells, without the padding a formatter adds.
    const page = text.replace(/ {2,}\|/g, ' |');
    for (const field of Object.keys(restSourceConfig.shape))
      expect(page).toContain(`| \`${field}\` |`);
    for (const field of ['count', 'delay', 'maxDelay', 'jitter'])
      expect(page).toContain(`| \`${field}\` |`);
    for (const type of [
      'none',
      'page',
      'offset',
      'cursor',
      'link',
      'next_url',
      'bearer',
      'basic',
      'api_key',
      'oauth2_client_credentials',
    ])
      expect(page).toContain(`| \`${type}\` |`);
    for (const field of [
      'startAt',
      'pageSize',
      'sizeParam',
      'offsetParam',
      'limitParam',
      'totalPath',
      'cursorPath',
      'cursorParam',
      'nextUrlPath',
      'tokenUrl',
      'clientId',
      'clientSecret',
      'scope',
    ])
      expect(page).toContain(`\`${field}\``);
  });
});

describe('rest source in a pipeline', () => {
  it('runs end to end through the registry into an ndjson sink', async () => {
    const api = route((_req, res, url) => {
      const page = Number(url.searchParams.get('page'));
      json(res, {
        data: page <= 2 ? [{ id: page, name: `n${page}`, meta: { score: page * 1.5 } }] : [],
      });
    });
    const dir = await tempDir();
    const p = pipeline('api_pull', {
      steps: {
        items: source.custom('rest', {
          url: api.url,
          recordsPath: '$.data',
          pagination: { type: 'page' },
          nested: 'flatten',
        }),
        out: sink.ndjson({ input: ref('items'), path: 'items.ndjson' }),
      },
    });
    const report = await runIn(dir, p, { registry: defaultRegistry.with(restSource) });
    expect(report.error).toBeUndefined();
    expect(report.status).toBe('success');
    expect(stepOf(report, 'items')).toMatchObject({ rowsIn: 2, rowsOut: 2, rowsQuarantined: 0 });
    expect(await readNDJSON(join(dir, 'items.ndjson'))).toEqual([
      { id: 1, name: 'n1', meta__score: 1.5 },
      { id: 2, name: 'n2', meta__score: 3 },
    ]);
  });

  it('reads incrementally: sends the watermark and reports the new one', async () => {
    const api = route((_req, res, url) => {
      const since = url.searchParams.get('updated_since');
      const all = [
        { id: 1, updated_at: '2026-01-01T00:00:00' },
        { id: 2, updated_at: '2026-01-02T00:00:00' },
        { id: 3, updated_at: '2026-01-03T00:00:00' },
      ];
      json(res, since === null ? all : all.filter((r) => r.updated_at > since));
    });
    const dir = await tempDir();
    const p = pipeline('api_incremental', {
      steps: {
        items: source.custom('rest', {
          url: api.url,
          incrementalParam: 'updated_since',
          schema: schema({ id: t.int64().notNull(), updated_at: t.timestamp() }),
          incremental: { cursor: 'updated_at' },
        }),
        out: sink.ndjson({ input: ref('items'), path: 'items.ndjson' }),
      },
    });
    const registry = defaultRegistry.with(restSource);
    const first = await runIn(dir, p, { registry });
    expect(first.status).toBe('success');
    expect(incrementalWatermark(first.watermarks?.['items'])).toBe('2026-01-03 00:00:00');
    const second = await runIn(dir, p, { registry, watermarks: { items: '2026-01-02 00:00:00' } });
    expect(second.status).toBe('success');
    expect(api.requests[1]?.url.searchParams.get('updated_since')).toBe('2026-01-02T00:00:00');
    expect(await readNDJSON(join(dir, 'items.ndjson'))).toEqual([
      { id: 3, updated_at: '2026-01-03T00:00:00' },
    ]);
  });

  it('writes a child dataset with a sink and joins parent and child in SQL', async () => {
    const api = route((_req, res, url) => {
      const page = Number(url.searchParams.get('page'));
      json(res, {
        data:
          page === 1
            ? [
                {
                  id: 1,
                  items: [
                    { sku: 'a', qty: 2 },
                    { sku: 'b', qty: 3 },
                  ],
                },
                { id: 2, items: [] },
              ]
            : page === 2
              ? [{ id: 3, items: [{ sku: 'c', qty: 1 }] }]
              : [],
      });
    });
    const dir = await tempDir();
    const p = pipeline('api_children', {
      steps: {
        orders: source.custom('rest', {
          url: api.url,
          recordsPath: '$.data',
          pagination: { type: 'page' },
          nested: 'child_tables',
          childTables: ['items'],
          primaryKey: 'id',
        }),
        items_out: sink.ndjson({ input: ref('orders__items'), path: 'items.ndjson' }),
        items_checked: check({
          input: ref('orders__items'),
          suite: suite('items', [expectation.notNull('sku'), expectation.unique('_sluice_id')]),
        }),
        totals: sql`
          SELECT o.id, count(i._sluice_id) AS lines, coalesce(sum(i.qty), 0) AS qty
          FROM ${ref('orders')} o LEFT JOIN ${ref('orders__items')} i ON i._sluice_parent_id = o._sluice_id
          GROUP BY o.id ORDER BY o.id`,
        totals_out: sink.ndjson({ input: ref('totals'), path: 'totals.ndjson' }),
      },
    });
    const report = await runIn(dir, p, { registry: defaultRegistry.with(restSource) });
    expect(report.error).toBeUndefined();
    expect(report.status).toBe('success');
    expect(await readNDJSON(join(dir, 'items.ndjson'))).toEqual([
      {
        sku: 'a',
        qty: 2,
        _sluice_root_id: 1,
        _sluice_parent_id: '[1]',
        _sluice_list_idx: 0,
        _sluice_id: '[1].0',
      },
      {
        sku: 'b',
        qty: 3,
        _sluice_root_id: 1,
        _sluice_parent_id: '[1]',
        _sluice_list_idx: 1,
        _sluice_id: '[1].1',
      },
      {
        sku: 'c',
        qty: 1,
        _sluice_root_id: 3,
        _sluice_parent_id: '[3]',
        _sluice_list_idx: 0,
        _sluice_id: '[3].0',
      },
    ]);
    expect(await readNDJSON(join(dir, 'totals.ndjson'))).toEqual([
      { id: 1, lines: 2, qty: 5 },
      { id: 2, lines: 0, qty: 0 },
      { id: 3, lines: 1, qty: 1 },
    ]);
    expect(stepOf(report, 'orders')).toMatchObject({ rowsIn: 3, rowsOut: 3 });
    expect(stepOf(report, 'items_out')).toMatchObject({ rowsIn: 3, rowsOut: 3 });
    expect(stepOf(report, 'items_checked')).toMatchObject({ rowsIn: 3, status: 'success' });
    expect(stepOf(report, 'items_checked').quality?.success).toBe(true);
    const plan = report.steps.map((s) => s.id);
    expect(plan.indexOf('orders')).toBeLessThan(plan.indexOf('items_out'));
  });

  it('reads incrementally with child tables: records past the watermark and only their children', async () => {
    const all = [
      { id: 1, seq: 5, items: [{ sku: 'old' }] },
      { id: 2, seq: 10, items: [{ sku: 'old too' }] },
      { id: 3, seq: 11, items: [{ sku: 'new' }, { sku: 'newer' }] },
    ];
    const api = route((_req, res, url) => {
      const since = url.searchParams.get('since');
      json(res, since === null ? all : all.filter((r) => r.seq > Number(since)));
    });
    const run = async (config: Record<string, unknown>, watermarks?: Record<string, string>) => {
      const dir = await tempDir();
      const p = pipeline('api_incremental_children', {
        steps: {
          orders: source.custom('rest', {
            url: api.url,
            nested: 'child_tables',
            childTables: ['items'],
            incremental: { cursor: 'seq' },
            ...config,
          }),
          orders_out: sink.ndjson({ input: ref('orders'), path: 'orders.ndjson' }),
          items_out: sink.ndjson({ input: ref('orders__items'), path: 'items.ndjson' }),
        },
      });
      const report = await runIn(dir, p, {
        registry: defaultRegistry.with(restSource),
        ...(watermarks === undefined ? {} : { watermarks }),
      });
      expect(report.error).toBeUndefined();
      return {
        report,
        orders: (await readNDJSON(join(dir, 'orders.ndjson'))).map((r) => r['id']),
        items: (await readNDJSON(join(dir, 'items.ndjson'))).map((r) => r['sku']),
      };
    };
    const first = await run({});
    expect(first.orders).toEqual([1, 2, 3]);
    expect(incrementalWatermark(first.report.watermarks?.['orders'])).toBe('11');

    // Without an incremental parameter the source filters, children included.
    const filtered = await run({}, { orders: '10' });
    expect(filtered.orders).toEqual([3]);
    expect(filtered.items).toEqual(['new', 'newer']);
    expect(stepOf(filtered.report, 'orders')).toMatchObject({ rowsIn: 1, rowsOut: 1 });
    expect(stepOf(filtered.report, 'items_out').rowsIn).toBe(2);
    expect(incrementalWatermark(filtered.report.watermarks?.['orders'])).toBe('11');

    // With one the API filters.
    const sent = await run({ incrementalParam: 'since' }, { orders: '5' });
    expect(api.requests.at(-1)?.url.searchParams.get('since')).toBe('5');
    expect(sent.orders).toEqual([2, 3]);
    expect(sent.items).toEqual(['old too', 'new', 'newer']);

    const nothingNew = await run({}, { orders: '11' });
    expect(nothingNew.orders).toEqual([]);
    expect(nothingNew.items).toEqual([]);
    expect(incrementalWatermark(nothingNew.report.watermarks?.['orders'])).toBe('11');
  });

  it('plans refs to child datasets, and reports undeclared ones and clashes clearly', () => {
    const connectors = defaultRegistry.with(restSource).lookup;
    const orders = source.custom('rest', {
      url: 'http://x/orders',
      nested: 'child_tables',
      childTables: ['items', 'items.discounts'],
    });
    const ok = planPipeline(
      pipeline('plan_children', {
        steps: {
          out: sink.ndjson({ input: ref('orders__items__discounts'), path: 'd.ndjson' }),
          orders,
        },
      }),
      { connectors },
    );
    expect(ok.ok).toBe(true);
    if (ok.ok)
      expect(ok.plan.steps.map((s) => [s.id, s.inputs])).toEqual([
        ['orders', []],
        ['out', ['orders']],
      ]);
    const bad = planPipeline(
      pipeline('plan_children', {
        steps: {
          orders,
          tags_out: sink.ndjson({ input: ref('orders__tags'), path: 't.ndjson' }),
          orders__items: source.custom('rest', { url: 'http://x/items' }),
        },
      }),
      { connectors },
    );
    expect(bad.ok).toBe(false);
    const found = bad.ok ? [] : bad.diagnostics;
    expect(found.map((d) => [d.code, d.stepId])).toEqual([
      ['child-dataset-clash', 'orders'],
      ['unknown-ref', 'tags_out'],
    ]);
    expect(found[0]?.message).toBe(
      'source "orders" creates the dataset "orders__items", the name of step "orders__items"',
    );
    expect(found[1]?.message).toBe(
      'ref("orders__tags") names no dataset: step "orders" creates only "orders__items__discounts"',
    );
    expect(found[1]?.hint).toMatch(/childTables/);
  });

  it('fails the run with the source error when the API refuses', async () => {
    const api = route((_req, res) => json(res, { error: 'nope' }, 401));
    const dir = await tempDir();
    const p = pipeline('api_denied', {
      steps: {
        items: source.custom('rest', { url: api.url, auth: { type: 'bearer', token: 'x' } }),
        out: sink.ndjson({ input: ref('items'), path: 'items.ndjson' }),
      },
    });
    const report = await runIn(dir, p, { registry: defaultRegistry.with(restSource) });
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('SOURCE_FAILED');
    expect(report.error?.message).toMatch(/was refused: HTTP 401/);
  });
});
