import { UsageError } from '../../core/errors.js';
import { cliActor } from '../cli-actor.js';
import type { Reprocess } from '../../orchestrator/backfill.js';
import { cutsJSON, planBackfill, submitBackfill } from '../../orchestrator/backfill.js';
import { FINISHED_STATES } from '../../orchestrator/run-types.js';
import { triggerRun } from '../../orchestrator/trigger.js';
import { sleep } from '../../orchestrator/worker.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { instant, positiveInteger, withProjectStore } from '../orchestrator-options.js';
import { presentError } from '../present-error.js';
import { backfillSpec, cancelSpec, pauseSpec, triggerSpec, unpauseSpec } from '../specs/control.js';
import { parseParams } from './run.js';

/**
 * `sluice trigger <pipeline>`: queues a run now, with parameters; `--wait` waits for a worker
 * to finish it and exits 1 when it failed.
 *
 * @example
 * ```sh
 * sluice trigger orders_daily --param region=EU --wait
 * ```
 */
export const triggerCommand: Command = {
  ...triggerSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      const params = parseParams((options['param'] as string[] | undefined) ?? []);
      return await withProjectStore(options, io, async ({ project, store: opened }) => {
        const store = opened.withAuditActor(cliActor());
        const run = await triggerRun(store, project, args[0] as string, {
          params,
          useCache: options['useCache'] === true,
          ...(options['priority'] === undefined
            ? {}
            : { priority: positiveInteger('--priority', options['priority'], true) }),
        });
        let current = run;
        if (options['wait'] === true) {
          while (!FINISHED_STATES.includes(current.state)) {
            await sleep(200);
            current = (await store.getRun(run.id)) ?? current;
          }
        }
        io.stdout(
          json
            ? `${JSON.stringify({ id: current.id, pipeline: current.pipeline, state: current.state, error: current.error ?? null })}\n`
            : `${current.id} ${current.state}${current.error === undefined ? '' : `: ${current.error.message}`}\n`,
        );
        return options['wait'] === true &&
          current.state !== 'success' &&
          current.state !== 'skipped'
          ? ExitCode.runFailed
          : ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice cancel <runId>`: cancels a queued run at once, a running one at its next heartbeat.
 *
 * @example
 * ```sh
 * sluice cancel run_20240101T020000Z_3f9a1c7e
 * ```
 */
export const cancelCommand: Command = {
  ...cancelSpec,
  async run(args, options, io) {
    try {
      return await withProjectStore(options, io, async ({ store: opened }) => {
        const store = opened.withAuditActor(cliActor());
        const id = args[0] as string;
        const state = await store.requestCancel(id);
        if (state === undefined) throw new UsageError(`no run "${id}" in the run store`);
        io.stdout(
          state === 'canceled'
            ? `${id} canceled\n`
            : state === 'running'
              ? `${id} is running; its worker stops it at the next heartbeat\n`
              : `${id} already finished (${state}); nothing to cancel\n`,
        );
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json: false });
    }
  },
};

function pausingCommand(paused: boolean): Command {
  return {
    ...(paused ? pauseSpec : unpauseSpec),
    async run(args, options, io) {
      try {
        return await withProjectStore(options, io, async ({ store: opened }) => {
          const store = opened.withAuditActor(cliActor());
          await store.setPaused(args[0] as string, paused);
          io.stdout(`${args[0] as string} ${paused ? 'paused' : 'unpaused'}\n`);
          return ExitCode.success;
        });
      } catch (error) {
        return presentError(error, io, { json: false });
      }
    },
  };
}

/**
 * `sluice pause <pipeline>`: no new scheduled runs and no runs started until unpaused.
 *
 * @example
 * ```sh
 * sluice pause orders_daily
 * ```
 */
export const pauseCommand: Command = pausingCommand(true);

/**
 * `sluice unpause <pipeline>`.
 *
 * @example
 * ```sh
 * sluice unpause orders_daily
 * ```
 */
export const unpauseCommand: Command = pausingCommand(false);

const REPROCESS: readonly Reprocess[] = ['failed', 'all', 'none'];

/**
 * `sluice backfill <pipeline> --from D1 --to D2`: plans the pipeline's intervals in the range,
 * prints the plan, and (unless `--dry-run`) submits them in bulk.
 *
 * @example
 * ```sh
 * sluice backfill orders_daily --from 2024-01-01 --to 2024-04-01 --reprocess failed --max-parallel 4
 * ```
 */
export const backfillCommand: Command = {
  ...backfillSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      if (options['from'] === undefined || options['to'] === undefined)
        throw new UsageError('backfill needs --from and --to', {
          hint: 'e.g. --from 2024-01-01 --to 2024-02-01',
        });
      const reprocess = String(options['reprocess'] ?? 'failed') as Reprocess;
      if (!REPROCESS.includes(reprocess))
        throw new UsageError(`--reprocess must be failed, all or none, got "${reprocess}"`);
      const backfill = {
        from: instant('--from', options['from']),
        to: instant('--to', options['to']),
        reprocess,
        reverse: options['reverse'] === true,
        useCache: options['useCache'] === true,
        ...(options['maxParallel'] === undefined
          ? {}
          : { maxParallel: positiveInteger('--max-parallel', options['maxParallel']) }),
      };
      return await withProjectStore(options, io, async ({ project, store: opened }) => {
        const store = opened.withAuditActor(cliActor());
        const loaded = await project.load(args[0] as string);
        const plan = await planBackfill(store, loaded, backfill);
        const count = (action: string): number =>
          plan.intervals.filter((p) => p.action === action).length;
        const summary = {
          intervals: plan.intervals.length,
          create: count('create'),
          rerun: count('rerun'),
          skip: count('skip'),
        };
        const submitted =
          options['dryRun'] === true ? undefined : await submitBackfill(store, loaded, plan);
        if (json) {
          io.stdout(
            `${JSON.stringify(
              {
                pipeline: plan.pipeline,
                ...summary,
                dryRun: submitted === undefined,
                backfillId: submitted?.backfillId ?? null,
                cut: cutsJSON(plan.cuts),
                plan: plan.intervals.map((p) => ({
                  logicalDate: new Date(p.interval.start).toISOString(),
                  intervalEnd: new Date(p.interval.end).toISOString(),
                  action: p.action,
                  existing: p.existing ?? null,
                })),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          const shown = plan.intervals
            .slice(0, 20)
            .map(
              (p) =>
                `  ${new Date(p.interval.start).toISOString()}  ${p.action}${p.existing === undefined ? '' : ` (was ${p.existing})`}`,
            );
          io.stdout(
            [
              `backfill of ${plan.pipeline}: ${summary.intervals} intervals, ${summary.create} to create, ${summary.rerun} to rerun, ${summary.skip} skipped`,
              ...plan.cuts.map((c) => `  cut ${c.message}`),
              ...shown,
              ...(plan.intervals.length > shown.length
                ? [`  ... ${plan.intervals.length - shown.length} more`]
                : []),
              submitted === undefined
                ? 'dry run: nothing submitted'
                : `submitted ${submitted.backfillId}: ${submitted.created} runs created, ${submitted.rerun} requeued`,
              '',
            ].join('\n'),
          );
        }
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};
