import { ConfigError } from '../core/errors.js';
import { newRunId } from '../core/ids.js';
import type { OrchestrationOptions, Pipeline } from '../define/pipeline.js';
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

/**
 * A part of the asked range that a backfill leaves out, and why: it lies before the pipeline's
 * `start` or after its `end`.
 */
export interface BackfillCut {
  /** Where the part left out begins (epoch milliseconds). */
  readonly from: number;
  /** Where it ends. */
  readonly to: number;
  /** `before-start`: the pipeline's `start` is later; `after-end`: its `end` is earlier. */
  readonly reason: 'before-start' | 'after-end';
  /** The pipeline's `start` or `end` that cut the range. */
  readonly bound: number;
  /** One line for people, e.g. `2023-12-01T00:00:00.000Z .. 2024-01-01T00:00:00.000Z: before the pipeline's start`. */
  readonly message: string;
}

/**
 * The cuts of a plan as JSON for `--json` and the HTTP API: instants as ISO timestamps.
 *
 * @example
 * ```ts
 * cutsJSON(plan.cuts); // [{ from: '2023-12-01T00:00:00.000Z', to: '2024-01-01T00:00:00.000Z', reason: 'before-start', ... }]
 * ```
 */
export function cutsJSON(cuts: readonly BackfillCut[]): Record<string, string>[] {
  return cuts.map((cut) => ({
    from: new Date(cut.from).toISOString(),
    to: new Date(cut.to).toISOString(),
    reason: cut.reason,
    bound: new Date(cut.bound).toISOString(),
    message: cut.message,
  }));
}

/** A backfill's plan, before anything is submitted. */
export interface BackfillPlan {
  readonly pipeline: string;
  readonly options: BackfillOptions;
  readonly intervals: readonly PlannedInterval[];
  /** Parts of `from`..`to` left out because they lie outside the pipeline's `start`..`end`. */
  readonly cuts: readonly BackfillCut[];
}

/** The instants a pipeline's runs are bounded by; either may be missing. */
export interface PipelineBounds {
  /** No interval starts before this (the pipeline's `start`). */
  readonly start: number | undefined;
  /** No interval ends after this (the pipeline's `end`). */
  readonly end: number | undefined;
}

/**
 * The pipeline's `start` and `end` as instants: no scheduled, caught-up or backfilled interval
 * starts before `start` or ends after `end`. A date that does not parse, or an `end` not after
 * `start`, is a {@link ConfigError}.
 *
 * @example
 * ```ts
 * pipelineBounds(loaded.pipeline); // { start: 1704067200000, end: undefined }
 * ```
 */
export function pipelineBounds(pipeline: Pipeline): PipelineBounds {
  const { orchestration, name } = pipeline;
  const parse = (key: 'start' | 'end'): number | undefined => {
    const value = orchestration[key];
    if (value === undefined) return undefined;
    const instant = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(instant))
      throw new ConfigError([
        {
          code: `invalid-${key}`,
          message: `pipeline "${name}": ${key} ${JSON.stringify(value)} is not a date`,
          hint: `give an ISO date or time, e.g. ${key}: '2024-01-01' or '2024-01-01T00:00:00Z'`,
        },
      ]);
    return instant;
  };
  const start = parse('start');
  const end = parse('end');
  if (start !== undefined && end !== undefined && !(start < end))
    throw new ConfigError([
      {
        code: 'invalid-end',
        message: `pipeline "${name}": end ${String(orchestration.end)} is not after start ${String(orchestration.start)}`,
        hint: 'end is the latest instant an interval may end at; make it later than start',
      },
    ]);
  return { start, end };
}

const RERUN: Readonly<Record<Reprocess, readonly RunState[]>> = {
  failed: ['failed', 'canceled'],
  all: FINISHED_STATES,
  none: [],
};

/**
 * Plans a backfill over the pipeline's schedule: each interval in the range gets a new run,
 * a rerun of its finished run (per `reprocess`), or nothing (its run exists, or is queued or
 * running). The range is narrowed to the pipeline's `start` and `end` (see
 * {@link pipelineBounds}); what that cuts off is listed in the plan's `cuts`. Nothing is written.
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
  const { from, to, cuts } = boundedRange(
    pipeline.orchestration,
    pipelineBounds(pipeline),
    options,
  );
  const first = from >= to ? undefined : clock.previous(from) === from ? from : clock.next(from);
  const intervals = first === undefined ? [] : dueIntervals(clock, first, to);
  const existing = await store.runStates(pipeline.name, intervals.map(intervalRunKey));
  const rerun = RERUN[options.reprocess ?? 'failed'];
  const planned = intervals.map((interval): PlannedInterval => {
    const state = existing.get(intervalRunKey(interval));
    const action = state === undefined ? 'create' : rerun.includes(state) ? 'rerun' : 'skip';
    return { interval, action, existing: state };
  });
  if (options.reverse === true) planned.reverse();
  return { pipeline: pipeline.name, options, intervals: planned, cuts };
}

/** The asked range narrowed to the pipeline's bounds, with what was cut off. */
function boundedRange(
  orchestration: OrchestrationOptions,
  bounds: PipelineBounds,
  options: BackfillOptions,
): { from: number; to: number; cuts: BackfillCut[] } {
  const iso = (t: number): string => new Date(t).toISOString();
  const cuts: BackfillCut[] = [];
  let { from, to } = options;
  if (bounds.start !== undefined && from < bounds.start) {
    const cutTo = Math.min(bounds.start, to);
    cuts.push({
      from,
      to: cutTo,
      reason: 'before-start',
      bound: bounds.start,
      message: `${iso(from)} .. ${iso(cutTo)}: before the pipeline's start (${String(orchestration.start)}); no interval starts before it`,
    });
    from = bounds.start;
  }
  if (bounds.end !== undefined && to > bounds.end) {
    const cutFrom = Math.max(bounds.end, options.from);
    cuts.push({
      from: cutFrom,
      to,
      reason: 'after-end',
      bound: bounds.end,
      message: `${iso(cutFrom)} .. ${iso(to)}: after the pipeline's end (${String(orchestration.end)}); no interval ends after it`,
    });
    to = bounds.end;
  }
  return { from, to, cuts };
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
