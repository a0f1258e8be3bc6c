import { readFileSync } from 'node:fs';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { Logger } from '../../core/logger.js';
import type { APITokenRole } from '../../orchestrator/api-tokens.js';
import type { Project } from '../../orchestrator/project.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { Principal } from '../api-auth.js';
import type { BodyBudget } from '../request-limits.js';
import { actionRoutes } from './action-routes.js';
import { alertRoutes } from './alert-routes.js';
import { datasetRoutes } from './dataset-routes.js';
import type { OpenAPIDocument } from './openapi.js';
import { openAPIDocument } from './openapi.js';
import { overviewRoutes } from './overview-routes.js';
import { pipelineRoutes } from './pipeline-routes.js';
import type { RouteSpec } from './route-table.js';
import { defineRoute, mountRoutes } from './route-table.js';
import { runRoutes } from './run-routes.js';
import { streamRoutes } from './stream-routes.js';
import { UpdatesHub } from './updates-hub.js';

export { APIError, defineRoute, mountRoutes } from './route-table.js';
export type { RouteSpec } from './route-table.js';
export { openAPIDocument } from './openapi.js';
export { UpdatesHub } from './updates-hub.js';

/** What {@link mountAPIv1} needs from the server it joins. */
export interface APIv1Deps {
  readonly store: RunStore;
  readonly project: Project;
  /** The gate's check: the principal allowed `needed`, or the 401/403/429 response. */
  readonly authorize: (c: Context, needed: APITokenRole) => Promise<Principal | Response>;
  /** Whether requests need a token (for `GET /api/v1/session`). */
  readonly tokenRequired: () => Promise<boolean>;
  readonly budget: BodyBudget;
  readonly maxBodyBytes: number;
  /** Check every response against its schema (tests); a mismatch is a 500. */
  readonly checkResponses?: boolean;
  /** Timers of `GET /api/v1/updates` (defaults: poll 500 ms, keepalive 15 s). */
  readonly updates?: { readonly pollMs?: number; readonly keepaliveMs?: number };
  readonly logger?: Logger;
}

/** The mounted API: stop it before the listener closes, so live streams end. */
export interface APIv1 {
  readonly hub: UpdatesHub;
  close(): Promise<void>;
}

/**
 * Every route of `/api/v1` but the OpenAPI document's own, in the order the document lists them.
 * With no deps (documentation), the handlers must not be called.
 *
 * @example
 * ```ts
 * const routes = apiV1Routes({ store, project, tokenRequired: async () => false }, hub);
 * ```
 */
export function apiV1Routes(
  deps: Pick<APIv1Deps, 'store' | 'project' | 'tokenRequired'>,
  hub: UpdatesHub | undefined,
): RouteSpec[] {
  return [
    ...overviewRoutes(deps),
    ...pipelineRoutes(deps),
    ...runRoutes(deps),
    ...actionRoutes(deps),
    ...datasetRoutes(deps),
    ...streamRoutes(deps),
    ...alertRoutes(deps),
    defineRoute({
      method: 'get',
      path: '/api/v1/updates',
      role: 'read',
      tag: 'updates',
      summary: 'Live updates: a server-sent event per run-store event',
      description:
        'Each event is `id: <eventId>`, `event: <kind>`, `data: {"runId", "pipeline", "kind", "at"}`; ' +
        'a `: keepalive` comment every 15 s. Send `Last-Event-ID` to resume after an event. ' +
        'Browsers read it with fetch() so the Authorization header can be sent.',
      response: z.string(),
      stream: 'text/event-stream',
      errors: [],
      handler: async ({ c }) => {
        if (hub === undefined) throw new Error('live updates are not running');
        return hub.subscribe(c.req.header('last-event-id'), c.req.raw.signal);
      },
    }),
  ];
}

/**
 * The OpenAPI 3.1 document of `/api/v1`, generated from the routes' zod schemas (what
 * `GET /api/v1/openapi.json` serves and `npm run docs:api` renders).
 *
 * @example
 * ```ts
 * JSON.stringify(apiV1OpenAPI(), null, 2);
 * ```
 */
export function apiV1OpenAPI(): OpenAPIDocument {
  const placeholder = {} as Pick<APIv1Deps, 'store' | 'project' | 'tokenRequired'>;
  return openAPIDocument([...apiV1Routes(placeholder, undefined), openAPIRoute(() => ({}))], {
    version: packageVersion(),
  });
}

function openAPIRoute(document: () => OpenAPIDocument): RouteSpec {
  return defineRoute({
    method: 'get',
    path: '/api/v1/openapi.json',
    role: null,
    tag: 'meta',
    summary: 'This OpenAPI 3.1 document',
    response: z.record(z.string(), z.unknown()),
    errors: [],
    handler: async () => document(),
  });
}

/**
 * Mounts every route of `/api/v1` (see docs/api.md) on the app of `sluice serve --http`, with
 * the gate's role checks, validation by the routes' zod schemas, one error shape and the live
 * updates stream; `GET /api/v1/openapi.json` serves the generated OpenAPI document.
 *
 * @example
 * ```ts
 * const api = mountAPIv1(app, { store, project, authorize: gate.authorize,
 *   tokenRequired: () => gate.auth.required(), budget, maxBodyBytes: 1 << 20 });
 * // ... on shutdown, before the listener closes:
 * await api.close();
 * ```
 */
export function mountAPIv1(app: Hono, deps: APIv1Deps): APIv1 {
  const hub = new UpdatesHub({
    store: deps.store,
    ...(deps.updates?.pollMs === undefined ? {} : { pollMs: deps.updates.pollMs }),
    ...(deps.updates?.keepaliveMs === undefined ? {} : { keepaliveMs: deps.updates.keepaliveMs }),
    ...(deps.logger === undefined ? {} : { logger: deps.logger }),
  });
  const routes = apiV1Routes(deps, hub);
  let document: OpenAPIDocument | undefined;
  const all = [
    ...routes,
    openAPIRoute(() => {
      document ??= openAPIDocument([...routes, openAPIRoute(() => ({}))], {
        version: packageVersion(),
      });
      return document;
    }),
  ];
  mountRoutes(app, all, {
    authorize: deps.authorize,
    budget: deps.budget,
    maxBodyBytes: deps.maxBodyBytes,
    ...(deps.checkResponses === undefined ? {} : { checkResponses: deps.checkResponses }),
  });
  return { hub, close: () => hub.close() };
}

let version: string | undefined;

function packageVersion(): string {
  if (version !== undefined) return version;
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    version = String((JSON.parse(text) as { version?: unknown }).version ?? '0.0.0');
  } catch {
    version = '0.0.0';
  }
  return version;
}
