import type { Context, Hono } from 'hono';
import type { APITokenRole } from '../orchestrator/api-tokens.js';
import type { PrometheusMetrics } from '../observe/metrics/prometheus-metrics.js';
import type { Principal } from './api-auth.js';

/** What {@link mountMetrics} needs from the API it joins. */
export interface MetricsRouteOptions {
  readonly metrics: PrometheusMetrics;
  /** The API's check of a request's token and role: the principal, or the refusal to send. */
  readonly authorize: (c: Context, needed: APITokenRole) => Promise<Principal | Response>;
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
    const { contentType, body } = await options.metrics.expose(c.req.header('accept'));
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  });
}
