import type { Client } from 'pg';
import { z } from 'zod';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { StreamRow } from '../../contracts/stream-connector.js';
import { defineStreamSink } from '../../contracts/stream-connector.js';
import { connectPostgres, postgresError } from './pg-connection.js';
import { quoteTableName, splitTableName } from './pg-names.js';

/**
 * Config of the `postgres` stream sink.
 *
 * @example
 * ```ts
 * postgresStreamSinkConfig.parse({ url: 'postgres://127.0.0.1/analytics', table: 'page_views', mode: 'upsert', keys: ['page', 'window_start'] });
 * ```
 */
export const postgresStreamSinkConfig = z
  .strictObject({
    url: z
      .string()
      .min(1)
      .describe('Connection URL `postgres://user:password@host:port/database`.'),
    table: z.string().min(1).describe('Target table, optionally `schema.table`.'),
    mode: z
      .enum(['append', 'upsert'])
      .default('append')
      .describe(
        '`append` inserts every row; `upsert` inserts or updates by `keys` (for windows emitted again with late data, or `emit: update`).',
      ),
    keys: z
      .array(z.string().min(1))
      .default([])
      .describe(
        'With `upsert`: the columns identifying a row (a primary key or unique index on them).',
      ),
    createTable: z
      .boolean()
      .default(true)
      .describe(
        "Create the table from the first rows' values when it does not exist (numbers as bigint or double precision, text, boolean, Dates as timestamptz, objects as jsonb), with `keys` as its primary key.",
      ),
    checkpointTable: z
      .string()
      .min(1)
      .default('sluice_stream_checkpoints')
      .describe(
        'Table in the same database where each stream keeps its last committed checkpoint.',
      ),
  })
  .refine((c) => c.mode !== 'upsert' || c.keys.length > 0, {
    message: 'upsert needs keys: the columns that identify a row',
    path: ['keys'],
  });

/** Config of the `postgres` stream sink as written (defaults optional). */
export type PostgresStreamSinkConfig = z.input<typeof postgresStreamSinkConfig>;

/**
 * Writes a stream into a PostgreSQL table, exactly once: rows are inserted inside a transaction
 * that stays open until the checkpoint, and the checkpoint's snapshot (source positions,
 * watermark, operator state) is written to `checkpointTable` in the same transaction. After a
 * crash the stream resumes from that snapshot, so every row of a committed checkpoint is in the
 * table once and no row of an uncommitted one is. Two processes running the same stream are
 * fenced: a commit whose checkpoint is not newer than the stored one fails.
 *
 * @example
 * ```ts
 * streamSink.postgres({ url, table: 'page_views', mode: 'upsert', keys: ['page', 'window_start'] });
 * ```
 */
export const postgresStreamSink = defineStreamSink({
  name: 'postgres',
  summary: 'A PostgreSQL table, rows and checkpoint committed in one transaction (exactly once).',
  config: postgresStreamSinkConfig,
  delivery: 'exactly-once',
  async open(config, context) {
    const where = { role: 'sink' as const, stepId: context.streamName };
    const client = await connectPostgres(config.url, where);
    const target = quoteTableName(config.table);
    const checkpoints = quoteTableName(config.checkpointTable);
    let open = false;
    let prepared = false;
    const fail = (what: string, cause: unknown): never => {
      throw postgresError(where, what, cause);
    };
    try {
      await client.query('BEGIN');
      await lockTableCreation(client, config.checkpointTable);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${checkpoints} (stream text PRIMARY KEY, checkpoint_id bigint NOT NULL, snapshot jsonb NOT NULL, committed_at timestamptz NOT NULL DEFAULT now())`,
      );
      await client.query('COMMIT');
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      fail(`cannot create ${config.checkpointTable}`, cause);
    }
    return {
      async write(rows) {
        if (rows.length === 0) return;
        try {
          if (!open) {
            await client.query('BEGIN');
            open = true;
          }
          if (!prepared) {
            await prepareTable(client, config, rows);
            prepared = true;
          }
          await insertRows(client, config, target, rows);
        } catch (cause) {
          fail(`cannot write to ${config.table}`, cause);
        }
      },
      async commit({ checkpointId, snapshot }) {
        try {
          if (!open) await client.query('BEGIN');
          open = true;
          const stored = await client.query(
            `INSERT INTO ${checkpoints} (stream, checkpoint_id, snapshot) VALUES ($1, $2, $3)
             ON CONFLICT (stream) DO UPDATE SET checkpoint_id = EXCLUDED.checkpoint_id,
               snapshot = EXCLUDED.snapshot, committed_at = now()
             WHERE ${checkpoints}.checkpoint_id < EXCLUDED.checkpoint_id`,
            [context.streamName, checkpointId, JSON.stringify(snapshot ?? null)],
          );
          if (stored.rowCount === 0)
            throw new Error(
              `checkpoint ${checkpointId} is not newer than the one stored for stream "${context.streamName}": another process is running the stream`,
            );
          await client.query('COMMIT');
          open = false;
        } catch (cause) {
          await client.query('ROLLBACK').catch(() => undefined);
          open = false;
          fail(`cannot commit checkpoint ${checkpointId} to ${config.table}`, cause);
        }
      },
      async recover() {
        const result = await client
          .query<{ checkpoint_id: string; snapshot: unknown }>(
            `SELECT checkpoint_id, snapshot FROM ${checkpoints} WHERE stream = $1`,
            [context.streamName],
          )
          .catch((cause: unknown) => fail(`cannot read ${config.checkpointTable}`, cause));
        const row = result.rows[0];
        return row === undefined
          ? undefined
          : { checkpointId: Number(row.checkpoint_id), snapshot: row.snapshot };
      },
      async close() {
        if (open) await client.query('ROLLBACK').catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  },
});

type SinkConfig = z.output<typeof postgresStreamSinkConfig>;

/** Creates the table from the first rows when it is missing (and allowed). */
async function prepareTable(
  client: Client,
  config: SinkConfig,
  rows: readonly StreamRow[],
): Promise<void> {
  const [schema, table] = splitTableName(config.table);
  await lockTableCreation(client, config.table);
  const exists = await client.query(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2`,
    [schema ?? null, table],
  );
  if (exists.rowCount !== 0) return;
  if (!config.createTable)
    throw new Error(`table ${config.table} does not exist (createTable is false)`);
  const columns = Object.keys(rows[0] ?? {});
  const definitions = columns.map((c) => `${quoteIdentifier(c)} ${columnType(rows, c)}`);
  if (config.keys.length > 0)
    definitions.push(`PRIMARY KEY (${config.keys.map(quoteIdentifier).join(', ')})`);
  if (schema !== undefined)
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(schema)}`);
  await client.query(`CREATE TABLE ${quoteTableName(config.table)} (${definitions.join(', ')})`);
}

/**
 * Serialises the creation of a table among the transactions that may create it (the partitions
 * of one stream start together): PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a
 * concurrent creation. The lock ends with the transaction.
 */
async function lockTableCreation(client: Client, table: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`sluice:create:${table}`]);
}

/** The PostgreSQL type for a column, from the JS values the rows hold. */
function columnType(rows: readonly StreamRow[], column: string): string {
  const values = rows.map((r) => r[column]).filter((v) => v !== null && v !== undefined);
  if (values.length === 0) return 'text';
  if (values.every((v) => typeof v === 'number'))
    return values.every((v) => Number.isInteger(v)) ? 'bigint' : 'double precision';
  if (values.every((v) => typeof v === 'bigint')) return 'numeric';
  if (values.every((v) => typeof v === 'boolean')) return 'boolean';
  if (values.every((v) => v instanceof Date)) return 'timestamptz';
  if (values.every((v) => typeof v === 'object')) return 'jsonb';
  return 'text';
}

/** Inserts (or upserts) rows in one statement, converted by the table's own column types. */
async function insertRows(
  client: Client,
  config: SinkConfig,
  target: string,
  rows: readonly StreamRow[],
): Promise<void> {
  const batch = config.mode === 'upsert' ? lastPerKey(rows, config.keys) : rows;
  const json = JSON.stringify(batch, exactText);
  const columns = Object.keys(batch[0] ?? {}).map(quoteIdentifier);
  const list = columns.join(', ');
  const conflict =
    config.mode === 'upsert'
      ? ` ON CONFLICT (${config.keys.map(quoteIdentifier).join(', ')}) DO UPDATE SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`
      : '';
  await client.query(
    `INSERT INTO ${target} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${target}, $1::json)${conflict}`,
    [json],
  );
}

/** Of several rows with the same keys in one batch, the last one (an upsert applies them in order). */
function lastPerKey(rows: readonly StreamRow[], keys: readonly string[]): StreamRow[] {
  const byKey = new Map<string, StreamRow>();
  for (const row of rows)
    byKey.set(
      JSON.stringify(
        keys.map((k) => row[k] ?? null),
        exactText,
      ),
      row,
    );
  return [...byKey.values()];
}

/** A JSON replacer writing bigints (integers beyond 2^53) as their exact text. */
function exactText(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
