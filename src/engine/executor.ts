import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  ConfigError,
  EngineError,
  SchemaMismatchError,
  SluiceError,
  UserCodeError,
} from '../core/errors.js';
import { newRunId } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { Field } from '../core/types.js';
import { formatType } from '../core/types.js';
import { quoteIdentifier } from '../core/type-mappings.js';
import type { EngineOptions, Pipeline } from '../define/pipeline.js';
import type { SinkStep, SourceStep, SQLStep, TransformStep } from '../define/steps.js';
import type { ReportedError, RunReport, StepReport, StepStatus } from '../observe/run-report.js';
import { writeRunReport } from '../observe/run-report.js';
import type { Plan, PlannedStep } from '../plan/planner.js';
import { planOrThrow } from '../plan/planner.js';
import type { ConnectorRegistry, StagedOutput } from './connector.js';
import { defaultRegistry } from './default-registry.js';
import type { EngineConnection } from './duckdb-session.js';
import { DuckDBSession, firstLine } from './duckdb-session.js';
import { fieldsFromColumns } from './duckdb-types.js';
import { QuarantineStore } from './quarantine-store.js';
import { compileSQL } from './sql-compiler.js';
import { runTransform } from './transform-runner.js';

/** Progress events for displays: a step started, moved rows, or finished. */
export type StepEvent =
  | { readonly type: 'step-started'; readonly stepId: string; readonly kind: string }
  | {
      readonly type: 'step-rows';
      readonly stepId: string;
      readonly rowsIn: number;
      readonly rowsOut: number;
    }
  | { readonly type: 'step-finished'; readonly step: StepReport };

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
}

interface StepOutcome {
  readonly fields: readonly Field[];
  /** Undefined for SQL steps: derived from their inputs when the report is made. */
  readonly rowsIn: number | undefined;
  /** Undefined for views until their consumer has read them. */
  rowsOut: number | undefined;
  readonly rowsQuarantined: number;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly staged?: StagedOutput;
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
  const startedAt = new Date();
  const runId = options.runId ?? newRunId(startedAt);
  const stateDir = resolve(options.stateDir ?? '.sluice');
  const baseDir = resolve(options.baseDir ?? baseDirOf(pipeline));
  const logger = (options.logger ?? silentLogger).child({ runId, pipeline: pipeline.name });
  const quarantine = new QuarantineStore(join(stateDir, 'runs', runId, 'quarantine'), runId);
  const tempDirectory = join(stateDir, 'tmp', runId);
  const engine = { ...pipeline.engine, ...options.engine };
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  logger.info({ steps: plan.steps.length, params }, 'run started');
  await mkdir(tempDirectory, { recursive: true });
  const session = await DuckDBSession.create({
    tempDirectory,
    ...(engine.memoryLimit === undefined ? {} : { memoryLimit: engine.memoryLimit }),
    ...(engine.threads === undefined ? {} : { threads: engine.threads }),
  });
  const finished = new Map<
    string,
    { status: StepStatus; durationMs: number; error?: SluiceError }
  >();
  const outcomes = new Map<string, StepOutcome>();
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
    );
  };

  const executeStep = async (step: PlannedStep): Promise<void> => {
    const stepLogger = logger.child({ stepId: step.id });
    const began = performance.now();
    options.onEvent?.({ type: 'step-started', stepId: step.id, kind: step.kind });
    stepLogger.info({ kind: step.kind }, 'step started');
    const connection = await session.connect(step.id);
    try {
      const outcome = await runStep(step, {
        plan,
        registry,
        session,
        connection,
        outcomes,
        params,
        runId,
        baseDir,
        startedAt,
        quarantine,
        logger: stepLogger,
        signal: abort.signal,
        ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      });
      outcomes.set(step.id, outcome);
      settleViewCounts(plan, step, outcome, outcomes);
      finished.set(step.id, { status: 'success', durationMs: performance.now() - began });
      const done = report(step);
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
      options.onEvent?.({ type: 'step-finished', step: done });
    } catch (error) {
      const wrapped = asSluiceError(error, step.id);
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
      options.onEvent?.({ type: 'step-finished', step: report(step) });
    } finally {
      // A sink's staged output may hold a transaction on its connection until publish.
      if (step.kind !== 'sink') connection.close();
    }
  };

  try {
    await schedule(
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
    failure ??= await publishOutputs(plan, outcomes, logger);
  } finally {
    if (failure !== undefined) await discardOutputs(outcomes);
    session.close();
    options.signal?.removeEventListener('abort', onOuterAbort);
    await rm(tempDirectory, { recursive: true, force: true });
  }

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
  };
  await writeRunReport(runReport, stateDir);
  logger.info({ status: runReport.status, durationMs: runReport.durationMs }, 'run finished');
  return runReport;
}

interface StepRunContext {
  readonly plan: Plan;
  readonly registry: ConnectorRegistry;
  readonly session: DuckDBSession;
  readonly connection: EngineConnection;
  readonly outcomes: ReadonlyMap<string, StepOutcome>;
  readonly params: Readonly<Record<string, string>>;
  readonly runId: string;
  readonly baseDir: string;
  readonly startedAt: Date;
  readonly quarantine: QuarantineStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly onEvent?: (event: StepEvent) => void;
}

async function runStep(step: PlannedStep, ctx: StepRunContext): Promise<StepOutcome> {
  const onAbort = (): void => ctx.connection.raw.interrupt();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    switch (step.kind) {
      case 'source':
        return await runSource(step, step.definition as SourceStep, ctx);
      case 'sql':
        return await runSQL(step, step.definition as SQLStep, ctx);
      case 'transform':
        return await runTransformStep(step, step.definition as TransformStep, ctx);
      case 'sink':
        return await runSink(step, step.definition as SinkStep, ctx);
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

async function runSource(
  step: PlannedStep,
  def: SourceStep,
  ctx: StepRunContext,
): Promise<StepOutcome> {
  const connector = ctx.registry.source(def.connector);
  if (connector === undefined)
    throw new SluiceError('INTERNAL', `source connector ${def.connector} vanished`);
  const result = await connector.read(step.config, {
    stepId: step.id,
    runId: ctx.runId,
    baseDir: ctx.baseDir,
    connection: ctx.connection,
    extractedAt: ctx.startedAt,
    quarantine: ctx.quarantine,
    logger: ctx.logger,
    signal: ctx.signal,
  });
  return {
    fields: result.fields,
    rowsIn: result.rowsRead,
    rowsOut: result.rowsRead - result.rowsQuarantined,
    rowsQuarantined: result.rowsQuarantined,
    inputs: result.inputs,
    outputs: [],
  };
}

async function runSQL(step: PlannedStep, def: SQLStep, ctx: StepRunContext): Promise<StepOutcome> {
  const query = compileSQL(def, ctx.params);
  const materialize =
    (def.materialize ?? defaultMaterialization(step, ctx.plan)) === 'table' ? 'TABLE' : 'VIEW';
  try {
    await ctx.connection.raw.run(`CREATE ${materialize} ${quoteIdentifier(step.id)} AS ${query}`);
  } catch (cause) {
    throw new EngineError(step.id, firstLine(cause), {
      cause,
      hint: `the SQL of step "${step.id}" is:\n${indent(query)}`,
    });
  }
  const reader = await ctx.connection.raw.runAndReadAll(
    `SELECT * FROM ${quoteIdentifier(step.id)} LIMIT 0`,
  );
  const fields = fieldsFromColumns(reader.columnNames(), reader.columnTypes());
  if (def.schema !== undefined) checkDeclaredSchema(step.id, def.schema.fields, fields);
  const rowsOut = materialize === 'TABLE' ? await countRows(ctx.connection, step.id) : undefined;
  return {
    fields,
    rowsIn: undefined,
    rowsOut,
    rowsQuarantined: 0,
    inputs: [],
    outputs: [],
  };
}

async function runTransformStep(
  step: PlannedStep,
  def: TransformStep,
  ctx: StepRunContext,
): Promise<StepOutcome> {
  const input = inputOutcome(step, ctx.outcomes);
  const outputFields = def.schema?.fields ?? input.fields;
  const result = await runTransform({
    session: ctx.session,
    stepId: step.id,
    runId: ctx.runId,
    step: def,
    input: quoteIdentifier(def.input.stepId),
    outputFields,
    params: ctx.params,
    quarantine: ctx.quarantine,
    logger: ctx.logger,
    signal: ctx.signal,
    onRows: (rowsIn, rowsOut) =>
      ctx.onEvent?.({ type: 'step-rows', stepId: step.id, rowsIn, rowsOut }),
  });
  if (result.readAllInput)
    assertRowsArrived(step.id, def.input.stepId, input.rowsOut, result.rowsIn);
  else
    ctx.logger.warn(
      { rowsRead: result.rowsIn },
      'the transform stopped reading before the end of its input',
    );
  return {
    fields: outputFields,
    rowsIn: result.rowsIn,
    rowsOut: result.rowsOut,
    rowsQuarantined: result.rowsQuarantined,
    inputs: [],
    outputs: [],
  };
}

async function runSink(
  step: PlannedStep,
  def: SinkStep,
  ctx: StepRunContext,
): Promise<StepOutcome> {
  const connector = ctx.registry.sink(def.connector);
  if (connector === undefined)
    throw new SluiceError('INTERNAL', `sink connector ${def.connector} vanished`);
  const input = inputOutcome(step, ctx.outcomes);
  const staged = await connector.write(step.config, {
    stepId: step.id,
    runId: ctx.runId,
    baseDir: ctx.baseDir,
    connection: ctx.connection,
    input: quoteIdentifier(def.input.stepId),
    inputFields: input.fields,
    logger: ctx.logger,
    signal: ctx.signal,
  });
  assertRowsArrived(step.id, def.input.stepId, input.rowsOut, staged.rowsWritten);
  return {
    fields: input.fields,
    rowsIn: staged.rowsWritten,
    rowsOut: staged.rowsWritten,
    rowsQuarantined: 0,
    inputs: [],
    outputs: staged.outputs,
    staged,
  };
}

/** Runs steps as their inputs finish, at most `limit` at a time, stopping on failure. */
async function schedule(
  plan: Plan,
  limit: number,
  execute: (step: PlannedStep) => Promise<void>,
  stopped: () => boolean,
): Promise<void> {
  const done = new Set<string>();
  const started = new Set<string>();
  const running = new Map<string, Promise<string>>();
  for (;;) {
    if (!stopped()) {
      for (const step of plan.steps) {
        if (running.size >= limit) break;
        if (started.has(step.id) || !step.inputs.every((i) => done.has(i))) continue;
        started.add(step.id);
        running.set(
          step.id,
          execute(step).then(() => step.id),
        );
      }
    }
    if (running.size === 0) return;
    const finished = await Promise.race(running.values());
    running.delete(finished);
    done.add(finished);
  }
}

async function publishOutputs(
  plan: Plan,
  outcomes: ReadonlyMap<string, StepOutcome>,
  logger: Logger,
): Promise<SluiceError | undefined> {
  for (const step of plan.steps) {
    const staged = outcomes.get(step.id)?.staged;
    if (staged === undefined) continue;
    try {
      await staged.publish();
      logger.info({ stepId: step.id, outputs: staged.outputs }, 'output published');
    } catch (cause) {
      return new SluiceError(
        'SINK_FAILED',
        `Sink "${step.id}": cannot publish ${staged.outputs.join(', ')}: ${String(cause)}`,
        { cause },
      );
    }
  }
  return undefined;
}

async function discardOutputs(outcomes: ReadonlyMap<string, StepOutcome>): Promise<void> {
  for (const outcome of outcomes.values()) await outcome.staged?.discard().catch(() => undefined);
}

/** A view's row count is what its single consumer read from it. */
function settleViewCounts(
  plan: Plan,
  step: PlannedStep,
  outcome: StepOutcome,
  outcomes: ReadonlyMap<string, StepOutcome>,
): void {
  if (step.inputs.length !== 1) return;
  const inputId = step.inputs[0] as string;
  const input = outcomes.get(inputId);
  const inputStep = plan.steps.find((s) => s.id === inputId);
  if (
    input !== undefined &&
    input.rowsOut === undefined &&
    inputStep?.consumers.length === 1 &&
    outcome.rowsIn !== undefined
  ) {
    input.rowsOut = outcome.rowsIn;
  }
}

function inputOutcome(step: PlannedStep, outcomes: ReadonlyMap<string, StepOutcome>): StepOutcome {
  const inputId = step.inputs[0];
  const outcome = inputId === undefined ? undefined : outcomes.get(inputId);
  if (outcome === undefined)
    throw new SluiceError('INTERNAL', `step "${step.id}" ran before its input`);
  return outcome;
}

/** A SQL step's rows in: what its inputs produced, when every one of them is counted. */
function sumInputRows(
  step: PlannedStep,
  outcomes: ReadonlyMap<string, StepOutcome>,
): number | undefined {
  let sum = 0;
  for (const id of step.inputs) {
    const rows = outcomes.get(id)?.rowsOut;
    if (rows === undefined) return undefined;
    sum += rows;
  }
  return sum;
}

/** A view when exactly one transform or sink reads the step (which counts its rows), else a table. */
function defaultMaterialization(step: PlannedStep, plan: Plan): 'view' | 'table' {
  const [consumer, ...others] = step.consumers.map((id) => plan.steps.find((s) => s.id === id));
  return others.length === 0 && (consumer?.kind === 'transform' || consumer?.kind === 'sink')
    ? 'view'
    : 'table';
}

function assertRowsArrived(
  stepId: string,
  inputId: string,
  expected: number | undefined,
  actual: number,
): void {
  if (expected !== undefined && expected !== actual) {
    throw new SluiceError(
      'INTERNAL',
      `step "${stepId}" received ${actual} rows but "${inputId}" produced ${expected}; the run is stopped so no record is lost silently`,
    );
  }
}

async function countRows(connection: EngineConnection, stepId: string): Promise<number> {
  const [row] = await connection.rows(`SELECT count(*) AS n FROM ${quoteIdentifier(stepId)}`);
  return Number(row?.['n'] ?? 0);
}

function checkDeclaredSchema(
  stepId: string,
  declared: readonly Field[],
  actual: readonly Field[],
): void {
  const byName = new Map(actual.map((f) => [f.name.toLowerCase(), f]));
  const problems: string[] = [];
  for (const field of declared) {
    const found = byName.get(field.name.toLowerCase());
    if (found === undefined) problems.push(`column "${field.name}" is missing`);
    else if (formatType(found.type) !== formatType(field.type)) {
      problems.push(
        `column "${field.name}" is ${formatType(found.type)}, declared ${formatType(field.type)}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new SchemaMismatchError(
      stepId,
      `the query does not produce the declared schema: ${problems.join('; ')}`,
      {
        hint: 'cast columns in the query (CAST(x AS DECIMAL(12,2))) or fix the declared schema',
      },
    );
  }
}

function resolveParams(
  pipeline: Pipeline,
  given: Readonly<Record<string, string>>,
): Record<string, string> {
  const unknown = Object.keys(given).filter((name) => !(name in pipeline.params));
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

function baseDirOf(pipeline: Pipeline): string {
  const file = pipeline.declaredAt.file;
  return file === undefined ? process.cwd() : dirname(file);
}

function stepReport(
  step: PlannedStep,
  status: StepStatus,
  outcome: StepOutcome | undefined,
  durationMs: number,
  quarantine: QuarantineStore,
  error?: SluiceError,
): StepReport {
  const quarantined = quarantine.count(step.id);
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
  };
}

function asSluiceError(error: unknown, stepId: string): SluiceError {
  if (error instanceof SluiceError) return error;
  return new EngineError(stepId, firstLine(error), { cause: error });
}

function reportError(error: SluiceError): ReportedError {
  const stepId = (error as { stepId?: unknown }).stepId;
  return {
    code: error.code,
    message: error.message,
    ...(typeof stepId === 'string' ? { stepId } : {}),
    ...(error.hint === undefined ? {} : { hint: error.hint }),
  };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
