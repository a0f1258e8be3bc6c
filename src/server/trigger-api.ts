import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { ConfigError, SluiceError } from '../core/errors.js';
import type { Project } from '../orchestrator/project.js';
import type { RunStore } from '../orchestrator/run-store.js';
import { runSummary } from '../orchestrator/run-summary.js';
import { triggerRun } from '../orchestrator/trigger.js';
import { mountWebhooks } from './webhook-route.js';

/** Options of {@link startTriggerAPI}. */
export interface TriggerAPIOptions {
  readonly store: RunStore;
  readonly project: Project;
  /** Address to listen on (default 127.0.0.1). */
  readonly hostname?: string;
  /** Port (0 picks a free one). */
  readonly port: number;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/**
 * The HTTP API of `sluice serve --http`: `POST /api/pipelines/:name/runs` with an optional
 * JSON body `{ "params": {...}, "priority": n, "useCache": true }` queues a run (202 with the
 * run), `GET /api/runs/:id` reads one, `POST /hooks/:inbox` lands records for `source.webhook`
 * (see {@link mountWebhooks}), `GET /healthz` answers 200. Unknown pipelines and params
 * are 404 and 400 with the reason; a missing or wrong bearer token is 401.
 *
 * @example
 * ```ts
 * const api = await startTriggerAPI({ store, project, port: 8080, token: process.env.SLUICE_API_TOKEN });
 * // curl -X POST -H 'Authorization: Bearer ...' -d '{"params":{"region":"EU"}}' localhost:8080/api/pipelines/orders/runs
 * await api.close();
 * ```
 */
export async function startTriggerAPI(
  options: TriggerAPIOptions,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  mountWebhooks(app, {
    stateDir: options.project.stateDir,
    authorized: (header) => options.token === undefined || sameToken(header, options.token),
  });
  app.use('/api/*', async (c, next) => {
    if (options.token !== undefined && !sameToken(c.req.header('authorization'), options.token))
      return c.json({ error: 'a valid "Authorization: Bearer <token>" header is required' }, 401);
    return next();
  });
  app.post('/api/pipelines/:name/runs', async (c) => {
    const body = await readBody(c.req.raw);
    if (typeof body === 'string') return c.json({ error: body }, 400);
    try {
      const run = await triggerRun(options.store, options.project, c.req.param('name'), body);
      return c.json(runSummary(run), 202);
    } catch (error) {
      if (error instanceof ConfigError) {
        const unknown = error.diagnostics.some((d) => d.code === 'unknown-pipeline');
        return c.json({ error: error.message }, unknown ? 404 : 400);
      }
      if (error instanceof SluiceError)
        return c.json({ error: error.message, code: error.code }, 500);
      throw error;
    }
  });
  app.get('/api/runs/:id', async (c) => {
    const run = await options.store.getRun(c.req.param('id'));
    return run === undefined
      ? c.json({ error: `no run "${c.req.param('id')}"` }, 404)
      : c.json(runSummary(run));
  });
  const hostname = options.hostname ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, port: options.port, hostname }, () =>
      resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The body as trigger options, or the reason it is not acceptable. */
async function readBody(request: Request): Promise<
  | {
      params?: Record<string, string>;
      priority?: number;
      useCache?: boolean;
    }
  | string
> {
  const text = await request.text();
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'the body must be JSON: {"params": {"name": "value"}}';
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return 'the body must be a JSON object';
  const { params, priority, useCache } = body as Record<string, unknown>;
  if (
    params !== undefined &&
    (typeof params !== 'object' ||
      params === null ||
      Object.values(params).some((value) => typeof value !== 'string'))
  )
    return '"params" must be an object of string values';
  if (priority !== undefined && !Number.isInteger(priority)) return '"priority" must be an integer';
  if (useCache !== undefined && typeof useCache !== 'boolean')
    return '"useCache" must be true or false';
  return {
    ...(params === undefined ? {} : { params: params as Record<string, string> }),
    ...(priority === undefined ? {} : { priority: priority as number }),
    ...(useCache === undefined ? {} : { useCache }),
  };
}

function sameToken(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
