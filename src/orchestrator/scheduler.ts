import { hostname } from 'node:os';
import { parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { randomHex } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import { silentLogger } from '../core/logger.js';
import type { LoadedPipeline, Project } from './project.js';
import type { RunStore } from './run-store.js';
import type { DataInterval, RunRecord } from './run-types.js';
import { dueIntervals, scheduleClock } from './schedule.js';
import { fireSensors } from './sensors.js';
import { pipelineBounds } from './backfill.js';
import { pipelineRun } from './pipeline-run.js';
import { sleep } from './worker.js';

/** Intervals one tick creates at most per pipeline; a long catchup continues next tick. */
export const MAX_INTERVALS_PER_TICK = 1_000;

/**
 * The runs a pipeline's schedule owes at `now` that do not exist yet, created in one
 * transaction with the schedule's new position, so a scheduler restarted at any point (or two
 * schedulers at once) creates each interval's run exactly once. Without `catchup` only the
 * latest due interval runs. No interval starts before the pipeline's `start` or ends after its
 * `end`. Resolves to the runs created.
 *
 * @example
 * ```ts
 * const created = await scheduleDueRuns(store, loaded, Date.now());
 * ```
 */
export async function scheduleDueRuns(
  store: RunStore,
  loaded: LoadedPipeline,
  now: number,
  limit = MAX_INTERVALS_PER_TICK,
): Promise<RunRecord[]> {
  const { pipeline, codeHash } = loaded;
  const options = pipeline.orchestration;
  if (options.schedule === undefined) return [];
  const clock = scheduleClock(options.schedule, pipeline.name);
  const { start, end } = pipelineBounds(pipeline);
  const last = await store.lastScheduled(pipeline.name);
  let due: DataInterval[];
  if (last === undefined && options.catchup === true && start !== undefined) {
    const first = clock.previous(start) === start ? start : clock.next(start);
    due = first === undefined ? [] : dueIntervals(clock, first, now, limit);
  } else if (last === undefined || options.catchup !== true) {
    const latest = clock.previous(now) ?? now;
    due = dueIntervals(clock, last ?? clock.previous(latest - 1) ?? latest, now).slice(-1);
  } else {
    due = dueIntervals(clock, last, now, limit);
  }
  // Never an interval before the pipeline's start or after its end, caught up or not.
  if (start !== undefined) due = due.filter((interval) => interval.start >= start);
  if (end !== undefined) due = due.filter((interval) => interval.end <= end);
  if (due.length === 0) return [];
  const runs = due.map((interval) => pipelineRun(pipeline, codeHash, 'schedule', interval));
  const created = await store.advanceSchedule(
    pipeline.name,
    last,
    runs,
    (due.at(-1) as DataInterval).end,
  );
  return created ?? [];
}

/** Options of {@link runScheduler}. */
export interface SchedulerOptions {
  readonly store: RunStore;
  readonly project: Project;
  /** How often to look at the schedules (default 1 s). */
  readonly tickMs?: number;
  /** Intervals created per pipeline and tick (default {@link MAX_INTERVALS_PER_TICK}). */
  readonly maxIntervalsPerTick?: number;
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Where each pass's duration and each scheduled run's lag are recorded (default: nowhere). */
  readonly metrics?: SluiceMetrics;
  /**
   * This scheduler's name in the store's heartbeats (default host:pid:random), which the
   * `scheduler_down` alert reads: each finished pass records one, and a clean stop removes it.
   */
  readonly instance?: string;
}

/**
 * Registers the project's pipelines in the store and creates scheduled runs as their
 * intervals come due, until `signal` aborts. A pipeline file is loaded again only when its code
 * changed; a pipeline that fails to load (or whose file's top level does not finish) is
 * reported and the others go on: each tick looks at every pipeline at once.
 *
 * @example
 * ```ts
 * await runScheduler({ store, project, signal: stop.signal, logger });
 * ```
 */
export async function runScheduler(options: SchedulerOptions): Promise<void> {
  const logger = (options.logger ?? silentLogger).child({ component: 'scheduler' });
  const instance = options.instance ?? `${hostname()}:${process.pid}:${randomHex(3)}`;
  const seen: SchedulerMemory = {
    registered: new Map(),
    failedLoads: new Map(),
    unschedulable: new Map(),
  };
  while (options.signal?.aborted !== true) {
    const passStarted = performance.now();
    try {
      const names = [...(await options.project.pipelineFiles()).keys()];
      const ticks = await Promise.allSettled(
        names.map((name) => schedulePipeline(name, options, seen, logger)),
      );
      ticks.forEach((tick, i) => {
        if (tick.status === 'rejected')
          logger.warn(
            { pipeline: names[i], err: (tick.reason as Error).message },
            'scheduler tick failed; retrying',
          );
      });
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'scheduler tick failed; retrying');
    }
    options.metrics?.schedulerLoop({ seconds: (performance.now() - passStarted) / 1000 });
    await recordHeartbeat(options.store, instance, logger);
    await sleep(options.tickMs ?? 1_000, options.signal);
  }
  await options.store.db
    .run("DELETE FROM heartbeats WHERE component = 'scheduler' AND instance = ?", [instance])
    .catch(() => undefined);
}

/** A pass finished: `scheduler_down` measures the time since the last one. */
async function recordHeartbeat(store: RunStore, instance: string, logger: Logger): Promise<void> {
  await store.db
    .run(
      `INSERT INTO heartbeats (component, instance, seen_at) VALUES ('scheduler', ?, ?)
       ON CONFLICT (component, instance) DO UPDATE SET seen_at = excluded.seen_at`,
      [instance, Date.now()],
    )
    .catch((error: unknown) =>
      logger.warn({ err: (error as Error).message }, 'scheduler heartbeat not recorded'),
    );
}

/** What the scheduler remembers between ticks, so each problem is reported once. */
interface SchedulerMemory {
  /** Code hash registered in the store, per pipeline. */
  readonly registered: Map<string, string>;
  readonly failedLoads: Map<string, string>;
  readonly unschedulable: Map<string, string>;
}

/** One tick of one pipeline: load, register, schedule due intervals, check its SLA and sensors. */
async function schedulePipeline(
  name: string,
  options: SchedulerOptions,
  seen: SchedulerMemory,
  logger: Logger,
): Promise<void> {
  let loaded: LoadedPipeline;
  try {
    loaded = await options.project.load(name, options.signal ? { signal: options.signal } : {});
    seen.failedLoads.delete(name);
  } catch (error) {
    if (options.signal?.aborted === true) return;
    const message = (error as Error).message;
    if (seen.failedLoads.get(name) !== message)
      logger.error({ pipeline: name, err: message }, 'cannot load pipeline');
    seen.failedLoads.set(name, message);
    return;
  }
  if (seen.registered.get(name) !== loaded.codeHash) {
    await options.store.registerPipeline({
      name,
      codeHash: loaded.codeHash,
      file: loaded.file,
      ...(loaded.pipeline.orchestration.maxActiveRuns === undefined
        ? {}
        : { maxActiveRuns: loaded.pipeline.orchestration.maxActiveRuns }),
    });
    seen.registered.set(name, loaded.codeHash);
  }
  if ((await options.store.getPipeline(name))?.paused === true) return;
  let created: RunRecord[];
  try {
    created = await scheduleDueRuns(options.store, loaded, Date.now(), options.maxIntervalsPerTick);
  } catch (error) {
    // A bad start or end stops this pipeline's schedule only, reported once.
    if (!(error instanceof ConfigError)) throw error;
    if (seen.unschedulable.get(name) !== error.message)
      logger.error({ pipeline: name, err: error.message }, 'cannot schedule pipeline');
    seen.unschedulable.set(name, error.message);
    return;
  }
  seen.unschedulable.delete(name);
  const createdAt = Date.now();
  for (const run of created)
    if (run.interval !== undefined)
      options.metrics?.scheduleLag({
        pipeline: name,
        seconds: (createdAt - run.interval.end) / 1000,
      });
  const sla = loaded.pipeline.orchestration.sla;
  if (sla !== undefined) {
    const missed = await options.store.flagSlaMisses(name, parseDuration(sla), Date.now());
    if (missed.length > 0) logger.warn({ pipeline: name, runs: missed }, 'SLA missed');
  }
  const sensed = await fireSensors(options.store, loaded);
  if (sensed.length > 0)
    logger.info({ pipeline: name, runs: sensed.length }, 'sensors started runs');
  if (created.length > 0)
    logger.info(
      {
        pipeline: name,
        runs: created.length,
        first: new Date(created[0]?.interval?.start ?? 0).toISOString(),
      },
      'scheduled runs',
    );
}
