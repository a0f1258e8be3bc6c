import type { RunRecord } from './run-types.js';

/**
 * A run as JSON for people and scripts: ISO timestamps, the logical date, nulls for what is
 * not set (what `sluice runs --json` and the HTTP API print).
 *
 * @example
 * ```ts
 * JSON.stringify(runSummary(await store.getRun(id)));
 * ```
 */
export function runSummary(run: RunRecord): Record<string, unknown> {
  return {
    id: run.id,
    pipeline: run.pipeline,
    state: run.state,
    trigger: run.trigger,
    logicalDate: run.interval === undefined ? null : iso(run.interval.start),
    intervalEnd: run.interval === undefined ? null : iso(run.interval.end),
    params: run.params,
    attempt: run.attempt,
    maxAttempts: run.maxAttempts,
    priority: run.priority,
    queuedAt: iso(run.queuedAt),
    startedAt: run.startedAt === undefined ? null : iso(run.startedAt),
    finishedAt: run.finishedAt === undefined ? null : iso(run.finishedAt),
    error: run.error ?? null,
    worker: run.leaseOwner ?? null,
    codeHash: run.codeHash ?? null,
    backfillId: run.backfillId ?? null,
  };
}

/**
 * An epoch-milliseconds time as an ISO 8601 UTC timestamp.
 *
 * @example
 * ```ts
 * iso(0); // "1970-01-01T00:00:00.000Z"
 * ```
 */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
