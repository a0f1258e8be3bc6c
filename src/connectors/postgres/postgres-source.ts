import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { ConfigError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext } from '../../engine/connector.js';
import { defineSource } from '../../engine/connector.js';
import { connectPostgres, describeServer, postgresError } from './pg-connection.js';
import type { PostgresColumn } from './pg-types.js';
import { logicalTypeOf, transportExpression } from './pg-types.js';
import { copyOut, describeColumns, loadCSV } from './pg-read.js';
import { quoteTableName } from './pg-names.js';
import { postgresSourceConfig } from './postgres-configs.js';
import type { z } from 'zod';

type SourceConfig = z.output<typeof postgresSourceConfig>;

/**
 * Reads a PostgreSQL table or query into the step's dataset. Rows travel with
 * `COPY (...) TO STDOUT (FORMAT csv)`, the server's fastest export, into a temporary file that
 * DuckDB loads with every column converted to its logical type (numeric(p,s) as decimals,
 * timestamptz in UTC, arrays as lists, jsonb as JSON, bytea as binary, uuid and enums as text).
 * With `incremental: { cursor }`, only rows past the last watermark are read (minus `lagWindow`),
 * the predicate running on the server.
 *
 * @example
 * ```ts
 * source.postgres({ url: 'postgres://127.0.0.1/shop', table: 'orders', incremental: { cursor: 'updated_at' }, lagWindow: '5 minutes' });
 * ```
 */
export const postgresSource = defineSource({
  name: 'postgres',
  summary: 'A PostgreSQL table or query, fully or incrementally by a cursor column.',
  config: postgresSourceConfig,
  readsIncrementally: true,
  async read(config, context) {
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
      const file = join(folder, 'rows.csv');
      const copy = `COPY (SELECT ${select} FROM ${relation} AS source${predicate}) TO STDOUT (FORMAT csv)`;
      await copyOut(client, copy, file, context.signal).catch((cause: unknown) => {
        throw postgresError(where, `cannot read ${describeServer(config.url)}`, cause);
      });
      await client.query('COMMIT');
      await loadCSV(context.connection, file, fields, context.stepId);
      const [row] = await context.connection.rows(
        `SELECT count(*) AS n FROM ${quoteIdentifier(context.stepId)}`,
      );
      return {
        rowsRead: Number(row?.['n'] ?? 0),
        rowsQuarantined: 0,
        fields,
        inputs: [`${describeServer(config.url)}/${config.table ?? 'query'}`],
      };
    } finally {
      context.signal.removeEventListener('abort', stopOnAbort);
      await client.end().catch(() => undefined);
      await rm(folder, { recursive: true, force: true });
    }
  },
});

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
      const from =
        config.lagWindow === undefined
          ? watermark
          : typeof config.lagWindow === 'number'
            ? `${watermark} - ${config.lagWindow}`
            : `${watermark} - CAST(${quoteLiteral(config.lagWindow)} AS interval)`;
      conditions.push(`${quoteIdentifier(cursor.name)} > ${from}`);
      context.logger.info(
        { cursor: cursor.name, watermark: incremental.watermark, lagWindow: config.lagWindow },
        'reading rows past the watermark',
      );
    }
  }
  return conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
}

async function cursorType(client: Client, cursor: PostgresColumn): Promise<string> {
  const result = await client.query<{ type: string }>(
    'SELECT format_type(oid, $2) AS type FROM pg_type WHERE typname = $1 LIMIT 1',
    [cursor.typeName, cursor.typeModifier],
  );
  return result.rows[0]?.type ?? 'text';
}
