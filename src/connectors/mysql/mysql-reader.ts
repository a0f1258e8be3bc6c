import type { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import { RowWriter } from '../../contracts/row-writer.js';
import type { MySQLEndpoint } from './mysql-client.js';
import {
  closeMySQL,
  endpointOf,
  mysqlError,
  openMySQL,
  quoteMySQLIdentifier,
  quoteMySQLName,
  streamRows,
} from './mysql-client.js';
import type { mysqlSourceConfig } from './mysql-configs.js';
import type { MySQLPredicate } from './mysql-incremental.js';
import { cursorPredicate } from './mysql-incremental.js';
import type { PagedRead } from './mysql-paging.js';
import { readPages, resolvePageKey } from './mysql-paging.js';
import type { MySQLColumn, MySQLTypeReading } from './mysql-types.js';
import { BadValue, columnOfField, readingsOf } from './mysql-types.js';

type SourceConfig = z.output<typeof mysqlSourceConfig>;
type Row = Record<string, unknown>;

const QUARANTINE_FLUSH_ROWS = 1000;

/**
 * The `mysql` source's `read`: the table or query, page by page, into the step's dataset.
 *
 * @example
 * ```ts
 * await readMySQL(config, context);
 * ```
 */
export async function readMySQL(
  config: SourceConfig,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const { stepId, signal } = context;
  const role = { role: 'source', stepId } as const;
  const endpoint = endpointOf(config);
  const described = describeInput(config, endpoint);
  const connection = await openMySQL(config, role, signal);
  const abort = (): void => connection.destroy();
  signal.addEventListener('abort', abort, { once: true });
  try {
    const relation = relationOf(config);
    const [, fieldPackets] = await connection.query(
      `SELECT * FROM ${relation} AS __sluice_q LIMIT 0`,
    );
    const columns = (fieldPackets ?? []).map(columnOfField);
    const readings = readingsOf(columns);
    const predicates: MySQLPredicate[] = [];
    // Over a table the predicate goes inside (it may name columns left out of `columns`).
    if (config.where !== undefined && config.query !== undefined)
      predicates.push({ sql: `(${config.where})`, values: [] });
    let order = config.primaryKey;
    if (context.incremental !== undefined) {
      const { cursor, watermark } = context.incremental;
      const index = columns.findIndex((c) => c.name === cursor);
      if (index < 0) throw unknownCursor(stepId, cursor, columns, described);
      if (watermark !== undefined)
        predicates.push(
          incrementalPredicate(
            stepId,
            cursor,
            readings[index] as MySQLTypeReading,
            watermark,
            context.incremental.lagWindow,
          ),
        );
      order = [cursor];
    }
    const stream = (sql: string, values: readonly unknown[]): AsyncIterable<Row> =>
      streamRows(connection, sql, values, config.batchSize);
    let rows: AsyncIterable<Row>;
    if (config.pageBy !== undefined && config.table !== undefined) {
      const key = await resolvePageKey(connection, {
        stepId,
        table: config.table,
        columns: config.pageBy.columns,
        primaryKey: config.primaryKey,
        cursor: context.incremental?.cursor,
      });
      const read: PagedRead = {
        table: config.table,
        select: config.columns?.map(quoteMySQLIdentifier).join(', ') ?? '*',
        // Pages read the table itself, so the where goes beside the cursor bound.
        predicates: [
          ...(config.where === undefined ? [] : [{ sql: `(${config.where})`, values: [] }]),
          ...predicates,
        ],
        size: config.pageBy.size,
        description: described,
      };
      rows = readPages(read, key, stepId, stream);
    } else {
      const sql = [
        `SELECT * FROM ${relation} AS __sluice_q`,
        predicates.length === 0 ? '' : `WHERE ${predicates.map((p) => p.sql).join(' AND ')}`,
        order === undefined ? '' : `ORDER BY ${order.map(quoteMySQLIdentifier).join(', ')}`,
      ].join(' ');
      rows = stream(
        sql,
        predicates.flatMap((p) => p.values),
      );
    }
    const counts = await streamIntoEngine(rows, columns, readings, config, context);
    return { ...counts, inputs: [described] };
  } catch (cause) {
    if (signal.aborted) throw signal.reason;
    throw mysqlError(role, endpoint, cause, `cannot read ${described}`);
  } finally {
    signal.removeEventListener('abort', abort);
    await closeMySQL(connection);
  }
}

function relationOf(config: SourceConfig): string {
  if (config.query !== undefined) return `(${config.query})`;
  const table = quoteMySQLName(config.table as string);
  if (config.columns === undefined && config.where === undefined) return table;
  const list = config.columns?.map(quoteMySQLIdentifier).join(', ') ?? '*';
  return `(SELECT ${list} FROM ${table}${config.where === undefined ? '' : ` WHERE ${config.where}`})`;
}

function describeInput(config: SourceConfig, endpoint: MySQLEndpoint): string {
  const place = `mysql://${endpoint.host}:${endpoint.port}/${endpoint.database ?? ''}`;
  return config.table === undefined ? `${place} (query)` : `${place}#${config.table}`;
}

function incrementalPredicate(
  stepId: string,
  cursor: string,
  reading: MySQLTypeReading,
  watermark: string,
  lagWindow: string | number | undefined,
): MySQLPredicate {
  try {
    return cursorPredicate(cursor, reading.type, watermark, lagWindow);
  } catch (cause) {
    throw new ConfigError(
      [
        {
          code: 'invalid-incremental',
          stepId,
          message: `cannot read incrementally by "${cursor}": ${(cause as Error).message}`,
          hint: 'use a numeric or date/time cursor column whose values only grow; lagWindow is a duration for date/time cursors and a number for numeric ones',
        },
      ],
      { cause },
    );
  }
}

function unknownCursor(
  stepId: string,
  cursor: string,
  columns: readonly MySQLColumn[],
  described: string,
): ConfigError {
  return new ConfigError([
    {
      code: 'unknown-cursor',
      stepId,
      message: `incremental cursor column "${cursor}" is not a column of ${described} (it has ${columns.map((c) => `"${c.name}"`).join(', ')})`,
      hint: 'name a column whose values only grow, such as an update timestamp',
    },
  ]);
}

/**
 * Streams the rows through a {@link RowWriter} into a staging table, then exposes them
 * as the step's view. Instants are staged as UTC wall-clock times and converted in the view, so
 * microseconds survive.
 */
async function streamIntoEngine(
  stream: AsyncIterable<Row>,
  columns: readonly MySQLColumn[],
  readings: readonly MySQLTypeReading[],
  config: SourceConfig,
  context: SourceReadContext,
): Promise<Omit<SourceReadResult, 'inputs'>> {
  const { stepId, signal, quarantine } = context;
  const fields: Field[] = columns.map((c, i) => ({
    name: c.name,
    type: (readings[i] as MySQLTypeReading).type,
    nullable: c.nullable,
  }));
  const staged: Field[] = fields.map((f) =>
    f.type.kind === 'timestamp' && f.type.tz ? { ...f, type: { kind: 'timestamp', tz: false } } : f,
  );
  const writer = new RowWriter(staged);
  const table = `__sluice_mysql_${stepId}`;
  await context.connection.run(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
  await context.connection.run(
    `CREATE TABLE ${quoteIdentifier(table)} (${writer.stagingColumns()})`,
  );
  const appender = await context.connection.raw.createAppender(table);
  const converters = readings.map((r) => r.convert);
  let rowsRead = 0;
  let rowsQuarantined = 0;
  let pending: { record: unknown; reason: string; column?: string }[] = [];
  const flush = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    rowsQuarantined += batch.length;
    await quarantine.append(stepId, batch);
  };
  try {
    let inBatch = 0;
    for await (const raw of stream) {
      rowsRead++;
      const row = convertRow(raw, columns, converters);
      const problem =
        row instanceof BadValueAt
          ? { column: row.column, reason: `column "${row.column}": ${row.reason}` }
          : writer.write(appender, row);
      if (problem !== undefined)
        pending.push({ record: raw, reason: problem.reason, column: problem.column });
      if (++inBatch >= config.batchSize) {
        inBatch = 0;
        signal.throwIfAborted();
        if (pending.length >= QUARANTINE_FLUSH_ROWS) await flush();
      }
    }
    signal.throwIfAborted();
    appender.closeSync();
  } catch (error) {
    try {
      appender.closeSync();
    } catch {
      // The read already failed; the appender's own error adds nothing.
    }
    throw error;
  } finally {
    await flush();
  }
  const select = fields
    .map((f) => {
      const name = quoteIdentifier(f.name);
      return f.type.kind === 'timestamp' && f.type.tz
        ? `timezone('UTC', ${name}) AS ${name}`
        : name;
    })
    .join(', ');
  await context.connection.run(
    `CREATE VIEW ${quoteIdentifier(stepId)} AS SELECT ${select} FROM ${quoteIdentifier(table)}`,
  );
  return { rowsRead, rowsQuarantined, fields };
}

class BadValueAt {
  constructor(
    readonly column: string,
    readonly reason: string,
  ) {}
}

function convertRow(
  raw: Row,
  columns: readonly MySQLColumn[],
  converters: readonly (((value: unknown) => unknown) | undefined)[],
): Row | BadValueAt {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) {
    const name = (columns[i] as MySQLColumn).name;
    const value = raw[name];
    const convert = converters[i];
    if (value === null || value === undefined || convert === undefined) {
      row[name] = value;
      continue;
    }
    const converted = convert(value);
    if (converted instanceof BadValue) return new BadValueAt(name, converted.reason);
    row[name] = converted;
  }
  return row;
}
