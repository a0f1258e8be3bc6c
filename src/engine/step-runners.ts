import {
  EngineError,
  RowsUnaccountedError,
  SchemaMismatchError,
  SluiceError,
} from '../core/errors.js';
import type { Field } from '../core/types.js';
import { formatType } from '../core/types.js';
import { quoteIdentifier } from '../core/type-mappings.js';
import type { CheckStep, SinkStep, SourceStep, SQLStep, TransformStep } from '../define/steps.js';
import { runCheck } from '../quality/check-runner.js';
import { collectDatasetMetrics } from '../quality/metric-history.js';
import type { Plan, PlannedStep } from '../plan/planner.js';
import type { BatchSourceConnector, SourceReadResult } from '../contracts/batch-connector.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { firstLine } from '../contracts/engine-connection.js';
import { fieldsFromColumns } from '../contracts/duckdb-types.js';
import { IncrementalRead, incrementalSettings, parseIncrementalState } from './incremental.js';
import { compileSQL } from './sql-compiler.js';
import { runTransform } from './transform-runner.js';
import { runWarehouseStep } from './warehouse-step.js';
import { assertSourceAccounted, assertStepAccounted } from './row-accounting.js';
import type { StepOutcome, StepRunContext } from './step-outcome.js';

/**
 * Runs one step of a plan on its own connection and returns its outcome; throws when it fails.
 *
 * @example
 * ```ts
 * const outcome = await runStep(step, ctx);
 * ```
 */
export async function runStep(step: PlannedStep, ctx: StepRunContext): Promise<StepOutcome> {
  const onAbort = (): void => ctx.connection.raw.interrupt();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const outcome = await runByKind(step, ctx);
    // SQL and transform steps filter and fan out rows by the user's design (their input is
    // checked to have arrived whole); sources, checks and sinks account for every row.
    if (step.kind !== 'sql' && step.kind !== 'transform') assertStepAccounted(step.id, outcome);
    return outcome;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

function runByKind(step: PlannedStep, ctx: StepRunContext): Promise<StepOutcome> {
  switch (step.kind) {
    case 'source':
      return runSource(step, step.definition as SourceStep, ctx);
    case 'sql':
      return runSQL(step, step.definition as SQLStep, ctx);
    case 'transform':
      return runTransformStep(step, step.definition as TransformStep, ctx);
    case 'check':
      return runCheckStep(step, step.definition as CheckStep, ctx);
    case 'sink':
      return runSink(step, step.definition as SinkStep, ctx);
  }
}

async function runCheckStep(
  step: PlannedStep,
  def: CheckStep,
  ctx: StepRunContext,
): Promise<StepOutcome> {
  const input = inputOutcome(step, ctx.outcomes);
  const dataset = `${ctx.plan.pipeline.name}.${step.id}`;
  const { result, rowsQuarantined } = await runCheck({
    connection: ctx.connection,
    stepId: step.id,
    input: quoteIdentifier(def.input.stepId),
    fields: input.fields,
    suite: def.suite,
    quarantine: ctx.quarantine,
    logger: ctx.logger,
    datasets: (name) =>
      ctx.plan.steps.some((s) => s.id === name && s.kind !== 'sink')
        ? quoteIdentifier(name)
        : undefined,
    history: (metricPath, limit) => ctx.metricHistory.history(dataset, metricPath, { limit }),
  });
  const values = await collectDatasetMetrics(ctx.connection, quoteIdentifier(step.id));
  return {
    fields: input.fields,
    rowsIn: input.rowsOut,
    rowsOut: input.rowsOut === undefined ? undefined : input.rowsOut - rowsQuarantined,
    rowsQuarantined,
    inputs: [],
    outputs: [],
    quality: result,
    metrics: { dataset, values },
  };
}

async function runSource(
  step: PlannedStep,
  def: SourceStep,
  ctx: StepRunContext,
): Promise<StepOutcome> {
  const connector = ctx.registry.source(def.connector);
  if (connector === undefined)
    throw new SluiceError('INTERNAL', `source connector ${def.connector} vanished`);
  const incrementalRead =
    def.incremental === undefined
      ? undefined
      : new IncrementalRead({
          connection: ctx.connection,
          stepId: step.id,
          settings: incrementalSettings(
            step.id,
            def.incremental,
            connector.incrementalDefaults?.(step.config),
          ),
          previous: parseIncrementalState(ctx.watermarks?.[step.id]),
          logger: ctx.logger,
        });
  const result = await connector.read(step.config, {
    stepId: step.id,
    runId: ctx.runId,
    baseDir: ctx.baseDir,
    stateDir: ctx.stateDir,
    connection: ctx.connection,
    extractedAt: ctx.startedAt,
    quarantine: ctx.quarantine,
    logger: ctx.logger,
    signal: ctx.signal,
    ...(ctx.watermarks?.[step.id] === undefined ? {} : { state: ctx.watermarks[step.id] }),
    ...(incrementalRead === undefined ? {} : { incremental: incrementalRead.context }),
  });
  assertSourceAccounted(step.id, connector.name, result);
  const incremental = await incrementalRead?.finish();
  const rowsRead = result.rowsRead - (incremental?.skipped ?? 0);
  return {
    fields: result.fields,
    rowsIn: rowsRead,
    rowsOut: rowsRead - result.rowsQuarantined,
    rowsQuarantined: result.rowsQuarantined,
    ...(incremental?.state === undefined ? {} : { watermark: incremental.state }),
    ...(result.state === undefined ? {} : { watermark: result.state }),
    inputs: result.inputs,
    outputs: [],
    ...(result.schemaChanges === undefined || result.schemaChanges.length === 0
      ? {}
      : { schemaChanges: result.schemaChanges }),
    ...(result.valuesDiscarded === undefined || result.valuesDiscarded === 0
      ? {}
      : { valuesDiscarded: result.valuesDiscarded }),
    ...childOutcomes(step, connector, result),
  };
}

/** The declared child datasets of a source, each with the fields and rows it reported. */
function childOutcomes(
  step: PlannedStep,
  connector: BatchSourceConnector,
  result: SourceReadResult,
): Pick<StepOutcome, 'children'> {
  const declared = connector.childDatasets?.(step.config).map((s) => `${step.id}__${s}`) ?? [];
  if (declared.length === 0) return {};
  const reported = new Map((result.children ?? []).map((c) => [c.name, c]));
  return {
    children: declared.map((name) => {
      const child = reported.get(name);
      if (child === undefined)
        throw new SluiceError(
          'INTERNAL',
          `source "${step.id}" (${connector.name}) did not create its declared dataset "${name}"`,
        );
      return {
        name,
        outcome: {
          fields: child.fields,
          rowsIn: child.rowsRead,
          rowsOut: child.rowsRead,
          rowsQuarantined: 0,
          inputs: [],
          outputs: [],
        },
      };
    }),
  };
}

async function runSQL(step: PlannedStep, def: SQLStep, ctx: StepRunContext): Promise<StepOutcome> {
  if (def.warehouse !== undefined) return runWarehouseStep(step, def, def.warehouse, ctx);
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
    inferColumns: def.schema === undefined,
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
    fields: result.fields,
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
    shared: ctx.shared,
    ...(ctx.fullRefresh === true ? { fullRefresh: true } : {}),
    ...(ctx.provenance === undefined ? {} : { provenance: ctx.provenance }),
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
    ...(staged.valuesDiscarded === undefined || staged.valuesDiscarded === 0
      ? {}
      : { valuesDiscarded: staged.valuesDiscarded }),
  };
}

/** A view's row count is what its single consumer read from it. */
export function settleViewCounts(
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
  // A ref to a source's child dataset (`orders__items`) has the source as its step input.
  const inputId =
    (step.definition as { input?: { stepId?: string } }).input?.stepId ?? step.inputs[0];
  const outcome = inputId === undefined ? undefined : outcomes.get(inputId);
  if (outcome === undefined)
    throw new SluiceError('INTERNAL', `step "${step.id}" ran before its input`);
  return outcome;
}

/** A SQL step's rows in: what its inputs produced, when every one of them is counted. */
export function sumInputRows(
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
    throw new RowsUnaccountedError(
      stepId,
      `received ${actual} rows but "${inputId}" produced ${expected}; the run is stopped so no record is lost silently`,
      { hint: 'this is a bug in the step or its connector; nothing was published' },
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

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
