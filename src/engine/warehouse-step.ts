import { ConfigError, SluiceError } from '../core/errors.js';
import type { SinkStep, SQLStep, Warehouse } from '../define/steps.js';
import type { PlannedStep } from '../plan/planner.js';
import { compileSQL } from './sql-compiler.js';
import type { StepOutcome, StepRunContext } from './step-outcome.js';
import type { WarehouseAdapter } from '../contracts/warehouse.js';

/**
 * Runs a `sql` step in its warehouse: compiles the query with refs pointing at warehouse
 * relations (a sink's staged rows or another model's table), materialises it there, and returns
 * the outcome with the warehouse's staged changes, published with the run's other outputs.
 *
 * @example
 * ```ts
 * if (def.warehouse !== undefined) return runWarehouseStep(step, def, def.warehouse, ctx);
 * ```
 */
export async function runWarehouseStep(
  step: PlannedStep,
  def: SQLStep,
  warehouse: Warehouse,
  ctx: StepRunContext,
): Promise<StepOutcome> {
  const adapter = ctx.registry.warehouse(warehouse.engine);
  if (adapter === undefined)
    throw new ConfigError([
      {
        code: 'unknown-warehouse',
        stepId: step.id,
        message: `no warehouse "${warehouse.engine}" is registered`,
        hint: 'use the default registry, or add the warehouse to yours with registry.with(...)',
      },
    ]);
  const table = def.table ?? step.id;
  const literal = (text: string): string => adapter.quoteLiteral(text);
  const query = compileSQL(def, ctx.params, {
    relation: (id) => ctx.outcomes.get(id)?.staged?.warehouseRelation ?? tableOf(id, adapter, ctx),
    literal,
  });
  const publishedQuery = compileSQL(def, ctx.params, {
    relation: (id) => tableOf(id, adapter, ctx),
    literal,
  });
  const materialize = def.materialize ?? 'view';
  const result = await adapter.run(
    {
      stepId: step.id,
      warehouse,
      table,
      query,
      publishedQuery,
      materialize,
      ...(materialize === 'incremental'
        ? { incremental: def.incremental ?? { strategy: 'append' } }
        : {}),
      ...(def.snapshot === undefined ? {} : { snapshot: def.snapshot }),
      fullRefresh: ctx.fullRefresh === true,
      startedAt: ctx.startedAt,
    },
    { runId: ctx.runId, shared: ctx.shared, logger: ctx.logger, signal: ctx.signal },
  );
  ctx.logger.info(
    { warehouse: warehouse.engine, table, materialize, rowsWritten: result.rowsWritten },
    'warehouse model materialised',
  );
  return {
    fields: result.fields,
    rowsIn: undefined,
    rowsOut: result.rowsWritten,
    rowsQuarantined: 0,
    inputs: [],
    outputs: result.staged.outputs,
    staged: result.staged,
  };
}

/** The warehouse table a ref to `stepId` names once the run is published. */
function tableOf(stepId: string, adapter: WarehouseAdapter, ctx: StepRunContext): string {
  const input = ctx.plan.steps.find((s) => s.id === stepId);
  const def = input?.definition;
  if (def?.kind === 'sql' && def.warehouse !== undefined)
    return adapter.quoteTable(def.table ?? stepId);
  if (def?.kind === 'sink') {
    const table = ctx.registry.sink((def as SinkStep).connector)?.warehouseTable?.(input?.config);
    if (table !== undefined) return adapter.quoteTable(table.table);
  }
  throw new SluiceError('INTERNAL', `"${stepId}" is not a table of the warehouse`);
}
