import { z } from 'zod';
import type { Project } from '../../orchestrator/project.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import { decodeRunCursor, encodeRunCursor } from './cursor.js';
import type { RouteSpec } from './route-table.js';
import { defineRoute } from './route-table.js';
import {
  dagSteps,
  latestTasks,
  loadPipeline,
  nextRunAt,
  scheduleText,
  toRunSummary,
  duration,
} from './run-views.js';
import { RUN_STATES } from '../../orchestrator/run-types.js';
import { PipelineNameParams, RunSummarySchema, cursorQuery, limitQuery } from './schemas.js';

/** What the pipeline routes read. */
export interface PipelineRouteDeps {
  readonly store: RunStore;
  readonly project: Project;
}

const state = z.enum(RUN_STATES);

const PipelineListSchema = z.object({
  pipelines: z.array(
    z.object({
      name: z.string(),
      description: z.string().nullable(),
      owners: z.array(z.string()),
      schedule: z.string().nullable(),
      paused: z.boolean(),
      nextRunAt: z.number().nullable(),
      lastRuns: z
        .array(
          z.object({
            id: z.string(),
            state,
            startedAt: z.number().nullable(),
            finishedAt: z.number().nullable(),
          }),
        )
        .describe('newest first, at most 10'),
      loadError: z
        .string()
        .nullable()
        .optional()
        .describe('why the pipeline file did not load, when it did not'),
    }),
  ),
});

const StepSchema = z.object({
  id: z.string(),
  kind: z.string().describe('source, sql, transform, check or sink'),
  inputs: z.array(z.string()),
});

const PipelineDetailSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  owners: z.array(z.string()),
  schedule: z.string().nullable(),
  paused: z.boolean(),
  nextRunAt: z.number().nullable(),
  steps: z.array(StepSchema).describe('topological order'),
  latestRun: RunSummarySchema.nullable(),
  stepStates: z.record(z.string(), state).describe("the latest run's state of each step it ran"),
});

const CellSchema = z.object({
  state,
  rowsIn: z.number().nullable(),
  rowsOut: z.number().nullable(),
  durationMs: z.number().nullable(),
  cached: z.boolean(),
});

const GridSchema = z.object({
  steps: z.array(z.string()).describe('topological order'),
  runs: z
    .array(
      RunSummarySchema.extend({
        cells: z
          .record(z.string(), CellSchema)
          .describe(
            'the latest attempt of each step the run has a task for; steps without one are absent',
          ),
      }),
    )
    .describe('newest first'),
  nextCursor: z.string().nullable(),
});

/**
 * The read routes of pipelines: the list, one pipeline's definition and latest run, and the
 * runs x steps grid (one query for the page's runs, one for their tasks).
 *
 * @example
 * ```ts
 * mountRoutes(app, pipelineRoutes({ store, project }), mountOptions);
 * ```
 */
export function pipelineRoutes(deps: PipelineRouteDeps): RouteSpec[] {
  const { store, project } = deps;
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/pipelines',
      role: 'read',
      tag: 'pipelines',
      summary: 'Every pipeline of the project with its schedule, owners and last runs',
      response: PipelineListSchema,
      errors: [],
      handler: async () => {
        const names = [...(await project.pipelineFiles()).keys()];
        const paused = new Map((await store.listPipelines()).map((p) => [p.name, p.paused]));
        const now = Date.now();
        const pipelines = await Promise.all(
          names.map(async (name) => {
            const isPaused = paused.get(name) ?? false;
            const lastRuns = (await store.listRuns({ pipeline: name, limit: 10 })).map((run) => ({
              id: run.id,
              state: run.state,
              startedAt: run.startedAt ?? null,
              finishedAt: run.finishedAt ?? null,
            }));
            try {
              const loaded = await project.load(name);
              return {
                name,
                description: loaded.pipeline.description ?? null,
                owners: [...loaded.pipeline.owners],
                schedule: scheduleText(loaded.pipeline.orchestration.schedule),
                paused: isPaused,
                nextRunAt: nextRunAt(loaded, isPaused, now),
                lastRuns,
                loadError: null,
              };
            } catch (error) {
              return {
                name,
                description: null,
                owners: [],
                schedule: null,
                paused: isPaused,
                nextRunAt: null,
                lastRuns,
                loadError: (error as Error).message.slice(0, 500),
              };
            }
          }),
        );
        return { pipelines };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/pipelines/:name',
      role: 'read',
      tag: 'pipelines',
      summary: 'One pipeline: its steps (DAG), schedule and the state of its latest run',
      params: PipelineNameParams,
      response: PipelineDetailSchema,
      errors: [400, 404],
      handler: async ({ params }) => {
        const loaded = await loadPipeline(project, params.name);
        const paused = (await store.getPipeline(params.name))?.paused ?? false;
        const [latest] = await store.listRuns({ pipeline: params.name, limit: 1 });
        const stepStates: Record<string, z.output<typeof state>> = {};
        if (latest !== undefined)
          for (const [step, task] of latestTasks(await store.listTasks(latest.id)))
            stepStates[step] = task.state;
        return {
          name: params.name,
          description: loaded.pipeline.description ?? null,
          owners: [...loaded.pipeline.owners],
          schedule: scheduleText(loaded.pipeline.orchestration.schedule),
          paused,
          nextRunAt: nextRunAt(loaded, paused, Date.now()),
          steps: dagSteps(loaded),
          latestRun: latest === undefined ? null : toRunSummary(latest),
          stepStates,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/pipelines/:name/grid',
      role: 'read',
      tag: 'pipelines',
      summary: 'Runs x steps: a page of runs (newest first) with the state of each step',
      params: PipelineNameParams,
      query: z.object({ limit: limitQuery(200, 25), cursor: cursorQuery }),
      response: GridSchema,
      errors: [400, 404],
      handler: async ({ params, query }) => {
        const loaded = await loadPipeline(project, params.name);
        const before = query.cursor === undefined ? undefined : decodeRunCursor(query.cursor);
        const page = await store.listRuns({
          pipeline: params.name,
          limit: query.limit + 1,
          ...(before === undefined ? {} : { before }),
        });
        const more = page.length > query.limit;
        const runs = more ? page.slice(0, query.limit) : page;
        const tasksByRun = new Map<string, (typeof tasks)[number][]>();
        const tasks = await store.listTasksOf(runs.map((run) => run.id));
        for (const task of tasks) {
          const list = tasksByRun.get(task.runId) ?? [];
          list.push(task);
          tasksByRun.set(task.runId, list);
        }
        const last = runs.at(-1);
        return {
          steps: dagSteps(loaded).map((step) => step.id),
          runs: runs.map((run) => {
            const cells: Record<string, z.output<typeof CellSchema>> = {};
            for (const [step, task] of latestTasks(tasksByRun.get(run.id) ?? []))
              cells[step] = {
                state: task.state,
                rowsIn: task.rowsIn ?? null,
                rowsOut: task.rowsOut ?? null,
                durationMs: duration(task.startedAt, task.finishedAt),
                cached: task.cached === true,
              };
            return { ...toRunSummary(run), cells };
          }),
          nextCursor:
            more && last !== undefined
              ? encodeRunCursor({ queuedAt: last.queuedAt, id: last.id })
              : null,
        };
      },
    }),
  ];
}
