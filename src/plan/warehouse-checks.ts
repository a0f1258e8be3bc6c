import type { ConnectorSpec, WarehouseTable } from '../core/connector-spec.js';
import type { Diagnostic } from '../core/errors.js';
import type { SQLStep, StepDefinition, Warehouse } from '../define/steps.js';

/** What the planner knows of a step once its config is parsed. */
export interface PlannedNode {
  readonly def: StepDefinition;
  readonly inputs: readonly string[];
  readonly config: unknown;
}

const ENGINES = new Set(['postgres', 'clickhouse']);
const ENGINE_NAMES = { postgres: 'PostgreSQL', clickhouse: 'ClickHouse' } as const;

/**
 * Problems of a `sql` step's warehouse options alone (materialisations, keys, strategies).
 *
 * @example
 * ```ts
 * for (const message of warehouseOptionProblems(step)) problem('invalid-warehouse-model', message);
 * ```
 */
export function warehouseOptionProblems(step: SQLStep): string[] {
  const problems: string[] = [];
  const { warehouse, materialize } = step;
  if (warehouse === undefined) {
    if (materialize === 'incremental' || materialize === 'snapshot')
      problems.push(`materialize: '${materialize}' needs a warehouse (set warehouse: {...})`);
    for (const option of ['table', 'incremental', 'snapshot'] as const) {
      if (step[option] !== undefined) problems.push(`${option} applies only with a warehouse`);
    }
    return problems;
  }
  if (!ENGINES.has(warehouse.engine))
    problems.push(`warehouse engine "${warehouse.engine}" is not one of postgres, clickhouse`);
  if (typeof warehouse.url !== 'string' || warehouse.url === '')
    problems.push('warehouse.url must be the connection URL');
  if (step.expect !== undefined)
    problems.push('expect is not available on warehouse steps yet; check a DuckDB copy instead');
  if (step.schema !== undefined)
    problems.push('schema is not available on warehouse steps; cast in the query instead');
  if (step.incremental !== undefined && materialize !== 'incremental')
    problems.push("incremental options need materialize: 'incremental'");
  if (step.snapshot !== undefined && materialize !== 'snapshot')
    problems.push("snapshot options need materialize: 'snapshot'");
  const incremental = step.incremental;
  if (materialize === 'incremental' && incremental !== undefined) {
    const strategies = ['append', 'merge', 'delete_insert', 'insert_overwrite'];
    if (!strategies.includes(incremental.strategy))
      problems.push(
        `incremental strategy "${incremental.strategy}" is not one of ${strategies.join(', ')}`,
      );
    if (
      (incremental.strategy === 'merge' || incremental.strategy === 'delete_insert') &&
      (incremental.uniqueKey ?? []).length === 0
    )
      problems.push(`the ${incremental.strategy} strategy needs uniqueKey: ['<column>', ...]`);
    if (incremental.strategy === 'insert_overwrite' && incremental.partitionBy === undefined)
      problems.push("the insert_overwrite strategy needs partitionBy: '<column>'");
  }
  if (materialize === 'snapshot') {
    const snapshot = step.snapshot;
    if (snapshot === undefined)
      problems.push(
        "materialize: 'snapshot' needs snapshot: { uniqueKey, strategy, updatedAt | checkColumns }",
      );
    else {
      if (snapshot.uniqueKey.length === 0) problems.push('snapshot.uniqueKey names no column');
      if (snapshot.strategy === 'timestamp' && snapshot.updatedAt === undefined)
        problems.push("the timestamp strategy needs updatedAt: '<column>'");
      if (snapshot.strategy !== 'timestamp' && snapshot.strategy !== 'check')
        problems.push(`snapshot strategy "${snapshot.strategy}" is not one of timestamp, check`);
      const deletes = snapshot.hardDeletes ?? 'ignore';
      if (!['ignore', 'invalidate', 'new_record'].includes(deletes))
        problems.push(`hardDeletes "${deletes}" is not one of ignore, invalidate, new_record`);
    }
  }
  return problems;
}

/**
 * Problems between steps: a warehouse step reads only steps of the same warehouse (other
 * warehouse steps, and sinks that load it); DuckDB steps cannot read a warehouse step's output.
 *
 * @example
 * ```ts
 * diagnostics.push(...warehouseRefProblems(planned, lookup));
 * ```
 */
export function warehouseRefProblems(
  nodes: ReadonlyMap<string, PlannedNode>,
  lookup: (role: 'source' | 'sink', name: string) => ConnectorSpec | undefined,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const warehouseOf = (id: string): Warehouse | undefined => {
    const def = nodes.get(id)?.def;
    return def?.kind === 'sql' ? def.warehouse : undefined;
  };
  for (const [id, node] of nodes) {
    const own = warehouseOf(id);
    for (const input of node.inputs) {
      const target = nodes.get(input);
      if (target === undefined) continue;
      const theirs = warehouseOf(input);
      if (own === undefined) {
        if (theirs !== undefined)
          diagnostics.push({
            code: 'warehouse-output',
            stepId: id,
            message: `step "${id}" runs in DuckDB but reads "${input}", which runs in ${ENGINE_NAMES[theirs.engine] ?? theirs.engine}`,
            hint: `run "${id}" in the same warehouse, or read the table with source.${theirs.engine}() in a later run`,
          });
        continue;
      }
      if (theirs !== undefined) {
        if (!sameWarehouse(own, theirs))
          diagnostics.push({
            code: 'warehouse-ref',
            stepId: id,
            message: `step "${id}" and "${input}" run in different warehouses`,
            hint: 'a warehouse step reads only tables of its own warehouse',
          });
        continue;
      }
      const table = target.def.kind === 'sink' ? sinkTable(target, lookup) : undefined;
      if (table === undefined || !sameWarehouse(own, table)) {
        diagnostics.push({
          code: 'warehouse-ref',
          stepId: id,
          message: `step "${id}" runs in ${ENGINE_NAMES[own.engine] ?? own.engine} and cannot read "${input}"${target.def.kind === 'sink' ? ', a sink into another system' : ', a DuckDB dataset'}`,
          hint: `load it first with sink.${own.engine}({ input: ref('${input}'), url, table }) and read that sink step`,
        });
      }
    }
  }
  return diagnostics;
}

/** The warehouse table a sink step writes, when its connector says. */
export function sinkTable(
  node: PlannedNode,
  lookup: (role: 'source' | 'sink', name: string) => ConnectorSpec | undefined,
): WarehouseTable | undefined {
  if (node.def.kind !== 'sink' || node.config === undefined) return undefined;
  return lookup('sink', node.def.connector)?.warehouseTable?.(node.config);
}

function sameWarehouse(a: Warehouse, b: Warehouse): boolean {
  return a.engine === b.engine && a.url === b.url;
}
