import { createHash } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { duckdb } from '../../contracts/duckdb-api.js';
import type { z } from 'zod';
import { SinkError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { SinkPublishedContext, SinkWriteContext } from '../../contracts/batch-connector.js';
import type { StagedOutput } from '../../contracts/staged-output.js';
import type { MySQLEndpoint, MySQLRole } from './mysql-client.js';
import {
  closeMySQL,
  endpointOf,
  mysqlError,
  openMySQL,
  quoteMySQLIdentifier,
  quoteMySQLName,
  splitMySQLTableName,
} from './mysql-client.js';
import type { mysqlSinkConfig } from './mysql-configs.js';
import {
  createPublishedRunsTable,
  markPublishedRun,
  mysqlPublishedRun,
} from './mysql-published-runs.js';
import { isLocalInfileRefused, loadDataIntoTable, localInfileEnabled } from './mysql-load-data.js';
import { mysqlColumnType } from './mysql-types.js';

type SinkConfig = z.output<typeof mysqlSinkConfig>;

const MAX_IDENTIFIER_LENGTH = 64;
const STAGE_MARK = '__sluice_stage_';
const SEQUENCE_COLUMN = '__sluice_seq';

/**
 * `mysqlSink.publishedRun`, loaded on first use.
 *
 * @example
 * ```ts
 * await mysqlSinkPublishedRun(config, context);
 * ```
 */
export function mysqlSinkPublishedRun(
  config: z.output<typeof mysqlSinkConfig>,
  context: SinkPublishedContext,
): Promise<boolean | undefined> {
  return mysqlPublishedRun(
    config,
    { role: 'sink', stepId: context.stepId },
    config.table,
    context.runId,
  );
}

/**
 * The `mysql` sink's `write`: loads the input in one transaction, committed at publish.
 *
 * @example
 * ```ts
 * await writeMySQL(config, context);
 * ```
 */
export async function writeMySQL(
  config: SinkConfig,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const role: MySQLRole = { role: 'sink', stepId: context.stepId };
  const endpoint = endpointOf(config);
  const fields = context.inputFields;
  const target = `mysql://${endpoint.host}:${endpoint.port}/${endpoint.database ?? ''}#${config.table}`;
  const missingKeys = config.keys.filter(
    (k) => !fields.some((f) => f.name.toLowerCase() === k.toLowerCase()),
  );
  if (missingKeys.length > 0) {
    throw new SinkError(
      context.stepId,
      `key column(s) ${missingKeys.map((k) => `"${k}"`).join(', ')} are not in the input (it has ${fields.map((f) => `"${f.name}"`).join(', ')})`,
      { hint: 'name input columns in keys' },
    );
  }
  const stage = stageName(config.table, context.runId);
  const connection = await openMySQL(config, role, context.signal);
  let rowsWritten: number;
  try {
    const existing = await tableColumns(connection, config.table);
    if (existing === undefined && !config.createTable) {
      throw new SinkError(
        context.stepId,
        `table ${config.table} does not exist on ${endpoint.host}:${endpoint.port}`,
        {
          hint: 'create it, or set createTable: true to create it from the input columns',
        },
      );
    }
    // Checked before staging too, so the step fails early with its own message.
    if (existing !== undefined && config.mode === 'merge')
      await requireUniqueKey(connection, config, role);
    await connection.query(
      `CREATE TABLE ${quoteMySQLName(stage)} (${SEQUENCE_COLUMN} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, ${columnDefinitions(fields, []).join(', ')}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
    rowsWritten = await stageRows(connection, stage, config, context);
  } catch (cause) {
    await connection.query(`DROP TABLE IF EXISTS ${quoteMySQLName(stage)}`).catch(() => undefined);
    await closeMySQL(connection);
    if (context.signal.aborted) throw context.signal.reason;
    throw mysqlError(role, endpoint, cause, `cannot stage rows for ${config.table}`);
  }
  await closeMySQL(connection);
  return {
    rowsWritten,
    outputs: [target],
    publish: () => publish(config, role, endpoint, fields, stage, context),
    discard: async () => {
      const cleanup = await openMySQL(config, role).catch(() => undefined);
      if (cleanup === undefined) return;
      await cleanup.query(`DROP TABLE IF EXISTS ${quoteMySQLName(stage)}`).catch(() => undefined);
      await closeMySQL(cleanup);
    },
  };
}

/**
 * The staging table's name: `<table>__sluice_stage_<runid>` in the target's database, with the
 * run id replaced by a hash when the name would pass MySQL's 64-character limit.
 */
function stageName(table: string, runId: string): string {
  const dot = table.lastIndexOf('.');
  const database = dot < 0 ? '' : table.slice(0, dot + 1);
  const base = table.slice(dot + 1);
  let suffix = runId.replaceAll(/[^A-Za-z0-9_]/g, '_');
  if (base.length + STAGE_MARK.length + suffix.length > MAX_IDENTIFIER_LENGTH) {
    suffix = shortHash(runId);
  }
  const room = MAX_IDENTIFIER_LENGTH - STAGE_MARK.length - suffix.length;
  return `${database}${base.slice(0, room)}${STAGE_MARK}${suffix}`;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function columnDefinitions(fields: readonly Field[], keys: readonly string[]): string[] {
  const keySet = new Set(keys.map((k) => k.toLowerCase()));
  return fields.map((f) => {
    const isKey = keySet.has(f.name.toLowerCase());
    return `${quoteMySQLIdentifier(f.name)} ${mysqlColumnType(f, isKey)}${isKey || !f.nullable ? ' NOT NULL' : ' NULL'}`;
  });
}

/** The table's columns, or undefined when it does not exist. */
async function tableColumns(connection: Connection, table: string): Promise<string[] | undefined> {
  const { schema, name } = splitMySQLTableName(table);
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema ?? null, name],
  );
  return rows.length === 0 ? undefined : rows.map((r) => String(r['name']));
}

/**
 * How each column leaves the engine so the driver sends it exactly: 64-bit integers and
 * decimals as text, timestamps as UTC text with microseconds, nested values as JSON text.
 */
function exportExpression(field: Field): string {
  const name = quoteIdentifier(field.name);
  switch (field.type.kind) {
    case 'int64':
    case 'decimal':
    case 'date':
    case 'json':
      return `CAST(${name} AS VARCHAR)`;
    case 'timestamp':
      return field.type.tz
        ? `strftime(timezone('UTC', ${name}), '%Y-%m-%d %H:%M:%S.%f')`
        : `strftime(${name}, '%Y-%m-%d %H:%M:%S.%f')`;
    case 'list':
    case 'struct':
    case 'map':
      return `CAST(to_json(${name}) AS VARCHAR)`;
    default:
      return name;
  }
}

function driverValue(field: Field, value: unknown): unknown {
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`column "${field.name}" holds ${value}, which MySQL cannot store`);
  }
  return value;
}

/**
 * Fills the staging table with `LOAD DATA LOCAL INFILE` or multi-row INSERTs, as `load` says;
 * `auto` takes LOAD DATA when the server allows it. A refusal comes before the server reads
 * any row, so falling back starts from an empty staging table.
 */
async function stageRows(
  connection: Connection,
  stage: string,
  config: SinkConfig,
  context: SinkWriteContext,
): Promise<number> {
  const staged = (method: SinkConfig['load'], rows: number): number => {
    context.logger.info({ table: config.table, method, rows }, 'rows staged');
    return rows;
  };
  if (config.load === 'insert')
    return staged('insert', await insertStage(connection, stage, config, context));
  if (config.load === 'auto' && !(await localInfileEnabled(connection))) {
    context.logger.info(
      { table: config.table },
      'local_infile is OFF on the server; staging rows with INSERTs',
    );
    return staged('insert', await insertStage(connection, stage, config, context));
  }
  try {
    return staged('load_data', await loadDataIntoTable(connection, stage, context));
  } catch (cause) {
    if (!isLocalInfileRefused(cause)) throw cause;
    if (config.load === 'load_data') {
      const detail = (cause as Error).message.split('\n')[0] ?? '';
      throw new SinkError(
        context.stepId,
        `the server refuses LOAD DATA LOCAL INFILE into ${config.table}: ${detail}`,
        {
          cause,
          hint: "turn local_infile ON on the server (SET GLOBAL local_infile = 1), or set load: 'auto' to fall back to INSERTs",
        },
      );
    }
    context.logger.info(
      { table: config.table },
      'the server refused LOAD DATA LOCAL INFILE; staging rows with INSERTs',
    );
    return staged('insert', await insertStage(connection, stage, config, context));
  }
}

async function insertStage(
  connection: Connection,
  stage: string,
  config: SinkConfig,
  context: SinkWriteContext,
): Promise<number> {
  const fields = context.inputFields;
  const columns = fields.map((f) => quoteMySQLIdentifier(f.name)).join(', ');
  const insert = `INSERT INTO ${quoteMySQLName(stage)} (${columns}) VALUES ?`;
  const result = await context.connection.stream(
    `SELECT ${fields.map(exportExpression).join(', ')} FROM ${context.input}`,
  );
  let batch: unknown[][] = [];
  let written = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    context.signal.throwIfAborted();
    await connection.query(insert, [batch]);
    written += batch.length;
    batch = [];
  };
  for await (const rows of result.yieldConvertedRows(duckdb().JSDuckDBValueConverter)) {
    for (const row of rows) {
      batch.push(row.map((value, i) => driverValue(fields[i] as Field, value)));
      if (batch.length >= config.batchSize) await flush();
    }
  }
  await flush();
  return written;
}

async function publish(
  config: SinkConfig,
  role: MySQLRole,
  endpoint: MySQLEndpoint,
  fields: readonly Field[],
  stage: string,
  { runId, logger, fullRefresh }: Pick<SinkWriteContext, 'runId' | 'logger' | 'fullRefresh'>,
): Promise<void> {
  const connection = await openMySQL(config, role);
  const target = quoteMySQLName(config.table);
  const staged = quoteMySQLName(stage);
  const columns = fields.map((f) => quoteMySQLIdentifier(f.name));
  const copy = `INSERT INTO ${target} (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM ${staged} ORDER BY ${SEQUENCE_COLUMN}`;
  let inTransaction = false;
  try {
    await prepareTarget(connection, config, fields);
    if (config.mode === 'merge') await requireUniqueKey(connection, config, role);
    const marking = await createPublishedRunsTable(connection, config.table, logger);
    await connection.beginTransaction();
    inTransaction = true;
    // A full refresh replaces the contents in every mode: append, merge and delete+insert would
    // otherwise keep rows the source no longer has, or hold its rows twice. DELETE (not
    // TRUNCATE, which commits at once) keeps the old rows visible until the commit.
    const replaces = config.mode === 'overwrite' || fullRefresh === true;
    if (replaces) await connection.query(`DELETE FROM ${target}`);
    if (config.mode === 'delete_insert') {
      const on = config.keys
        .map((k) => `t.${quoteMySQLIdentifier(k)} <=> s.${quoteMySQLIdentifier(k)}`)
        .join(' AND ');
      await connection.query(`DELETE t FROM ${target} AS t JOIN ${staged} AS s ON ${on}`);
    }
    if (config.mode === 'merge') {
      const keys = new Set(config.keys.map((k) => k.toLowerCase()));
      const updates = fields
        .filter((f) => !keys.has(f.name.toLowerCase()))
        .map((f) => `${quoteMySQLIdentifier(f.name)} = VALUES(${quoteMySQLIdentifier(f.name)})`);
      const first = columns[0] as string;
      await connection.query(
        `${copy} ON DUPLICATE KEY UPDATE ${updates.length === 0 ? `${first} = ${first}` : updates.join(', ')}`,
      );
    } else {
      await connection.query(copy);
    }
    if (marking) await markPublishedRun(connection, config.table, runId, role.stepId);
    await connection.commit();
    inTransaction = false;
    if (replaces && config.mode !== 'overwrite')
      logger.info(
        { table: config.table, mode: config.mode },
        "full refresh: the target table was replaced by the run's rows",
      );
  } catch (cause) {
    if (inTransaction) await connection.rollback().catch(() => undefined);
    throw mysqlError(role, endpoint, cause, `cannot publish into ${config.table}`);
  } finally {
    await connection.query(`DROP TABLE IF EXISTS ${staged}`).catch(() => undefined);
    await closeMySQL(connection);
  }
}

/**
 * Creates the target from the input's columns when it is missing, and adds input columns it
 * lacks as nullable columns. MySQL commits DDL on its own, so this runs before the transaction
 * that moves the rows: a failure after it leaves new empty columns but no new rows.
 */
async function prepareTarget(
  connection: Connection,
  config: SinkConfig,
  fields: readonly Field[],
): Promise<void> {
  const target = quoteMySQLName(config.table);
  const existing = await tableColumns(connection, config.table);
  if (existing === undefined) {
    const primaryKey =
      config.keys.length === 0
        ? ''
        : `, PRIMARY KEY (${config.keys.map(quoteMySQLIdentifier).join(', ')})`;
    await connection.query(
      `CREATE TABLE ${target} (${columnDefinitions(fields, config.keys).join(', ')}${primaryKey}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    );
    return;
  }
  const known = new Set(existing.map((c) => c.toLowerCase()));
  const added = fields.filter((f) => !known.has(f.name.toLowerCase()));
  if (added.length === 0) return;
  const definitions = added.map(
    (f) => `ADD COLUMN ${quoteMySQLIdentifier(f.name)} ${mysqlColumnType(f, false)} NULL`,
  );
  await connection.query(`ALTER TABLE ${target} ${definitions.join(', ')}`);
}

async function requireUniqueKey(
  connection: Connection,
  config: SinkConfig,
  role: MySQLRole,
): Promise<void> {
  const { schema, name } = splitMySQLTableName(config.table);
  const [rows] = await connection.query<RowDataPacket[]>(
    `SELECT INDEX_NAME AS name, GROUP_CONCAT(LOWER(COLUMN_NAME) ORDER BY COLUMN_NAME SEPARATOR ',') AS columns
     FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND NON_UNIQUE = 0
     GROUP BY INDEX_NAME`,
    [schema ?? null, name],
  );
  const wanted = [...new Set(config.keys.map((k) => k.toLowerCase()))].sort().join(',');
  if (rows.some((r) => String(r['columns']) === wanted)) return;
  throw new SinkError(
    role.stepId,
    `merge into ${config.table} needs a primary or unique key on (${config.keys.join(', ')}); the table has ${
      rows.length === 0
        ? 'none'
        : rows.map((r) => `${String(r['name'])} (${String(r['columns'])})`).join(', ')
    }`,
    {
      hint: `add one (ALTER TABLE ${config.table} ADD UNIQUE KEY (${config.keys.join(', ')})), or use mode 'delete_insert'`,
    },
  );
}
