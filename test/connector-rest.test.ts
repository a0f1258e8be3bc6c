import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { restSource } from '../src/connectors/http/index.js';
import { restSourceConfig } from '../src/connectors/http/rest-config.js';
import type { RESTSourceConfig } from '../src/connectors/http/rest-config.js';
import { nextLink } from '../src/connectors/http/link-header.js';
import { retryAfterMs } from '../src/connectors/http/retry-after.js';
import { recordColumns } from '../src/connectors/http/record-columns.js';
import { RateLimiter } from '../src/connectors/http/rate-limiter.js';
import { silentLogger } from '../src/core/logger.js';
import { SluiceError } from '../src/core/errors.js';
import type { SourceReadContext } from '../src/engine/connector.js';
import { DuckDBSession } from '../src/engine/duckdb-session.js';
import { QuarantineStore } from '../src/engine/quarantine-store.js';
import { defaultRegistry, pipeline, ref, schema, sink, source, t } from '../src/index.js';
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

/** Runs the source directly and returns its result, its rows and its quarantine. */
async function read(
  config: RESTSourceConfig,
  extra: Partial<Pick<SourceReadContext, 'incremental' | 'signal'>> = {},
) {
  const dir = await tempDir();
  const session = await DuckDBSession.create();
  sessions.push(session);
  const connection = await session.connect('api');
  const quarantine = new QuarantineStore(join(dir, 'quarantine'), 'run_test');
  const context: SourceReadContext = {
    stepId: 'api',
    runId: 'run_test',
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
  const quarantined =
    quarantine.count('api') === 0 ? [] : await readNDJSON(quarantine.pathFor('api'));
  return { result, rows, quarantined };
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
    const api = route((_req, res) => {
      setTimeout(() => json(res, [{ id: 1 }]), 2000).unref();
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('run cancelled')), 100);
    const started = performance.now();
    const error = await failure(read({ url: api.url }, { signal: controller.signal }));
    expect(performance.now() - started).toBeLessThan(1000);
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
    expect(report.watermarks).toEqual({ items: '11' });
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
    expect(first.watermarks).toEqual({ items: '2026-01-03 00:00:00' });
    const second = await runIn(dir, p, { registry, watermarks: { items: '2026-01-02 00:00:00' } });
    expect(second.status).toBe('success');
    expect(api.requests[1]?.url.searchParams.get('updated_since')).toBe('2026-01-02T00:00:00');
    expect(await readNDJSON(join(dir, 'items.ndjson'))).toEqual([
      { id: 3, updated_at: '2026-01-03T00:00:00' },
    ]);
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
