import type { Client } from 'pg';
import { SluiceError } from '../../core/errors.js';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { Field } from '../../core/types.js';
import type { IncrementalModelOptions } from '../../core/warehouse-options.js';
import type {
  WarehouseModel,
  WarehouseModelContext,
  WarehouseModelResult,
} from '../../contracts/warehouse.js';
import { describeServer, postgresError } from './pg-connection.js';
import type { PostgresRole } from './pg-connection.js';
import { describeColumns } from './pg-read.js';
import { PostgresSession } from './pg-session.js';
import { logicalTypeOf } from './pg-types.js';
import { quoteTableName, splitTableName } from './pg-names.js';
import { runSnapshot } from './postgres-snapshot-model.js';

/**
 * Builds one `sql` step's table or view in PostgreSQL inside the run's transaction on that server.
 *
 * @example
 * ```ts
 * const result = await runPostgresModel(model, context);
 * ```
 */
export async function runPostgresModel(
  model: WarehouseModel,
  context: WarehouseModelContext,
): Promise<WarehouseModelResult> {
  const where: PostgresRole = { role: 'model', stepId: model.stepId };
  const session = await PostgresSession.shared(context.shared, model.warehouse.url, where);
  try {
    const { rowsWritten, fields } = await session.use(async (client) => {
      const rows = await materialise(client, model);
      const columns = await describeColumns(client, quoteTableName(model.table), where);
      return {
        rowsWritten: rows,
        fields: columns.map((c): Field => ({
          name: c.name,
          type: logicalTypeOf(c),
          nullable: true,
        })),
      };
    });
    return {
      rowsWritten,
      fields,
      staged: session.stagedOutput(rowsWritten ?? 0, [
        `${describeServer(model.warehouse.url)}/${model.table}`,
      ]),
    };
  } catch (cause) {
    if (cause instanceof SluiceError) throw cause;
    throw postgresError(where, `cannot build ${model.table}`, cause, {
      hint: `the query is:\n${model.query}`,
    });
  }
}

type RelationKind = 'table' | 'view' | undefined;

/** Builds the model's relation; returns the rows written (undefined for a view). */
async function materialise(client: Client, model: WarehouseModel): Promise<number | undefined> {
  const [schema] = splitTableName(model.table);
  if (schema !== undefined)
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
  const existing = await relationKind(client, model.table);
  switch (model.materialize) {
    case 'view':
      await dropRelation(client, model.table, existing);
      await client.query(`CREATE VIEW ${quoteTableName(model.table)} AS ${model.publishedQuery}`);
      return undefined;
    case 'table':
      return rebuild(client, model, existing);
    case 'incremental':
      return existing !== 'table' || model.fullRefresh
        ? rebuild(client, model, existing)
        : addIncrement(client, model, model.incremental ?? { strategy: 'append' });
    case 'snapshot':
      if (existing === 'view')
        throw new Error(
          `${model.table} is a view; drop it or choose another table for the snapshot`,
        );
      return runSnapshot(client, model);
  }
}

async function relationKind(client: Client, table: string): Promise<RelationKind> {
  const [schema, name] = splitTableName(table);
  const result = await client.query<{ relkind: string }>(
    `SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = $2 AND n.nspname = coalesce($1, current_schema())`,
    [schema ?? null, name],
  );
  const kind = result.rows[0]?.relkind;
  if (kind === undefined) return undefined;
  return kind === 'v' || kind === 'm' ? 'view' : 'table';
}

/** Drops what is in the way; views built on it go too (models of the run rebuild theirs). */
async function dropRelation(client: Client, table: string, kind: RelationKind): Promise<void> {
  if (kind === undefined) return;
  await client.query(`DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} ${quoteTableName(table)} CASCADE`);
}

/** Creates the table anew from the query, replacing what was there. */
async function rebuild(
  client: Client,
  model: WarehouseModel,
  existing: RelationKind,
): Promise<number> {
  const [schema, name] = splitTableName(model.table);
  const fresh = `${name}__sluice_new`;
  const freshTable = quoteTableName(schema === undefined ? fresh : `${schema}.${fresh}`);
  await client.query(`DROP TABLE IF EXISTS ${freshTable}`);
  const created = await client.query(`CREATE TABLE ${freshTable} AS ${model.query}`);
  await dropRelation(client, model.table, existing);
  await client.query(`ALTER TABLE ${freshTable} RENAME TO ${quoteIdentifier(name)}`);
  return created.rowCount ?? 0;
}

/** Adds the run's rows to an existing table by the model's incremental strategy. */
async function addIncrement(
  client: Client,
  model: WarehouseModel,
  options: IncrementalModelOptions,
): Promise<number> {
  const target = quoteTableName(model.table);
  const stage = quoteIdentifier(`sluice_increment_${model.stepId}`);
  const query =
    options.cursor === undefined
      ? model.query
      : newerThanTable(model.query, target, quoteIdentifier(options.cursor));
  const staged = await client.query(`CREATE TEMP TABLE ${stage} ON COMMIT DROP AS ${query}`);
  const columns = await addMissingColumns(client, stage, target);
  const list = columns.map(quoteIdentifier).join(', ');
  const keys = (options.uniqueKey ?? []).map(quoteIdentifier);
  const sameKey = keys.map((k) => `t.${k} = s.${k}`).join(' AND ');
  if (keys.length > 0) await assertKeysPresent(client, stage, keys, options.strategy);
  switch (options.strategy) {
    case 'append':
      break;
    case 'merge': {
      await assertUniqueKeys(client, stage, keys);
      const others = columns.map(quoteIdentifier).filter((c) => !keys.includes(c));
      if (others.length > 0)
        await client.query(
          `UPDATE ${target} AS t SET ${others.map((c) => `${c} = s.${c}`).join(', ')} FROM ${stage} AS s WHERE ${sameKey}`,
        );
      await client.query(
        `INSERT INTO ${target} (${list}) SELECT ${list} FROM ${stage} AS s WHERE NOT EXISTS (SELECT 1 FROM ${target} AS t WHERE ${sameKey})`,
      );
      await client.query(`DROP TABLE ${stage}`);
      return staged.rowCount ?? 0;
    }
    case 'delete_insert':
      await client.query(
        `DELETE FROM ${target} AS t USING (SELECT DISTINCT ${keys.join(', ')} FROM ${stage}) AS s WHERE ${sameKey}`,
      );
      break;
    case 'insert_overwrite': {
      const partition = quoteIdentifier(options.partitionBy ?? '');
      await client.query(
        `DELETE FROM ${target} AS t WHERE EXISTS (SELECT 1 FROM ${stage} AS s WHERE s.${partition} IS NOT DISTINCT FROM t.${partition})`,
      );
      break;
    }
  }
  await client.query(`INSERT INTO ${target} (${list}) SELECT ${list} FROM ${stage}`);
  await client.query(`DROP TABLE ${stage}`);
  return staged.rowCount ?? 0;
}

/** The query's rows whose cursor is past the table's highest (all of them when it is empty). */
function newerThanTable(query: string, target: string, cursor: string): string {
  const high = `(SELECT max(${cursor}) FROM ${target})`;
  return `SELECT * FROM (${query}) AS model WHERE ${high} IS NULL OR model.${cursor} > ${high}`;
}

/** Adds the staged columns the table lacks; returns the staged columns in order. */
async function addMissingColumns(client: Client, stage: string, target: string): Promise<string[]> {
  const describe = (relation: string) =>
    client.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [relation],
    );
  const [staged, existing] = await Promise.all([describe(stage), describe(target)]);
  const have = new Set(existing.rows.map((c) => c.name));
  for (const column of staged.rows.filter((c) => !have.has(c.name)))
    await client.query(
      `ALTER TABLE ${target} ADD COLUMN ${quoteIdentifier(column.name)} ${column.type}`,
    );
  return staged.rows.map((c) => c.name);
}

async function assertKeysPresent(
  client: Client,
  stage: string,
  keys: readonly string[],
  strategy: string,
): Promise<void> {
  const nulls = await client.query(
    `SELECT 1 FROM ${stage} WHERE ${keys.map((k) => `${k} IS NULL`).join(' OR ')} LIMIT 1`,
  );
  if (nulls.rowCount !== 0)
    throw new Error(
      `the query returned a row with a NULL in its unique key (${keys.join(', ')}); ${strategy} needs every key set`,
    );
}

async function assertUniqueKeys(
  client: Client,
  stage: string,
  keys: readonly string[],
): Promise<void> {
  const duplicate = await client.query<Record<string, unknown>>(
    `SELECT ${keys.join(', ')}, count(*) AS rows FROM ${stage} GROUP BY ${keys.join(', ')} HAVING count(*) > 1 LIMIT 1`,
  );
  const row = duplicate.rows[0];
  if (row !== undefined) {
    const values = Object.entries(row)
      .filter(([name]) => name !== 'rows')
      .map(([name, value]) => `${name} = ${String(value)}`)
      .join(', ');
    throw new Error(
      `the query returned ${String(row['rows'])} rows with ${values}; merge needs one row per unique key (use the delete_insert strategy to replace all rows of a key)`,
    );
  }
}
