import { hostname } from 'node:os';
import { SYSTEM_ACTOR } from './audit-log.js';
import { runAuditEntries } from './run-audit.js';
import { dirname } from 'node:path';
import { parseDuration } from '../core/duration.js';
import { SluiceError, StoreError } from '../core/errors.js';
import { randomHex } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Pipeline } from '../define/pipeline.js';
import type { StepEvent } from '../engine/executor.js';
import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import { noMetrics } from '../observe/metrics/recorder.js';
import type { RunReport } from '../observe/run-report.js';
import { recordAttempt } from './attempt-metrics.js';
import type { Project } from './project.js';
import { retryDelayMs, retryPolicy } from '../core/retry-policy.js';
import { runCacheKey } from './run-cache.js';
import { RunProcessPool } from './isolated-run.js';
import { sourceStateCursors } from './source-state.js';
import { iso } from './run-summary.js';
import type { RunStore } from './run-store.js';
import type { LineageEmitter } from '../observe/lineage/lineage-emitter.js';
import { createLineageEmitter } from '../observe/lineage/lineage-config.js';
import type { RunEvent } from '../observe/lineage/openlineage-event.js';
import { storeLineageTransport } from './lineage-store.js';
import type { AttemptOutcome, QualitySummary, RunClaim, RunRecord, RunState } from './run-types.js';

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  readonly store: RunStore;
  readonly project: Project;
  /** Name in leases and events (default `<host>-<pid>-<random>`). */
  readonly id?: string;
  /** Runs this worker executes at once (default 1). */
  readonly concurrency?: number;
  /** How long a claim lasts without a heartbeat (default 30 s); heartbeats every third of it. */
  readonly leaseMs?: number;
  /** How often to look for work when there was none (default 200 ms). */
  readonly pollMs?: number;
  /** Only claim runs of these pipelines. */
  readonly pipelines?: readonly string[];
  /**
   * Stops claiming. Runs in progress may finish within `graceMs`; those still running then are
   * stopped and handed back to the store for another worker (or canceled, when asked to be).
   */
  readonly signal?: AbortSignal;
  /** How long runs in progress may take to finish after `signal` aborts (default 30 s). */
  readonly graceMs?: number;
  readonly logger?: Logger;
  /** Where each attempt the store recorded is counted (default: nowhere). */
  readonly metrics?: SluiceMetrics;
  /**
   * Where the runs' OpenLineage events go (default: what the project's `lineage` config and the
   * `OPENLINEAGE_*` environment describe; none when they name no transport).
   */
  readonly lineage?: LineageEmitter;
  /** Called after each attempt the store recorded. */
  readonly onAttempt?: (run: RunRecord, state: RunState) => void;
}

/**
 * Claims ready runs from the store by lease and executes them until `signal` aborts. Each
 * claim is held by heartbeats; when a heartbeat finds the lease taken over (this worker was
 * presumed dead) the run is stopped and nothing more is written for it. A store that cannot be
 * reached is retried with backoff, and work in progress carries on meanwhile.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * await runWorker({ store, project, concurrency: 2, signal: stop.signal });
 * ```
 */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const id = options.id ?? `${hostname()}-${process.pid}-${randomHex(2)}`;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 200;
  const logger = (options.logger ?? silentLogger).child({ worker: id });
  const active = new Set<Promise<void>>();
  const leases = new Set<LeaseKeeper>();
  // Runs execute in processes of their own, started ahead and reused while their runs end well.
  const processes = new RunProcessPool({ size: concurrency });
  processes.prewarm(concurrency);
  const ownLineage =
    options.lineage === undefined
      ? createLineageEmitter(options.project.lineage(), {
          store: storeLineageTransport(options.store),
          baseDir: options.project.root,
          env: process.env,
          logger,
          onDropped: () => (options.metrics ?? noMetrics).lineageEventsDropped({ count: 1 }),
        })
      : undefined;
  const lineage = options.lineage ?? ownLineage;
  // Loaded once per worker, while it waits for work, rather than by a run.
  void lineage?.prepareColumnLineage();
  let storeFailures = 0;
  logger.info({ concurrency, leaseMs }, 'worker started');
  const stopping = (): boolean => options.signal?.aborted === true;
  while (!stopping()) {
    let claimed = false;
    try {
      while (active.size < concurrency && !stopping()) {
        const claim = await options.store.claimRun(
          id,
          leaseMs,
          options.pipelines,
          options.project.config.pools,
        );
        storeFailures = 0;
        if (claim === undefined) break;
        claimed = true;
        const work = executeClaim(claim, {
          ...options,
          ...(lineage === undefined ? {} : { lineage }),
          id,
          leaseMs,
          logger,
          leases,
          processes,
        }).finally(() => active.delete(work));
        active.add(work);
      }
    } catch (error) {
      storeFailures += 1;
      logger.warn({ err: describe(error), failures: storeFailures }, 'cannot claim from the store');
    }
    if (claimed && active.size < concurrency) continue;
    const wait = storeFailures === 0 ? pollMs : Math.min(5_000, pollMs * 2 ** storeFailures);
    await Promise.race([sleep(wait, options.signal), ...active]);
  }
  if (active.size > 0) {
    const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    logger.info({ running: active.size, graceMs }, 'worker stopping: waiting for runs in progress');
    const settled = await Promise.race([
      Promise.all(active).then(() => true),
      sleep(graceMs).then(() => false),
    ]);
    if (!settled) {
      logger.warn({ running: active.size }, 'grace period over: handing the runs back');
      for (const lease of leases) lease.release();
      await Promise.all(active);
    }
  }
  await processes.close();
  // What the transports have not taken within the deadline is dropped and counted.
  await ownLineage?.close(LINEAGE_FLUSH_MS);
  logger.info({}, 'worker stopped');
}

/** How long a stopping worker waits for its lineage events to be delivered. */
const LINEAGE_FLUSH_MS = 5_000;

/** How often a running attempt looks for a cancel, between heartbeats. */
const CANCEL_POLL_MS = 250;

/** How long runs in progress may take to finish after the worker was asked to stop. */
const DEFAULT_GRACE_MS = 30_000;

interface ExecuteContext extends WorkerOptions {
  readonly id: string;
  readonly leaseMs: number;
  readonly logger: Logger;
  /** The leases of the attempts in progress, released when the grace period is over. */
  readonly leases: Set<LeaseKeeper>;
  readonly processes: RunProcessPool;
}

/** Runs one claimed attempt and records its outcome, unless the lease was lost. */
async function executeClaim(claim: RunClaim, context: ExecuteContext): Promise<void> {
  const { run, fencingToken } = claim;
  const logger = context.logger.child({ runId: run.id, pipeline: run.pipeline });
  const lease = new LeaseKeeper(context.store, claim, context.leaseMs, logger);
  context.leases.add(lease);
  const tasks = new TaskRecorder(context.store, run, fencingToken, logger);
  const startedAt = Date.now();
  const ran: { report?: RunReport } = {};
  let outcome: AttemptOutcome;
  try {
    outcome = await runAttempt(run, context, lease, tasks, logger, ran);
  } finally {
    lease.stop();
    context.leases.delete(lease);
  }
  await tasks.flushed();
  const metrics = context.metrics ?? noMetrics;
  if (lease.lost) {
    metrics.leaseTakenOver({ pipeline: run.pipeline, runId: run.id });
    logger.warn({}, 'lease lost: another worker owns this run now; nothing recorded');
    return;
  }
  if (lease.released && outcome.state !== 'success') {
    const released = await untilStored(
      () => context.store.releaseRun(run.id, fencingToken),
      logger,
    );
    if (released) logger.info({}, 'run handed back to the store for another worker');
    return;
  }
  const finished = await untilStored(
    () => context.store.finishAttempt(run.id, fencingToken, outcome),
    logger,
  );
  if (!finished.recorded) {
    logger.warn({}, 'the run was taken over before it finished; its outcome was not recorded');
    return;
  }
  logger.info({ state: finished.state, error: outcome.error?.message }, 'run finished');
  recordAttempt(metrics, {
    pipeline: run.pipeline,
    runId: run.id,
    outcome,
    state: finished.state ?? outcome.state,
    report: ran.report,
    seconds: (Date.now() - startedAt) / 1000,
    at: Date.now(),
  });
  context.onAttempt?.(run, finished.state ?? outcome.state);
}

/**
 * Holds a claim by heartbeat and says why the attempt must stop: the lease was taken over (or
 * could not be renewed for a whole lease), the run was canceled, or it timed out.
 */
class LeaseKeeper {
  readonly #abort = new AbortController();
  readonly #timer: NodeJS.Timeout;
  readonly #cancelPoll: NodeJS.Timeout;
  #timeout: NodeJS.Timeout | undefined;
  lost = false;
  canceled = false;
  timedOut = false;
  released = false;

  constructor(store: RunStore, claim: RunClaim, leaseMs: number, logger: Logger) {
    let renewedAt = Date.now();
    const beat = async (): Promise<void> => {
      try {
        const renewed = await store.heartbeat(claim.run.id, claim.fencingToken, leaseMs);
        renewedAt = Date.now();
        if (!renewed.held) this.#stop('lost', 'the lease was lost to another worker');
        else if (renewed.cancelRequested) this.#stop('canceled', 'the run was canceled');
      } catch (error) {
        logger.warn({ err: describe(error) }, 'heartbeat failed');
        // Another worker may take the run over; stop rather than race it.
        if (Date.now() - renewedAt > leaseMs)
          this.#stop('lost', 'the lease expired while the store was unreachable');
      }
    };
    this.#timer = setInterval(() => void beat(), Math.max(50, Math.floor(leaseMs / 3)));
    const lookForCancel = async (): Promise<void> => {
      if (await store.cancelRequested(claim.run.id).catch(() => false))
        this.#stop('canceled', 'the run was canceled');
    };
    this.#cancelPoll = setInterval(() => void lookForCancel(), CANCEL_POLL_MS);
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Stops the attempt after `limit` (the pipeline's timeout). */
  limit(limit: string | number): void {
    this.#timeout = setTimeout(
      () => this.#stop('timedOut', `the run took longer than ${String(limit)}`),
      parseDuration(limit),
    );
  }

  /** Stops the attempt because the worker is shutting down; the run goes back to the store. */
  release(): void {
    this.#stop('released', 'the worker is shutting down');
  }

  stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#cancelPoll);
    clearTimeout(this.#timeout);
  }

  #stop(why: 'lost' | 'canceled' | 'timedOut' | 'released', message: string): void {
    if (this.#abort.signal.aborted) return;
    this[why] = true;
    this.#abort.abort(
      new SluiceError(why === 'timedOut' ? 'RUN_TIMEOUT' : 'RUN_CANCELED', message),
    );
  }
}

/** Loads the pipeline and runs it (or skips it from the cache), turning every end into an outcome. */
async function runAttempt(
  run: RunRecord,
  context: ExecuteContext,
  lease: LeaseKeeper,
  tasks: TaskRecorder,
  logger: Logger,
  ran: { report?: RunReport },
): Promise<AttemptOutcome> {
  let policy = retryPolicy(0);
  try {
    // A cancel, a shutdown or a lost lease also ends a load whose file's top level hangs.
    const { pipeline, file, codeHash } = await context.project.load(run.pipeline, {
      signal: lease.signal,
    });
    policy = retryPolicy(pipeline.orchestration.retries);
    if (pipeline.orchestration.timeout !== undefined) lease.limit(pipeline.orchestration.timeout);
    const cacheKey = await runCacheKey(pipeline, run, codeHash, dirname(file)).catch(
      (error: unknown) => {
        logger.warn(
          { err: describe(error) },
          'cannot fingerprint the inputs; the run is not cached',
        );
        return undefined;
      },
    );
    const cachedFrom =
      run.useCache && cacheKey !== undefined
        ? await context.store.findCachedRun(run.pipeline, cacheKey)
        : undefined;
    if (cachedFrom !== undefined) {
      logger.info({ cachedFrom }, 'inputs and code unchanged since a successful run; skipped');
      return { state: 'skipped', cachedFrom };
    }
    logger.info({ attempt: run.attempt, codeHash }, 'run started');
    // In a process of its own, so that a timeout or cancel stops it whatever its code does. The
    // pending source state is promoted by finishAttempt, with the run's success.
    const report = await context.processes.run(
      {
        file,
        pipeline: pipeline.name,
        runId: run.id,
        params: runParams(pipeline, run),
        stateDir: context.project.stateDir,
        baseDir: dirname(file),
        store: context.store.location,
        actor: run.triggeredBy ?? SYSTEM_ACTOR,
        commitSourceState: false,
        metricHistoryInStore: true,
        ...(run.useCache ? { cache: { codeHash } } : {}),
        ...(context.lineage === undefined
          ? {}
          : { lineage: { namespace: context.lineage.namespace }, attempt: run.attempt }),
        ...(run.interval === undefined
          ? {}
          : {
              interval: {
                start: new Date(run.interval.start).toISOString(),
                end: new Date(run.interval.end).toISOString(),
              },
            }),
      },
      {
        signal: lease.signal,
        logger,
        onEvent: (event) => tasks.record(event),
        ...(context.lineage === undefined
          ? {}
          : { onLineageEvent: (event: RunEvent) => context.lineage?.emit(event) }),
      },
    );
    ran.report = report;
    const outcome = {
      ...attemptOutcome(report, {
        cancelRequested: lease.canceled,
        timedOut: lease.timedOut,
        policy,
        attempt: run.attempt,
      }),
      quality: qualitySummaries(report),
      audit: runAuditEntries(report),
    };
    return outcome.state === 'success' && cacheKey !== undefined
      ? { ...outcome, cacheKey }
      : outcome;
  } catch (error) {
    return {
      state: 'failed',
      error: {
        code: error instanceof SluiceError ? error.code : 'INTERNAL',
        message: describe(error),
      },
      retryable: error instanceof SluiceError && error.retryable,
      retryDelayMs: retryDelayMs(policy, run.attempt),
    };
  }
}

function attemptOutcome(
  report: RunReport,
  how: {
    readonly cancelRequested: boolean;
    readonly timedOut: boolean;
    readonly policy: ReturnType<typeof retryPolicy>;
    readonly attempt: number;
  },
): AttemptOutcome {
  if (report.status === 'success')
    return {
      state: 'success',
      datasets: report.steps.flatMap((step) => step.outputs),
      cursors: sourceStateCursors(report),
    };
  if (how.cancelRequested)
    return { state: 'canceled', error: { code: 'RUN_CANCELED', message: 'the run was canceled' } };
  const error = how.timedOut
    ? { code: 'RUN_TIMEOUT', message: report.error?.message ?? 'the run timed out' }
    : { code: report.error?.code ?? 'RUN_FAILED', message: report.error?.message ?? 'failed' };
  return {
    state: 'failed',
    error,
    retryable: how.timedOut || report.error?.retryable === true,
    retryDelayMs: retryDelayMs(how.policy, how.attempt, report.error?.retryAfterMs ?? 0),
  };
}

function qualitySummaries(report: RunReport): QualitySummary[] {
  return report.steps.flatMap((step) =>
    step.quality === undefined
      ? []
      : [
          {
            step: step.id,
            suite: step.quality.suite_name,
            success: step.quality.success,
            evaluated: step.quality.statistics.evaluated_expectations,
            successful: step.quality.statistics.successful_expectations,
            qualityScore: step.quality.quality_score,
            failed: step.quality.results
              .filter((result) => !result.success)
              .map((result) => result.expectation_config.id),
          },
        ],
  );
}

/**
 * The run's params, plus its interval as `logical_date`, `interval_start` and `interval_end`
 * (ISO timestamps) and its id as `run_id` where the pipeline declares those params.
 */
function runParams(pipeline: Pipeline, run: RunRecord): Record<string, string> {
  const builtIn: Record<string, string | undefined> = {
    run_id: run.id,
    logical_date: run.interval === undefined ? undefined : iso(run.interval.start),
    interval_start: run.interval === undefined ? undefined : iso(run.interval.start),
    interval_end: run.interval === undefined ? undefined : iso(run.interval.end),
  };
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(builtIn))
    if (value !== undefined && Object.hasOwn(pipeline.params, name)) params[name] = value;
  return { ...params, ...run.params };
}

/** Writes each step's task record in event order, without holding up the run. */
class TaskRecorder {
  #chain: Promise<void> = Promise.resolve();
  readonly #started = new Map<string, number>();

  constructor(
    private readonly store: RunStore,
    private readonly run: RunRecord,
    private readonly fencingToken: number,
    private readonly logger: Logger,
  ) {}

  record(event: StepEvent): void {
    if (event.type === 'step-rows' || event.type === 'step-published') return;
    const now = Date.now();
    const stepId = event.type === 'step-started' ? event.stepId : event.step.id;
    if (event.type === 'step-started') this.#started.set(stepId, now);
    const step = event.type === 'step-finished' ? event.step : undefined;
    const task = {
      runId: this.run.id,
      step: stepId,
      attempt: this.run.attempt,
      state: (step?.status ?? 'running') as RunState,
      startedAt: this.#started.get(stepId) ?? now,
      finishedAt: step === undefined ? undefined : now,
      rowsIn: step?.rowsIn ?? undefined,
      rowsOut: step?.rowsOut ?? undefined,
      error:
        step?.error === undefined
          ? undefined
          : { code: step.error.code, message: step.error.message },
      ...(step?.cached === true ? { cached: true } : {}),
    };
    this.#chain = this.#chain
      .then(() => this.store.recordTask(task, this.fencingToken))
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn({ err: describe(error) }, 'cannot record a task'),
      );
  }

  flushed(): Promise<void> {
    return this.#chain;
  }
}

/** Calls `write` until the store takes it, waiting between tries while it is unreachable. */
async function untilStored<T>(write: () => Promise<T>, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof StoreError && error.retryable)) throw error;
      logger.warn({ err: error.message, attempt }, 'store unreachable; retrying');
      await sleep(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Resolves after `ms`, or at once when `signal` aborts.
 *
 * @example
 * ```ts
 * await sleep(200, signal);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
