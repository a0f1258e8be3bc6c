import { z } from 'zod';
import { newRunId } from '../../core/ids.js';
import { planBackfill, submitBackfill } from '../../orchestrator/backfill.js';
import { pipelineRun } from '../../orchestrator/pipeline-run.js';
import type { Project } from '../../orchestrator/project.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import { triggerRunOnce } from '../../orchestrator/trigger.js';
import type { Principal } from '../api-auth.js';
import { auditActorOf } from '../api-auth.js';
import { IDEMPOTENCY_KEY } from '../request-limits.js';
import type { RouteSpec } from './route-table.js';
import { APIError, defineRoute } from './route-table.js';
import { findRun, loadPipeline, toRunSummary } from './run-views.js';
import { RUN_STATES } from '../../orchestrator/run-types.js';
import { PipelineNameParams, RunIdParams, RunSummarySchema } from './schemas.js';

/** What the action routes change. */
export interface ActionRouteDeps {
  readonly store: RunStore;
  readonly project: Project;
}

/** An instant: epoch milliseconds, or an ISO date or time. */
const instant = z
  .union([z.number().int(), z.string().max(64)])
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : Date.parse(value);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be epoch milliseconds or an ISO date, e.g. "2024-01-01"',
      });
      return z.NEVER;
    }
    return ms;
  })
  .describe('epoch milliseconds or an ISO date or time');

const BackfillResultSchema = z.object({
  pipeline: z.string(),
  dryRun: z.boolean(),
  backfillId: z.string().nullable(),
  intervals: z.array(
    z.object({
      start: z.number(),
      end: z.number(),
      action: z.enum(['create', 'rerun', 'skip']),
    }),
  ),
  create: z.number().int(),
  rerun: z.number().int(),
  skip: z.number().int(),
});

/**
 * The action routes: trigger, cancel, retry, pause/unpause and backfill. Each runs through
 * `store.withActor(token)`, so the audit log and the run's events record who asked.
 *
 * @example
 * ```ts
 * mountRoutes(app, actionRoutes({ store, project }), mountOptions);
 * ```
 */
export function actionRoutes(deps: ActionRouteDeps): RouteSpec[] {
  const { project } = deps;
  const storeOf = (who: Principal | undefined): RunStore =>
    who === undefined ? deps.store : deps.store.withActor(who.name, auditActorOf(who));
  return [
    defineRoute({
      method: 'post',
      path: '/api/v1/pipelines/:name/runs',
      role: 'trigger',
      tag: 'actions',
      summary: 'Queue a run of a pipeline now, with params',
      description:
        'An `Idempotency-Key` header names the run: sending it again answers the same run.',
      params: PipelineNameParams,
      body: z
        .object({
          params: z
            .record(z.string().max(256), z.string().max(65_536))
            .optional()
            .describe('values of params the pipeline declares'),
        })
        .strict(),
      response: RunSummarySchema,
      status: 202,
      errors: [400, 404, 409, 413],
      handler: async ({ params, body, who, c }) => {
        await loadPipeline(project, params.name);
        const key = c.req.header('idempotency-key');
        if (key !== undefined && !IDEMPOTENCY_KEY.test(key))
          throw new APIError(
            400,
            'bad_request',
            'header "Idempotency-Key": must be 1 to 255 printable ASCII characters',
          );
        try {
          const { run, replayed } = await triggerRunOnce(storeOf(who), project, params.name, {
            ...(body.params === undefined ? {} : { params: body.params }),
            ...(key === undefined ? {} : { idempotencyKey: key }),
          });
          if (replayed) c.header('Idempotent-Replayed', 'true');
          return toRunSummary(run);
        } catch (error) {
          if ((error as { code?: unknown }).code === 'IDEMPOTENCY_CONFLICT')
            throw new APIError(409, 'conflict', (error as Error).message);
          throw error;
        }
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/runs/:id/cancel',
      role: 'admin',
      tag: 'actions',
      summary: 'Cancel a run: a queued one at once, a running one at its next heartbeat',
      params: RunIdParams,
      response: z.object({ id: z.string(), state: z.enum(RUN_STATES) }),
      errors: [404],
      handler: async ({ params, who }) => {
        const run = await findRun(deps.store, params.id);
        const state = await storeOf(who).requestCancel(run.id);
        return { id: run.id, state: state ?? run.state };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/runs/:id/retry',
      role: 'trigger',
      tag: 'actions',
      summary: 'Retry a failed or canceled run as a new run that reuses the task cache',
      description:
        'Queues a new run of the same pipeline, params and interval that reuses the task cache, ' +
        'so steps whose inputs and code are unchanged since they last succeeded with the cache on ' +
        'are not run again. 409 `not_retryable` unless the run failed or was canceled.',
      params: RunIdParams,
      response: RunSummarySchema,
      status: 202,
      errors: [400, 404, 409],
      handler: async ({ params, who }) => {
        const source = await findRun(deps.store, params.id);
        if (source.state !== 'failed' && source.state !== 'canceled')
          throw new APIError(
            409,
            'not_retryable',
            `run ${source.id} is ${source.state}; only a failed or canceled run can be retried (trigger a new run instead)`,
          );
        const loaded = await loadPipeline(project, source.pipeline);
        const store = storeOf(who);
        await store.registerPipeline({
          name: loaded.pipeline.name,
          codeHash: loaded.codeHash,
          file: loaded.file,
          ...(loaded.pipeline.orchestration.maxActiveRuns === undefined
            ? {}
            : { maxActiveRuns: loaded.pipeline.orchestration.maxActiveRuns }),
        });
        const id = newRunId();
        const [run] = await store.enqueueRuns([
          {
            ...pipelineRun(loaded.pipeline, loaded.codeHash, 'manual', source.interval),
            id,
            // Its own key: the source run keeps the interval's key.
            runKey: `retry:${source.id}:${id}`,
            params: source.params,
            useCache: true,
          },
        ]);
        if (run === undefined) throw new Error(`the retry of ${source.id} was not created`);
        await store.appendEvent('run.retry_of', {
          pipeline: run.pipeline,
          runId: run.id,
          data: { retryOf: source.id, ...(who === undefined ? {} : { actor: who.name }) },
        });
        return toRunSummary(run);
      },
    }),
    ...[true, false].map((paused) =>
      defineRoute({
        method: 'post',
        path: `/api/v1/pipelines/:name/${paused ? 'pause' : 'unpause'}`,
        role: 'admin',
        tag: 'actions',
        summary: paused
          ? 'Pause a pipeline: the scheduler queues no run of it'
          : 'Unpause a pipeline',
        params: PipelineNameParams,
        response: z.object({ pipeline: z.string(), paused: z.boolean() }),
        errors: [404],
        handler: async ({ params, who }) => {
          await loadPipeline(project, params.name);
          await storeOf(who).setPaused(params.name, paused);
          return { pipeline: params.name, paused };
        },
      }),
    ),
    defineRoute({
      method: 'post',
      path: '/api/v1/pipelines/:name/backfills',
      role: 'admin',
      tag: 'actions',
      summary: 'Backfill the intervals of a date range, or preview it with dryRun',
      description:
        'Answers 200 for a dry run (nothing queued) and 202 when the runs were queued. ' +
        '`reprocess` says which intervals with a finished run run again (default failed).',
      params: PipelineNameParams,
      body: z
        .object({
          from: instant,
          to: instant,
          reprocess: z.enum(['failed', 'all', 'none']).optional(),
          dryRun: z.boolean().optional(),
        })
        .strict(),
      response: BackfillResultSchema,
      status: 202,
      otherStatus: 200,
      errors: [400, 404, 413],
      handler: async ({ params, body, who }) => {
        const loaded = await loadPipeline(project, params.name);
        if (!(body.from < body.to))
          throw new APIError(400, 'bad_request', 'body field "to": must be after "from"');
        const store = storeOf(who);
        const plan = await planBackfill(store, loaded, {
          from: body.from,
          to: body.to,
          reprocess: body.reprocess ?? 'failed',
        });
        const submitted =
          body.dryRun === true ? undefined : await submitBackfill(store, loaded, plan);
        const count = (action: string): number =>
          plan.intervals.filter((p) => p.action === action).length;
        return {
          status: submitted === undefined ? 200 : 202,
          body: {
            pipeline: plan.pipeline,
            dryRun: submitted === undefined,
            backfillId: submitted?.backfillId ?? null,
            intervals: plan.intervals.map((p) => ({
              start: p.interval.start,
              end: p.interval.end,
              action: p.action,
            })),
            create: count('create'),
            rerun: count('rerun'),
            skip: count('skip'),
          },
        };
      },
    }),
  ];
}
