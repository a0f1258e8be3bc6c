import { parseDuration } from '../../core/duration.js';
import { createLogger } from '../../observe/logger.js';
import { AlertEngine, watchedPipelines } from '../../orchestrator/alert-engine.js';
import { runScheduler } from '../../orchestrator/scheduler.js';
import { runWorker } from '../../orchestrator/worker.js';
import { startTriggerAPI } from '../../server/trigger-api.js';
import { UsageError } from '../../core/errors.js';
import type { Command, CommandIO } from '../command.js';

export { listenAddress };
import { ExitCode } from '../command.js';
import { listenAddress } from '../listen-address.js';
import { metricsAddress, serveMetrics } from '../metrics-listener.js';
import { positiveInteger, withProjectStore } from '../orchestrator-options.js';
import { presentError } from '../present-error.js';
import { serveSpec, workerSpec } from '../specs/serve.js';

/**
 * `sluice serve`: the scheduler, plus `--workers` in-process workers (0 for scheduler only,
 * with `sluice worker` processes elsewhere). Stops cleanly on SIGINT/SIGTERM.
 *
 * @example
 * ```sh
 * sluice serve --project . --store postgres://127.0.0.1/sluice --workers 0
 * ```
 */
export const serveCommand: Command = {
  ...serveSpec,
  async run(_args, options, io) {
    try {
      const workers = positiveInteger('--workers', options['workers'] ?? '1', true);
      const http =
        options['http'] === undefined ? undefined : listenAddress(String(options['http']));
      const leaseMs = parseDuration(String(options['lease'] ?? '30s'));
      const graceMs = parseDuration(String(options['grace'] ?? '30s'));
      const toleranceMs = parseDuration(String(options['webhookTolerance'] ?? '5m'));
      if (toleranceMs < 1000)
        throw new UsageError('--webhook-tolerance must be at least 1s', { hint: 'e.g. 5m' });
      return await untilSignalled(io, async (signal, logger) =>
        withProjectStore(options, io, async ({ project, store }) => {
          const alerts = project.alerts();
          const token = process.env['SLUICE_API_TOKEN'];
          const api =
            http === undefined
              ? undefined
              : await startTriggerAPI({
                  store,
                  project,
                  ...http,
                  // An empty token is refused there, naming the variable.
                  ...(token === undefined ? {} : { token }),
                  insecure: options['insecure'] === true,
                  logger,
                  limits: { webhookToleranceSeconds: Math.floor(toleranceMs / 1000) },
                });
          logger.info(
            { project: project.root, store: store.db.location, workers, api: api?.url },
            'serving',
          );
          try {
            await Promise.all([
              runScheduler({ store, project, signal, logger, metrics: api?.metrics }),
              // Without channels, incidents are still kept for `sluice alerts`.
              new AlertEngine({
                store,
                config: alerts,
                pipelines: (stop) => watchedPipelines(project, stop),
                logger,
                ...(api === undefined ? {} : { metrics: api.metrics }),
              }).run(signal),
              workers === 0
                ? Promise.resolve()
                : runWorker({
                    store,
                    project,
                    concurrency: workers,
                    leaseMs,
                    graceMs,
                    signal,
                    logger,
                    metrics: api?.metrics,
                  }),
            ]);
          } finally {
            await api?.close();
          }
          return ExitCode.success;
        }),
      );
    } catch (error) {
      return presentError(error, io, { json: false });
    }
  },
};

/**
 * `sluice worker`: claims runs from the store by lease and executes them until stopped.
 *
 * @example
 * ```sh
 * SLUICE_STORE=postgres://127.0.0.1/sluice sluice worker --concurrency 4
 * ```
 */
export const workerCommand: Command = {
  ...workerSpec,
  async run(_args, options, io) {
    try {
      const concurrency = positiveInteger('--concurrency', options['concurrency'] ?? '1');
      const leaseMs = parseDuration(String(options['lease'] ?? '30s'));
      const graceMs = parseDuration(String(options['grace'] ?? '30s'));
      const pipelines = options['pipeline'] as string[] | undefined;
      const address = metricsAddress(options);
      return await untilSignalled(io, async (signal, logger) =>
        withProjectStore(options, io, async ({ project, store }) => {
          const served = await serveMetrics(address, options, store, logger, true);
          served?.metrics.observeRunQueue(() => store.countActiveRuns());
          try {
            await runWorker({
              store,
              project,
              concurrency,
              leaseMs,
              graceMs,
              signal,
              logger,
              ...(pipelines === undefined ? {} : { pipelines }),
              ...(served === undefined ? {} : { metrics: served.metrics }),
            });
          } finally {
            await served?.close();
          }
          return ExitCode.success;
        }),
      );
    } catch (error) {
      return presentError(error, io, { json: false });
    }
  },
};

async function untilSignalled(
  io: CommandIO,
  work: (signal: AbortSignal, logger: ReturnType<typeof createLogger>) => Promise<ExitCode>,
): Promise<ExitCode> {
  const logger = createLogger({
    format: io.stderrIsTTY ? 'pretty' : 'json',
    level: 'info',
    write: io.stderr,
  });
  const stop = new AbortController();
  const onSignal = (): void => {
    if (stop.signal.aborted) process.exit(ExitCode.runFailed);
    logger.info({}, 'stopping: finishing runs in progress (signal again to exit at once)');
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(stop.signal, logger);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Stopped and cleaned up: timers of a pipeline file whose top level never finished
    // loading must not keep the process alive (the exit code is set by then).
    if (stop.signal.aborted) setTimeout(() => process.exit(), 1_000).unref();
  }
}
