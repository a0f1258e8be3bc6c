import type { Logger } from '../core/logger.js';
import type { PrometheusMetrics } from '../observe/metrics/prometheus-metrics.js';
import { createPrometheusMetrics } from '../observe/metrics/prometheus-metrics.js';
import type { RunStore } from '../orchestrator/run-store.js';
import { startMetricsServer } from '../server/metrics-server.js';
import { listenAddress } from './listen-address.js';

/** The address of `--metrics-port`, parsed before anything starts; undefined without it. */
export function metricsAddress(
  options: Readonly<Record<string, unknown>>,
): { hostname: string; port: number } | undefined {
  const text = options['metricsPort'];
  return text === undefined ? undefined : listenAddress(String(text), '--metrics-port');
}

/** The metrics a process records and serves, and how to stop serving them. */
export interface ServedMetrics {
  readonly metrics: PrometheusMetrics;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts `GET /metrics` at `--metrics-port` for `sluice worker` and `sluice stream`, with the
 * tokens of `store` and `$SLUICE_API_TOKEN`; logs its URL. Nothing (and no metrics library)
 * without the option. With `adhocRuns` (workers) a scrape also exports the figures of ad-hoc
 * runs waiting in the store.
 *
 * @example
 * ```ts
 * const served = await serveMetrics(metricsAddress(options), options, store, logger);
 * await runWorker({ ..., metrics: served?.metrics });
 * await served?.close();
 * ```
 */
export async function serveMetrics(
  address: { hostname: string; port: number } | undefined,
  options: Readonly<Record<string, unknown>>,
  store: RunStore,
  logger: Logger,
  adhocRuns = false,
): Promise<ServedMetrics | undefined> {
  if (address === undefined) return undefined;
  const metrics = await createPrometheusMetrics({ logger });
  const token = process.env['SLUICE_API_TOKEN'];
  const server = await startMetricsServer({
    store,
    metrics,
    ...address,
    ...(token === undefined ? {} : { token }),
    insecure: options['insecure'] === true,
    logger,
    adhocRuns,
  });
  logger.info({ metrics: `${server.url}/metrics` }, 'serving metrics');
  return { metrics, url: server.url, close: () => server.close() };
}
