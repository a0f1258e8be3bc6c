import type { Client } from 'pg';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { Field } from '../../core/types.js';
import type { WarehouseModel } from '../../contracts/warehouse.js';
import { describeColumns } from './pg-read.js';
import { snapshotStatements, snapshotTargetColumnsQuery } from './pg-snapshot.js';
import { logicalTypeOf } from './pg-types.js';
import { quoteTableName } from './pg-names.js';

/**
 * Runs a snapshot model: the query's rows go into a temporary table, then the snapshot's
 * statements record what changed since the last run. Returns the number of versions added.
 *
 * @example
 * ```ts
 * const rows = await runSnapshot(client, model);
 * ```
 */
export async function runSnapshot(client: Client, model: WarehouseModel): Promise<number> {
  const options = model.snapshot;
  if (options === undefined) throw new Error('a snapshot model needs snapshot options');
  const target = quoteTableName(model.table);
  const source = quoteIdentifier(`sluice_snapshot_${model.stepId}`);
  await client.query(`CREATE TEMP TABLE ${source} ON COMMIT DROP AS ${model.query}`);
  const columns = await describeColumns(client, source, { role: 'model', stepId: model.stepId });
  const fields = columns.map((c): Field => ({
    name: c.name,
    type: logicalTypeOf(c),
    nullable: true,
  }));
  const existing = await client.query<{ name: string }>(snapshotTargetColumnsQuery(target));
  const statements = snapshotStatements(
    {
      target,
      source,
      columns: fields,
      uniqueKey: options.uniqueKey,
      strategy: options.strategy,
      ...(options.updatedAt === undefined ? {} : { updatedAt: options.updatedAt }),
      ...(options.strategy === 'check' ? { checkColumns: options.checkColumns ?? 'all' } : {}),
      hardDeletes: options.hardDeletes ?? 'ignore',
      now: `${quoteLiteral(model.startedAt.toISOString())}::timestamptz`,
      stepId: model.stepId,
    },
    existing.rows.length === 0 ? undefined : existing.rows.map((r) => r.name),
  );
  const before = existing.rows.length === 0 ? 0 : await countRows(client, target);
  for (const statement of statements) await client.query(statement);
  await client.query(`DROP TABLE ${source}`);
  return (await countRows(client, target)) - before;
}

async function countRows(client: Client, table: string): Promise<number> {
  const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(result.rows[0]?.n ?? 0);
}
