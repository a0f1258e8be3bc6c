import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { QuarantineStore } from '../../contracts/quarantine-store.js';
import { RunStore } from '../../orchestrator/run-store.js';
import { isStoreUrl } from '../../orchestrator/sql-database.js';
import { StreamCheckpoints } from '../../orchestrator/stream-checkpoints.js';
import { StreamLeases } from '../../orchestrator/stream-leases.js';
import { createLogger } from '../../observe/logger.js';
import { loadStreamFile } from '../../plan/load-pipeline-file.js';
import { defaultStreamRegistry } from '../../default-stream-registry.js';
import { planStream } from '../../stream/plan-stream.js';
import type { StreamProgress } from '../../stream/runtime.js';
import { runStream } from '../../stream/runtime.js';
import { partitionInstance, runScaledStream } from '../../stream/scale-out.js';
import type { StreamStart } from '../../contracts/stream-connector.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import type { ServedMetrics } from '../metrics-listener.js';
import { metricsAddress, serveMetrics } from '../metrics-listener.js';
import { presentError } from '../present-error.js';
import { streamSpec } from '../specs/stream.js';

/**
 * `sluice stream <file>`: runs a stream until SIGINT or SIGTERM, then drains, commits a final
 * checkpoint and exits 0.
 *
 * @example
 * ```sh
 * sluice stream streams/page_views.ts --from-beginning
 * ```
 */
export const streamCommand: Command = {
  ...streamSpec,
  async run(args, options, io) {
    try {
      const definition = await loadStreamFile(resolve(io.cwd, args[0] as string));
      const plan = planStream(definition, defaultStreamRegistry);
      const start = startOf(options);
      const address = metricsAddress(options);
      const stateDir = resolve(io.cwd, String(options['stateDir'] ?? '.sluice'));
      const location =
        typeof options['store'] === 'string'
          ? options['store']
          : process.env['SLUICE_STORE'] || join(stateDir, 'sluice.db');
      const store = await RunStore.open(
        isStoreUrl(location) ? location : resolve(io.cwd, location),
      );
      const logger = createLogger({
        format: io.stderrIsTTY ? 'pretty' : 'json',
        level: logLevel(String(options['logLevel'] ?? 'info')),
        write: io.stderr,
      });
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      let served: ServedMetrics | undefined;
      try {
        served = await serveMetrics(address, options, store, logger);
      } catch (error) {
        await store.close();
        throw error;
      }
      const metrics = served === undefined ? {} : { metrics: served.metrics };
      // Like `sluice run`, lineage comes from the OpenLineage variables (OPENLINEAGE_URL).
      const lineageEmitter =
        process.env['OPENLINEAGE_URL'] === undefined || process.env['OPENLINEAGE_URL'] === ''
          ? undefined
          : (await import('../../observe/lineage/lineage-config.js')).createLineageEmitter(
              undefined,
              {
                baseDir: io.cwd,
                env: process.env,
                logger,
                ...(served === undefined
                  ? {}
                  : { onDropped: () => served?.metrics.lineageEventsDropped({ count: 1 }) }),
              },
            );
      const lineage =
        lineageEmitter === undefined ? {} : { lineage: lineageEmitter, baseDir: io.cwd };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const quarantine = (instance: string): QuarantineStore =>
        new QuarantineStore(join(stateDir, 'streams', instance, 'quarantine'), instance);
      let stopped: ReadonlyMap<string, StreamProgress>;
      try {
        const checkpoints = new StreamCheckpoints(store);
        const replay = start === undefined ? {} : { start, fromScratch: true };
        if (plan.scaleOut === undefined) {
          if (start !== undefined) await checkpoints.reset(plan.name);
          const progress = await runStream(plan, {
            checkpoints,
            quarantine: quarantine(plan.name),
            ...replay,
            stateDir,
            signal: stop.signal,
            logger,
            ...metrics,
            ...lineage,
          });
          stopped = new Map([[plan.name, progress]]);
        } else {
          if (start !== undefined)
            for (const partition of plan.source.connector.partitionsOf?.(plan.source.config) ?? [])
              await checkpoints.reset(partitionInstance(plan.name, partition.name));
          const partitions = await runScaledStream(plan, {
            checkpoints,
            leases: new StreamLeases(store),
            worker:
              typeof options['worker'] === 'string'
                ? options['worker']
                : `${hostname()}-${process.pid}`,
            quarantine,
            ...replay,
            stateDir,
            signal: stop.signal,
            logger,
            ...metrics,
            ...lineage,
          });
          stopped = new Map(
            [...partitions].map(([name, progress]) => [
              partitionInstance(plan.name, name),
              progress,
            ]),
          );
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await served?.close();
        await store.close();
        await lineageEmitter?.close(5_000);
      }
      if (stopped.size === 0) io.stdout(`stream ${plan.name} stopped holding no partition\n`);
      for (const [name, progress] of stopped)
        io.stdout(
          `stream ${name} stopped at checkpoint ${progress.checkpointId}: ${progress.recordsIn} records in, ${progress.recordsOut} out, ${progress.recordsLate} late, ${progress.recordsInvalid} invalid${progress.watermark === undefined ? '' : `, watermark ${new Date(progress.watermark).toISOString()}`}\n`,
        );
      return ExitCode.success;
    } catch (error) {
      return presentError(error, io, { json: false });
    }
  },
};

function startOf(options: Readonly<Record<string, unknown>>): StreamStart | undefined {
  const from = options['from'];
  if (options['fromBeginning'] === true) {
    if (from !== undefined) throw new UsageError('give --from-beginning or --from, not both');
    return { kind: 'beginning' };
  }
  if (from === undefined) return undefined;
  const at = new Date(String(from));
  if (Number.isNaN(at.getTime()))
    throw new UsageError(
      `--from expects a time such as 2024-05-01T00:00:00Z, got "${String(from)}"`,
    );
  return { kind: 'time', at };
}

function logLevel(level: string): 'debug' | 'info' | 'warn' | 'error' | 'silent' {
  if (['debug', 'info', 'warn', 'error', 'silent'].includes(level))
    return level as 'debug' | 'info' | 'warn' | 'error' | 'silent';
  throw new UsageError(`--log-level must be debug, info, warn, error or silent, got "${level}"`);
}
