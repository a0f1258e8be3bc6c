import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackoffError } from '../core/errors.js';
import { ownKeysOnly } from '../core/own-keys.js';
import {
  ConfigError,
  EngineError,
  QualityGateError,
  SinkError,
  SluiceError,
  UserCodeError,
  causeIsRetryable,
  describeCause,
} from '../core/errors.js';
import type { SuiteResult } from '../quality/expectation.js';
import { newRunId } from '../core/ids.js';
import { retryDelayMs, retryPolicy } from '../core/retry-policy.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { EngineOptions, Pipeline } from '../define/pipeline.js';
import type {
  ReportedError,
  RunReport,
  StepReport,
  StepStatus,
  StepWrite,
} from '../observe/run-report.js';
import { unpublishedMessage, writeRunReport } from '../observe/run-report.js';
import type { Plan, PlannedStep } from '../plan/planner.js';
import { planOrThrow } from '../plan/planner.js';
import type { ConnectorRegistry } from '../contracts/batch-connector.js';
import { defaultRegistry } from '../registry.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { SharedResources } from './shared-resources.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import { firstLine } from '../contracts/engine-connection.js';
import { QuarantineStore } from '../contracts/quarantine-store.js';
import { MetricHistoryStore } from '../quality/metric-history.js';
import { scheduleSteps } from './scheduler.js';
import type { StepOutcome } from './step-outcome.js';
import { runStep, settleViewCounts, sumInputRows } from './step-runners.js';
import { dropDataset } from './datasets.js';
import type { TaskCacheOptions } from './task-cache.js';
import { TaskCache } from './task-cache.js';
import { faultPoint } from './fault-points.js';
import {
  SecretRedactor,
  addConfigSecrets,
  addEnvironmentSecrets,
  redactingLogger,
} from '../contracts/secrets.js';
import { pipelineBaseDir, tellsPublishedRuns } from './published-runs.js';
import type { StepEvent } from './step-event.js';
import type { LineageEmitter } from '../observe/lineage/lineage-emitter.js';
import { RunLineage } from '../observe/lineage/run-lineage.js';
import type { RunEvent } from '../observe/lineage/openlineage-event.js';
import { compileSQL } from './sql-compiler.js';

export type { StepEvent } from './step-event.js';

/** Options of {@link runPipeline}. */
export interface RunOptions {
  /** Connectors to use (default: the file connectors). */
  readonly registry?: ConnectorRegistry;
  /** Values for the pipeline's declared params. */
  readonly params?: Readonly<Record<string, string>>;
  /** Folder that relative paths in steps resolve against (default: the pipeline file's). */
  readonly baseDir?: string;
  /** Where run reports, quarantine files and spill files go (default: `.sluice`). */
  readonly stateDir?: string;
  readonly runId?: string;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** Overrides of the pipeline's engine settings. */
  readonly engine?: EngineOptions;
  readonly onEvent?: (event: StepEvent) => void;
  /**
   * Watermarks of incremental sources from the last successful run, by step id; the report's
   * `watermarks` has the new ones. The orchestrator keeps them in its store.
   */
  readonly watermarks?: Readonly<Record<string, string>>;
  /**
   * Rebuild incremental warehouse models from scratch, and have append and merge sinks replace
   * their targets' contents with the run's output, instead of adding to them.
   */
  readonly fullRefresh?: boolean;
  /**
   * Who the run writes for (`user:alice`, `token:deploy`, `scheduler`): sinks that keep
   * provenance record it with the run id, pipeline and step (Delta's commitInfo).
   */
  readonly actor?: string;
  /** Where datasets' metric history is read and appended (default: files under `stateDir`). */
  readonly metricHistory?: MetricHistoryStore;
  /**
   * Task-level caching: steps whose key (pipeline, step, code hash, params, input versions)
   * matches an earlier output reuse it instead of running. See {@link TaskCache}.
   */
  readonly cache?: TaskCacheOptions;
  /**
   * Keeps the sources' new state (watermarks, positions) in step with the published outputs:
   * `prepare` runs after every step succeeded and before any sink publishes, `commit` after
   * every sink published. See {@link SourceStateHooks}.
   */
  readonly sourceState?: SourceStateHooks;
  /**
   * Where the run's OpenLineage events go (pipeline run and step runs). Emitting only queues
   * the events: it never waits for a transport, never slows or fails the run.
   */
  readonly lineage?: LineageEmitter;
  /**
   * The run's data interval (ISO times), when it has one: the lineage events' `nominalTime`.
   * Without it, the `interval_start`/`interval_end` params are used where the pipeline has them.
   */
  readonly interval?: { readonly start: string; readonly end: string };
  /** The orchestrator's attempt number of this run (1 for the first): a lineage run of its own. */
  readonly attempt?: number;
}

/**
 * What a run is about to commit: the sources' new state and the sinks that publish with it.
 *
 * @example
 * ```ts
 * const change: SourceStateChange = { runId: 'run_x', watermarks: { orders: '42' }, sinks: ['out'] };
 * ```
 */
export interface SourceStateChange {
  readonly runId: string;
  /** Each source step's new state, by step id (the report's `watermarks`). */
  readonly watermarks: Readonly<Record<string, string>>;
  /** Step ids of the steps about to publish, in publishing order. */
  readonly sinks: readonly string[];
}

/**
 * How the caller saves the sources' state around publishing. `prepare` records the new state
 * as pending; when it throws, nothing is published and the run fails with its error. `commit`
 * promotes it; when it throws, the run fails with its error and the outputs stay published (the
 * pending state lets the next run finish the job).
 *
 * @example
 * ```ts
 * await runPipeline(pipeline, {
 *   sourceState: {
 *     prepare: (change) => store.savePendingState(name, change.runId, cursorsOf(change), change.sinks),
 *     commit: (change) => store.promotePendingState(name, change.runId).then(() => undefined),
 *   },
 * });
 * ```
 */
export interface SourceStateHooks {
  prepare(change: SourceStateChange): Promise<void>;
  commit?(change: SourceStateChange): Promise<void>;
}

/**
 * Plans and runs a pipeline on a fresh DuckDB instance, then writes its run report.
 *
 * Independent steps run concurrently. Sinks stage their outputs; the outputs are published only
 * when every step succeeded, so a failed run leaves previous outputs as they were. A failed run
 * returns a report with `status: 'failed'`; an invalid pipeline throws a {@link ConfigError}
 * listing every problem.
 *
 * @example
 * ```ts
 * const report = await runPipeline(pipeline, { params: { region: 'EU' } });
 * if (report.status !== 'success') process.exitCode = 1;
 * ```
 */
export async function runPipeline(
  pipeline: Pipeline,
  options: RunOptions = {},
): Promise<RunReport> {
  const registry = options.registry ?? defaultRegistry;
  const plan = planOrThrow(pipeline, { connectors: registry.lookup });
  const params = resolveParams(pipeline, options.params ?? {});
  // Looked up by step id: a step named `constructor` must not find Object's constructor.
  const watermarks = options.watermarks === undefined ? undefined : ownKeysOnly(options.watermarks);
  const startedAt = new Date();
  const runId = options.runId ?? newRunId(startedAt);
  const stateDir = resolve(options.stateDir ?? '.sluice');
  const baseDir = resolve(options.baseDir ?? pipelineBaseDir(pipeline));
  // Every secret of the steps' configs is redacted from what the run says: its log lines, its
  // errors (and so the report, the CLI's output and the run store). Remote systems echo them.
  const redactor = addConfigSecrets(addEnvironmentSecrets(new SecretRedactor()), [
    plan.steps.map((step) => [step.config, step.definition]),
    pipeline.engine,
  ]);
  const logger = redactingLogger(
    (options.logger ?? silentLogger).child({ runId, pipeline: pipeline.name }),
    redactor,
  );
  const metricHistory =
    options.metricHistory ?? (await MetricHistoryStore.open(stateDir, { logger }));
  const quarantine = new QuarantineStore(join(stateDir, 'runs', runId, 'quarantine'), runId);
  const tempDirectory = join(stateDir, 'tmp', runId);
  const engine = { ...pipeline.engine, ...options.engine };
  const abort = new AbortController();
  const lineage =
    options.lineage?.active === true
      ? new RunLineage(options.lineage, {
          pipeline,
          steps: plan.steps,
          runId,
          params,
          baseDir,
          redact: (event) => redactor.redactValue(event) as RunEvent,
          ...(options.interval === undefined ? {} : { interval: options.interval }),
          ...(options.attempt === undefined ? {} : { attempt: options.attempt }),
          ...(options.fullRefresh === true ? { fullRefresh: true } : {}),
        })
      : undefined;
  const lineageFacts = (step: PlannedStep, outcome: StepOutcome | undefined, done: StepReport) =>
    outcome === undefined
      ? undefined
      : {
          fields: outcome.fields,
          inputs: outcome.inputs,
          outputs: outcome.outputs,
          rowsIn: done.rowsIn,
          rowsOut: done.rowsOut,
          ...(outcome.quality === undefined ? {} : { quality: outcome.quality }),
          ...(outcome.metrics === undefined ? {} : { metrics: outcome.metrics.values }),
          ...(step.definition.kind === 'sql' && step.definition.warehouse === undefined
            ? { sql: compileSQL(step.definition, params) }
            : {}),
        };
  const onOuterAbort = (): void => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  logger.info({ steps: plan.steps.length, params }, 'run started');
  await mkdir(tempDirectory, { recursive: true });
  const session = await DuckDBSession.create({
    tempDirectory,
    ...(engine.memoryLimit === undefined ? {} : { memoryLimit: engine.memoryLimit }),
    ...(engine.threads === undefined ? {} : { threads: engine.threads }),
  });
  const taskCache =
    options.cache === undefined
      ? undefined
      : new TaskCache(options.cache.directory ?? join(stateDir, 'cache', 'tasks'), plan, {
          codeHash: options.cache.codeHash,
          params,
          baseDir,
          registry,
          ...(watermarks === undefined ? {} : { watermarks }),
        });
  const finished = new Map<
    string,
    { status: StepStatus; durationMs: number; error?: SluiceError; cached?: boolean }
  >();
  const outcomes = new Map<string, StepOutcome>();
  const shared = new SharedResources();
  /** Steps whose output is published: never discarded, whatever fails after. */
  const published = new Set<string>();
  /** What each published sink committed (its mode and table version), for the report. */
  const writes = new Map<string, StepWrite>();
  let failure: SluiceError | undefined;
  const report = (step: PlannedStep): StepReport => {
    const end = finished.get(step.id);
    const outcome = outcomes.get(step.id);
    return stepReport(
      step,
      end?.status ?? (failure === undefined ? 'success' : 'skipped'),
      outcome !== undefined && step.kind === 'sql'
        ? { ...outcome, rowsIn: sumInputRows(step, outcomes) }
        : outcome,
      end?.durationMs ?? 0,
      quarantine,
      end?.error,
      end?.cached,
      writes.get(step.id),
    );
  };

  const executeStep = async (step: PlannedStep): Promise<void> => {
    const stepLogger = logger.child({ stepId: step.id });
    const began = performance.now();
    options.onEvent?.({ type: 'step-started', stepId: step.id, kind: step.kind });
    lineage?.stepStarted(step, new Date());
    stepLogger.info({ kind: step.kind }, 'step started');
    const connection = await session.connect(step.id);
    try {
      const key = await taskCache?.keyOf(step);
      const cached =
        key === undefined
          ? undefined
          : step.kind === 'sink'
            ? await taskCache?.published(key)
            : await taskCache?.restore(connection, step.id, key);
      if (cached !== undefined) {
        outcomes.set(step.id, cached);
        finished.set(step.id, {
          status: 'success',
          durationMs: performance.now() - began,
          cached: true,
        });
        stepLogger.info({ key }, 'step output taken from the cache');
        const done = report(step);
        lineage?.stepFinished(step, done, lineageFacts(step, cached, done), new Date());
        options.onEvent?.({ type: 'step-finished', step: done });
        return;
      }
      let outcome = await withStepRetries(
        step,
        connection,
        quarantine,
        stepLogger,
        abort.signal,
        () =>
          runStep(step, {
            plan,
            registry,
            session,
            connection,
            outcomes,
            params,
            runId,
            baseDir,
            stateDir,
            startedAt,
            quarantine,
            metricHistory,
            logger: stepLogger,
            signal: abort.signal,
            shared: shared.open,
            ...(options.fullRefresh === true ? { fullRefresh: true } : {}),
            provenance: { pipeline: pipeline.name, actor: options.actor ?? 'system' },
            ...(watermarks === undefined ? {} : { watermarks }),
            ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
          }),
      );
      if (key !== undefined && step.kind !== 'sink')
        outcome = await taskCache!.save(connection, step.id, key, outcome);
      outcomes.set(step.id, outcome);
      for (const child of outcome.children ?? []) outcomes.set(child.name, child.outcome);
      settleViewCounts(plan, step, outcome, outcomes);
      finished.set(step.id, { status: 'success', durationMs: performance.now() - began });
      const done = report(step);
      for (const change of outcome.schemaChanges ?? [])
        stepLogger.warn({ change }, 'schema change');
      stepLogger.info(
        {
          rowsIn: done.rowsIn,
          // A view's rows are counted by its consumer, after this line.
          ...(outcome.rowsOut === undefined ? {} : { rowsOut: done.rowsOut }),
          rowsQuarantined: done.rowsQuarantined,
          durationMs: Math.round(done.durationMs),
        },
        'step finished',
      );
      lineage?.stepFinished(step, done, lineageFacts(step, outcome, done), new Date());
      options.onEvent?.({ type: 'step-finished', step: done });
    } catch (error) {
      const wrapped = redactor.redactError(asSluiceError(error, step.id));
      if (abort.signal.aborted && failure !== undefined) {
        finished.set(step.id, { status: 'canceled', durationMs: performance.now() - began });
      } else {
        failure ??= wrapped;
        abort.abort(wrapped);
        finished.set(step.id, {
          status: 'failed',
          durationMs: performance.now() - began,
          error: wrapped,
        });
        const stack =
          wrapped instanceof UserCodeError && wrapped.cause instanceof Error
            ? wrapped.cause.stack
            : undefined;
        stepLogger.error(
          { code: wrapped.code, err: wrapped.message, ...(stack === undefined ? {} : { stack }) },
          'step failed',
        );
      }
      const done = report(step);
      lineage?.stepFinished(
        step,
        done,
        lineageFacts(step, outcomes.get(step.id), done),
        new Date(),
      );
      options.onEvent?.({ type: 'step-finished', step: done });
    } finally {
      // A sink's staged output may hold a transaction on its connection until publish.
      if (step.kind !== 'sink') connection.close();
    }
  };

  lineage?.runStarted(startedAt);
  try {
    await scheduleSteps(
      plan,
      engine.maxConcurrentSteps ?? 4,
      executeStep,
      () => failure !== undefined || options.signal?.aborted === true,
    );
    if (failure === undefined && options.signal?.aborted === true) {
      failure = new SluiceError('RUN_FAILED', 'the run was canceled', {
        cause: options.signal.reason,
      });
    }
    if (failure === undefined) {
      const publishing = publishingOrder(plan, outcomes, registry);
      const change: SourceStateChange = {
        runId,
        watermarks: watermarksOf(outcomes).watermarks ?? {},
        // A sink that wrote no rows may commit nothing to mark (an empty Delta append).
        sinks: publishing
          .filter((step) => (outcomes.get(step.id)?.staged?.rowsWritten ?? 0) > 0)
          .map((step) => step.id),
      };
      failure = await prepareSourceState(options.sourceState, change);
      const onPublished =
        lineage === undefined
          ? options.onEvent
          : (event: StepEvent): void => {
              const step =
                event.type === 'step-published'
                  ? plan.steps.find((s) => s.id === event.stepId)
                  : undefined;
              if (step !== undefined) lineage.stepPublished(step, report(step), new Date());
              options.onEvent?.(event);
            };
      failure ??= await publishOutputs(
        publishing,
        outcomes,
        published,
        writes,
        logger,
        onPublished,
      );
      if (failure === undefined) {
        await recordMetrics(metricHistory, outcomes, runId);
        if (taskCache !== undefined)
          await rememberPublishedSinks(plan, taskCache, outcomes, logger);
        await faultPoint('before-state-save');
        failure = await commitSourceState(options.sourceState, change);
      }
    }
  } catch (error) {
    lineage?.runFinished(
      'failed',
      [],
      redactor.redact(`[INTERNAL] ${firstLine(error)}`),
      new Date(),
    );
    throw error;
  } finally {
    if (failure !== undefined) {
      await discardOutputs(outcomes, published);
      for (const step of plan.steps) {
        if (published.has(step.id) || outcomes.get(step.id)?.staged === undefined) continue;
        const end = finished.get(step.id);
        if (end?.status !== 'success') continue;
        const own = failure instanceof SinkError && failure.stepId === step.id;
        finished.set(step.id, {
          ...end,
          status: own ? 'failed' : 'canceled',
          error: own ? failure : new SluiceError(failure.code, unpublishedMessage(failure.message)),
        });
        options.onEvent?.({ type: 'step-finished', step: report(step) });
      }
    }
    await shared.closeAll();
    session.close();
    options.signal?.removeEventListener('abort', onOuterAbort);
    await rm(tempDirectory, { recursive: true, force: true });
  }

  if (failure !== undefined) redactor.redactError(failure);
  const steps = plan.steps.map(report);
  const endedAt = new Date();
  const runReport: RunReport = {
    pipeline: pipeline.name,
    runId,
    status:
      failure === undefined ? 'success' : options.signal?.aborted === true ? 'canceled' : 'failed',
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs: endedAt.getTime() - startedAt.getTime(),
    params,
    steps,
    rowsQuarantined: steps.reduce((sum, s) => sum + s.rowsQuarantined, 0),
    quarantineDir: quarantine.directory,
    ...(failure === undefined ? {} : { error: reportError(failure) }),
    ...(failure === undefined ? watermarksOf(outcomes) : {}),
  };
  // Errors were redacted where they were caught; the rest of the report (inputs, outputs,
  // schema changes, quality results) passes the same filter before it is written or returned.
  const redacted = redactor.redactValue(runReport) as RunReport;
  lineage?.runFinished(
    // A run stopped at its timeout failed (as the orchestrator records it), not canceled.
    redacted.status === 'canceled' && stopCode(options.signal) === 'RUN_TIMEOUT'
      ? 'failed'
      : redacted.status,
    redacted.steps,
    redacted.error === undefined ? undefined : `[${redacted.error.code}] ${redacted.error.message}`,
    endedAt,
  );
  await writeRunReport(redacted, stateDir);
  logger.info({ status: redacted.status, durationMs: redacted.durationMs }, 'run finished');
  return redacted;
}

/**
 * The steps with staged output, in publishing order: first those whose sink cannot tell which
 * runs it published, then those that can. A run stopped part-way has then published the
 * untold ones whenever any told one says it published, which is what the next run relies on.
 */
function publishingOrder(
  plan: Plan,
  outcomes: ReadonlyMap<string, StepOutcome>,
  registry: ConnectorRegistry,
): PlannedStep[] {
  const staged = plan.steps.filter((step) => outcomes.get(step.id)?.staged !== undefined);
  const tells = (step: PlannedStep): boolean =>
    step.definition.kind === 'sink' && tellsPublishedRuns(registry, step.definition.connector);
  return [...staged.filter((step) => !tells(step)), ...staged.filter(tells)];
}

async function prepareSourceState(
  hooks: SourceStateHooks | undefined,
  change: SourceStateChange,
): Promise<SluiceError | undefined> {
  if (hooks === undefined) return undefined;
  await faultPoint('before-state-prepare');
  try {
    await hooks.prepare(change);
  } catch (cause) {
    return stateError(cause, "cannot record the sources' new state; nothing was published");
  }
  await faultPoint('before-publish');
  return undefined;
}

async function commitSourceState(
  hooks: SourceStateHooks | undefined,
  change: SourceStateChange,
): Promise<SluiceError | undefined> {
  if (hooks?.commit === undefined) return undefined;
  try {
    await hooks.commit(change);
    return undefined;
  } catch (cause) {
    return stateError(cause, "the outputs were published but the sources' new state was not saved");
  }
}

function stateError(cause: unknown, what: string): SluiceError {
  if (cause instanceof SluiceError) return cause;
  return new SluiceError('STORE_FAILED', `${what}: ${describeCause(cause)}`, { cause });
}

async function publishOutputs(
  publishing: readonly PlannedStep[],
  outcomes: ReadonlyMap<string, StepOutcome>,
  published: Set<string>,
  writes: Map<string, StepWrite>,
  logger: Logger,
  onEvent: ((event: StepEvent) => void) | undefined,
): Promise<SluiceError | undefined> {
  for (const step of publishing) {
    const staged = outcomes.get(step.id)?.staged;
    if (staged === undefined) continue;
    try {
      const committed = await staged.publish();
      published.add(step.id);
      const version = committed === undefined ? undefined : committed.version;
      const mode = staged.writeMode ?? configuredWriteMode(step);
      if (mode !== undefined || version !== undefined)
        writes.set(step.id, {
          ...(mode === undefined ? {} : { mode }),
          ...(version === undefined ? {} : { version }),
        });
      onEvent?.({ type: 'step-published', stepId: step.id });
      logger.info({ stepId: step.id, outputs: staged.outputs }, 'output published');
      await faultPoint(`published:${step.id}`);
    } catch (cause) {
      // A sink's own error already says what went wrong with its output.
      if (cause instanceof SinkError && cause.stepId === step.id) return cause;
      return new SinkError(
        step.id,
        `cannot publish ${staged.outputs.join(', ')}: ${describeCause(cause)}`,
        {
          cause,
          ...(cause instanceof SluiceError && cause.hint !== undefined ? { hint: cause.hint } : {}),
        },
      );
    }
  }
  return undefined;
}

/** The `mode` of a sink's config (warehouse sinks: append, overwrite, merge, ...), if it has one. */
function configuredWriteMode(step: PlannedStep): string | undefined {
  const config = step.config as { readonly mode?: unknown } | undefined;
  return typeof config?.mode === 'string' ? config.mode : undefined;
}

/** Sinks that published this run (not from the cache) are skipped by later runs with their key. */
async function rememberPublishedSinks(
  plan: Plan,
  cache: TaskCache,
  outcomes: ReadonlyMap<string, StepOutcome>,
  logger: Logger,
): Promise<void> {
  for (const step of plan.steps) {
    const outcome = outcomes.get(step.id);
    if (step.kind !== 'sink' || outcome?.staged === undefined) continue;
    const key = await cache.keyOf(step);
    if (key === undefined) continue;
    // The output is already published; a lost marker only means the sink runs again next time.
    await cache
      .markPublished(key, outcome)
      .catch((error: unknown) =>
        logger.warn({ stepId: step.id, err: String(error) }, 'cannot record the sink in the cache'),
      );
  }
}

/** Metrics of checked datasets join their history only when the run succeeded. */
async function recordMetrics(
  store: MetricHistoryStore,
  outcomes: ReadonlyMap<string, StepOutcome>,
  runId: string,
): Promise<void> {
  const at = new Date().toISOString();
  for (const outcome of outcomes.values()) {
    if (outcome.metrics === undefined) continue;
    await store.append({
      runId,
      dataset: outcome.metrics.dataset,
      at,
      metrics: outcome.metrics.values,
    });
  }
}

async function discardOutputs(
  outcomes: ReadonlyMap<string, StepOutcome>,
  published: ReadonlySet<string>,
): Promise<void> {
  for (const [stepId, outcome] of outcomes)
    if (!published.has(stepId)) await outcome.staged?.discard().catch(() => undefined);
}

function resolveParams(
  pipeline: Pipeline,
  given: Readonly<Record<string, string>>,
): Record<string, string> {
  const unknown = Object.keys(given).filter((name) => !Object.hasOwn(pipeline.params, name));
  if (unknown.length > 0) {
    throw new ConfigError(
      unknown.map((name) => ({
        code: 'unknown-param',
        message: `param "${name}" is not declared by pipeline "${pipeline.name}"`,
        hint: `declared params: ${Object.keys(pipeline.params).join(', ') || '(none)'}`,
      })),
    );
  }
  return { ...pipeline.params, ...given };
}

function stepReport(
  step: PlannedStep,
  status: StepStatus,
  outcome: StepOutcome | undefined,
  durationMs: number,
  quarantine: QuarantineStore,
  error?: SluiceError,
  cached?: boolean,
  write?: StepWrite,
): StepReport {
  const quarantined = quarantine.count(step.id);
  const quality =
    outcome?.quality ?? (error instanceof QualityGateError ? error.result : undefined);
  const connector =
    step.definition.kind === 'source' || step.definition.kind === 'sink'
      ? step.definition.connector
      : undefined;
  return {
    id: step.id,
    kind: step.kind,
    ...(connector === undefined ? {} : { connector }),
    status,
    rowsIn: outcome === undefined ? 0 : (outcome.rowsIn ?? null),
    rowsOut: outcome === undefined ? 0 : (outcome.rowsOut ?? null),
    rowsQuarantined: quarantined,
    durationMs: Math.round(durationMs),
    inputs: outcome?.inputs ?? [],
    outputs: outcome?.outputs ?? [],
    ...(quarantined > 0 ? { quarantineFile: quarantine.pathFor(step.id) } : {}),
    ...(error === undefined ? {} : { error: reportError(error) }),
    ...(quality === undefined ? {} : { quality: quality as SuiteResult }),
    ...(outcome?.schemaChanges === undefined ? {} : { schemaChanges: outcome.schemaChanges }),
    ...(outcome?.valuesDiscarded === undefined ? {} : { valuesDiscarded: outcome.valuesDiscarded }),
    ...(cached === true ? { cached } : {}),
    ...(write === undefined ? {} : { write }),
  };
}

function asSluiceError(error: unknown, stepId: string): SluiceError {
  if (error instanceof SluiceError) return error;
  return new EngineError(stepId, firstLine(error), { cause: error });
}

/**
 * Runs a source or transform step, and again after a retryable failure while its `retries`
 * allow: what the failed attempt created (its dataset, its quarantined records) is removed
 * first, so the retry starts clean.
 */
async function withStepRetries(
  step: PlannedStep,
  connection: EngineConnection,
  quarantine: QuarantineStore,
  logger: Logger,
  signal: AbortSignal,
  attempt: () => Promise<StepOutcome>,
): Promise<StepOutcome> {
  const definition = step.definition;
  const retries =
    definition.kind === 'source' || definition.kind === 'transform'
      ? definition.retries
      : undefined;
  const policy = retryPolicy(retries);
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = error instanceof SluiceError ? error.retryable : causeIsRetryable(error);
      if (!retryable || tries > policy.retries || signal.aborted) throw error;
      const waitMs = retryDelayMs(policy, tries, (error as { waitMs?: number }).waitMs ?? 0);
      logger.warn({ err: firstLine(error), attempt: tries, waitMs }, 'step failed; retrying');
      await dropDataset(connection, step.id);
      await quarantine.reset(step.id);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

function watermarksOf(outcomes: ReadonlyMap<string, StepOutcome>): {
  watermarks?: Record<string, string>;
} {
  const watermarks = Object.fromEntries(
    [...outcomes]
      .filter(([, outcome]) => outcome.watermark !== undefined)
      .map(([stepId, outcome]) => [stepId, outcome.watermark as string]),
  );
  return Object.keys(watermarks).length === 0 ? {} : { watermarks };
}

function stopCode(signal: AbortSignal | undefined): string | undefined {
  const reason: unknown = signal?.reason;
  return reason instanceof SluiceError ? reason.code : undefined;
}

function reportError(error: SluiceError): ReportedError {
  const stepId = (error as { stepId?: unknown }).stepId;
  const backoff = [error, error.cause].find(
    (e): e is BackoffError => typeof (e as { waitMs?: unknown } | undefined)?.waitMs === 'number',
  );
  return {
    code: error.code,
    message: error.message,
    ...(typeof stepId === 'string' ? { stepId } : {}),
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    ...(error.retryable ? { retryable: true } : {}),
    ...(backoff === undefined ? {} : { retryAfterMs: backoff.waitMs }),
  };
}
