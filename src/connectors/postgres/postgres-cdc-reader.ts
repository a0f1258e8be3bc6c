import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Client } from 'pg';
import type { z } from 'zod';
import { SourceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Field, LogicalType } from '../../core/types.js';
import { columnDefinitions, quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { connectPostgres, describeServer, postgresError } from './pg-connection.js';
import { copyOut, describeColumns, loadCSV } from './pg-read.js';
import type { PostgresColumn } from './pg-types.js';
import { logicalTypeOf, restoreExpression, transportExpression } from './pg-types.js';
import { quoteTableName, splitTableName } from './pg-names.js';
import type { ReplicatedRelation, TupleValue } from './pgoutput.js';
import { PgOutputDecoder, lsnToBigInt, parsePostgresArray } from './pgoutput.js';
import type { postgresCdcSourceConfig } from './postgres-configs.js';

type CdcConfig = z.output<typeof postgresCdcSourceConfig>;

/** Columns every change record carries besides the table's own. */
const OPERATION = '_op';
const LSN = '_lsn';
const FETCH_SIZE = 5_000;

/**
 * `postgresCdcSource.read`, loaded on first use.
 *
 * @example
 * ```ts
 * await readPostgresChanges(config, context);
 * ```
 */
export async function readPostgresChanges(
  config: z.output<typeof postgresCdcSourceConfig>,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const where = { role: 'source' as const, stepId: context.stepId };
  const client = await connectPostgres(config.url, where);
  const folder = await mkdtemp(join(tmpdir(), 'sluice-postgres-cdc-'));
  const stopOnAbort = (): void => void client.end().catch(() => undefined);
  context.signal.addEventListener('abort', stopOnAbort, { once: true });
  try {
    const names = replicationNames(config, context.stepId);
    const table = quoteTableName(config.table);
    const columns = await describeColumns(client, table, where);
    const fields: Field[] = columns.map((c) => ({
      name: c.name,
      type: logicalTypeOf(c),
      nullable: true,
    }));
    await ensureReplication(client, config.table, names, context.logger, context.state).catch(
      (cause: unknown) => {
        throw postgresError(where, `cannot set up logical replication of ${config.table}`, cause);
      },
    );
    const upTo = await currentLsn(client);
    if (context.state === undefined && config.snapshot === 'initial') {
      // Starting over (the first run, or --full-refresh): the snapshot, read after `upTo`,
      // holds every change up to it, so the slot's older changes (a TRUNCATE among them) are
      // not read. The slot moves to `upTo` when the next run confirms this run's state.
      await readSnapshot(client, table, columns, fields, folder, context);
    } else {
      await context.connection.run(
        `CREATE TABLE ${quoteIdentifier(context.stepId)} (${columnDefinitions(fields)}, ${OPERATION} VARCHAR, ${LSN} BIGINT)`,
      );
      const changes = await readChanges(
        client,
        config,
        names,
        upTo,
        columns,
        fields,
        folder,
        context,
      );
      await appendChanges(context, fields, changes);
    }
    const [row] = await context.connection.rows(
      `SELECT count(*) AS n FROM ${quoteIdentifier(context.stepId)}`,
    );
    return {
      rowsRead: Number(row?.['n'] ?? 0),
      rowsQuarantined: 0,
      fields: [
        ...fields,
        { name: OPERATION, type: { kind: 'string' }, nullable: false },
        { name: LSN, type: { kind: 'int64' }, nullable: false },
      ],
      inputs: [`${describeServer(config.url)}/${config.table}@${upTo}`],
      state: upTo,
    };
  } catch (cause) {
    if (cause instanceof SourceError) throw cause;
    throw postgresError(where, `cannot read the changes of ${config.table}`, cause);
  } finally {
    context.signal.removeEventListener('abort', stopOnAbort);
    await client.end().catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
  }
}

/** The replication slot and publication a CDC source reads. */
export interface ReplicationNames {
  readonly slot: string;
  readonly publication: string;
}

/**
 * Slot and publication names: configured, or derived from the database, table and step (slots
 * are named per server, so two databases following a same-named table get different slots).
 */
export function replicationNames(
  config: {
    readonly url: string;
    readonly table: string;
    readonly slot?: string | undefined;
    readonly publication?: string | undefined;
  },
  stepId: string,
): ReplicationNames {
  const base = `${config.table}_${stepId}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const database = new URL(config.url).pathname;
  const digest = createHash('sha256')
    .update(`${database}/${config.table}/${stepId}`)
    .digest('hex')
    .slice(0, 8);
  const derived = `sluice_${base.slice(0, 40)}_${digest}`;
  return { slot: config.slot ?? derived, publication: config.publication ?? derived };
}

/**
 * Creates the publication (or adds the table to it) and the slot when missing, and confirms
 * `confirm` to the slot when it is past the slot's position (the server frees that WAL).
 *
 * @example
 * ```ts
 * await ensureReplication(client, 'public.orders', names, logger, lastPosition);
 * ```
 */
export async function ensureReplication(
  client: Client,
  table: string,
  names: ReplicationNames,
  logger: Logger,
  confirm: string | undefined,
): Promise<void> {
  const publication = await client.query(
    `SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND (schemaname || '.' || tablename = $2 OR tablename = $2)`,
    [names.publication, table],
  );
  if (publication.rowCount === 0) {
    const exists = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [
      names.publication,
    ]);
    await client.query(
      exists.rowCount === 0
        ? `CREATE PUBLICATION ${quoteIdentifier(names.publication)} FOR TABLE ${quoteTableName(table)}`
        : `ALTER PUBLICATION ${quoteIdentifier(names.publication)} ADD TABLE ${quoteTableName(table)}`,
    );
    logger.info({ publication: names.publication }, 'publication ready');
  }
  const slot = await client.query<{ confirmed: string | null }>(
    'SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE slot_name = $1',
    [names.slot],
  );
  if (slot.rowCount === 0) {
    await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot]);
    logger.info({ slot: names.slot }, 'replication slot created');
    return;
  }
  const confirmed = slot.rows[0]?.confirmed;
  if (
    confirm !== undefined &&
    (confirmed === null || confirmed === undefined || lsnToBigInt(confirm) > lsnToBigInt(confirmed))
  )
    await client.query('SELECT pg_replication_slot_advance($1, $2::pg_lsn)', [names.slot, confirm]);
}

async function currentLsn(client: Client): Promise<string> {
  const result = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return result.rows[0]?.lsn ?? '0/0';
}

/** The whole table as `snapshot` rows: the step's dataset, to which the changes are appended. */
async function readSnapshot(
  client: Client,
  table: string,
  columns: readonly PostgresColumn[],
  fields: readonly Field[],
  folder: string,
  context: SourceReadContext,
): Promise<void> {
  const file = join(folder, 'snapshot.csv');
  const select = columns
    .map((c, i) => transportExpression(c, (fields[i] as Field).type))
    .join(', ');
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  await copyOut(
    client,
    `COPY (SELECT ${select} FROM ${table}) TO STDOUT (FORMAT csv)`,
    file,
    context.signal,
  );
  const [position] = (
    await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')
  ).rows;
  await client.query('COMMIT');
  const dataset = quoteIdentifier(context.stepId);
  await loadCSV(context.connection, file, fields, context.stepId);
  await context.connection.run(
    `ALTER TABLE ${dataset} ADD COLUMN ${OPERATION} VARCHAR DEFAULT 'snapshot'`,
  );
  await context.connection.run(
    `ALTER TABLE ${dataset} ADD COLUMN ${LSN} BIGINT DEFAULT ${lsnToBigInt(position?.lsn ?? '0/0')}`,
  );
  context.logger.info({ table }, 'initial snapshot read');
}

/**
 * Decodes the slot's changes up to `upTo` (without consuming them) into an NDJSON file of text
 * values; returns its path and how many changes it holds.
 */
async function readChanges(
  client: Client,
  config: CdcConfig,
  names: ReplicationNames,
  upTo: string,
  columns: readonly PostgresColumn[],
  fields: readonly Field[],
  folder: string,
  context: SourceReadContext,
): Promise<{ file: string; count: number }> {
  const file = join(folder, 'changes.ndjson');
  const out = createWriteStream(file);
  const decoder = new PgOutputDecoder();
  const [schema, name] = splitTableName(config.table);
  let count = 0;
  await client.query('BEGIN');
  await client.query(
    `DECLARE changes NO SCROLL CURSOR FOR
       SELECT lsn::text AS lsn, data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL,
         'proto_version', '1', 'publication_names', $3)`,
    [names.slot, upTo, names.publication],
  );
  for (;;) {
    context.signal.throwIfAborted();
    const batch = await client.query<{ lsn: string; data: Buffer }>(
      `FETCH ${FETCH_SIZE} FROM changes`,
    );
    for (const change of batch.rows) {
      const message = decoder.decode(change.data);
      if (message.type === 'truncate') {
        if (message.relations.some((r) => isTable(r, schema, name)))
          throw truncatedError(context.stepId, config.table, change.lsn);
        continue;
      }
      if (message.type !== 'insert' && message.type !== 'update' && message.type !== 'delete')
        continue;
      if (!isTable(message.relation, schema, name)) continue;
      const values = rowValues(message, columns, fields, context.stepId, config.table);
      if (
        !out.write(
          `${JSON.stringify({ ...values, [OPERATION]: message.type, [LSN]: String(lsnToBigInt(change.lsn)) })}\n`,
        )
      )
        await new Promise((resolve) => out.once('drain', resolve));
      count++;
    }
    if (batch.rows.length < FETCH_SIZE) break;
  }
  await client.query('COMMIT');
  out.end();
  await finished(out);
  context.logger.info({ changes: count, upTo }, 'changes read');
  return { file, count };
}

/**
 * The refusal of a TRUNCATE of the followed table: it removes rows without row changes, so
 * applying the changes after it cannot make a replica match. Starting over (`--full-refresh`)
 * reads a new snapshot instead, and the run's append and merge sinks replace their targets with
 * it.
 *
 * @example
 * ```ts
 * throw truncatedError('changes', 'public.orders', '0/1A2B3C');
 * ```
 */
export function truncatedError(stepId: string, table: string, lsn: string): SourceError {
  return new SourceError(
    stepId,
    `${table} was truncated (at log position ${lsn}); a TRUNCATE removes rows without row changes, so the changes after it cannot be applied`,
    {
      hint: `start over with a new snapshot: \`sluice run <pipeline> --full-refresh\` reads the whole table again, skips the changes before it, and has the pipeline's append and merge sinks replace their targets' rows with the snapshot in one commit, so the truncated rows leave the replica too (clearing only the step's state in the run store reads the snapshot but merges it into the old replica, which then keeps the truncated rows)`,
    },
  );
}

/** The change's column values by position (`c0`, `c1`...), in the text forms DuckDB restores. */
export function rowValues(
  message: {
    type: 'insert' | 'update' | 'delete';
    relation: ReplicatedRelation;
    new?: readonly TupleValue[];
    old?: readonly TupleValue[] | undefined;
  },
  columns: readonly PostgresColumn[],
  fields: readonly Field[],
  stepId: string,
  table: string,
): Record<string, string | null> {
  const tuple = message.type === 'delete' ? message.old : message.new;
  const values: Record<string, string | null> = {};
  columns.forEach((column, i) => {
    const at = message.relation.columns.findIndex((c) => c.name === column.name);
    let value: TupleValue | undefined = at < 0 ? null : tuple?.[at];
    if (typeof value === 'object' && value !== null) {
      // An update that left a TOASTed value alone does not send it; the old row may hold it.
      value = message.old?.[at];
      if (typeof value === 'object' && value !== null)
        throw new SourceError(
          stepId,
          `an update of ${table} did not carry column "${column.name}" (a large value left unchanged)`,
          {
            hint: `let the stream carry whole old rows: ALTER TABLE ${table} REPLICA IDENTITY FULL`,
          },
        );
    }
    values[`c${i}`] =
      value === undefined || value === null
        ? null
        : toTransportText(value, (fields[i] as Field).type);
  });
  return values;
}

/** Replication sends values in their text form; COPY transport sends arrays as JSON and bytea as base64. */
export function toTransportText(text: string, type: LogicalType): string {
  if (type.kind === 'binary') return Buffer.from(text.slice(2), 'hex').toString('base64');
  if (type.kind === 'list') return JSON.stringify(parsePostgresArray(text));
  if (
    type.kind === 'json' &&
    text.startsWith('{') &&
    !text.startsWith('{"') &&
    !text.startsWith('{}')
  )
    return JSON.stringify(
      parsePostgresArray(text).map((e) => (e === null ? null : (JSON.parse(e) as unknown))),
    );
  return text;
}

/** Appends the changes to the step's dataset, in log order. */
async function appendChanges(
  context: SourceReadContext,
  fields: readonly Field[],
  changes: { file: string; count: number },
): Promise<void> {
  const target = quoteIdentifier(context.stepId);
  if (changes.count === 0) return;
  const jsonColumns = [
    ...fields.map((_, i) => `${quoteLiteral(`c${i}`)}: 'VARCHAR'`),
    `'${OPERATION}': 'VARCHAR'`,
    `'${LSN}': 'BIGINT'`,
  ].join(', ');
  const select = [...fields.map((f, i) => restoreExpression(`c${i}`, f.type)), OPERATION, LSN].join(
    ', ',
  );
  await context.connection.run(
    `INSERT INTO ${target} SELECT ${select} FROM read_json(${quoteLiteral(changes.file)}, format = 'newline_delimited', columns = {${jsonColumns}}) ORDER BY ${LSN}`,
  );
}

/** Whether a replicated relation is the table `schema.name` (any schema when not given). */
export function isTable(
  relation: ReplicatedRelation,
  schema: string | undefined,
  name: string,
): boolean {
  return relation.name === name && (schema === undefined || relation.schema === schema);
}
