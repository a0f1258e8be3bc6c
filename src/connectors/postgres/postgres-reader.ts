import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { ConfigError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { connectPostgres, describeServer, postgresError } from './pg-connection.js';
import type { PostgresColumn } from './pg-types.js';
import { logicalTypeOf, transportExpression } from './pg-types.js';
import { copyOut, describeColumns, loadCSV } from './pg-read.js';
import { quoteTableName } from './pg-names.js';
import type { postgresSourceConfig } from './postgres-configs.js';
import type { z } from 'zod';

type SourceConfig = z.output<typeof postgresSourceConfig>;

/**
 * `postgresSource.read`, loaded on first use.
 *
 * @example
 * ```ts
 * await readPostgres(config, context);
 * ```
 */
export async function readPostgres(
  config: z.output<typeof postgresSourceConfig>,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const where = { role: 'source' as const, stepId: context.stepId };
  const client = await connectPostgres(config.url, where);
  const folder = await mkdtemp(join(tmpdir(), 'sluice-postgres-'));
  const stopOnAbort = (): void => void client.end().catch(() => undefined);
  context.signal.addEventListener('abort', stopOnAbort, { once: true });
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const relation = relationOf(config);
    const columns = await describeColumns(client, relation, where);
    const fields: Field[] = columns.map((column) => ({
      name: column.name,
      type: logicalTypeOf(column),
      nullable: true,
    }));
    const predicate = await filterOf(config, context, columns, client);
    const select = columns
      .map((column, i) => transportExpression(column, (fields[i] as Field).type))
      .join(', ');
    const query = `SELECT ${select} FROM ${relation} AS source${predicate}`;
    const files = await (
      config.parallel === undefined
        ? copyOut(
            client,
            `COPY (${query}) TO STDOUT (FORMAT csv)`,
            join(folder, 'rows.csv'),
            context.signal,
          ).then(() => [join(folder, 'rows.csv')])
        : copyRanges(client, config, query, columns, folder, context)
    ).catch((cause: unknown) => {
      throw postgresError(where, `cannot read ${describeServer(config.url)}`, cause);
    });
    await client.query('COMMIT');
    const rowsRead = await loadCSV(context.connection, files, fields, context.stepId);
    return {
      rowsRead,
      rowsQuarantined: 0,
      fields,
      inputs: [`${describeServer(config.url)}/${config.table ?? 'query'}`],
    };
  } finally {
    context.signal.removeEventListener('abort', stopOnAbort);
    await client.end().catch(() => undefined);
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Reads `query` in `parallel.partitions` ranges of `parallel.column`, each on its own connection
 * inside the snapshot `client` exported, so together they are one consistent read.
 */
async function copyRanges(
  client: Client,
  config: SourceConfig,
  query: string,
  columns: readonly PostgresColumn[],
  folder: string,
  context: SourceReadContext,
): Promise<string[]> {
  const { column, partitions } = config.parallel as NonNullable<SourceConfig['parallel']>;
  const key = columns.find((c) => c.name === column);
  if (key === undefined)
    throw new ConfigError([
      {
        code: 'unknown-column',
        stepId: context.stepId,
        message: `parallel.column "${column}" is not a column of source "${context.stepId}"`,
        hint: `its columns: ${columns.map((c) => c.name).join(', ')}`,
      },
    ]);
  const position = rangePosition(quoteIdentifier(column), key);
  const [snapshot] = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows;
  const [bounds] = (
    await client.query<{ low: string | null; high: string | null }>(
      `SELECT min(${position})::text AS low, max(${position})::text AS high FROM (${query}) AS q`,
    )
  ).rows;
  if (bounds?.low === null || bounds?.low === undefined || bounds.high === null) {
    const file = join(folder, 'rows-0.csv');
    await copyOut(client, `COPY (${query}) TO STDOUT (FORMAT csv)`, file, context.signal);
    return [file];
  }
  const low = Number(bounds.low);
  const step = (Number(bounds.high) - low) / partitions;
  const ranges = Array.from({ length: partitions }, (_, i) => {
    const from = i === 0 ? undefined : low + step * i;
    const to = i === partitions - 1 ? undefined : low + step * (i + 1);
    const conditions = [
      ...(from === undefined ? [] : [`${position} >= ${from}`]),
      ...(to === undefined ? [] : [`${position} < ${to}`]),
    ];
    // Rows whose key is NULL go with the first range.
    const where =
      i === 0 ? `(${conditions.join(' AND ')}) OR ${position} IS NULL` : conditions.join(' AND ');
    return { file: join(folder, `rows-${i}.csv`), where };
  });
  context.logger.info(
    { column, partitions, low: bounds.low, high: bounds.high },
    'reading in ranges',
  );
  await Promise.all(
    ranges.map(async (range) => {
      const reader = await connectPostgres(config.url, { role: 'source', stepId: context.stepId });
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await reader.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot?.id ?? '')}`);
        await copyOut(
          reader,
          `COPY (SELECT * FROM (${query}) AS q WHERE ${range.where}) TO STDOUT (FORMAT csv)`,
          range.file,
          context.signal,
        );
        await reader.query('COMMIT');
      } finally {
        await reader.end().catch(() => undefined);
      }
    }),
  );
  return ranges.map((range) => range.file);
}

/** A number that orders the key column: itself for numbers, epoch seconds for dates and times. */
function rangePosition(column: string, key: PostgresColumn): string {
  if (['date', 'timestamp', 'timestamptz'].includes(key.typeName))
    return `extract(epoch from ${column})`;
  if (['int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'oid'].includes(key.typeName))
    return `${column}::numeric`;
  throw new ConfigError([
    {
      code: 'bad-parallel-column',
      message: `parallel.column "${key.name}" is ${key.typeName}; range reads need a number, date or timestamp column`,
      hint: 'pick a numeric id or a timestamp with values spread over its range',
    },
  ]);
}

function relationOf(config: SourceConfig): string {
  if (config.query !== undefined) return `(${config.query})`;
  const table = quoteTableName(config.table as string);
  return config.columns === undefined
    ? table
    : `(SELECT ${config.columns.map(quoteIdentifier).join(', ')} FROM ${table})`;
}

/** The WHERE clause: the configured predicate and, when incremental, the watermark. */
async function filterOf(
  config: SourceConfig,
  context: SourceReadContext,
  columns: readonly PostgresColumn[],
  client: Client,
): Promise<string> {
  const conditions = config.where === undefined ? [] : [`(${config.where})`];
  const incremental = context.incremental;
  if (incremental !== undefined) {
    const cursor = columns.find((c) => c.name === incremental.cursor);
    if (cursor === undefined)
      throw new ConfigError([
        {
          code: 'unknown-cursor',
          stepId: context.stepId,
          message: `incremental cursor column "${incremental.cursor}" is not a column of source "${context.stepId}"`,
          hint: `its columns: ${columns.map((c) => c.name).join(', ')}`,
        },
      ]);
    if (incremental.watermark !== undefined) {
      const type = await cursorType(client, cursor);
      // COPY takes no bind parameters: the watermark goes in as a quoted literal.
      const watermark = `CAST(${quoteLiteral(incremental.watermark)} AS ${type})`;
      const lagWindow = incremental.lagWindow;
      const from =
        lagWindow === undefined
          ? watermark
          : typeof lagWindow === 'number'
            ? `${watermark} - ${lagWindow}`
            : `${watermark} - CAST(${quoteLiteral(lagWindow)} AS interval)`;
      // Inclusive: rows sharing the watermark may have been committed after the last read; the
      // engine drops the ones that run already read.
      conditions.push(`${quoteIdentifier(cursor.name)} >= ${from}`);
      context.logger.info(
        { cursor: cursor.name, watermark: incremental.watermark, lagWindow },
        'reading rows from the watermark on',
      );
    }
  }
  return conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
}

async function cursorType(client: Client, cursor: PostgresColumn): Promise<string> {
  const result = await client.query<{ type: string }>('SELECT format_type($1::oid, $2) AS type', [
    cursor.typeOid,
    cursor.typeModifier,
  ]);
  return result.rows[0]?.type ?? 'text';
}
