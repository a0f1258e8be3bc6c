import { ConfigError } from '../core/errors.js';
import { newRunId } from '../core/ids.js';
import type { LoadedPipeline } from './project.js';
import type { RunStore } from './run-store.js';
import { intervalRunKey } from './run-store.js';
import type { DataInterval, RunState } from './run-types.js';
import { FINISHED_STATES } from './run-types.js';
import { dueIntervals, scheduleClock } from './schedule.js';
import { pipelineRun } from './pipeline-run.js';
import { retryPolicy } from '../core/retry-policy.js';

/** Which intervals that already have a finished run a backfill runs again. */
export type Reprocess = 'failed' | 'all' | 'none';

/** Options of {@link planBackfill}. */
export interface BackfillOptions {
  /** Intervals starting at or after this instant... */
  readonly from: number;
  /** ...and ending at or before this one. */
  readonly to: number;
  /** Default `failed`: rerun intervals whose run failed or was canceled, create missing ones. */
  readonly reprocess?: Reprocess;
  /** Newest interval first. */
  readonly reverse?: boolean;
  /** Runs of this backfill that may run at once (default unlimited). */
  readonly maxParallel?: number;
  /** Skip intervals whose inputs and code are unchanged since a successful run (`--use-cache`). */
  readonly useCache?: boolean;
}

/** What a backfill does with one interval. */
export interface PlannedInterval {
  readonly interval: DataInterval;
  readonly action: 'create' | 'rerun' | 'skip';
  /** The state of the interval's existing run. */
  readonly existing: RunState | undefined;
}

/** A backfill's plan, before anything is submitted. */
export interface BackfillPlan {
  readonly pipeline: string;
  readonly options: BackfillOptions;
  readonly intervals: readonly PlannedInterval[];
}

const RERUN: Readonly<Record<Reprocess, readonly RunState[]>> = {
  failed: ['failed', 'canceled'],
  all: FINISHED_STATES,
  none: [],
};

/**
 * Plans a backfill over the pipeline's schedule: each interval in the range gets a new run,
 * a rerun of its finished run (per `reprocess`), or nothing (its run exists, or is queued or
 * running). Nothing is written.
 *
 * @example
 * ```ts
 * const plan = await planBackfill(store, loaded, { from: Date.parse('2024-01-01'), to: Date.parse('2024-02-01') });
 * ```
 */
export async function planBackfill(
  store: RunStore,
  loaded: LoadedPipeline,
  options: BackfillOptions,
): Promise<BackfillPlan> {
  const { pipeline } = loaded;
  const schedule = pipeline.orchestration.schedule;
  if (schedule === undefined)
    throw new ConfigError([
      {
        code: 'no-schedule',
        message: `pipeline "${pipeline.name}" has no schedule, so it has no intervals to backfill`,
        hint: "give it one, e.g. schedule: { cron: '0 2 * * *' }, or use sluice trigger",
      },
    ]);
  if (!(options.from < options.to))
    throw new ConfigError([
      {
        code: 'invalid-range',
        message: '--from must be before --to',
        hint: 'e.g. --from 2024-01-01 --to 2024-02-01',
      },
    ]);
  const clock = scheduleClock(schedule, pipeline.name);
  const first =
    clock.previous(options.from) === options.from ? options.from : clock.next(options.from);
  const intervals = first === undefined ? [] : dueIntervals(clock, first, options.to);
  const existing = await store.runStates(pipeline.name, intervals.map(intervalRunKey));
  const rerun = RERUN[options.reprocess ?? 'failed'];
  const planned = intervals.map((interval): PlannedInterval => {
    const state = existing.get(intervalRunKey(interval));
    const action = state === undefined ? 'create' : rerun.includes(state) ? 'rerun' : 'skip';
    return { interval, action, existing: state };
  });
  if (options.reverse === true) planned.reverse();
  return { pipeline: pipeline.name, options, intervals: planned };
}

/**
 * Submits a planned backfill in bulk: records the backfill, creates the missing runs and puts
 * the reruns back in the queue, in the plan's order.
 *
 * @example
 * ```ts
 * const { backfillId, created, rerun } = await submitBackfill(store, loaded, plan);
 * ```
 */
export async function submitBackfill(
  store: RunStore,
  loaded: LoadedPipeline,
  plan: BackfillPlan,
): Promise<{ readonly backfillId: string; readonly created: number; readonly rerun: number }> {
  const backfillId = newRunId().replace(/^run_/, 'backfill_');
  const runs = plan.intervals
    .filter((p) => p.action === 'create')
    .map((p) => ({
      ...pipelineRun(loaded.pipeline, loaded.codeHash, 'backfill', p.interval),
      backfillId,
      useCache: plan.options.useCache === true,
    }));
  const created = await store.createBackfill(
    {
      id: backfillId,
      pipeline: plan.pipeline,
      range: { start: plan.options.from, end: plan.options.to },
      ...(plan.options.maxParallel === undefined ? {} : { maxParallel: plan.options.maxParallel }),
    },
    runs,
  );
  const rerun = await store.requeueRuns(
    plan.pipeline,
    plan.intervals.filter((p) => p.action === 'rerun').map((p) => intervalRunKey(p.interval)),
    RERUN[plan.options.reprocess ?? 'failed'],
    {
      backfillId,
      maxAttempts: retryPolicy(loaded.pipeline.orchestration.retries).retries + 1,
      useCache: plan.options.useCache === true,
    },
  );
  return { backfillId, created: created.length, rerun };
}
