import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipe } from 'node:stream/promises';
import type { Client } from 'pg';
import type { z } from 'zod';
import type { Field } from '../../core/types.js';
import { mapType } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SinkWriteContext, StagedOutput } from '../../engine/connector.js';
import { defineSink } from '../../engine/connector.js';
import { connectPostgres, describeServer, postgresError } from './pg-connection.js';
import { postgresTypeMapping, toPostgresText } from './pg-types.js';
import { quoteTableName, splitTableName } from './pg-names.js';
import { postgresSinkConfig } from './postgres-configs.js';

type SinkConfig = z.output<typeof postgresSinkConfig>;

/** Orders the staged rows so that, among rows with equal keys, the last one written wins. */
const ROW_NUMBER = '__sluice_row';
/** Marks the rows of a merge that delete their keys (`deleteWhen`). */
const DELETE_FLAG = '__sluice_delete';

/**
 * Writes the input into a PostgreSQL table. The step copies every row (`COPY FROM STDIN`) into an
 * unlogged staging table beside the target; when the run succeeds, one transaction creates or
 * extends the target, applies the mode (append, overwrite, merge by keys with `MERGE` or
 * `INSERT ... ON CONFLICT`, delete+insert) and drops the staging table. Readers see all of the
 * run's rows or none; a failed run drops the staging table and leaves the target as it was.
 *
 * @example
 * ```ts
 * sink.postgres({ input: ref('orders'), url: 'postgres://127.0.0.1/shop', table: 'orders', mode: 'merge', keys: ['id'] });
 * ```
 */
export const postgresSink = defineSink({
  name: 'postgres',
  summary: 'A PostgreSQL table: append, overwrite, merge or delete+insert, in one transaction.',
  config: postgresSinkConfig,
  async write(config, context) {
    const where = { role: 'sink' as const, stepId: context.stepId };
    const client = await connectPostgres(config.url, where);
    const target = quoteTableName(config.table);
    const stage = stagingName(config.table, context.runId, context.stepId);
    const folder = await mkdtemp(join(tmpdir(), 'sluice-postgres-'));
    try {
      const file = join(folder, 'rows.csv');
      await exportCSV(context, file);
      await client.query(`DROP TABLE IF EXISTS ${stage}`);
      await client.query(
        `CREATE UNLOGGED TABLE ${stage} (${context.inputFields
          .map((f) => `${quoteIdentifier(f.name)} ${mapType(postgresTypeMapping, f.type)}`)
          .join(', ')}, ${ROW_NUMBER} bigserial)`,
      );
      await copyIn(client, stage, context.inputFields, file, context.signal);
      const [counted] = (await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${stage}`))
        .rows;
      const rowsWritten = Number(counted?.n ?? 0);
      return stagedOutput(client, config, context, { target, stage, rowsWritten });
    } catch (cause) {
      await client.query(`DROP TABLE IF EXISTS ${stage}`).catch(() => undefined);
      await client.end().catch(() => undefined);
      if (cause instanceof Error && 'stepId' in cause) throw cause;
      throw postgresError(where, `cannot stage rows for ${config.table}`, cause);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  },
});

function stagedOutput(
  client: Client,
  config: SinkConfig,
  context: SinkWriteContext,
  names: { readonly target: string; readonly stage: string; readonly rowsWritten: number },
): StagedOutput {
  const where = { role: 'sink' as const, stepId: context.stepId };
  return {
    rowsWritten: names.rowsWritten,
    outputs: [`${describeServer(config.url)}/${config.table}`],
    async publish() {
      try {
        await client.query('BEGIN');
        const written = context.inputFields.filter((f) => !config.exclude.includes(f.name));
        await prepareTarget(client, config, written, names.target);
        await applyMode(client, config, written, names.target, names.stage);
        await client.query(`DROP TABLE ${names.stage}`);
        await client.query('COMMIT');
      } catch (cause) {
        await client.query('ROLLBACK').catch(() => undefined);
        await client.query(`DROP TABLE IF EXISTS ${names.stage}`).catch(() => undefined);
        throw postgresError(where, `cannot ${config.mode} into ${config.table}`, cause);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async discard() {
      await client.query(`DROP TABLE IF EXISTS ${names.stage}`).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}

/** Creates the target when missing and adds the input's columns it lacks (when allowed). */
async function prepareTarget(
  client: Client,
  config: SinkConfig,
  fields: readonly Field[],
  target: string,
): Promise<void> {
  const [schema, table] = splitTableName(config.table);
  const existing = await client.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns
      WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2`,
    [schema ?? null, table],
  );
  const have = new Set(existing.rows.map((r) => r.column_name));
  const definition = (f: Field): string =>
    `${quoteIdentifier(f.name)} ${mapType(postgresTypeMapping, f.type)}`;
  if (have.size === 0) {
    if (!config.createTable)
      throw new Error(`table ${config.table} does not exist (createTable is false)`);
    const primaryKey =
      config.mode === 'merge'
        ? `, PRIMARY KEY (${config.keys.map(quoteIdentifier).join(', ')})`
        : '';
    await client.query(
      `CREATE TABLE ${target} (${fields.map(definition).join(', ')}${primaryKey})`,
    );
    return;
  }
  const missing = fields.filter((f) => !have.has(f.name));
  if (missing.length === 0) return;
  if (!config.createTable)
    throw new Error(
      `table ${config.table} lacks column(s) ${missing.map((f) => f.name).join(', ')} (createTable is false, so they are not added)`,
    );
  for (const field of missing)
    await client.query(`ALTER TABLE ${target} ADD COLUMN ${definition(field)}`);
}

async function applyMode(
  client: Client,
  config: SinkConfig,
  fields: readonly Field[],
  target: string,
  stage: string,
): Promise<void> {
  const columns = fields.map((f) => quoteIdentifier(f.name));
  const list = columns.join(', ');
  const keys = config.keys.map(quoteIdentifier);
  const latest = quoteIdentifier(config.latestBy ?? ROW_NUMBER);
  const deletes =
    config.deleteWhen === undefined
      ? 'false'
      : `coalesce(${quoteIdentifier(config.deleteWhen.column)} = ${sqlValue(config.deleteWhen.equals)}, false)`;
  const latestPerKey = `SELECT DISTINCT ON (${keys.join(', ')}) ${list}, ${deletes} AS ${DELETE_FLAG} FROM ${stage} ORDER BY ${keys.join(', ')}, ${latest} DESC, ${ROW_NUMBER} DESC`;
  const sameKey = (a: string, b: string): string =>
    keys.map((k) => `${a}.${k} IS NOT DISTINCT FROM ${b}.${k}`).join(' AND ');
  switch (config.mode) {
    case 'append':
      await client.query(
        `INSERT INTO ${target} (${list}) SELECT ${list} FROM ${stage} ORDER BY ${ROW_NUMBER}`,
      );
      return;
    case 'overwrite':
      await client.query(`DELETE FROM ${target}`);
      await client.query(
        `INSERT INTO ${target} (${list}) SELECT ${list} FROM ${stage} ORDER BY ${ROW_NUMBER}`,
      );
      return;
    case 'delete_insert':
      await client.query(
        `DELETE FROM ${target} AS t USING (SELECT DISTINCT ${keys.join(', ')} FROM ${stage}) AS s WHERE ${sameKey('t', 's')}`,
      );
      await client.query(
        `INSERT INTO ${target} (${list}) SELECT ${list} FROM ${stage} ORDER BY ${ROW_NUMBER}`,
      );
      return;
    case 'merge': {
      const others = columns.filter((c) => !keys.includes(c));
      if (await supportsMerge(client)) {
        const update =
          others.length === 0
            ? ''
            : ` WHEN MATCHED THEN UPDATE SET ${others.map((c) => `${c} = s.${c}`).join(', ')}`;
        await client.query(
          `MERGE INTO ${target} AS t USING (${latestPerKey}) AS s ON ${sameKey('t', 's')} WHEN MATCHED AND s.${DELETE_FLAG} THEN DELETE${update} WHEN NOT MATCHED AND NOT s.${DELETE_FLAG} THEN INSERT (${list}) VALUES (${columns.map((c) => `s.${c}`).join(', ')})`,
        );
      } else {
        await client.query(
          `DELETE FROM ${target} AS t USING (${latestPerKey}) AS s WHERE s.${DELETE_FLAG} AND ${sameKey('t', 's')}`,
        );
        const update =
          others.length === 0
            ? 'DO NOTHING'
            : `DO UPDATE SET ${others.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
        await client.query(
          `INSERT INTO ${target} (${list}) SELECT ${list} FROM (${latestPerKey}) AS s WHERE NOT s.${DELETE_FLAG} ON CONFLICT (${keys.join(', ')}) ${update}`,
        );
      }
      return;
    }
  }
}

function sqlValue(value: string | number | boolean): string {
  return typeof value === 'string' ? quoteLiteral(value) : String(value);
}

/** `MERGE` exists from PostgreSQL 15; older servers use `INSERT ... ON CONFLICT`. */
async function supportsMerge(client: Client): Promise<boolean> {
  const result = await client.query<{ v: string }>('SHOW server_version_num');
  return Number(result.rows[0]?.v ?? 0) >= 150000;
}

/** Writes the input as CSV in the text forms PostgreSQL's COPY reads. */
async function exportCSV(context: SinkWriteContext, file: string): Promise<void> {
  const select = context.inputFields
    .map((f) => `${toPostgresText(quoteIdentifier(f.name), f.type)} AS ${quoteIdentifier(f.name)}`)
    .join(', ');
  await context.connection.run(
    `COPY (SELECT ${select} FROM ${context.input}) TO ${quoteLiteral(file)} (FORMAT csv, HEADER false, QUOTE '"', ESCAPE '"', FORCE_QUOTE *)`,
  );
}

async function copyIn(
  client: Client,
  stage: string,
  fields: readonly Field[],
  file: string,
  signal: AbortSignal,
): Promise<void> {
  const { from } = await import('pg-copy-streams');
  const columns = fields.map((f) => quoteIdentifier(f.name)).join(', ');
  // FORCE_QUOTE makes every value quoted, so an unquoted empty field can only be a NULL.
  const stream = client.query(from(`COPY ${stage} (${columns}) FROM STDIN (FORMAT csv)`));
  await pipe(createReadStream(file), stream, { signal });
}

/** The staging table of one run's sink step, beside the target; unique per run and step. */
function stagingName(table: string, runId: string, stepId: string): string {
  const [schema, name] = splitTableName(table);
  const suffix = createHash('sha256').update(`${runId}/${stepId}`).digest('hex').slice(0, 12);
  const stage = `${name.slice(0, 30)}__sluice_stage_${suffix}`;
  return schema === undefined
    ? quoteIdentifier(stage)
    : `${quoteIdentifier(schema)}.${quoteIdentifier(stage)}`;
}
