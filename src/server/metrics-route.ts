import { hostname } from 'node:os';
import type { Context, Hono } from 'hono';
import type { APITokenRole } from '../orchestrator/api-tokens.js';
import type { PrometheusMetrics } from '../observe/metrics/prometheus-metrics.js';
import type { Principal } from './api-auth.js';

/** What {@link mountMetrics} needs from the API it joins. */
export interface MetricsRouteOptions {
  readonly metrics: PrometheusMetrics;
  /** The API's check of a request's token and role: the principal, or the refusal to send. */
  readonly authorize: (c: Context, needed: APITokenRole) => Promise<Principal | Response>;
  /** Runs before each answer (brings in the figures of ad-hoc runs); a failure is logged, not answered. */
  readonly beforeScrape?: () => Promise<void>;
}

/**
 * Mounts `GET /metrics`: a read route (the `read` role once tokens exist), answered in
 * Prometheus text 0.0.4, or OpenMetrics 1.0.0 when `Accept` asks for
 * `application/openmetrics-text`.
 *
 * @example
 * ```ts
 * mountMetrics(app, { metrics: await createPrometheusMetrics(), authorize });
 * // curl -H 'Authorization: Bearer ...' localhost:8080/metrics
 * ```
 */
export function mountMetrics(app: Hono, options: MetricsRouteOptions): void {
  app.get('/metrics', async (c) => {
    const who = await options.authorize(c, 'read');
    if (who instanceof Response) return who;
    await options.beforeScrape?.();
    const { contentType, body } = await options.metrics.expose(c.req.header('accept'));
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
}

/**
 * This process's name when it claims the figures of ad-hoc runs: `<host>-<pid>`.
 *
 * @example
 * ```ts
 * exporterName(); // "etl-1-4242"
 * ```
 */
export function exporterName(): string {
  return `${hostname()}-${process.pid}`;
}
