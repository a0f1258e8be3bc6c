import { Hono } from 'hono';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { PrometheusMetrics } from '../observe/metrics/prometheus-metrics.js';
import { adhocExporter } from '../orchestrator/adhoc-run-figures.js';
import type { RunStore } from '../orchestrator/run-store.js';
import { createAPIGate } from './api-gate.js';
import type { HTTPListener } from './http-listener.js';
import { listenHTTP } from './http-listener.js';
import { exporterName, mountMetrics } from './metrics-route.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Where API tokens are read (`sluice tokens create`). */
  readonly store: RunStore;
  readonly metrics: PrometheusMetrics;
  /** Address to listen on (default 127.0.0.1). */
  readonly hostname?: string;
  /** Port (0 picks a free one). */
  readonly port: number;
  /** An `admin` token named `env` (what `$SLUICE_API_TOKEN` sets). */
  readonly token?: string;
  /** Listen beyond loopback although no token exists (default false: refused). */
  readonly insecure?: boolean;
  readonly logger?: Logger;
  /** Export the figures of ad-hoc runs (`sluice run`) left in the store (default false). */
  readonly adhocRuns?: boolean;
}

/**
 * `GET /metrics` (and `GET /healthz`) on their own listener, for processes that serve no API:
 * `sluice worker --metrics-port` and `sluice stream --metrics-port`. The same rules as
 * `sluice serve --http`: once a token exists a scrape needs one with the `read` role, and with
 * no token it refuses to listen beyond loopback unless `insecure` is set.
 *
 * @example
 * ```ts
 * const metrics = await createPrometheusMetrics({ logger });
 * const server = await startMetricsServer({ store, metrics, port: 9465 });
 * // curl localhost:9465/metrics
 * await server.close();
 * ```
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<HTTPListener> {
  const logger = options.logger ?? silentLogger;
  const gate = createAPIGate({
    store: options.store,
    ...(options.token === undefined ? {} : { token: options.token }),
  });
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  mountMetrics(app, {
    metrics: options.metrics,
    authorize: gate.authorize,
    ...(options.adhocRuns === true
      ? { beforeScrape: adhocExporter(options.store, options.metrics, exporterName(), logger) }
      : {}),
  });
  app.notFound((c) =>
    c.json({ error: 'this listener only serves GET /metrics and /healthz' }, 404),
  );
  app.onError((error, c) => {
    logger.error({ err: error, path: c.req.path }, 'the metrics endpoint failed to answer');
    return c.json({ error: 'internal error; see the log', code: 'INTERNAL' }, 500);
  });
  return listenHTTP(app, gate.auth, {
    hostname: options.hostname ?? '127.0.0.1',
    port: options.port,
    flag: '--metrics-port',
    subject: 'the metrics endpoint',
    exposes: 'read the metrics (pipeline names, counts and timings)',
    ...(options.insecure === undefined ? {} : { insecure: options.insecure }),
    logger,
  });
}
