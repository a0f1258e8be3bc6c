import { UsageError } from '../../core/errors.js';
import { textTable } from '../../core/text-table.js';
import type { RunRecord, RunState, TaskRecord } from '../../orchestrator/run-types.js';
import { iso, runSummary } from '../../orchestrator/run-summary.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import { StreamCheckpoints } from '../../orchestrator/stream-checkpoints.js';
import { StreamLeases } from '../../orchestrator/stream-leases.js';
import { partitionInstance } from '../../stream/scale-out.js';
import type { Command } from '../command.js';
import { ExitCode } from '../command.js';
import { positiveInteger, withProjectStore } from '../orchestrator-options.js';
import { presentError } from '../present-error.js';
import { runShowSpec, runsSpec } from '../specs/runs.js';
import { RUN_STATES } from '../../orchestrator/run-types.js';

/**
 * `sluice runs`: the newest runs in the store, as a table or `--json`.
 *
 * @example
 * ```sh
 * sluice runs --pipeline orders_daily --state failed --json
 * ```
 */
export const runsCommand: Command = {
  ...runsSpec,
  async run(_args, options, io) {
    const json = options['json'] === true;
    try {
      if (options['streams'] === true)
        return await withProjectStore(options, io, async ({ store }) => {
          const streams = await streamStatus(store);
          io.stdout(
            json
              ? `${JSON.stringify(
                  streams.map(({ snapshot: _snapshot, ...status }) => status),
                  null,
                  2,
                )}\n`
              : formatStreams(streams),
          );
          return ExitCode.success;
        });
      const state = options['state'] as string | undefined;
      if (state !== undefined && !RUN_STATES.includes(state as RunState))
        throw new UsageError(`--state must be one of ${RUN_STATES.join(', ')}, got "${state}"`);
      const limit = positiveInteger('--limit', options['limit'] ?? '50');
      return await withProjectStore(options, io, async ({ store }) => {
        const runs = await store.listRuns({
          limit,
          ...(typeof options['pipeline'] === 'string' ? { pipeline: options['pipeline'] } : {}),
          ...(state === undefined ? {} : { states: [state as RunState] }),
        });
        io.stdout(json ? `${JSON.stringify(runs.map(runSummary), null, 2)}\n` : formatRuns(runs));
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice run-show <runId>`: one run with its task attempts and events.
 *
 * @example
 * ```sh
 * sluice run-show run_20240101T020000Z_3f9a1c7e --json
 * ```
 */
export const runShowCommand: Command = {
  ...runShowSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      return await withProjectStore(options, io, async ({ store }) => {
        const id = args[0] as string;
        const run = await store.getRun(id);
        if (run === undefined)
          throw new UsageError(`no run "${id}" in the run store`, {
            hint: 'sluice runs lists them',
          });
        const tasks = await store.listTasks(id);
        const events = (await store.listEvents({ runId: id })).reverse();
        if (json) {
          io.stdout(
            `${JSON.stringify(
              {
                ...runSummary(run),
                tasks: tasks.map(taskJSON),
                events: events.map((e) => ({ ...e, at: iso(e.at) })),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          io.stdout(
            formatRun(
              run,
              tasks,
              events.map((e) => `${iso(e.at)}  ${e.kind}  ${JSON.stringify(e.data)}`),
            ),
          );
        }
        return ExitCode.success;
      });
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

function taskJSON(task: TaskRecord): Record<string, unknown> {
  return {
    step: task.step,
    attempt: task.attempt,
    state: task.state,
    startedAt: task.startedAt === undefined ? null : iso(task.startedAt),
    finishedAt: task.finishedAt === undefined ? null : iso(task.finishedAt),
    rowsIn: task.rowsIn ?? null,
    rowsOut: task.rowsOut ?? null,
    error: task.error ?? null,
    cached: task.cached === true,
  };
}

function formatRuns(runs: readonly RunRecord[]): string {
  if (runs.length === 0) return 'no runs\n';
  const rows = runs.map((run) => [
    run.id,
    run.pipeline,
    run.state,
    run.trigger,
    run.interval === undefined ? '-' : iso(run.interval.start),
    `${run.attempt}/${run.maxAttempts}`,
    duration(run),
  ]);
  const header = ['run', 'pipeline', 'state', 'trigger', 'logical date', 'attempt', 'duration'];
  return `${textTable(header, rows).join('\n')}\n`;
}

function formatRun(
  run: RunRecord,
  tasks: readonly TaskRecord[],
  events: readonly string[],
): string {
  const lines = [
    `run        ${run.id}`,
    `pipeline   ${run.pipeline}`,
    `state      ${run.state}${run.cancelRequested && run.state === 'running' ? ' (cancel requested)' : ''}`,
    `trigger    ${run.trigger}`,
    ...(run.interval === undefined
      ? []
      : [`interval   ${iso(run.interval.start)} .. ${iso(run.interval.end)}`]),
    `attempt    ${run.attempt} of ${run.maxAttempts}`,
    ...(Object.keys(run.params).length === 0 ? [] : [`params     ${JSON.stringify(run.params)}`]),
    `queued     ${iso(run.queuedAt)}`,
    ...(run.startedAt === undefined ? [] : [`started    ${iso(run.startedAt)}`]),
    ...(run.finishedAt === undefined
      ? []
      : [`finished   ${iso(run.finishedAt)} (${duration(run)})`]),
    ...(run.error === undefined ? [] : [`error      ${run.error.code}: ${run.error.message}`]),
    '',
    tasks.length === 0
      ? 'no tasks yet'
      : textTable(
          ['step', 'attempt', 'state', 'rows in', 'rows out', 'duration'],
          tasks.map((t) => [
            t.step,
            String(t.attempt),
            t.cached === true ? 'cached' : t.state,
            t.rowsIn === undefined ? '-' : String(t.rowsIn),
            t.rowsOut === undefined ? '-' : String(t.rowsOut),
            t.startedAt === undefined || t.finishedAt === undefined
              ? '-'
              : `${t.finishedAt - t.startedAt} ms`,
          ]),
        ).join('\n'),
    '',
    'events',
    ...events.map((e) => `  ${e}`),
  ];
  return `${lines.join('\n')}\n`;
}

function duration(run: RunRecord): string {
  if (run.startedAt === undefined) return '-';
  const ms = (run.finishedAt ?? Date.now()) - run.startedAt;
  return ms < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Each stream's (or stream partition's) newest checkpoint, with the worker holding its lease. */
async function streamStatus(store: RunStore) {
  const [streams, leases] = await Promise.all([
    new StreamCheckpoints(store).list(),
    new StreamLeases(store).all(),
  ]);
  const now = Date.now();
  const owners = new Map(
    leases
      .filter((lease) => lease.expiresAt >= now)
      .map((lease) => [partitionInstance(lease.stream, lease.partition), lease.owner]),
  );
  return streams.map((s) => ({ ...s, worker: owners.get(s.stream) }));
}

function formatStreams(streams: Awaited<ReturnType<typeof streamStatus>>): string {
  if (streams.length === 0) return 'no streams have checkpointed yet\n';
  const now = Date.now();
  const table = textTable(
    [
      'stream',
      'checkpoint',
      'age',
      'records in',
      'records out',
      'records/s',
      'lag',
      'watermark',
      'state',
      'worker',
    ],
    streams.map((s) => [
      s.stream,
      String(s.checkpointId),
      `${Math.round((now - s.createdAt) / 1000)}s`,
      String(s.recordsIn),
      String(s.recordsOut),
      s.recordsPerSecond === undefined ? '-' : String(Math.round(s.recordsPerSecond)),
      s.lag === undefined ? '-' : String(s.lag),
      s.watermark === undefined ? '-' : iso(s.watermark),
      String(s.stateSize),
      s.worker ?? '-',
    ]),
    new Set([1, 3, 4, 5, 6, 8]),
  );
  return `${table.join('\n')}\n`;
}
