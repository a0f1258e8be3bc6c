import { join, resolve } from 'node:path';
import { newRunId } from '../core/ids.js';
import type { MetricHistoryLog } from '../quality/metric-history.js';
import type { AuditAppend } from './audit-log.js';
import { AuditLog, SCHEDULER_ACTOR, SYSTEM_ACTOR } from './audit-log.js';
import { migrate } from './migrations.js';
import type {
  AttemptOutcome,
  DataInterval,
  NewRun,
  PipelineRecord,
  RunClaim,
  RunError,
  RunEvent,
  RunRecord,
  RunState,
  RunTrigger,
  TaskRecord,
} from './run-types.js';
import type { SqlDatabase, SqlRow, SqlValue } from './sql-database.js';
import { isStoreUrl, openDatabase } from './sql-database.js';

/** Lease losses (a worker died or stalled) tolerated per run beyond its attempts. */
export const LEASE_LOSS_ALLOWANCE = 3;

/**
 * A run's new source state, saved before its sinks published and not yet promoted.
 *
 * @example
 * ```ts
 * const pending: PendingSourceState = { runId: 'run_x', cursors: { 'watermark:orders': '7' }, sinks: ['out'], createdAt: 0 };
 * ```
 */
export interface PendingSourceState {
  readonly runId: string;
  /** Cursor name to value, as `saveCursors` takes them. */
  readonly cursors: Readonly<Record<string, string>>;
  /** Step ids of the sinks the run was about to publish. */
  readonly sinks: readonly string[];
  readonly createdAt: number;
}

/** Filters of {@link RunStore.listRuns}. */
export interface RunQuery {
  readonly pipeline?: string;
  readonly states?: readonly RunState[];
  readonly backfillId?: string;
  readonly trigger?: RunTrigger;
  /** Only runs older than this position in the newest-first order (a page's cursor). */
  readonly before?: { readonly queuedAt: number; readonly id: string };
  /** Only runs queued at or after this instant. */
  readonly queuedSince?: number;
  /** Newest first; default 50. */
  readonly limit?: number;
}

/**
 * Where the orchestrator keeps pipelines, runs, task attempts, schedules, cursors, backfills
 * and its audit log: the embedded SQLite file under `.sluice/` (the default) or PostgreSQL. Every
 * state change is one transaction; claims hand out leases with fencing tokens, so a worker that
 * lost its lease cannot overwrite the work of the one that took over.
 *
 * @example
 * ```ts
 * const store = await RunStore.open('postgres://127.0.0.1/sluice');
 * const [run] = await store.enqueueRuns([{ pipeline: 'orders_daily', trigger: 'manual' }]);
 * const claim = await store.claimRun('worker-1', 30_000);
 * ```
 */
export class RunStore {
  readonly db: SqlDatabase;
  /** Who the control events of this view record as `actor` (see {@link RunStore.withActor}). */
  readonly actor: string | undefined;
  readonly #auditActor: string | undefined;
  readonly #location: string;

  private constructor(db: SqlDatabase, location: string, actor?: string, auditActor?: string) {
    this.db = db;
    this.#location = location;
    this.actor = actor;
    this.#auditActor = auditActor ?? actor;
  }

  /**
   * Who the audit log records for what this view does: the `auditActor` given to
   * {@link RunStore.withActor}, else its actor, else `system`.
   */
  get auditActor(): string {
    return this.#auditActor ?? SYSTEM_ACTOR;
  }

  /** The store's hash-chained audit log. */
  get audit(): AuditLog {
    return new AuditLog(this.db);
  }

  /**
   * The location the store was opened with, credentials included, for opening it again from
   * another process (a run's child process). Never log it: `db.location` is the printable one.
   */
  get location(): string {
    return this.#location;
  }

  /**
   * A view of the same store whose control events (runs queued, cancels, pauses, backfills)
   * record `actor` in their data: the HTTP API passes the name of the token that asked. The
   * audit log records `auditActor` (default `actor`), e.g. `token:deploy-bot` or `user:alice`.
   * The view shares the connection; close the store, not the view.
   *
   * @example
   * ```ts
   * await store.withActor('deploy-bot', 'token:deploy-bot').requestCancel(runId); // run.cancel_requested {actor: 'deploy-bot'}
   * ```
   */
  withActor(actor: string, auditActor?: string): RunStore {
    return new RunStore(this.db, this.#location, actor, auditActor);
  }

  /**
   * A view of the same store whose audit entries record `auditActor` while its control events
   * keep this view's actor: the CLI records the OS user it runs as (`user:alice`).
   *
   * @example
   * ```ts
   * await store.withAuditActor('user:alice').setPaused('orders', true);
   * ```
   */
  withAuditActor(auditActor: string): RunStore {
    return new RunStore(this.db, this.#location, this.actor, auditActor);
  }

  /**
   * Appends an audit entry recorded for this view's {@link RunStore.auditActor}.
   *
   * @example
   * ```ts
   * await store.withActor('ops', 'user:ops').recordAudit({ action: 'dataset.read', target: { dataset: 'lake/orders' } });
   * ```
   */
  async recordAudit(entry: Omit<AuditAppend, 'actor'>): Promise<void> {
    await this.audit.append({ actor: this.auditActor, ...entry });
  }

  /**
   * Opens (and migrates) a store: a `postgres://` URL, or a SQLite file path.
   *
   * @example
   * ```ts
   * const store = await RunStore.open(resolveStoreLocation({ cwd: process.cwd() }));
   * ```
   */
  static async open(location: string): Promise<RunStore> {
    const db = await openDatabase(location);
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
    return new RunStore(db, location);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ---- pipelines ----

  /** Records a pipeline's current code hash and file; keeps its paused flag. */
  async registerPipeline(pipeline: {
    readonly name: string;
    readonly codeHash?: string;
    readonly file?: string;
    readonly maxActiveRuns?: number;
  }): Promise<void> {
    const values: SqlValue[] = [
      pipeline.name,
      pipeline.codeHash ?? null,
      pipeline.file ?? null,
      pipeline.maxActiveRuns ?? null,
      Date.now(),
    ];
    await this.db.run(
      `INSERT INTO pipelines (name, code_hash, file, max_active_runs, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET code_hash = excluded.code_hash, file = excluded.file,
         max_active_runs = excluded.max_active_runs, updated_at = excluded.updated_at`,
      values,
    );
  }

  async getPipeline(name: string): Promise<PipelineRecord | undefined> {
    const [row] = await this.db.all('SELECT * FROM pipelines WHERE name = ?', [name]);
    return row === undefined ? undefined : pipelineRecord(row);
  }

  /**
   * Runs waiting for a worker (queued or up for retry) and running, per pipeline that has any:
   * what `sluice_queued_runs` and `sluice_running_runs` report when scraped.
   *
   * @example
   * ```ts
   * for (const { pipeline, queued, running } of await store.countActiveRuns()) console.log(pipeline, queued, running);
   * ```
   */
  async countActiveRuns(): Promise<{ pipeline: string; queued: number; running: number }[]> {
    const rows = await this.db.all(
      `SELECT pipeline,
         sum(CASE WHEN state = 'running' THEN 0 ELSE 1 END) AS queued,
         sum(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running
       FROM runs WHERE state IN ('queued', 'up_for_retry', 'running')
       GROUP BY pipeline ORDER BY pipeline`,
    );
    return rows.map((row) => ({
      pipeline: String(row['pipeline']),
      queued: Number(row['queued']),
      running: Number(row['running']),
    }));
  }

  async listPipelines(): Promise<PipelineRecord[]> {
    return (await this.db.all('SELECT * FROM pipelines ORDER BY name')).map(pipelineRecord);
  }

  /** Pauses or resumes a pipeline: a paused pipeline's runs are neither scheduled nor claimed. */
  async setPaused(name: string, paused: boolean): Promise<boolean> {
    const changed = await this.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO pipelines (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
        [name, Date.now()],
      );
      const changed = await tx.run(
        'UPDATE pipelines SET paused = ?, updated_at = ? WHERE name = ?',
        [paused ? 1 : 0, Date.now(), name],
      );
      await new AuditLog(tx).append({
        actor: this.auditActor,
        action: paused ? 'pipeline.pause' : 'pipeline.unpause',
        target: { pipeline: name },
      });
      return changed;
    });
    await this.appendEvent(paused ? 'pipeline.paused' : 'pipeline.unpaused', {
      pipeline: name,
      data: actorData(this.actor),
    });
    return changed > 0;
  }

  // ---- runs ----

  /**
   * Creates runs, skipping any whose pipeline already has a run with the same key (the same
   * data interval): scheduling and backfilling twice never creates a run twice. Resolves to the
   * runs created.
   */
  async enqueueRuns(runs: readonly NewRun[]): Promise<RunRecord[]> {
    if (runs.length === 0) return [];
    return this.db.transaction(async (tx) => {
      const created = await insertRuns(tx, runs, this.actor, this.auditActor);
      await auditQueued(tx, 'run.trigger', created, this.auditActor);
      return created;
    });
  }

  /**
   * Puts finished runs of the given keys back in the queue as new attempts (a backfill that
   * reprocesses), resolving to how many were requeued. Running or queued runs are left alone.
   */
  async requeueRuns(
    pipeline: string,
    runKeys: readonly string[],
    states: readonly RunState[],
    extra: {
      readonly backfillId?: string;
      readonly priority?: number;
      /** Attempts the requeued run gets (default 1). */
      readonly maxAttempts?: number;
      readonly useCache?: boolean;
    } = {},
  ): Promise<number> {
    if (runKeys.length === 0 || states.length === 0) return 0;
    const now = Date.now();
    let count = 0;
    await this.db.transaction(async (tx) => {
      for (const keys of chunks(runKeys, 500)) {
        count += await tx.run(
          `UPDATE runs SET state = 'queued', not_before = ?, queued_at = ?, finished_at = NULL,
             error = NULL, cancel_requested = 0, lease_losses = 0,
             max_attempts = attempt + ?, backfill_id = coalesce(?, backfill_id), triggered_by = ?,
             priority = coalesce(?, priority), use_cache = ?
           WHERE pipeline = ? AND state IN (${states.map(() => '?').join(', ')})
             AND run_key IN (${keys.map(() => '?').join(', ')})`,
          [
            now,
            now,
            extra.maxAttempts ?? 1,
            extra.backfillId ?? null,
            this.auditActor,
            extra.priority ?? null,
            extra.useCache === true ? 1 : 0,
            pipeline,
            ...states,
            ...keys,
          ],
        );
      }
      if (count > 0)
        await new AuditLog(tx).append({
          actor: this.auditActor,
          action: 'run.rerun',
          target: { pipeline },
          detail: {
            runs: count,
            ...(extra.backfillId === undefined ? {} : { backfill: extra.backfillId }),
          },
        });
    });
    return count;
  }

  /** The newest successful run of a pipeline with this cache key. */
  async findCachedRun(pipeline: string, cacheKey: string): Promise<string | undefined> {
    const [row] = await this.db.all(
      `SELECT id FROM runs WHERE pipeline = ? AND cache_key = ? AND state = 'success'
       ORDER BY finished_at DESC LIMIT 1`,
      [pipeline, cacheKey],
    );
    return row === undefined ? undefined : String(row['id']);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const [row] = await this.db.all('SELECT * FROM runs WHERE id = ?', [id]);
    return row === undefined ? undefined : runRecord(row);
  }

  /** The run of a pipeline with a given run key (an interval's, a sensor's, a trigger's key). */
  async getRunByKey(pipeline: string, runKey: string): Promise<RunRecord | undefined> {
    const [row] = await this.db.all('SELECT * FROM runs WHERE pipeline = ? AND run_key = ?', [
      pipeline,
      runKey,
    ]);
    return row === undefined ? undefined : runRecord(row);
  }

  async listRuns(query: RunQuery = {}): Promise<RunRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.pipeline !== undefined) {
      where.push('pipeline = ?');
      params.push(query.pipeline);
    }
    if (query.backfillId !== undefined) {
      where.push('backfill_id = ?');
      params.push(query.backfillId);
    }
    if (query.states !== undefined && query.states.length > 0) {
      where.push(`state IN (${query.states.map(() => '?').join(', ')})`);
      params.push(...query.states);
    }
    if (query.trigger !== undefined) {
      where.push('trigger = ?');
      params.push(query.trigger);
    }
    if (query.before !== undefined) {
      where.push('(queued_at < ? OR (queued_at = ? AND id < ?))');
      params.push(query.before.queuedAt, query.before.queuedAt, query.before.id);
    }
    if (query.queuedSince !== undefined) {
      where.push('queued_at >= ?');
      params.push(query.queuedSince);
    }
    const rows = await this.db.all(
      `SELECT * FROM runs ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
       ORDER BY queued_at DESC, id DESC LIMIT ?`,
      [...params, query.limit ?? 50],
    );
    return rows.map(runRecord);
  }

  /** Run keys of a pipeline that already exist, with their states. */
  async runStates(pipeline: string, runKeys: readonly string[]): Promise<Map<string, RunState>> {
    const states = new Map<string, RunState>();
    for (const keys of chunks(runKeys, 500)) {
      const rows = await this.db.all(
        `SELECT run_key, state FROM runs WHERE pipeline = ? AND run_key IN (${keys.map(() => '?').join(', ')})`,
        [pipeline, ...keys],
      );
      for (const row of rows) states.set(String(row['run_key']), row['state'] as RunState);
    }
    return states;
  }

  /**
   * Claims the most urgent ready run: queued or up for retry and due, of a pipeline that is not
   * paused and below its `maxActiveRuns`, within its backfill's parallelism; highest priority,
   * then oldest first. Runs whose lease expired (their worker died) are first put back in the
   * queue. Resolves to the claim with a new fencing token, or undefined when nothing is ready.
   */
  async claimRun(
    owner: string,
    leaseMs: number,
    pipelines?: readonly string[],
    pools: Readonly<Record<string, number>> = {},
  ): Promise<RunClaim | undefined> {
    return this.db.transaction(async (tx) => {
      const now = Date.now();
      await requeueExpiredLeases(tx, now);
      const filter =
        pipelines === undefined ? '' : `AND r.pipeline IN (${pipelines.map(() => '?').join(', ')})`;
      const lock = tx.dialect === 'postgres' ? 'FOR UPDATE OF r SKIP LOCKED' : '';
      const sized = Object.entries(pools);
      const poolSize =
        sized.length === 0
          ? 'NULL'
          : `CASE r.pool ${sized.map(() => 'WHEN ? THEN CAST(? AS INTEGER)').join(' ')} ELSE NULL END`;
      // Runs held back by a limit are left out here, so they never hide runnable ones; the
      // limits are checked again below under locks.
      const candidates = await tx.all(
        `SELECT r.id, r.pipeline, r.backfill_id, r.pool, p.max_active_runs, b.max_parallel
         FROM runs r
         LEFT JOIN pipelines p ON p.name = r.pipeline
         LEFT JOIN backfills b ON b.id = r.backfill_id
         WHERE r.state IN ('queued', 'up_for_retry') AND r.not_before <= ?
           AND coalesce(p.paused, 0) = 0 ${filter}
           AND (p.max_active_runs IS NULL OR p.max_active_runs >
             (SELECT count(*) FROM runs x WHERE x.pipeline = r.pipeline AND x.state = 'running'))
           AND (b.max_parallel IS NULL OR b.max_parallel >
             (SELECT count(*) FROM runs x WHERE x.backfill_id = r.backfill_id AND x.state = 'running'))
           AND (${poolSize} IS NULL OR ${poolSize} >
             (SELECT count(*) FROM runs x WHERE x.pool = r.pool AND x.state = 'running'))
         ORDER BY r.priority DESC, r.not_before, r.queued_at, r.queue_order
         LIMIT 20 ${lock}`,
        [now, ...(pipelines ?? []), ...sized.flat(), ...sized.flat()],
      );
      for (const candidate of candidates) {
        if (!(await withinLimits(tx, candidate, pools))) continue;
        await tx.run(
          `UPDATE runs SET state = 'running', attempt = attempt + 1, started_at = ?, finished_at = NULL,
             lease_owner = ?, lease_expires_at = ?, fencing_token = fencing_token + 1
           WHERE id = ?`,
          [now, owner, now + leaseMs, String(candidate['id'])],
        );
        const [row] = await tx.all('SELECT * FROM runs WHERE id = ?', [String(candidate['id'])]);
        const run = runRecord(row as SqlRow);
        const token = run.fencingToken;
        await insertEvent(tx, 'run.started', run.pipeline, run.id, {
          attempt: run.attempt,
          worker: owner,
        });
        return { run, fencingToken: token };
      }
      return undefined;
    });
  }

  /**
   * Extends a lease. Resolves to `{ held: false }` when the lease was lost (another worker took
   * the run), and reports whether cancellation was requested.
   */
  async heartbeat(
    runId: string,
    fencingToken: number,
    leaseMs: number,
  ): Promise<{ readonly held: boolean; readonly cancelRequested: boolean }> {
    const changed = await this.db.run(
      `UPDATE runs SET lease_expires_at = ? WHERE id = ? AND fencing_token = ? AND state = 'running'`,
      [Date.now() + leaseMs, runId, fencingToken],
    );
    if (changed === 0) return { held: false, cancelRequested: false };
    const [row] = await this.db.all('SELECT cancel_requested FROM runs WHERE id = ?', [runId]);
    return { held: true, cancelRequested: Number(row?.['cancel_requested'] ?? 0) === 1 };
  }

  /**
   * Whether a cancel was asked for the run: polled by workers between heartbeats, so a cancel
   * stops a run within a second rather than a third of a lease.
   *
   * @example
   * ```ts
   * if (await store.cancelRequested(runId)) controller.abort();
   * ```
   */
  async cancelRequested(runId: string): Promise<boolean> {
    const [row] = await this.db.all('SELECT cancel_requested FROM runs WHERE id = ?', [runId]);
    return Number(row?.['cancel_requested'] ?? 0) === 1;
  }

  /**
   * Records how an attempt ended, in one transaction with its cursors. A retryable failure with
   * attempts left becomes `up_for_retry` after `retryDelayMs`. Resolves to false, writing
   * nothing, when the fencing token is stale.
   */
  async finishAttempt(
    runId: string,
    fencingToken: number,
    outcome: AttemptOutcome,
  ): Promise<{ readonly recorded: boolean; readonly state: RunState | undefined }> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.all(
        `SELECT * FROM runs WHERE id = ? AND fencing_token = ? AND state = 'running' ${tx.dialect === 'postgres' ? 'FOR UPDATE' : ''}`,
        [runId, fencingToken],
      );
      if (row === undefined) return { recorded: false, state: undefined };
      const run = runRecord(row);
      const now = Date.now();
      // A cancel is final: whatever the attempt said, a run asked to stop is not tried again.
      const canceled = run.cancelRequested && outcome.state !== 'success';
      const retry =
        !canceled &&
        outcome.state === 'failed' &&
        outcome.retryable === true &&
        run.attempt < run.maxAttempts;
      const state: RunState = canceled ? 'canceled' : retry ? 'up_for_retry' : outcome.state;
      await tx.run(
        `UPDATE runs SET state = ?, finished_at = ?, error = ?, lease_owner = NULL,
           lease_expires_at = NULL, not_before = ?, cache_key = ?
         WHERE id = ?`,
        [
          state,
          retry ? null : now,
          outcome.error === undefined ? null : JSON.stringify(outcome.error),
          retry ? now + (outcome.retryDelayMs ?? 0) : run.notBefore,
          state === 'success' ? (outcome.cacheKey ?? null) : null,
          runId,
        ],
      );
      if (state === 'success') {
        await upsertCursors(tx, run.pipeline, runId, outcome.cursors ?? {}, now);
        await tx.run('DELETE FROM pending_source_state WHERE pipeline = ? AND run_id = ?', [
          run.pipeline,
          runId,
        ]);
      }
      await insertEvent(tx, `run.${state}`, run.pipeline, runId, {
        attempt: run.attempt,
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
        ...(outcome.cachedFrom === undefined ? {} : { cachedFrom: outcome.cachedFrom }),
      });
      for (const summary of outcome.quality ?? [])
        await insertEvent(tx, 'quality.result', run.pipeline, runId, { ...summary });
      if (state === 'success')
        for (const dataset of new Set(outcome.datasets ?? []))
          await insertEvent(tx, 'dataset.updated', run.pipeline, runId, { dataset });
      const actor = run.triggeredBy ?? SYSTEM_ACTOR;
      await new AuditLog(tx).append(...(outcome.audit ?? []).map((entry) => ({ actor, ...entry })));
      return { recorded: true, state };
    });
  }

  /**
   * Gives a running attempt back because its worker is shutting down: the run is queued again
   * at once for another worker, the attempt not counted against its retries, or canceled when
   * its cancel was asked for. Resolves to false, writing nothing, when the fencing token is stale.
   *
   * @example
   * ```ts
   * await store.releaseRun(claim.run.id, claim.fencingToken); // run.released {attempt, worker}
   * ```
   */
  async releaseRun(runId: string, fencingToken: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.all(
        `SELECT * FROM runs WHERE id = ? AND fencing_token = ? AND state = 'running' ${tx.dialect === 'postgres' ? 'FOR UPDATE' : ''}`,
        [runId, fencingToken],
      );
      if (row === undefined) return false;
      const run = runRecord(row);
      const now = Date.now();
      if (run.cancelRequested) {
        await cancelStoppedRun(tx, run, now, 'released');
        return true;
      }
      const error: RunError = {
        code: 'WORKER_STOPPED',
        message: `worker ${run.leaseOwner ?? '?'} shut down during attempt ${run.attempt}; the run was handed back`,
      };
      await tx.run(
        `UPDATE runs SET state = 'up_for_retry', lease_owner = NULL, lease_expires_at = NULL,
           error = ?, not_before = ?, max_attempts = max_attempts + 1
         WHERE id = ?`,
        [JSON.stringify(error), now, runId],
      );
      await tx.run(
        `UPDATE tasks SET state = 'canceled', finished_at = ?, error = ?
         WHERE run_id = ? AND attempt = ? AND state = 'running'`,
        [now, JSON.stringify(error), runId, run.attempt],
      );
      await insertEvent(tx, 'run.released', run.pipeline, runId, {
        attempt: run.attempt,
        worker: run.leaseOwner,
      });
      return true;
    });
  }

  /**
   * Asks a run to stop: a queued run is canceled at once, a running one when its worker next
   * heartbeats. Resolves to the run's state afterwards, or undefined for an unknown run.
   */
  async requestCancel(runId: string): Promise<RunState | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.all('SELECT * FROM runs WHERE id = ?', [runId]);
      if (row === undefined) return undefined;
      const run = runRecord(row);
      if (run.state === 'queued' || run.state === 'up_for_retry') {
        await tx.run(`UPDATE runs SET state = 'canceled', finished_at = ? WHERE id = ?`, [
          Date.now(),
          runId,
        ]);
        await insertEvent(tx, 'run.canceled', run.pipeline, runId, {
          while: run.state,
          ...actorData(this.actor),
        });
      } else if (run.state === 'running') {
        await tx.run('UPDATE runs SET cancel_requested = 1 WHERE id = ?', [runId]);
        await insertEvent(tx, 'run.cancel_requested', run.pipeline, runId, actorData(this.actor));
      }
      await new AuditLog(tx).append({
        actor: this.auditActor,
        action: 'run.cancel',
        target: { pipeline: run.pipeline, runId },
        detail: { state: run.state },
      });
      return run.state === 'queued' || run.state === 'up_for_retry' ? 'canceled' : run.state;
    });
  }

  // ---- tasks ----

  /** Records a step's attempt (upserted by run, step and attempt) while the lease is held. */
  async recordTask(task: TaskRecord, fencingToken: number): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const held = await tx.all('SELECT 1 FROM runs WHERE id = ? AND fencing_token = ?', [
        task.runId,
        fencingToken,
      ]);
      if (held.length === 0) return false;
      await tx.run(
        `INSERT INTO tasks (run_id, step, attempt, state, started_at, finished_at, rows_in, rows_out, error, cached)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (run_id, step, attempt) DO UPDATE SET state = excluded.state,
           started_at = coalesce(tasks.started_at, excluded.started_at), finished_at = excluded.finished_at,
           rows_in = excluded.rows_in, rows_out = excluded.rows_out, error = excluded.error,
           cached = excluded.cached`,
        [
          task.runId,
          task.step,
          task.attempt,
          task.state,
          task.startedAt ?? null,
          task.finishedAt ?? null,
          task.rowsIn ?? null,
          task.rowsOut ?? null,
          task.error === undefined ? null : JSON.stringify(task.error),
          task.cached === true ? 1 : 0,
        ],
      );
      return true;
    });
  }

  async listTasks(runId: string): Promise<TaskRecord[]> {
    const rows = await this.db.all(
      'SELECT * FROM tasks WHERE run_id = ? ORDER BY attempt, started_at, step',
      [runId],
    );
    return rows.map(taskRecord);
  }

  /**
   * The tasks of many runs at once (a page of the runs x steps grid), in the order of
   * {@link RunStore.listTasks} per run: one query per 500 runs, served by the tasks' primary key.
   *
   * @example
   * ```ts
   * const tasks = await store.listTasksOf(page.map((run) => run.id));
   * ```
   */
  async listTasksOf(runIds: readonly string[]): Promise<TaskRecord[]> {
    const tasks: TaskRecord[] = [];
    for (const ids of chunks([...new Set(runIds)], 500)) {
      const rows = await this.db.all(
        `SELECT * FROM tasks WHERE run_id IN (${ids.map(() => '?').join(', ')})
         ORDER BY run_id, attempt, started_at, step`,
        ids,
      );
      // Not push(...rows): 25 runs of a 5,000-step pipeline overflow the call stack.
      for (const row of rows) tasks.push(taskRecord(row));
    }
    return tasks;
  }

  // ---- schedules ----

  /** The end of the last interval the scheduler created a run for. */
  async lastScheduled(pipeline: string): Promise<number | undefined> {
    const [row] = await this.db.all('SELECT last_interval_end FROM schedules WHERE pipeline = ?', [
      pipeline,
    ]);
    return optionalNumber(row?.['last_interval_end']);
  }

  /**
   * Creates the runs of newly due intervals and moves the pipeline's schedule past them in one
   * transaction, only if the schedule is still where the caller read it (`expected`): two
   * schedulers, or one restarted mid-way, never create an interval's run twice.
   */
  async advanceSchedule(
    pipeline: string,
    expected: number | undefined,
    runs: readonly NewRun[],
    lastIntervalEnd: number,
  ): Promise<RunRecord[] | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.all(
        `SELECT last_interval_end FROM schedules WHERE pipeline = ? ${tx.dialect === 'postgres' ? 'FOR UPDATE' : ''}`,
        [pipeline],
      );
      if (optionalNumber(row?.['last_interval_end']) !== expected) return undefined;
      const created = await insertRuns(tx, runs, undefined, SCHEDULER_ACTOR);
      await tx.run(
        `INSERT INTO schedules (pipeline, last_interval_end, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (pipeline) DO UPDATE SET last_interval_end = excluded.last_interval_end,
           updated_at = excluded.updated_at`,
        [pipeline, lastIntervalEnd, Date.now()],
      );
      await auditQueued(tx, 'run.schedule', created, SCHEDULER_ACTOR);
      return created;
    });
  }

  /**
   * Creates the runs a sensor found and moves its cursor in one transaction, only if the cursor
   * is still where the caller read it, so each event or file starts one run however many
   * schedulers watch.
   */
  async advanceCursor(
    pipeline: string,
    name: string,
    expected: string | undefined,
    next: string,
    runs: readonly NewRun[],
  ): Promise<RunRecord[] | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.all(
        `SELECT value FROM cursors WHERE pipeline = ? AND name = ? ${tx.dialect === 'postgres' ? 'FOR UPDATE' : ''}`,
        [pipeline, name],
      );
      if ((row === undefined ? undefined : String(row['value'])) !== expected) return undefined;
      const created = await insertRuns(tx, runs, undefined, SCHEDULER_ACTOR);
      await tx.run(
        `INSERT INTO cursors (pipeline, name, value, run_id, updated_at) VALUES (?, ?, ?, '', ?)
         ON CONFLICT (pipeline, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        [pipeline, name, next, Date.now()],
      );
      await auditQueued(tx, 'run.sensor', created, SCHEDULER_ACTOR);
      return created;
    });
  }

  /**
   * Records cursors (source state) left by a run that did not go through a worker (`sluice run`),
   * in one transaction.
   */
  async saveCursors(
    pipeline: string,
    runId: string,
    cursors: Readonly<Record<string, string>>,
  ): Promise<void> {
    await this.db.transaction((tx) => upsertCursors(tx, pipeline, runId, cursors, Date.now()));
  }

  /**
   * Records a run's new source state as pending, before its sinks publish: `sinks` are the step
   * ids about to publish. A pipeline has at most one pending state; an older one is replaced
   * (callers resolve it first, see `resolvePendingState`).
   *
   * @example
   * ```ts
   * await store.savePendingState('orders', runId, { 'watermark:orders': '2024-01-02' }, ['out']);
   * ```
   */
  async savePendingState(
    pipeline: string,
    runId: string,
    cursors: Readonly<Record<string, string>>,
    sinks: readonly string[],
  ): Promise<void> {
    await this.db.run(
      `INSERT INTO pending_source_state (pipeline, run_id, cursors, sinks, created_at)
       VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (pipeline) DO UPDATE SET run_id = excluded.run_id, cursors = excluded.cursors,
         sinks = excluded.sinks, created_at = excluded.created_at`,
      [pipeline, runId, JSON.stringify(cursors), JSON.stringify(sinks), Date.now()],
    );
  }

  /**
   * The pipeline's pending source state: a run that saved it and then stopped (killed, or the
   * store refused the promotion) before promoting it.
   *
   * @example
   * ```ts
   * const pending = await store.pendingState('orders'); // { runId, cursors, sinks, createdAt }
   * ```
   */
  async pendingState(pipeline: string): Promise<PendingSourceState | undefined> {
    const [row] = await this.db.all('SELECT * FROM pending_source_state WHERE pipeline = ?', [
      pipeline,
    ]);
    if (row === undefined) return undefined;
    return {
      runId: String(row['run_id']),
      cursors: JSON.parse(String(row['cursors'])) as Record<string, string>,
      sinks: JSON.parse(String(row['sinks'])) as string[],
      createdAt: Number(row['created_at']),
    };
  }

  /**
   * Makes run `runId`'s pending source state the pipeline's state, in one transaction. Resolves
   * to false, changing nothing, when the pending state is not that run's.
   *
   * @example
   * ```ts
   * if (!(await store.promotePendingState('orders', runId))) throw new Error('not pending');
   * ```
   */
  async promotePendingState(pipeline: string, runId: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.all(
        `SELECT cursors FROM pending_source_state WHERE pipeline = ? AND run_id = ? ${tx.dialect === 'postgres' ? 'FOR UPDATE' : ''}`,
        [pipeline, runId],
      );
      if (row === undefined) return false;
      const cursors = JSON.parse(String(row['cursors'])) as Record<string, string>;
      await upsertCursors(tx, pipeline, runId, cursors, Date.now());
      await tx.run('DELETE FROM pending_source_state WHERE pipeline = ? AND run_id = ?', [
        pipeline,
        runId,
      ]);
      return true;
    });
  }

  /**
   * Forgets run `runId`'s pending source state (none of its sinks published).
   *
   * @example
   * ```ts
   * await store.dropPendingState('orders', runId);
   * ```
   */
  async dropPendingState(pipeline: string, runId: string): Promise<void> {
    await this.db.run('DELETE FROM pending_source_state WHERE pipeline = ? AND run_id = ?', [
      pipeline,
      runId,
    ]);
  }

  /** Events after `afterId` of the given kinds, oldest first. */
  async eventsAfter(afterId: number, kinds: readonly string[], limit = 1_000): Promise<RunEvent[]> {
    const rows = await this.db.all(
      `SELECT * FROM events WHERE id > ? AND kind IN (${kinds.map(() => '?').join(', ')}) ORDER BY id LIMIT ?`,
      [afterId, ...kinds, limit],
    );
    return rows.map(eventRecord);
  }

  /**
   * Events of every kind after `afterId`, oldest first (what the live updates stream sends).
   *
   * @example
   * ```ts
   * for (const event of await store.allEventsAfter(lastSeen, 500)) send(event);
   * ```
   */
  async allEventsAfter(afterId: number, limit = 1_000): Promise<RunEvent[]> {
    const rows = await this.db.all('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?', [
      afterId,
      limit,
    ]);
    return rows.map(eventRecord);
  }

  /** The newest event's id (0 when there is none). */
  async lastEventId(): Promise<number> {
    const [row] = await this.db.all('SELECT max(id) AS id FROM events');
    return Number(row?.['id'] ?? 0);
  }

  /**
   * Flags the runs of a pipeline that missed their SLA (not finished `slaMs` after their
   * interval ended, or finished later than that) with one `sla.missed` event each. Resolves to
   * the runs flagged now.
   */
  async flagSlaMisses(pipeline: string, slaMs: number, now: number): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.all(
        `UPDATE runs SET sla_missed_at = ?
         WHERE pipeline = ? AND sla_missed_at IS NULL AND interval_end IS NOT NULL
           AND interval_end + ? < ? AND (finished_at IS NULL OR finished_at > interval_end + ?)
           AND state <> 'canceled'
         RETURNING id, interval_start, interval_end, state`,
        [now, pipeline, slaMs, now, slaMs],
      );
      for (const row of rows)
        await insertEvent(tx, 'sla.missed', pipeline, String(row['id']), {
          logicalDate: new Date(Number(row['interval_start'])).toISOString(),
          deadline: new Date(Number(row['interval_end']) + slaMs).toISOString(),
          state: row['state'],
        });
      return rows.map((row) => String(row['id']));
    });
  }

  /**
   * The datasets' metric history (for anomaly expectations) kept in this store, so runs on
   * every worker add to and read one history.
   *
   * @example
   * ```ts
   * const history = MetricHistoryStore.onLog(store.metricHistoryLog());
   * ```
   */
  metricHistoryLog(): MetricHistoryLog {
    return {
      append: async (dataset, line) => {
        await this.db.run('INSERT INTO metric_history (dataset, line, at) VALUES (?, ?, ?)', [
          dataset,
          line,
          Date.now(),
        ]);
      },
      lines: async (dataset) =>
        (
          await this.db.all('SELECT line FROM metric_history WHERE dataset = ? ORDER BY id', [
            dataset,
          ])
        ).map((row) => String(row['line'])),
    };
  }

  // ---- backfills ----

  /** Records a backfill and creates its runs in one transaction. */
  async createBackfill(
    backfill: {
      readonly id: string;
      readonly pipeline: string;
      readonly range: DataInterval;
      readonly maxParallel?: number;
    },
    runs: readonly NewRun[],
  ): Promise<RunRecord[]> {
    return this.db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO backfills (id, pipeline, range_start, range_end, max_parallel, intervals, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          backfill.id,
          backfill.pipeline,
          backfill.range.start,
          backfill.range.end,
          backfill.maxParallel ?? null,
          runs.length,
          Date.now(),
        ],
      );
      const created = await insertRuns(tx, runs, this.actor, this.auditActor);
      await insertEvent(tx, 'backfill.created', backfill.pipeline, undefined, {
        backfill: backfill.id,
        intervals: runs.length,
        ...actorData(this.actor),
      });
      await new AuditLog(tx).append({
        actor: this.auditActor,
        action: 'backfill.create',
        target: { pipeline: backfill.pipeline },
        detail: {
          backfill: backfill.id,
          start: backfill.range.start,
          end: backfill.range.end,
          intervals: runs.length,
          runsCreated: created.length,
        },
      });
      return created;
    });
  }

  // ---- cursors and events ----

  async getCursor(pipeline: string, name: string): Promise<string | undefined> {
    const [row] = await this.db.all('SELECT value FROM cursors WHERE pipeline = ? AND name = ?', [
      pipeline,
      name,
    ]);
    return row === undefined ? undefined : String(row['value']);
  }

  async appendEvent(
    kind: string,
    event: {
      readonly pipeline?: string;
      readonly runId?: string;
      readonly data?: Record<string, unknown>;
    },
  ): Promise<void> {
    await insertEvent(this.db, kind, event.pipeline, event.runId, event.data ?? {});
  }

  async listEvents(
    query: { readonly runId?: string; readonly limit?: number } = {},
  ): Promise<RunEvent[]> {
    const rows = await this.db.all(
      `SELECT * FROM events ${query.runId === undefined ? '' : 'WHERE run_id = ?'} ORDER BY id DESC LIMIT ?`,
      [...(query.runId === undefined ? [] : [query.runId]), query.limit ?? 100],
    );
    return rows.map(eventRecord);
  }
}

/**
 * Where the run store is: `--store`, else `SLUICE_STORE`, else `.sluice/sluice.db` in the
 * project folder.
 *
 * @example
 * ```ts
 * resolveStoreLocation({ cwd: '/srv/project' }); // "/srv/project/.sluice/sluice.db"
 * ```
 */
export function resolveStoreLocation(options: {
  readonly store?: string;
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}): string {
  const chosen = options.store ?? (options.env ?? process.env)['SLUICE_STORE'];
  if (chosen === undefined || chosen === '')
    return join(resolve(options.cwd), '.sluice', 'sluice.db');
  return isStoreUrl(chosen) ? chosen : resolve(options.cwd, chosen);
}

/** The run key of an interval run. */
export function intervalRunKey(interval: DataInterval): string {
  return `interval:${new Date(interval.start).toISOString()}`;
}

async function insertRuns(
  tx: SqlDatabase,
  runs: readonly NewRun[],
  actor: string | undefined,
  triggeredBy: string,
): Promise<RunRecord[]> {
  const now = Date.now();
  const created: RunRecord[] = [];
  const conflict = 'ON CONFLICT (pipeline, run_key) DO NOTHING';
  for (const [i, run] of runs.entries()) {
    const id = run.id ?? newRunId(new Date(now));
    const runKey = run.runKey ?? (run.interval === undefined ? id : intervalRunKey(run.interval));
    const values: SqlValue[] = [
      id,
      run.pipeline,
      runKey,
      run.trigger,
      run.interval?.start ?? null,
      run.interval?.end ?? null,
      JSON.stringify(run.params ?? {}),
      run.priority ?? 0,
      run.maxAttempts ?? 1,
      now,
      now,
      i,
      run.codeHash ?? null,
      run.backfillId ?? null,
      run.useCache === true ? 1 : 0,
      run.pool ?? null,
      triggeredBy,
    ];
    const inserted = await tx.run(
      `INSERT INTO runs (id, pipeline, run_key, trigger, interval_start, interval_end, params, state,
         priority, max_attempts, not_before, queued_at, queue_order, code_hash, backfill_id, use_cache, pool,
         triggered_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${conflict}`,
      values,
    );
    if (inserted === 0) continue;
    created.push(
      runRecord({
        id,
        pipeline: run.pipeline,
        run_key: runKey,
        trigger: run.trigger,
        interval_start: run.interval?.start ?? null,
        interval_end: run.interval?.end ?? null,
        params: JSON.stringify(run.params ?? {}),
        state: 'queued',
        priority: run.priority ?? 0,
        attempt: 0,
        max_attempts: run.maxAttempts ?? 1,
        not_before: now,
        queued_at: now,
        code_hash: run.codeHash ?? null,
        fencing_token: 0,
        cancel_requested: 0,
        backfill_id: run.backfillId ?? null,
        use_cache: run.useCache === true ? 1 : 0,
        pool: run.pool ?? null,
        triggered_by: triggeredBy,
      }),
    );
  }
  // One run (a trigger) gets the event under its id, so `sluice run-show` says who queued it.
  if (created.length > 0)
    await insertEvent(
      tx,
      'runs.queued',
      runs[0]?.pipeline,
      created.length === 1 ? created[0]?.id : undefined,
      {
        runs: created.length,
        trigger: runs[0]?.trigger as RunTrigger,
        ...actorData(actor),
      },
    );
  return created;
}

async function requeueExpiredLeases(tx: SqlDatabase, now: number): Promise<void> {
  const expired = await tx.all(
    `SELECT * FROM runs WHERE state = 'running' AND lease_expires_at < ? ${tx.dialect === 'postgres' ? 'FOR UPDATE SKIP LOCKED' : ''}`,
    [now],
  );
  for (const row of expired) {
    const run = runRecord(row);
    if (run.cancelRequested) {
      await cancelStoppedRun(tx, run, now, 'lease_expired');
      continue;
    }
    const losses = Number(row['lease_losses'] ?? 0) + 1;
    const exhausted = losses > LEASE_LOSS_ALLOWANCE && run.attempt >= run.maxAttempts;
    const error: RunError = {
      code: 'LEASE_EXPIRED',
      message: `worker ${run.leaseOwner ?? '?'} stopped heartbeating during attempt ${run.attempt}`,
    };
    await tx.run(
      `UPDATE runs SET state = ?, lease_owner = NULL, lease_expires_at = NULL, lease_losses = ?,
         error = ?, not_before = ?, finished_at = ?,
         max_attempts = CASE WHEN ? THEN max_attempts ELSE max_attempts + 1 END
       WHERE id = ?`,
      [
        exhausted ? 'failed' : 'up_for_retry',
        losses,
        JSON.stringify(error),
        now,
        exhausted ? now : null,
        exhausted ? 1 : 0,
        run.id,
      ],
    );
    await tx.run(
      `UPDATE tasks SET state = 'failed', finished_at = ?, error = ?
       WHERE run_id = ? AND attempt = ? AND state = 'running'`,
      [now, JSON.stringify(error), run.id, run.attempt],
    );
    await insertEvent(tx, exhausted ? 'run.failed' : 'run.lease_expired', run.pipeline, run.id, {
      attempt: run.attempt,
      worker: run.leaseOwner,
    });
  }
}

/**
 * A run whose cancel was asked for and whose worker stopped (its lease expired, or it shut down
 * and released the run): canceled, never tried again.
 */
async function cancelStoppedRun(
  tx: SqlDatabase,
  run: RunRecord,
  now: number,
  how: 'lease_expired' | 'released',
): Promise<void> {
  const error: RunError = { code: 'RUN_CANCELED', message: 'the run was canceled' };
  await tx.run(
    `UPDATE runs SET state = 'canceled', lease_owner = NULL, lease_expires_at = NULL, error = ?,
       finished_at = ?
     WHERE id = ?`,
    [JSON.stringify(error), now, run.id],
  );
  await tx.run(
    `UPDATE tasks SET state = 'canceled', finished_at = ?, error = ?
     WHERE run_id = ? AND attempt = ? AND state = 'running'`,
    [now, JSON.stringify(error), run.id, run.attempt],
  );
  await insertEvent(tx, 'run.canceled', run.pipeline, run.id, {
    attempt: run.attempt,
    worker: run.leaseOwner,
    while: how,
  });
}

async function withinLimits(
  tx: SqlDatabase,
  candidate: SqlRow,
  pools: Readonly<Record<string, number>>,
): Promise<boolean> {
  const pool = optionalString(candidate['pool']);
  const poolSize = pool === undefined ? undefined : pools[pool];
  if (pool !== undefined && poolSize !== undefined) {
    if (tx.dialect === 'postgres')
      await tx.all('SELECT pg_advisory_xact_lock(hashtext(?))', [pool]);
    const [row] = await tx.all(
      `SELECT count(*) AS n FROM runs WHERE pool = ? AND state = 'running'`,
      [pool],
    );
    if (Number(row?.['n'] ?? 0) >= poolSize) return false;
  }
  const maxActive = optionalNumber(candidate['max_active_runs']);
  if (maxActive !== undefined) {
    if (tx.dialect === 'postgres')
      await tx.all('SELECT 1 FROM pipelines WHERE name = ? FOR UPDATE', [
        String(candidate['pipeline']),
      ]);
    const [row] = await tx.all(
      `SELECT count(*) AS n FROM runs WHERE pipeline = ? AND state = 'running'`,
      [String(candidate['pipeline'])],
    );
    if (Number(row?.['n'] ?? 0) >= maxActive) return false;
  }
  const maxParallel = optionalNumber(candidate['max_parallel']);
  if (maxParallel !== undefined) {
    if (tx.dialect === 'postgres')
      await tx.all('SELECT 1 FROM backfills WHERE id = ? FOR UPDATE', [
        String(candidate['backfill_id']),
      ]);
    const [row] = await tx.all(
      `SELECT count(*) AS n FROM runs WHERE backfill_id = ? AND state = 'running'`,
      [String(candidate['backfill_id'])],
    );
    if (Number(row?.['n'] ?? 0) >= maxParallel) return false;
  }
  return true;
}

/**
 * One audit entry for runs just queued: under the run's id when there is one run, else under the
 * pipeline with the count (a backfill's thousands of runs are one entry).
 */
async function auditQueued(
  tx: SqlDatabase,
  action: string,
  created: readonly RunRecord[],
  actor: string,
): Promise<void> {
  const [first] = created;
  if (first === undefined) return;
  const params = created.length === 1 ? first.params : undefined;
  await new AuditLog(tx).append({
    actor,
    action,
    target: {
      pipeline: first.pipeline,
      ...(created.length === 1 ? { runId: first.id } : {}),
    },
    detail: {
      runs: created.length,
      trigger: first.trigger,
      ...(params === undefined || Object.keys(params).length === 0 ? {} : { params }),
      ...(first.interval === undefined || created.length > 1
        ? {}
        : { interval: [first.interval.start, first.interval.end] }),
    },
  });
}

/** `{ actor }` for an event's data when a view has an actor, else nothing. */
function actorData(actor: string | undefined): Record<string, unknown> {
  return actor === undefined ? {} : { actor };
}

async function insertEvent(
  db: SqlDatabase,
  kind: string,
  pipeline: string | undefined,
  runId: string | undefined,
  data: Readonly<Record<string, unknown>>,
): Promise<void> {
  await db.run('INSERT INTO events (at, kind, pipeline, run_id, data) VALUES (?, ?, ?, ?, ?)', [
    Date.now(),
    kind,
    pipeline ?? null,
    runId ?? null,
    JSON.stringify(data),
  ]);
}

function runRecord(row: SqlRow): RunRecord {
  const start = optionalNumber(row['interval_start']);
  const end = optionalNumber(row['interval_end']);
  return {
    id: String(row['id']),
    pipeline: String(row['pipeline']),
    runKey: String(row['run_key']),
    trigger: row['trigger'] as RunTrigger,
    interval: start === undefined || end === undefined ? undefined : { start, end },
    params: JSON.parse(String(row['params'] ?? '{}')) as Record<string, string>,
    state: row['state'] as RunState,
    priority: Number(row['priority'] ?? 0),
    attempt: Number(row['attempt'] ?? 0),
    maxAttempts: Number(row['max_attempts'] ?? 1),
    notBefore: Number(row['not_before']),
    queuedAt: Number(row['queued_at']),
    startedAt: optionalNumber(row['started_at']),
    finishedAt: optionalNumber(row['finished_at']),
    error: parseError(row['error']),
    codeHash: optionalString(row['code_hash']),
    leaseOwner: optionalString(row['lease_owner']),
    leaseExpiresAt: optionalNumber(row['lease_expires_at']),
    fencingToken: Number(row['fencing_token'] ?? 0),
    cancelRequested: Number(row['cancel_requested'] ?? 0) === 1,
    backfillId: optionalString(row['backfill_id']),
    useCache: Number(row['use_cache'] ?? 0) === 1,
    cacheKey: optionalString(row['cache_key']),
    pool: optionalString(row['pool']),
    ...(row['triggered_by'] === null || row['triggered_by'] === undefined
      ? {}
      : { triggeredBy: String(row['triggered_by']) }),
  };
}

function taskRecord(row: SqlRow): TaskRecord {
  return {
    runId: String(row['run_id']),
    step: String(row['step']),
    attempt: Number(row['attempt']),
    state: row['state'] as RunState,
    startedAt: optionalNumber(row['started_at']),
    finishedAt: optionalNumber(row['finished_at']),
    rowsIn: optionalNumber(row['rows_in']),
    rowsOut: optionalNumber(row['rows_out']),
    error: parseError(row['error']),
    ...(Number(row['cached']) === 1 ? { cached: true } : {}),
  };
}

function eventRecord(row: SqlRow): RunEvent {
  return {
    id: Number(row['id']),
    at: Number(row['at']),
    kind: String(row['kind']),
    pipeline: optionalString(row['pipeline']),
    runId: optionalString(row['run_id']),
    data: JSON.parse(String(row['data'])) as Record<string, unknown>,
  };
}

function pipelineRecord(row: SqlRow): PipelineRecord {
  return {
    name: String(row['name']),
    codeHash: optionalString(row['code_hash']),
    file: optionalString(row['file']),
    paused: Number(row['paused'] ?? 0) === 1,
    maxActiveRuns: optionalNumber(row['max_active_runs']),
  };
}

function parseError(value: unknown): RunError | undefined {
  return value === null || value === undefined
    ? undefined
    : (JSON.parse(String(value)) as RunError);
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

function optionalString(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function upsertCursors(
  tx: SqlDatabase,
  pipeline: string,
  runId: string,
  cursors: Readonly<Record<string, string>>,
  now: number,
): Promise<void> {
  for (const [name, value] of Object.entries(cursors))
    await tx.run(
      `INSERT INTO cursors (pipeline, name, value, run_id, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (pipeline, name) DO UPDATE SET value = excluded.value,
         run_id = excluded.run_id, updated_at = excluded.updated_at`,
      [pipeline, name, value, runId, now],
    );
}
