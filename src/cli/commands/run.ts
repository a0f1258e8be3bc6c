import { join, resolve } from 'node:path';
import { cliActor } from '../cli-actor.js';
import { SluiceError, UsageError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import { newRunId } from '../../core/ids.js';
import { RunProcessPool } from '../../orchestrator/isolated-run.js';
import type { LoadedPipeline } from '../../orchestrator/isolated-run.js';
import { isStoreUrl } from '../../orchestrator/sql-database.js';
import type { Logger } from '../../core/logger.js';
import type { RunReport } from '../../observe/run-report.js';
import type { RunEvent } from '../../observe/lineage/openlineage-event.js';
import { formatRunReport } from '../../observe/run-report.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import { runSpec } from '../specs/run.js';

/**
 * `sluice run <file>`: loads a pipeline file, runs it, prints the run report.
 *
 * @example
 * ```sh
 * sluice run pipelines/orders.ts --param region=EU --json
 * ```
 */
export const runCommand: Command = {
  ...runSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    // The run's own process (see runIsolated) starts first and loads the engine and the pipeline
    // file; this one never loads the file: the child reports the pipeline's timeout once loaded.
    const runProcess = new RunProcessPool({ size: 1 });
    try {
      const file = args[0] as string;
      const params = parseParams((options['param'] as string[] | undefined) ?? []);
      runProcess.prewarm(1);
      const [{ createLogger }, { ProgressDisplay }] = await Promise.all([
        import('../../observe/logger.js'),
        import('../progress-display.js'),
      ]);
      const path = resolve(io.cwd, file);
      const cache =
        options['useCache'] === true
          ? {
              codeHash: await (
                await import('../../plan/load-pipeline-file.js')
              ).pipelineCodeHash(path),
            }
          : undefined;
      const logger = createLogger({
        format: io.stderrIsTTY ? 'pretty' : 'json',
        level: parseLogLevel(String(options['logLevel'] ?? 'info')),
        write: io.stderr,
      });
      const display = io.stderrIsTTY && !json ? new ProgressDisplay() : undefined;
      const stateDir = resolve(io.cwd, String(options['stateDir'] ?? '.sluice'));
      // Source state (watermarks, CDC positions) lives in the run store, as under the orchestrator.
      const location =
        typeof options['store'] === 'string'
          ? options['store']
          : process.env['SLUICE_STORE'] || join(stateDir, 'sluice.db');
      const stop = new AbortController();
      const cancel = (): void =>
        stop.abort(new SluiceError('RUN_CANCELED', 'the run was interrupted'));
      let timer: NodeJS.Timeout | undefined;
      let runStartedAt = Date.now();
      // The timeout counts from the run's start (as its report does), the file's load included.
      const startTimeout = ({ timeout }: LoadedPipeline): void => {
        if (timeout === undefined) return;
        timer = setTimeout(
          () =>
            stop.abort(
              new SluiceError('RUN_TIMEOUT', `the run took longer than ${String(timeout)}`),
            ),
          Math.max(0, parseDuration(timeout) - (Date.now() - runStartedAt)),
        );
      };
      // `sluice run` reads no project config: lineage goes where the OpenLineage variables say,
      // and into the run store once the run ended (for `sluice lineage`).
      const lineageEvents: RunEvent[] = [];
      const lineage = (
        await import('../../observe/lineage/lineage-config.js')
      ).createLineageEmitter(undefined, {
        baseDir: io.cwd,
        env: process.env,
        logger,
        store: { name: 'store', send: async (event) => void lineageEvents.push(event) },
      });
      process.once('SIGINT', cancel);
      process.once('SIGTERM', cancel);
      let report;
      try {
        runStartedAt = Date.now();
        const running = runProcess.run(
          {
            file: path,
            runId: newRunId(new Date()),
            params,
            stateDir,
            store: isStoreUrl(location) ? location : resolve(io.cwd, location),
            commitSourceState: true,
            actor: cliActor(),
            ...(options['fullRefresh'] === true ? { fullRefresh: true } : {}),
            ...(cache === undefined ? {} : { cache }),
            ...(lineage === undefined ? {} : { lineage: { namespace: lineage.namespace } }),
          },
          {
            signal: stop.signal,
            logger,
            onLoaded: startTimeout,
            ...(lineage === undefined ? {} : { onLineageEvent: (event) => lineage.emit(event) }),
            ...(display === undefined ? {} : { onEvent: (event) => display.update(event) }),
          },
        );
        // The SQL parser for column lineage loads while the run process starts, off its path.
        void lineage?.prepareColumnLineage();
        report = await running;
      } finally {
        clearTimeout(timer);
        display?.stop();
        process.off('SIGINT', cancel);
        process.off('SIGTERM', cancel);
        await runProcess.close();
        await lineage?.close(LINEAGE_FLUSH_MS);
        if (lineage !== undefined && lineage.dropped > 0)
          logger.warn({ dropped: lineage.dropped }, 'lineage events not delivered');
      }
      await leaveFigures(
        report,
        isStoreUrl(location) ? location : resolve(io.cwd, location),
        logger,
        lineageEvents,
      );
      io.stdout(json ? `${JSON.stringify(report, null, 2)}\n` : formatRunReport(report));
      return report.status === 'success' ? ExitCode.success : ExitCode.runFailed;
    } catch (error) {
      return presentError(error, io, { json });
    } finally {
      await runProcess.close();
    }
  },
};

/** How long `sluice run` waits at its end for its lineage events to be delivered. */
const LINEAGE_FLUSH_MS = 5_000;

/**
 * Leaves an ad-hoc run's figures in the run store, for a serving process to export as metrics,
 * appends what it wrote to the audit log, and records its lineage events. A store that cannot
 * take them is logged: the run itself is done.
 */
async function leaveFigures(
  report: RunReport,
  location: string,
  logger: Logger,
  lineageEvents: readonly RunEvent[],
): Promise<void> {
  const [
    { RunStore },
    { AdhocRunFigures },
    { attemptFigures, singleAttempt },
    { runAuditEntries },
    { recordLineageEvents },
  ] = await Promise.all([
    import('../../orchestrator/run-store.js'),
    import('../../orchestrator/adhoc-run-figures.js'),
    import('../../orchestrator/attempt-metrics.js'),
    import('../../orchestrator/run-audit.js'),
    import('../../orchestrator/lineage-store.js'),
  ]);
  try {
    const store = await RunStore.open(location);
    try {
      const actor = cliActor();
      await store.audit.append(...runAuditEntries(report).map((entry) => ({ actor, ...entry })));
      await new AdhocRunFigures(store).record(attemptFigures(singleAttempt(report, Date.now())));
      await recordLineageEvents(store.db, lineageEvents);
    } finally {
      await store.close();
    }
  } catch (error) {
    logger.warn(
      { err: error instanceof Error ? error.message : String(error) },
      "the run's figures could not be left in the run store; serving processes will not export them",
    );
  }
}

/**
 * Parses repeated `key=value` flags into a record.
 *
 * @example
 * ```ts
 * parseParams(['region=EU', 'day=2024-01-01']); // { region: 'EU', day: '2024-01-01' }
 * ```
 */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const params = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0)
      throw new UsageError(`--param expects key=value, got "${pair}"`, {
        hint: 'e.g. --param region=EU',
      });
    params.set(pair.slice(0, at), pair.slice(at + 1));
  }
  // From entries, so a name such as `__proto__` is an own key rather than a prototype change.
  return Object.fromEntries(params);
}

function parseLogLevel(level: string): 'debug' | 'info' | 'warn' | 'error' | 'silent' {
  if (
    level === 'debug' ||
    level === 'info' ||
    level === 'warn' ||
    level === 'error' ||
    level === 'silent'
  )
    return level;
  throw new UsageError(`--log-level must be debug, info, warn, error or silent, got "${level}"`);
}
