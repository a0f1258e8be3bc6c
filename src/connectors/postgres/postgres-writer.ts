import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipe } from 'node:stream/promises';
import type { Client } from 'pg';
import type { z } from 'zod';
import type { Field } from '../../core/types.js';
import { mapType } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral, scalarLiteral } from '../../core/type-mappings.js';
import type { SinkPublishedContext, SinkWriteContext } from '../../contracts/batch-connector.js';
import type { StagedOutput } from '../../contracts/staged-output.js';
import { SluiceError } from '../../core/errors.js';
import { describeServer, postgresError } from './pg-connection.js';
import { markPublishedRun, postgresPublishedRun } from './pg-published-runs.js';
import { PostgresSession } from './pg-session.js';
import { postgresTypeMapping, toPostgresText } from './pg-types.js';
import { quoteTableName, splitTableName } from './pg-names.js';
import type { postgresSinkConfig } from './postgres-configs.js';

type SinkConfig = z.output<typeof postgresSinkConfig>;

/** Prefix of the temporary table a merge copies the input into. */
const STAGE = 'sluice_stage';
/** Orders the staged rows so that, among rows with equal keys, the last one written wins. */
const ROW_NUMBER = '__sluice_row';
/** Marks the rows of a merge that delete their keys (`deleteWhen`). */
const DELETE_FLAG = '__sluice_delete';

/**
 * `postgresSink.publishedRun`, loaded on first use.
 *
 * @example
 * ```ts
 * await postgresSinkPublishedRun(config, context);
 * ```
 */
export function postgresSinkPublishedRun(
  config: z.output<typeof postgresSinkConfig>,
  context: SinkPublishedContext,
): Promise<boolean | undefined> {
  return postgresPublishedRun(config.url, { role: 'sink', stepId: context.stepId }, context.runId);
}

/**
 * `postgresSink.write`, loaded on first use.
 *
 * @example
 * ```ts
 * await writePostgres(config, context);
 * ```
 */
export async function writePostgres(
  config: z.output<typeof postgresSinkConfig>,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const where = { role: 'sink' as const, stepId: context.stepId };
  const session = await PostgresSession.shared(context.shared, config.url, where);
  const target = quoteTableName(config.table);
  const written = context.inputFields.filter((f) => !config.exclude.includes(f.name));
  const direct = config.mode === 'append' || config.mode === 'overwrite';
  const copied = direct ? written : context.inputFields;
  const folder = await mkdtemp(join(tmpdir(), 'sluice-postgres-'));
  try {
    const file = join(folder, 'rows.csv');
    await exportCSV(context, copied, file);
    const replaces = replacesTarget(config, context);
    const rowsWritten = await session.use(async (client) => {
      await prepareTarget(client, config, written, target);
      // DELETE rather than TRUNCATE: readers keep seeing the old rows (MVCC) until the run's
      // transaction commits, instead of waiting on TRUNCATE's exclusive lock.
      if (replaces) await client.query(`DELETE FROM ${target}`);
      if (direct) {
        return copyIn(client, target, copied, file, context.signal);
      }
      const stage = quoteIdentifier(`${STAGE}_${context.stepId}`);
      await client.query(
        `CREATE TEMP TABLE ${stage} (${copied.map(postgresColumn).join(', ')}, ${ROW_NUMBER} bigserial) ON COMMIT DROP`,
      );
      const rows = await copyIn(client, stage, copied, file, context.signal);
      await applyMode(client, config, written, target, stage);
      await client.query(`DROP TABLE ${stage}`);
      return rows;
    });
    await session.use((client) =>
      markPublishedRun(client, context.runId, context.stepId, context.logger),
    );
    const staged = session.stagedOutput(rowsWritten, [
      `${describeServer(config.url)}/${config.table}`,
    ]);
    if (config.mode === 'overwrite' || !replaces) return staged;
    return {
      ...staged,
      publish: async () => {
        await staged.publish();
        context.logger.info(
          { table: config.table, mode: config.mode, rows: rowsWritten },
          "full refresh: the target table was replaced by the run's rows",
        );
      },
    };
  } catch (cause) {
    if (cause instanceof SluiceError) throw cause;
    throw postgresError(where, `cannot ${config.mode} into ${config.table}`, cause);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Whether the write empties the target before adding its rows: `overwrite` always, and on a
 * full refresh every mode (append, merge and delete+insert add to the target, so after a source
 * starts over they would keep rows it no longer has, or hold its rows twice).
 */
function replacesTarget(config: SinkConfig, context: SinkWriteContext): boolean {
  return config.mode === 'overwrite' || context.fullRefresh === true;
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
  if (have.size === 0) {
    if (!config.createTable)
      throw new Error(`table ${config.table} does not exist (createTable is false)`);
    if (schema !== undefined)
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
    const primaryKey =
      config.mode === 'merge'
        ? `, PRIMARY KEY (${config.keys.map(quoteIdentifier).join(', ')})`
        : '';
    await client.query(
      `CREATE TABLE ${target} (${fields.map(postgresColumn).join(', ')}${primaryKey})`,
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
    await client.query(`ALTER TABLE ${target} ADD COLUMN ${postgresColumn(field)}`);
}

/** A PostgreSQL column definition for a field. */
function postgresColumn(field: Field): string {
  return `${quoteIdentifier(field.name)} ${mapType(postgresTypeMapping, field.type)}`;
}

/** Applies a merge or delete+insert from the staged rows (append and overwrite copy directly). */
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
      : `coalesce(${quoteIdentifier(config.deleteWhen.column)} = ${scalarLiteral(config.deleteWhen.equals)}, false)`;
  const latestPerKey = `SELECT DISTINCT ON (${keys.join(', ')}) ${list}, ${deletes} AS ${DELETE_FLAG} FROM ${stage} ORDER BY ${keys.join(', ')}, ${latest} DESC, ${ROW_NUMBER} DESC`;
  const sameKey = (a: string, b: string): string =>
    keys.map((k) => `${a}.${k} IS NOT DISTINCT FROM ${b}.${k}`).join(' AND ');
  switch (config.mode) {
    case 'append':
    case 'overwrite':
      throw new Error(`${config.mode} copies into the table directly; it has no staged rows`);
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

/** `MERGE` exists from PostgreSQL 15; older servers use `INSERT ... ON CONFLICT`. */
async function supportsMerge(client: Client): Promise<boolean> {
  const result = await client.query<{ v: string }>('SHOW server_version_num');
  return Number(result.rows[0]?.v ?? 0) >= 150000;
}

/** Writes the input as CSV in the text forms PostgreSQL's COPY reads. */
async function exportCSV(
  context: SinkWriteContext,
  fields: readonly Field[],
  file: string,
): Promise<void> {
  const select = fields
    .map((f) => `${toPostgresText(quoteIdentifier(f.name), f.type)} AS ${quoteIdentifier(f.name)}`)
    .join(', ');
  await context.connection.run(
    `COPY (SELECT ${select} FROM ${context.input}) TO ${quoteLiteral(file)} (FORMAT csv, HEADER false, QUOTE '"', ESCAPE '"', FORCE_QUOTE *)`,
  );
}

/** Copies the CSV file into `table`; returns how many rows the server took. */
async function copyIn(
  client: Client,
  table: string,
  fields: readonly Field[],
  file: string,
  signal: AbortSignal,
): Promise<number> {
  const { from } = await import('pg-copy-streams');
  const columns = fields.map((f) => quoteIdentifier(f.name)).join(', ');
  // FORCE_QUOTE makes every value quoted, so an unquoted empty field can only be a NULL.
  const stream = client.query(from(`COPY ${table} (${columns}) FROM STDIN (FORMAT csv)`));
  await pipe(createReadStream(file), stream, { signal });
  return stream.rowCount;
}
