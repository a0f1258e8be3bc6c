import type { z } from 'zod';
import type { ScheduleSpec } from '../../define/pipeline.js';
import type { LoadedPipeline, Project } from '../../orchestrator/project.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { RunRecord, TaskRecord } from '../../orchestrator/run-types.js';
import { scheduleClock } from '../../orchestrator/schedule.js';
import { planPipeline } from '../../plan/planner.js';
import { defaultRegistry } from '../../registry.js';
import { APIError } from './route-table.js';
import type { RunSummarySchema } from './schemas.js';

/** A run as `/api/v1` answers it. */
export type RunSummary = z.output<typeof RunSummarySchema>;

/**
 * A run record in the API's shape: epoch milliseconds, nulls for what is not set.
 *
 * @example
 * ```ts
 * const summary = toRunSummary(await store.getRun(id));
 * ```
 */
export function toRunSummary(run: RunRecord): RunSummary {
  return {
    id: run.id,
    pipeline: run.pipeline,
    state: run.state,
    trigger: run.trigger,
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    queuedAt: run.queuedAt,
    startedAt: run.startedAt ?? null,
    finishedAt: run.finishedAt ?? null,
    durationMs: duration(run.startedAt, run.finishedAt),
    error: run.error === undefined ? null : { code: run.error.code, message: run.error.message },
    params: { ...run.params },
    interval: run.interval === undefined ? null : { ...run.interval },
    triggeredBy: run.triggeredBy ?? null,
    backfillId: run.backfillId ?? null,
  };
}

/**
 * `finishedAt - startedAt`, or null when either is missing.
 *
 * @example
 * ```ts
 * duration(1_000, 1_250); // 250
 * ```
 */
export function duration(start: number | undefined, end: number | undefined): number | null {
  return start === undefined || end === undefined ? null : Math.max(0, end - start);
}

/**
 * The latest attempt's task of each step of a run, from its tasks in any order.
 *
 * @example
 * ```ts
 * const byStep = latestTasks(await store.listTasks(runId)); // Map { 'orders' => {...} }
 * ```
 */
export function latestTasks(tasks: readonly TaskRecord[]): Map<string, TaskRecord> {
  const latest = new Map<string, TaskRecord>();
  for (const task of tasks) {
    const seen = latest.get(task.step);
    if (seen === undefined || task.attempt >= seen.attempt) latest.set(task.step, task);
  }
  return latest;
}

/** A step of a pipeline's DAG. */
export interface DAGStep {
  readonly id: string;
  readonly kind: string;
  readonly inputs: string[];
}

/**
 * The steps of a loaded pipeline in topological order (inputs before their consumers), as the
 * planner orders them. A pipeline that does not plan is a 400 naming its problems.
 *
 * @example
 * ```ts
 * dagSteps(await project.load('orders')); // [{ id: 'orders', kind: 'source', inputs: [] }, ...]
 * ```
 */
export function dagSteps(loaded: LoadedPipeline): DAGStep[] {
  // The project keeps one loaded pipeline per code hash: its plan is made once, not per request.
  let steps = plannedSteps.get(loaded);
  if (steps === undefined) plannedSteps.set(loaded, (steps = planSteps(loaded)));
  return steps;
}

const plannedSteps = new WeakMap<LoadedPipeline, DAGStep[]>();

function planSteps(loaded: LoadedPipeline): DAGStep[] {
  const planned = planPipeline(loaded.pipeline, { connectors: defaultRegistry.lookup });
  if (!planned.ok)
    throw new APIError(
      400,
      'bad_request',
      `pipeline "${loaded.pipeline.name}" does not plan: ${planned.diagnostics
        .slice(0, 3)
        .map((d) => d.message)
        .join('; ')}; run sluice check on its file`,
    );
  return planned.plan.steps.map((step) => ({
    id: step.id,
    kind: step.kind,
    inputs: [...step.inputs],
  }));
}

/**
 * A schedule for people: `every 1h`, or the cron expression with its time zone.
 *
 * @example
 * ```ts
 * scheduleText({ cron: '0 2 * * *', timezone: 'Europe/Berlin' }); // "0 2 * * * (Europe/Berlin)"
 * ```
 */
export function scheduleText(spec: ScheduleSpec | undefined): string | null {
  if (spec === undefined) return null;
  if ('every' in spec) return `every ${String(spec.every)}`;
  return spec.timezone === undefined ? spec.cron : `${spec.cron} (${spec.timezone})`;
}

/**
 * When the scheduler next queues a run of a pipeline: the next tick of its schedule after `now`
 * (null when it has none, is paused, or its `end` has passed).
 *
 * @example
 * ```ts
 * nextRunAt(loaded, false, Date.now()); // 1767225600000
 * ```
 */
export function nextRunAt(loaded: LoadedPipeline, paused: boolean, now: number): number | null {
  const { schedule, end } = loaded.pipeline.orchestration;
  if (schedule === undefined || paused) return null;
  let next: number | undefined;
  try {
    next = scheduleClock(schedule, loaded.pipeline.name).next(now);
  } catch {
    return null;
  }
  if (next === undefined) return null;
  if (end !== undefined && Number.isFinite(Date.parse(end)) && next > Date.parse(end)) return null;
  return next;
}

const PIPELINE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Loads a pipeline named in a path; a name that cannot be one, or that the project lacks, is 404.
 *
 * @example
 * ```ts
 * const loaded = await loadPipeline(project, c.req.param('name'));
 * ```
 */
export async function loadPipeline(project: Project, name: string): Promise<LoadedPipeline> {
  if (!PIPELINE_NAME.test(name)) throw pipelineNotFound(name);
  const files = await project.pipelineFiles();
  if (!files.has(name)) throw pipelineNotFound(name);
  return project.load(name);
}

/**
 * The 404 of a pipeline the project does not define.
 *
 * @example
 * ```ts
 * throw pipelineNotFound('nope');
 * ```
 */
export function pipelineNotFound(name: string): APIError {
  return new APIError(
    404,
    'not_found',
    `no pipeline "${shorten(name)}" in this project; list them with GET /api/v1/pipelines`,
  );
}

/**
 * A run named in a path, or 404.
 *
 * @example
 * ```ts
 * const run = await findRun(store, c.req.param('id'));
 * ```
 */
export async function findRun(store: RunStore, id: string): Promise<RunRecord> {
  const run = id.length > 256 ? undefined : await store.getRun(id);
  if (run === undefined)
    throw new APIError(
      404,
      'not_found',
      `no run "${shorten(id)}"; list runs with GET /api/v1/runs`,
    );
  return run;
}

/**
 * Text cut to 80 characters (with `...`), for echoing what a client sent in a message.
 *
 * @example
 * ```ts
 * shorten('x'.repeat(100)); // "xxx...xxx..."
 * ```
 */
export function shorten(text: string): string {
  // Only printable ASCII, and no markup: a client that shows the message as HTML stays safe.
  const printable = text.replace(/[^\x20-\x7e]|[<>&"'`]/g, '?');
  return printable.length > 80 ? `${printable.slice(0, 80)}...` : printable;
}
