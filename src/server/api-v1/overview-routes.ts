import { z } from 'zod';
import { AlertStore } from '../../orchestrator/alert-store.js';
import type { Project } from '../../orchestrator/project.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { RouteSpec } from './route-table.js';
import { defineRoute } from './route-table.js';
import { toRunSummary } from './run-views.js';
import { RUN_STATES } from '../../orchestrator/run-types.js';
import { RunErrorSchema, RunSummarySchema } from './schemas.js';

/** What the session and overview routes read. */
export interface OverviewRouteDeps {
  readonly store: RunStore;
  readonly project: Project;
  /** Whether a request needs a token (the store has tokens, or `$SLUICE_API_TOKEN` is set). */
  readonly tokenRequired: () => Promise<boolean>;
  /** The workers' lease length, to tell when a worker holding a run was last seen (default 30 s). */
  readonly leaseMs?: number;
}

/** A scheduler unseen for longer than this is reported unhealthy. */
export const SCHEDULER_STALE_MS = 60_000;

const DAY_MS = 24 * 60 * 60 * 1000;

const OverviewSchema = z.object({
  scheduler: z.object({
    lastHeartbeatAt: z.number().nullable(),
    healthy: z.boolean().describe(`a scheduler heartbeat within ${SCHEDULER_STALE_MS / 1000} s`),
  }),
  workers: z
    .array(z.object({ id: z.string(), lastSeenAt: z.number(), running: z.number().int() }))
    .describe('workers holding runs now, from their leases'),
  runs24h: z.object({
    queued: z.number().int().describe('queued or waiting to retry'),
    running: z.number().int(),
    success: z.number().int(),
    failed: z.number().int(),
    canceled: z.number().int(),
    skipped: z.number().int(),
  }),
  failingPipelines: z
    .array(
      z.object({
        pipeline: z.string(),
        runId: z.string(),
        failedAt: z.number().nullable(),
        error: RunErrorSchema,
      }),
    )
    .describe('pipelines whose latest finished run failed'),
  firingAlerts: z.array(
    z.object({
      id: z.string(),
      rule: z.string(),
      severity: z.string(),
      since: z.number(),
      summary: z.string(),
    }),
  ),
  recentRuns: z.array(RunSummarySchema).describe('the 20 newest runs'),
});

/**
 * `GET /api/v1/session` (who the token is) and `GET /api/v1/overview` (scheduler and worker
 * health, runs of the last 24 h, failing pipelines, firing alerts, the newest runs).
 *
 * @example
 * ```ts
 * mountRoutes(app, overviewRoutes({ store, project, tokenRequired: () => gate.auth.required() }), options);
 * ```
 */
export function overviewRoutes(deps: OverviewRouteDeps): RouteSpec[] {
  const { store } = deps;
  const leaseMs = deps.leaseMs ?? 30_000;
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/session',
      role: 'read',
      tag: 'session',
      summary: "Who the request's token is and its role",
      response: z.object({
        name: z.string(),
        role: z.enum(['read', 'trigger', 'admin']),
        tokenRequired: z.boolean(),
      }),
      errors: [],
      handler: async ({ who }) => ({
        name: who?.name ?? 'anonymous',
        role: who?.role ?? 'admin',
        tokenRequired: await deps.tokenRequired(),
      }),
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/overview',
      role: 'read',
      tag: 'overview',
      summary:
        'Health of the scheduler and workers, runs of the last 24 h, failing pipelines, firing alerts',
      response: OverviewSchema,
      errors: [],
      handler: async () => {
        const now = Date.now();
        const [heartbeat] = await store.db.all(
          "SELECT max(seen_at) AS seen FROM heartbeats WHERE component = 'scheduler'",
        );
        const lastHeartbeatAt =
          heartbeat?.['seen'] === null || heartbeat?.['seen'] === undefined
            ? null
            : Number(heartbeat['seen']);
        const workers = await store.db.all(
          `SELECT lease_owner, count(*) AS running, max(lease_expires_at) AS expires FROM runs
           WHERE state = 'running' AND lease_owner IS NOT NULL GROUP BY lease_owner ORDER BY lease_owner`,
        );
        // One indexed count per state (runs_state_page), not a scan of every run.
        const runs24h = { queued: 0, running: 0, success: 0, failed: 0, canceled: 0, skipped: 0 };
        for (const state of RUN_STATES) {
          const [row] = await store.db.all(
            'SELECT count(*) AS n FROM runs WHERE state = ? AND queued_at >= ?',
            [state, now - DAY_MS],
          );
          const key = (state === 'up_for_retry' ? 'queued' : state) as keyof typeof runs24h;
          runs24h[key] += Number(row?.['n'] ?? 0);
        }
        const failingPipelines = [];
        const names = new Set([
          ...(await deps.project.pipelineFiles()).keys(),
          ...(await store.listPipelines()).map((p) => p.name),
        ]);
        for (const name of [...names].sort()) {
          const [row] = await store.db.all(
            `SELECT id FROM runs WHERE pipeline = ? AND finished_at IS NOT NULL
             ORDER BY finished_at DESC LIMIT 1`,
            [name],
          );
          const latest = row === undefined ? undefined : await store.getRun(String(row['id']));
          if (latest?.state === 'failed')
            failingPipelines.push({
              pipeline: name,
              runId: latest.id,
              failedAt: latest.finishedAt ?? null,
              error: latest.error === undefined ? null : { ...latest.error },
            });
        }
        const incidents = await new AlertStore(store.db).openIncidents();
        return {
          scheduler: {
            lastHeartbeatAt,
            healthy: lastHeartbeatAt !== null && now - lastHeartbeatAt <= SCHEDULER_STALE_MS,
          },
          workers: workers.map((row) => ({
            id: String(row['lease_owner']),
            lastSeenAt: Math.min(now, Number(row['expires'] ?? now) - leaseMs),
            running: Number(row['running']),
          })),
          runs24h,
          failingPipelines,
          firingAlerts: incidents
            .filter((incident) => incident.state === 'firing')
            .map((incident) => ({
              id: incident.fingerprint,
              rule: incident.rule,
              severity: incident.severity,
              since: incident.startsAt,
              summary: incident.summary,
            })),
          recentRuns: (await store.listRuns({ limit: 20 })).map(toRunSummary),
        };
      },
    }),
  ];
}
