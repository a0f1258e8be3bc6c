import type { Context } from 'hono';
import { Hono } from 'hono';
import { ConfigError, SluiceError, UsageError } from '../core/errors.js';
import type { PrometheusMetrics } from '../observe/metrics/prometheus-metrics.js';
import { createPrometheusMetrics } from '../observe/metrics/prometheus-metrics.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Reprocess } from '../orchestrator/backfill.js';
import { cutsJSON, planBackfill, submitBackfill } from '../orchestrator/backfill.js';
import type { Project } from '../orchestrator/project.js';
import type { RunStore } from '../orchestrator/run-store.js';
import { runSummary } from '../orchestrator/run-summary.js';
import type { RunState } from '../orchestrator/run-types.js';
import { triggerRunOnce } from '../orchestrator/trigger.js';
import { adhocExporter } from '../orchestrator/adhoc-run-figures.js';
import { auditActorOf } from './api-auth.js';
import { createAPIGate } from './api-gate.js';
import { listenHTTP } from './http-listener.js';
import { exporterName, mountMetrics } from './metrics-route.js';
import { BodyBudget, IDEMPOTENCY_KEY, readBodyWithin, refusedBody } from './request-limits.js';
import { checkSecretsConfigured, mountWebhooks } from './webhook-route.js';
import { lingeringClose } from './lingering-close.js';
import { mountLineage } from './lineage-api.js';
import type { APIv1Deps } from './api-v1/index.js';
import { mountAPIv1 } from './api-v1/index.js';
import { mountUI } from './ui-route.js';

/** Limits of the HTTP API; every field has a default. */
export interface APILimits {
  /** Largest JSON body of an `/api` request (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Largest webhook body (default 10 MiB). */
  readonly maxWebhookBytes?: number;
  /** Requests a second each token (or signed inbox) may make, sustained (default 100). */
  readonly requestsPerSecond?: number;
  /** Requests a token may make at once before the sustained rate applies (default 1000). */
  readonly burst?: number;
  /** How far a webhook signature's timestamp may be from the server's clock (default 300 s). */
  readonly webhookToleranceSeconds?: number;
  /**
   * Body bytes all requests may hold at once (default 128 MiB): past it, a request is answered
   * 503 with `Retry-After`, so many large uploads at once cannot exhaust memory.
   */
  readonly inFlightBodyBytes?: number;
}

/** Options of {@link startTriggerAPI}. */
export interface TriggerAPIOptions {
  readonly store: RunStore;
  readonly project: Project;
  /** Address to listen on (default 127.0.0.1). */
  readonly hostname?: string;
  /** Port (0 picks a free one). */
  readonly port: number;
  /**
   * An `admin` token named `env` (what `$SLUICE_API_TOKEN` sets), besides the tokens of the run
   * store (`sluice tokens create`). An empty string is refused.
   */
  readonly token?: string;
  /** Where webhook secrets are read, and checked at start (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
  /** Listen beyond loopback although no token exists (default false: refused). */
  readonly insecure?: boolean;
  readonly limits?: APILimits;
  /** Receives the start-up warnings (an insecure listener). */
  readonly logger?: Logger;
  /** What `GET /metrics` exports (default: a new registry, see `createPrometheusMetrics`). */
  readonly metrics?: PrometheusMetrics;
  /** Options of `/api/v1` (see `mountAPIv1`): response checks in tests, update timers. */
  readonly apiV1?: Pick<APIv1Deps, 'checkResponses' | 'updates'>;
}

/** A running API: its URL and how to stop it. */
export interface TriggerAPI {
  readonly url: string;
  /** What `GET /metrics` exports: give it to the workers and scheduler of this process. */
  readonly metrics: PrometheusMetrics;
  close(): Promise<void>;
}

const MIB = 1024 * 1024;

/**
 * The HTTP API of `sluice serve --http`. Every request needs a token (`Authorization: Bearer
 * <token>`) once any exists (`$SLUICE_API_TOKEN`, or `sluice tokens create`); each token has a
 * role, checked before the body is read:
 *
 * - `read`: `GET /api/runs` (`?pipeline=&state=&limit=`), `GET /api/runs/:id`,
 *   `GET /api/pipelines`, `GET /metrics` (see {@link mountMetrics}), the lineage graphs
 *   (`GET /api/v1/lineage`, `/api/v1/column-lineage`, `/api/v1/lineage/impact`, see
 *   {@link mountLineage});
 * - `trigger`: also `POST /api/v1/lineage` (an OpenLineage event) and
 *   `POST /api/pipelines/:name/runs` with an optional JSON body
 *   `{ "params": {...}, "priority": n, "useCache": true }` (202 with the run) and
 *   `POST /hooks/:inbox` (see {@link mountWebhooks});
 * - `admin`: also `POST /api/runs/:id/cancel`, `POST /api/pipelines/:name/pause` and
 *   `/unpause`, and `POST /api/pipelines/:name/backfills` with `{ "from", "to", "reprocess",
 *   "maxParallel", "useCache", "dryRun" }`.
 *
 * `GET /healthz` answers 200 to anyone. A missing or unknown token is 401, a weaker role 403
 * naming the role needed, too many requests 429 with `Retry-After`, a body over the limit 413
 * (counted as it arrives, so chunked uploads are bounded too). The token's name is recorded as
 * the `actor` of every event a request causes. Without any token the API lets everyone in,
 * and so refuses to listen beyond loopback unless `insecure` is set. A busy port is a
 * UsageError naming it.
 *
 * @example
 * ```ts
 * const api = await startTriggerAPI({ store, project, port: 8080, token: process.env.SLUICE_API_TOKEN });
 * // curl -X POST -H 'Authorization: Bearer ...' -d '{"params":{"region":"EU"}}' localhost:8080/api/pipelines/orders/runs
 * await api.close();
 * ```
 */
export async function startTriggerAPI(options: TriggerAPIOptions): Promise<TriggerAPI> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  checkSecretsConfigured(env);
  const short = Object.entries(env)
    .filter(([name]) => name === 'SLUICE_API_TOKEN' || name.startsWith('SLUICE_WEBHOOK_SECRET_'))
    .filter(([, value]) => value !== undefined && value.trim().length < 16)
    .map(([name]) => name)
    .sort();
  if (short.length > 0)
    logger.warn(
      { variables: short },
      `${short.join(', ')}: shorter than 16 characters, easy to guess; use at least 32 random ones (openssl rand -hex 32)`,
    );
  const limits = options.limits ?? {};
  const maxBodyBytes = limits.maxBodyBytes ?? MIB;
  const budget = new BodyBudget(limits.inFlightBodyBytes ?? 128 * MIB);
  const gate = createAPIGate({
    store: options.store,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(limits.requestsPerSecond === undefined
      ? {}
      : { requestsPerSecond: limits.requestsPerSecond }),
    ...(limits.burst === undefined ? {} : { burst: limits.burst }),
  });
  const { authorize, limit, blocked, failed } = gate;
  const hostname = options.hostname ?? '127.0.0.1';
  /** Reads an `/api` JSON body within the limit: the value, or the response refusing it. */
  const jsonBody = async (c: Context): Promise<Record<string, unknown> | Response> => {
    const read = await readBodyWithin(c.req.raw, maxBodyBytes, budget);
    if (read === 'too-large' || read === 'busy') return refusedBody(c, read, maxBodyBytes);
    const text = read.body.toString('utf8');
    read.release();
    if (text.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return c.json({ error: 'the body must be JSON: {"params": {"name": "value"}}' }, 400);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return c.json({ error: 'the body must be a JSON object' }, 400);
    return parsed as Record<string, unknown>;
  };

  const app = new Hono();
  app.use(lingeringClose());
  app.onError((error, c) => {
    if (error instanceof ConfigError) {
      const unknown = error.diagnostics.some((d) => d.code === 'unknown-pipeline');
      return c.json({ error: error.message, code: error.code }, unknown ? 404 : 400);
    }
    if (error instanceof UsageError) return c.json({ error: error.message, code: error.code }, 400);
    logger.error({ err: error, path: c.req.path }, 'the HTTP API failed to answer a request');
    return c.json(
      error instanceof SluiceError
        ? { error: error.message, code: error.code }
        : { error: 'internal error; see the server log', code: 'INTERNAL' },
      500,
    );
  });
  app.notFound((c) =>
    c.json({ error: `no endpoint ${c.req.method} ${shorten(c.req.path)}`, code: 'not_found' }, 404),
  );
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  mountUI(app);
  const metrics = options.metrics ?? (await createPrometheusMetrics({ logger }));
  metrics.observeRunQueue(() => options.store.countActiveRuns());
  mountMetrics(app, {
    metrics,
    authorize,
    beforeScrape: adhocExporter(options.store, metrics, exporterName(), logger),
  });
  mountWebhooks(app, {
    stateDir: options.project.stateDir,
    authorize,
    limit,
    blocked,
    failed,
    budget,
    env,
    maxBodyBytes: limits.maxWebhookBytes ?? 10 * MIB,
    toleranceSeconds: limits.webhookToleranceSeconds ?? 300,
  });

  mountLineage(app, { store: options.store, authorize, budget, maxBodyBytes });
  const apiV1 = mountAPIv1(app, {
    store: options.store,
    project: options.project,
    authorize,
    tokenRequired: () => gate.auth.required(),
    budget,
    maxBodyBytes,
    logger,
    ...(options.apiV1 === undefined ? {} : options.apiV1),
  });

  app.get('/api/pipelines', async (c) => {
    const who = await authorize(c, 'read');
    if (who instanceof Response) return who;
    return c.json(await options.store.listPipelines());
  });
  app.get('/api/runs', async (c) => {
    const who = await authorize(c, 'read');
    if (who instanceof Response) return who;
    const limitText = c.req.query('limit');
    const count = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(count) || count < 1 || count > 1_000)
      return c.json({ error: '"limit" must be a whole number from 1 to 1000' }, 400);
    const pipeline = c.req.query('pipeline');
    const state = c.req.query('state');
    const runs = await options.store.listRuns({
      limit: count,
      ...(pipeline === undefined ? {} : { pipeline }),
      ...(state === undefined ? {} : { states: state.split(',') as RunState[] }),
    });
    return c.json(runs.map(runSummary));
  });
  app.get('/api/runs/:id', async (c) => {
    const who = await authorize(c, 'read');
    if (who instanceof Response) return who;
    const run = await options.store.getRun(c.req.param('id'));
    return run === undefined
      ? c.json({ error: `no run "${shorten(c.req.param('id'))}"` }, 404)
      : c.json(runSummary(run));
  });
  app.post('/api/pipelines/:name/runs', async (c) => {
    const who = await authorize(c, 'trigger');
    if (who instanceof Response) return who;
    const body = await jsonBody(c);
    if (body instanceof Response) return body;
    const trigger = triggerOptions(body);
    if (typeof trigger === 'string') return c.json({ error: trigger }, 400);
    const key = c.req.header('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
      return c.json(
        { error: 'the Idempotency-Key header must be 1 to 255 printable ASCII characters' },
        400,
      );
    try {
      const { run, replayed } = await triggerRunOnce(
        options.store.withActor(who.name, auditActorOf(who)),
        options.project,
        checkedName(c.req.param('name')),
        key === undefined ? trigger : { ...trigger, idempotencyKey: key },
      );
      if (replayed) c.header('Idempotent-Replayed', 'true');
      return c.json(runSummary(run), replayed ? 200 : 202);
    } catch (error) {
      if (error instanceof SluiceError && error.code === 'IDEMPOTENCY_CONFLICT')
        return c.json({ error: error.message, code: 'idempotency_conflict' }, 422);
      throw error;
    }
  });
  app.post('/api/runs/:id/cancel', async (c) => {
    const who = await authorize(c, 'admin');
    if (who instanceof Response) return who;
    const id = c.req.param('id');
    const state = await options.store.withActor(who.name, auditActorOf(who)).requestCancel(id);
    if (state === undefined) return c.json({ error: `no run "${shorten(id)}"` }, 404);
    return c.json({ id, state, canceled: state === 'canceled' || state === 'running' });
  });
  for (const paused of [true, false])
    app.post(`/api/pipelines/:name/${paused ? 'pause' : 'unpause'}`, async (c) => {
      const who = await authorize(c, 'admin');
      if (who instanceof Response) return who;
      const name = checkedName(c.req.param('name'));
      await options.project.load(name); // an unknown pipeline is 404, not a new row
      await options.store.withActor(who.name, auditActorOf(who)).setPaused(name, paused);
      return c.json({ pipeline: name, paused });
    });
  app.post('/api/pipelines/:name/backfills', async (c) => {
    const who = await authorize(c, 'admin');
    if (who instanceof Response) return who;
    const body = await jsonBody(c);
    if (body instanceof Response) return body;
    const backfill = backfillOptions(body);
    if (typeof backfill === 'string') return c.json({ error: backfill }, 400);
    const store = options.store.withActor(who.name, auditActorOf(who));
    const loaded = await options.project.load(checkedName(c.req.param('name')));
    const plan = await planBackfill(store, loaded, backfill);
    const submitted =
      body['dryRun'] === true ? undefined : await submitBackfill(store, loaded, plan);
    const count = (action: string): number =>
      plan.intervals.filter((p) => p.action === action).length;
    return c.json(
      {
        pipeline: plan.pipeline,
        intervals: plan.intervals.length,
        create: count('create'),
        rerun: count('rerun'),
        skip: count('skip'),
        dryRun: submitted === undefined,
        backfillId: submitted?.backfillId ?? null,
        cut: cutsJSON(plan.cuts),
      },
      submitted === undefined ? 200 : 202,
    );
  });

  const listener = await listenHTTP(app, gate.auth, {
    hostname,
    port: options.port,
    flag: '--http',
    subject: 'the HTTP API',
    exposes: 'queue, cancel and backfill runs',
    ...(options.insecure === undefined ? {} : { insecure: options.insecure }),
    logger,
  });
  return {
    metrics,
    url: listener.url,
    close: async () => {
      await apiV1.close(); // live update streams end, so the listener closes at once
      await listener.close();
    },
  };
}

/** The trigger options of a body, or the reason it is not acceptable. */
function triggerOptions(body: Record<string, unknown>):
  | {
      params?: Record<string, string>;
      priority?: number;
      useCache?: boolean;
    }
  | string {
  const { params, priority, useCache } = body;
  if (
    params !== undefined &&
    (typeof params !== 'object' ||
      params === null ||
      Array.isArray(params) ||
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

const REPROCESS: readonly Reprocess[] = ['failed', 'all', 'none'];

/** The backfill options of a body, or the reason it is not acceptable. */
function backfillOptions(body: Record<string, unknown>):
  | {
      from: number;
      to: number;
      reprocess: Reprocess;
      maxParallel?: number;
      useCache: boolean;
      reverse: boolean;
    }
  | string {
  const from = typeof body['from'] === 'string' ? Date.parse(body['from']) : Number.NaN;
  const to = typeof body['to'] === 'string' ? Date.parse(body['to']) : Number.NaN;
  if (Number.isNaN(from) || Number.isNaN(to))
    return '"from" and "to" must be ISO dates or timestamps, e.g. {"from": "2024-01-01", "to": "2024-02-01"}';
  const reprocess = body['reprocess'] ?? 'failed';
  if (!REPROCESS.includes(reprocess as Reprocess))
    return '"reprocess" must be "failed", "all" or "none"';
  const maxParallel = body['maxParallel'];
  if (maxParallel !== undefined && (!Number.isInteger(maxParallel) || (maxParallel as number) < 1))
    return '"maxParallel" must be a whole number above 0';
  return {
    from,
    to,
    reprocess: reprocess as Reprocess,
    useCache: body['useCache'] === true,
    reverse: body['reverse'] === true,
    ...(maxParallel === undefined ? {} : { maxParallel: maxParallel as number }),
  };
}

/** A pipeline name from a path, refused (404) unless it could be one. */
function checkedName(name: string): string {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(name) || name.startsWith('.'))
    throw new ConfigError([
      {
        code: 'unknown-pipeline',
        message: `no pipeline "${shorten(name)}": a pipeline name has letters, digits, "_", "-" and "."`,
      },
    ]);
  return name;
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
