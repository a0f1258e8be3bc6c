import { z } from 'zod';
import type { Project } from '../../orchestrator/project.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { RunState, TaskRecord } from '../../orchestrator/run-types.js';
import { RUN_STATES, RUN_TRIGGERS } from '../../orchestrator/run-types.js';
import { decodeRunCursor, encodeRunCursor } from './cursor.js';
import { readQuarantine, readRunReport } from './run-files.js';
import type { RouteSpec } from './route-table.js';
import { APIError, defineRoute } from './route-table.js';
import type { DAGStep } from './run-views.js';
import { dagSteps, duration, findRun, latestTasks, shorten, toRunSummary } from './run-views.js';
import {
  RunErrorSchema,
  RunIdParams,
  RunSummarySchema,
  cursorQuery,
  limitQuery,
  optionalQuery,
} from './schemas.js';

/** What the run routes read. */
export interface RunRouteDeps {
  readonly store: RunStore;
  readonly project: Project;
}

const StepDetailSchema = z.object({
  id: z.string(),
  kind: z.string(),
  inputs: z.array(z.string()),
  state: z.enum([...RUN_STATES, 'pending']).describe("'pending' when the step has no task yet"),
  attempt: z.number().int().nullable(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  rowsIn: z.number().nullable(),
  rowsOut: z.number().nullable(),
  cached: z.boolean(),
  error: RunErrorSchema,
});

const EventSchema = z.object({
  id: z.number().int(),
  at: z.number(),
  kind: z.string(),
  data: z.record(z.string(), z.unknown()),
});

const LogLineSchema = z.object({
  at: z.number().nullable(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
});

const QualitySchema = z.object({
  results: z.array(
    z.object({
      step: z.string(),
      suite: z.string(),
      success: z.boolean(),
      expectations: z.array(
        z.object({
          expectation: z
            .string()
            .describe('the expectation type, e.g. expect_column_values_to_not_be_null'),
          success: z.boolean(),
          severity: z.string().describe('error, warn or quarantine'),
          unexpectedCount: z.number().nullable(),
          unexpectedPercent: z.number().nullable(),
        }),
      ),
    }),
  ),
});

const StepParams = RunIdParams.extend({ step: z.string().describe('the step id') });

/** `state=a,b`: known run states, or a 400 naming the unknown one. */
const statesQuery = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined || text === '') return undefined;
    const states = text.split(',').map((s) => s.trim());
    const unknown = states.find((s) => !(RUN_STATES as readonly string[]).includes(s));
    if (unknown !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown state "${shorten(unknown)}"; use one or more of ${RUN_STATES.join(', ')}, comma-separated`,
      });
      return z.NEVER;
    }
    return states as RunState[];
  })
  .describe(`comma-separated states: ${RUN_STATES.join(', ')}`);

/**
 * The read routes of runs: the filtered, cursor-paged list, one run with its planned steps and
 * events, a step's log lines, quality results and quarantined samples.
 *
 * @example
 * ```ts
 * mountRoutes(app, runRoutes({ store, project }), mountOptions);
 * ```
 */
export function runRoutes(deps: RunRouteDeps): RouteSpec[] {
  const { store, project } = deps;
  /** The planned steps of a run's pipeline, or none when it no longer loads. */
  const plannedSteps = async (pipeline: string): Promise<DAGStep[]> => {
    try {
      return dagSteps(await project.load(pipeline));
    } catch {
      return [];
    }
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/runs',
      role: 'read',
      tag: 'runs',
      summary: 'Runs, newest first, filtered and paged by an opaque cursor',
      query: z.object({
        pipeline: optionalQuery(z.string().max(256)).describe('only runs of this pipeline'),
        state: statesQuery,
        trigger: optionalQuery(z.enum(RUN_TRIGGERS)).describe(
          `only runs created so: ${RUN_TRIGGERS.join(', ')}`,
        ),
        limit: limitQuery(1000, 50),
        cursor: cursorQuery,
      }),
      response: z.object({ runs: z.array(RunSummarySchema), nextCursor: z.string().nullable() }),
      handler: async ({ query }) => {
        const before = query.cursor === undefined ? undefined : decodeRunCursor(query.cursor);
        const page = await store.listRuns({
          limit: query.limit + 1,
          ...(query.pipeline === undefined ? {} : { pipeline: query.pipeline }),
          ...(query.state === undefined ? {} : { states: query.state }),
          ...(query.trigger === undefined ? {} : { trigger: query.trigger }),
          ...(before === undefined ? {} : { before }),
        });
        const runs = page.slice(0, query.limit);
        const last = runs.at(-1);
        return {
          runs: runs.map(toRunSummary),
          nextCursor:
            page.length > query.limit && last !== undefined
              ? encodeRunCursor({ queuedAt: last.queuedAt, id: last.id })
              : null,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:id',
      role: 'read',
      tag: 'runs',
      summary: 'One run: every planned step with its latest attempt, and its events',
      params: RunIdParams,
      response: z.object({
        run: RunSummarySchema,
        steps: z
          .array(StepDetailSchema)
          .describe('topological order; then steps no longer planned'),
        events: z.array(EventSchema).describe('oldest first, at most 1000'),
      }),
      errors: [404],
      handler: async ({ params }) => {
        const run = await findRun(store, params.id);
        const tasks = latestTasks(await store.listTasks(run.id));
        const planned = await plannedSteps(run.pipeline);
        const known = new Set(planned.map((step) => step.id));
        const extra = [...tasks.keys()]
          .filter((id) => !known.has(id))
          .map((id) => ({ id, kind: 'unknown', inputs: [] }));
        const events = (await store.listEvents({ runId: run.id, limit: 1_000 })).reverse();
        return {
          run: toRunSummary(run),
          steps: [...planned, ...extra].map((step) => stepDetail(step, tasks.get(step.id))),
          events: events.map((event) => ({
            id: event.id,
            at: event.at,
            kind: event.kind,
            data: { ...event.data },
          })),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:id/steps/:step/logs',
      role: 'read',
      tag: 'runs',
      summary: "A step's log: each attempt's start and end, its rows and error, and its events",
      description:
        'Sluice keeps no free-text log per step in the run store; the lines are built from the ' +
        "step's task attempts, the run report's step line and the run's events that name the step.",
      params: StepParams,
      response: z.object({ lines: z.array(LogLineSchema) }),
      errors: [404],
      handler: async ({ params }) => {
        const run = await findRun(store, params.id);
        const tasks = (await store.listTasks(run.id)).filter((t) => t.step === params.step);
        const planned = await plannedSteps(run.pipeline);
        if (tasks.length === 0 && !planned.some((step) => step.id === params.step))
          throw new APIError(
            404,
            'not_found',
            `run ${run.id} has no step "${shorten(params.step)}"; its steps are in GET /api/v1/runs/${run.id}`,
          );
        const lines: z.output<typeof LogLineSchema>[] = [];
        for (const task of tasks) lines.push(...taskLines(task));
        const report = await readRunReport(project.stateDir, run.id);
        const reported = report?.steps.find((step) => step.id === params.step);
        if (reported !== undefined)
          lines.push({
            at: Date.parse(report?.endedAt ?? '') || null,
            level: reported.status === 'failed' ? 'error' : 'info',
            message: `report: ${reported.status}, rows in ${String(reported.rowsIn)}, out ${String(reported.rowsOut)}, quarantined ${reported.rowsQuarantined}`,
            data: JSON.parse(JSON.stringify(reported)) as Record<string, unknown>,
          });
        for (const event of (await store.listEvents({ runId: run.id, limit: 1_000 })).reverse())
          if (event.data['step'] === params.step)
            lines.push({
              at: event.at,
              level: 'info',
              message: event.kind,
              data: { ...event.data },
            });
        lines.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
        return { lines };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:id/quality',
      role: 'read',
      tag: 'runs',
      summary: "The run's quality results: each check step's suite and expectations",
      params: RunIdParams,
      response: QualitySchema,
      errors: [404],
      handler: async ({ params }) => {
        const run = await findRun(store, params.id);
        const report = await readRunReport(project.stateDir, run.id);
        const fromReport = (report?.steps ?? []).flatMap((step) =>
          step.quality === undefined
            ? []
            : [
                {
                  step: step.id,
                  suite: step.quality.suite_name,
                  success: step.quality.success,
                  expectations: step.quality.results.map((result) => ({
                    expectation: result.expectation_config.expectation_type,
                    success: result.success,
                    severity: result.expectation_config.severity,
                    unexpectedCount: result.result.unexpected_count ?? null,
                    unexpectedPercent: result.result.unexpected_percent ?? null,
                  })),
                },
              ],
        );
        if (fromReport.length > 0) return { results: fromReport };
        // No report on this machine: the suite outcomes the store keeps, without expectations.
        const events = (await store.listEvents({ runId: run.id, limit: 1_000 })).reverse();
        return {
          results: events
            .filter((event) => event.kind === 'quality.result')
            .map((event) => ({
              step: String(event.data['step']),
              suite: String(event.data['suite']),
              success: event.data['success'] === true,
              expectations: [],
            })),
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/runs/:id/quarantine',
      role: 'read',
      tag: 'runs',
      summary: 'Records the run quarantined, with their reasons and original bytes',
      params: RunIdParams,
      query: z.object({
        step: optionalQuery(z.string().max(256)).describe('only this step'),
        limit: limitQuery(1000, 100),
      }),
      response: z.object({
        samples: z.array(z.object({ step: z.string(), reason: z.string(), record: z.string() })),
        total: z.number().int().describe('records quarantined in all (of the step, if given)'),
      }),
      errors: [400, 404],
      handler: async ({ params, query }) => {
        const run = await findRun(store, params.id);
        return readQuarantine(project.stateDir, run.id, query.step, query.limit);
      },
    }),
  ];
}

function stepDetail(
  step: DAGStep,
  task: TaskRecord | undefined,
): z.output<typeof StepDetailSchema> {
  return {
    id: step.id,
    kind: step.kind,
    inputs: step.inputs,
    state: task?.state ?? 'pending',
    attempt: task?.attempt ?? null,
    startedAt: task?.startedAt ?? null,
    finishedAt: task?.finishedAt ?? null,
    durationMs: duration(task?.startedAt, task?.finishedAt),
    rowsIn: task?.rowsIn ?? null,
    rowsOut: task?.rowsOut ?? null,
    cached: task?.cached === true,
    error:
      task?.error === undefined ? null : { code: task.error.code, message: task.error.message },
  };
}

function taskLines(task: TaskRecord): z.output<typeof LogLineSchema>[] {
  const data = { attempt: task.attempt };
  const lines: z.output<typeof LogLineSchema>[] = [];
  if (task.startedAt !== undefined)
    lines.push({
      at: task.startedAt,
      level: 'info',
      message: `attempt ${task.attempt} started`,
      data,
    });
  if (task.cached === true)
    lines.push({
      at: task.startedAt ?? task.finishedAt ?? null,
      level: 'info',
      message: `attempt ${task.attempt}: output reused from the task cache`,
      data,
    });
  if (task.finishedAt !== undefined || task.error !== undefined)
    lines.push({
      at: task.finishedAt ?? null,
      level: task.state === 'failed' ? 'error' : task.state === 'canceled' ? 'warn' : 'info',
      message:
        task.error === undefined
          ? `attempt ${task.attempt} ${task.state}: rows in ${String(task.rowsIn ?? '-')}, out ${String(task.rowsOut ?? '-')}`
          : `attempt ${task.attempt} ${task.state}: ${task.error.code}: ${task.error.message}`,
      data: {
        ...data,
        state: task.state,
        rowsIn: task.rowsIn ?? null,
        rowsOut: task.rowsOut ?? null,
        ...(task.error === undefined ? {} : { error: task.error }),
      },
    });
  return lines;
}
