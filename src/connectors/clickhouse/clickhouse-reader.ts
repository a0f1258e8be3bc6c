import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipe } from 'node:stream/promises';
import type { z } from 'zod';
import { SourceError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { columnDefinitions, quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { SourceReadContext } from '../../contracts/batch-connector.js';
import type { ClickHouseCaller } from './clickhouse-client.js';
import {
  ClickHouseConnection,
  clickhouseError,
  quoteClickHouseIdentifier,
  quoteClickHouseName,
  splitClickHouseTable,
} from './clickhouse-client.js';
import type { clickhouseSourceConfig } from './clickhouse-configs.js';
import type { ClickHouseReading } from './clickhouse-read-types.js';
import { clickhouseReading } from './clickhouse-read-types.js';

type SourceConfig = z.output<typeof clickhouseSourceConfig>;

/**
 * The `clickhouse` source's `read`: the table or query over HTTP into the step's dataset.
 *
 * @example
 * ```ts
 * await readClickHouse(config, context);
 * ```
 */
export async function readClickHouse(config: SourceConfig, context: SourceReadContext) {
  const where: ClickHouseCaller = { role: 'source', stepId: context.stepId };
  const connection = await ClickHouseConnection.open(config.url, where);
  const folder = await mkdtemp(join(tmpdir(), 'sluice-clickhouse-'));
  const read = config.table ?? 'a query';
  try {
    const relation = relationOf(config, connection.database);
    const columns = await connection.describe(relation, context.signal);
    const readings = columns.map((c) => clickhouseReading(c.type));
    const fields: Field[] = columns.map((c, i) => ({
      name: c.name,
      type: (readings[i] as ClickHouseReading).type,
      nullable: true,
    }));
    const select = columns
      .map(
        (c, i) =>
          `${(readings[i] as ClickHouseReading).exported(quoteClickHouseIdentifier(c.name))} AS ${quoteClickHouseIdentifier(`c${i}`)}`,
      )
      .join(', ');
    const file = join(folder, 'rows.csv');
    const stream = await connection.stream(
      `SELECT ${select} FROM (${relation})`,
      'CSV',
      context.signal,
    );
    await pipe(stream, createWriteStream(file), { signal: context.signal });
    const rowsRead = await loadRows(context, file, fields, readings).catch((cause: unknown) => {
      const text = (cause instanceof Error ? cause.message : String(cause)).replace(
        /^Step "[^"]*": /,
        '',
      );
      throw new SourceError(
        context.stepId,
        `cannot load the rows of ${read}: ${text.split('\n')[0] ?? text}`,
        {
          cause,
          hint: 'a String column may hold bytes that are not UTF-8 text; read it as hex(column) in a query',
        },
      );
    });
    return {
      rowsRead,
      rowsQuarantined: 0,
      fields,
      inputs: [
        config.table === undefined
          ? `${connection.location(connection.database, 'query')}`
          : locationOf(connection, config.table),
      ],
    };
  } catch (cause) {
    if (context.signal.aborted) throw context.signal.reason;
    throw clickhouseError(where, `cannot read ${read}`, cause, connection);
  } finally {
    await rm(folder, { recursive: true, force: true });
    await connection.close();
  }
}

/** The SELECT that reads the configured table (columns, predicate) or the query. */
function relationOf(config: SourceConfig, database: string): string {
  if (config.table === undefined) return config.query ?? '';
  const { database: db, table } = splitClickHouseTable(config.table, database);
  const columns = config.columns?.map(quoteClickHouseIdentifier).join(', ') ?? '*';
  const predicate = config.where === undefined ? '' : ` WHERE ${config.where}`;
  return `SELECT ${columns} FROM ${quoteClickHouseName(db, table)}${predicate}`;
}

function locationOf(connection: ClickHouseConnection, name: string): string {
  const { database, table } = splitClickHouseTable(name, connection.database);
  return connection.location(database, table);
}

/** Loads the CSV file into the step's table, each column restored to its logical type. */
async function loadRows(
  context: SourceReadContext,
  file: string,
  fields: readonly Field[],
  readings: readonly ClickHouseReading[],
): Promise<number> {
  const name = quoteIdentifier(context.stepId);
  if ((await stat(file)).size === 0) {
    await context.connection.run(`CREATE TABLE ${name} (${columnDefinitions(fields)})`);
    return 0;
  }
  const csvColumns = fields.map((_, i) => `${quoteLiteral(`c${i}`)}: 'VARCHAR'`).join(', ');
  const select = fields
    .map(
      (field, i) =>
        `${(readings[i] as ClickHouseReading).restored(`c${i}`)} AS ${quoteIdentifier(field.name)}`,
    )
    .join(', ');
  return context.connection.run(
    `CREATE TABLE ${name} AS SELECT ${select} FROM read_csv(${quoteLiteral(file)}, columns = {${csvColumns}}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = '\\N', allow_quoted_nulls = false, max_line_size = 33554432, buffer_size = 67108864)`,
  );
}
