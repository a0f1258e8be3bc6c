import type { z } from 'zod';
import { SinkError } from '../../core/errors.js';
import type { Field } from '../../core/types.js';
import { mapType } from '../../core/types.js';
import { quoteIdentifier, scalarLiteral } from '../../core/type-mappings.js';
import type { SinkWriteContext } from '../../contracts/batch-connector.js';
import type { StagedOutput } from '../../contracts/staged-output.js';
import type { ClickHouseCaller, ClickHouseColumn } from './clickhouse-client.js';
import {
  ClickHouseConnection,
  clickhouseError,
  quoteClickHouseIdentifier,
  quoteClickHouseName,
  quoteClickHouseString,
  splitClickHouseTable,
} from './clickhouse-client.js';
import type { clickhouseSinkConfig } from './clickhouse-configs.js';
import { loadSelect, refuseUnstorableValues, sameTypes, textColumns } from './clickhouse-load.js';
import type { StageNames } from './clickhouse-staging.js';
import { dropStaleStages, stagedPartitions, stageNames } from './clickhouse-staging.js';
import { addColumnsStatement, createdColumns, createTableStatement } from './clickhouse-tables.js';
import type { ClickHouseFeatures } from './clickhouse-types.js';
import {
  clickhouseColumnType,
  clickhouseFeatures,
  clickhouseTypeMapping,
} from './clickhouse-types.js';

type SinkConfig = z.output<typeof clickhouseSinkConfig>;

/** Marks the input rows of a merge that delete their keys (`deleteWhen`). */
const DELETE_FLAG = '__sluice_delete';
/** The position of a row in the input, so that the last of equal keys wins. */
const POSITION = '__sluice_pos';
const RANK = '__sluice_rank';

/** What `write` found and made, for staging and publishing. */
interface Write {
  readonly config: SinkConfig;
  readonly context: SinkWriteContext;
  readonly connection: ClickHouseConnection;
  readonly where: ClickHouseCaller;
  readonly database: string;
  readonly table: string;
  readonly names: StageNames;
  readonly features: ClickHouseFeatures;
  /** The input columns written to the table (all but `exclude`). */
  readonly written: readonly Field[];
  /** The target's columns when the write started; undefined when it did not exist. */
  readonly target: readonly ClickHouseColumn[] | undefined;
  /**
   * A full refresh of an append, merge or delete+insert: the staging table gets only the run's
   * rows and is swapped in like an overwrite, so the target's old rows are gone.
   */
  readonly fullRefresh: boolean;
}

/**
 * The `clickhouse` sink's `write`: stages the input in tables swapped in at publish.
 *
 * @example
 * ```ts
 * await writeClickHouse(config, context);
 * ```
 */
export async function writeClickHouse(
  config: SinkConfig,
  context: SinkWriteContext,
): Promise<StagedOutput> {
  const where: ClickHouseCaller = { role: 'sink', stepId: context.stepId };
  const written = context.inputFields.filter((f) => !config.exclude.includes(f.name));
  refuseBadColumns(config, context, written);
  const connection = await context.shared(`clickhouse:${config.url}`, () =>
    ClickHouseConnection.open(config.url, where),
  );
  const { database, table } = splitClickHouseTable(config.table, connection.database);
  const names = stageNames(table, context.runId, context.stepId);
  try {
    const features = clickhouseFeatures(await connection.serverVersion());
    await dropStaleStages(connection, database, table, names, context.logger, context.signal);
    // A retry of this step in the same run reuses the names; an earlier attempt may have left them.
    await dropTables(connection, database, [names.rows, names.input]);
    const target = await inspectTarget(connection, config, database, table, written, where);
    const write: Write = {
      config,
      context,
      connection,
      where,
      database,
      table,
      names,
      features,
      written,
      target,
      fullRefresh: context.fullRefresh === true && config.mode !== 'overwrite',
    };
    const rowsColumns = await createRowsTable(write);
    const rowsWritten =
      config.mode === 'append' || config.mode === 'overwrite'
        ? await stageInput(write, rowsColumns)
        : await stageChanges(write, rowsColumns);
    return stagedOutput(write, rowsColumns, rowsWritten);
  } catch (cause) {
    await dropTables(connection, database, [names.rows, names.input]);
    if (context.signal.aborted) throw context.signal.reason;
    throw clickhouseError(where, `cannot stage rows for ${database}.${table}`, cause, connection);
  }
}

/** Keys, `latestBy` and `deleteWhen` must name input columns; keys must be written scalars. */
function refuseBadColumns(
  config: SinkConfig,
  context: SinkWriteContext,
  written: readonly Field[],
): void {
  const names = (fields: readonly Field[]): string => fields.map((f) => `"${f.name}"`).join(', ');
  const problems: string[] = [];
  if (written.length === 0) problems.push('no input column is left to write after exclude');
  const missingKeys = config.keys.filter((k) => !written.some((f) => f.name === k));
  if (missingKeys.length > 0)
    problems.push(
      `key column(s) ${missingKeys.map((k) => `"${k}"`).join(', ')} are not written columns (the input writes ${names(written)})`,
    );
  const nested = written.filter(
    (f) => config.keys.includes(f.name) && ['list', 'struct', 'map', 'json'].includes(f.type.kind),
  );
  if (nested.length > 0) problems.push(`key column(s) ${names(nested)} must be scalar values`);
  for (const [option, column] of [
    ['latestBy', config.latestBy],
    ['deleteWhen.column', config.deleteWhen?.column],
  ] as const) {
    if (column !== undefined && !context.inputFields.some((f) => f.name === column))
      problems.push(`${option} names "${column}", which is not an input column`);
  }
  if (problems.length > 0)
    throw new SinkError(context.stepId, problems.join('; '), {
      hint: 'name input columns in keys, latestBy and deleteWhen, and do not exclude keys',
    });
}

/**
 * The target's columns, or undefined when it does not exist (allowed with `createTable`).
 * Refuses engines the staging cannot copy and columns it may not add.
 */
async function inspectTarget(
  connection: ClickHouseConnection,
  config: SinkConfig,
  database: string,
  table: string,
  written: readonly Field[],
  where: ClickHouseCaller,
): Promise<ClickHouseColumn[] | undefined> {
  const engine = await connection.tableEngine(database, table);
  if (engine === undefined) {
    if (config.createTable) return undefined;
    throw new SinkError(
      where.stepId,
      `table ${database}.${table} does not exist on ${connection.server} (createTable is false)`,
      { hint: 'create the table, or set createTable: true to create it from the input columns' },
    );
  }
  if (!engine.endsWith('MergeTree') || engine.startsWith('Replicated'))
    throw new SinkError(
      where.stepId,
      `table ${database}.${table} has engine ${engine}; the sink writes only non-replicated MergeTree-family tables`,
      {
        hint: 'the sink stages rows in a copy of the table and attaches or swaps them in, which needs MergeTree; write to a MergeTree table instead',
      },
    );
  const columns = (await connection.tableColumns(database, table)) ?? [];
  const have = new Set(columns.map((c) => c.name));
  const missing = written.filter((f) => !have.has(f.name));
  const missingKeys = missing.filter((f) => config.keys.includes(f.name));
  if (missingKeys.length > 0 && config.mode !== 'append' && config.mode !== 'overwrite')
    throw new SinkError(
      where.stepId,
      `table ${database}.${table} has no key column(s) ${missingKeys.map((f) => `"${f.name}"`).join(', ')}`,
      { hint: 'keys must be columns of the table; add them first, or fix keys' },
    );
  if (missing.length > 0 && !config.createTable)
    throw new SinkError(
      where.stepId,
      `table ${database}.${table} lacks column(s) ${missing.map((f) => `"${f.name}"`).join(', ')} (createTable is false, so they are not added)`,
      { hint: 'add the columns to the table, set createTable: true, or exclude them' },
    );
  return columns;
}

/**
 * Creates the staging table that will be published: a copy of the target's structure and
 * engine plus the input's new columns (Nullable), or a new table laid out by the config.
 */
async function createRowsTable(write: Write): Promise<ClickHouseColumn[]> {
  const { connection, config, database, names, features, written, target } = write;
  const rows = quoteClickHouseName(database, names.rows);
  if (target === undefined) {
    await connection.command(
      createTableStatement(rows, createdColumns(written, config, features), config),
    );
  } else {
    await connection.command(
      `CREATE TABLE ${rows} AS ${quoteClickHouseName(database, write.table)}`,
    );
    const have = new Set(target.map((c) => c.name));
    const added = written
      .filter((f) => !have.has(f.name))
      .map((f) => ({ name: f.name, type: clickhouseColumnType(f.type, true, features) }));
    const alter = addColumnsStatement(rows, added);
    if (alter !== undefined) await connection.command(alter);
  }
  return (await connection.tableColumns(database, names.rows)) ?? [];
}

/** Append and overwrite: the input goes into the staging table, through a typed landing table when its types differ. */
async function stageInput(write: Write, rowsColumns: readonly ClickHouseColumn[]): Promise<number> {
  const { context, features, written } = write;
  await refuseUnstorableValues(context, context.input, written, features, rowsColumns);
  const select = `SELECT ${textColumns(written, features).join(', ')} FROM ${context.input}`;
  const columns = written.map((f) => f.name);
  const mapping = clickhouseTypeMapping(features);
  if (sameTypes(written, rowsColumns, (f) => mapType(mapping, f.type)))
    return loadSelect(context, write.connection, write.database, write.names.rows, columns, select);
  const count = await loadLanding(write, [], select);
  await copyLanding(write, '');
  return count;
}

/**
 * Merge and delete+insert: the input lands in a typed table; the staging table gets the
 * target's rows whose keys are not in the input, then the input rows (for a merge, the latest
 * row per key, without the rows that delete their key).
 */
async function stageChanges(
  write: Write,
  rowsColumns: readonly ClickHouseColumn[],
): Promise<number> {
  const { config, context, connection, database, names, features, written, target } = write;
  const merge = config.mode === 'merge';
  const latest = latestPerKey(config, context);
  const stored = merge ? `(SELECT * FROM ${latest} WHERE NOT ${DELETE_FLAG})` : context.input;
  await refuseUnstorableValues(context, stored, written, features, rowsColumns);
  const text = textColumns(written, features).join(', ');
  const select = merge
    ? `SELECT ${text}, CAST(CAST(${DELETE_FLAG} AS TINYINT) AS VARCHAR) AS ${DELETE_FLAG} FROM ${latest}`
    : `SELECT ${text} FROM ${context.input}`;
  await loadLanding(write, merge ? [{ name: DELETE_FLAG, type: 'UInt8' }] : [], select);
  if (target !== undefined && !write.fullRefresh) {
    const typeOf = new Map(target.map((c) => [c.name, c.type]));
    // Keys compare null-safely as (is null, value) pairs, both sides in the target's key types.
    const key = config.keys.flatMap((k) => {
      const name = quoteClickHouseIdentifier(k);
      const type = withoutNullable(typeOf.get(k) ?? 'String');
      return [`isNull(${name})`, `assumeNotNull(CAST(${name} AS Nullable(${type})))`];
    });
    const kept = target.map((c) => quoteClickHouseIdentifier(c.name)).join(', ');
    await connection.command(
      `INSERT INTO ${quoteClickHouseName(database, names.rows)} (${kept}) SELECT ${kept} FROM ${quoteClickHouseName(database, write.table)} WHERE (${key.join(', ')}) NOT IN (SELECT ${key.join(', ')} FROM ${quoteClickHouseName(database, names.input)})`,
      context.signal,
    );
  }
  await copyLanding(write, merge ? ` WHERE ${DELETE_FLAG} = 0` : '');
  const [row] = await context.connection.rows(`SELECT count(*) AS n FROM ${context.input}`);
  return Number(row?.['n'] ?? 0);
}

/**
 * The DuckDB relation of the latest input row per key (by `latestBy`, then input order), with
 * a `__sluice_delete` flag for the rows that match `deleteWhen`.
 */
function latestPerKey(config: SinkConfig, context: SinkWriteContext): string {
  const keys = config.keys.map(quoteIdentifier).join(', ');
  const order = [
    ...(config.latestBy === undefined
      ? []
      : [`${quoteIdentifier(config.latestBy)} DESC NULLS LAST`]),
    `${POSITION} DESC`,
  ].join(', ');
  const deletes =
    config.deleteWhen === undefined
      ? 'false'
      : `coalesce(${quoteIdentifier(config.deleteWhen.column)} = ${scalarLiteral(config.deleteWhen.equals)}, false)`;
  return `(SELECT * EXCLUDE (${POSITION}, ${RANK}), ${deletes} AS ${DELETE_FLAG} FROM (SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY ${order}) AS ${RANK} FROM (SELECT *, row_number() OVER () AS ${POSITION} FROM ${context.input})) WHERE ${RANK} = 1) AS __sluice_latest`;
}

/** A key column's type without `Nullable` (and `LowCardinality`), to cast input keys to. */
function withoutNullable(type: string): string {
  let inner = type.trim();
  for (;;) {
    const match = /^(?:Nullable|LowCardinality)\((.*)\)$/s.exec(inner);
    if (match === null) return inner;
    inner = (match[1] ?? '').trim();
  }
}

/** Creates the landing table (the written columns in their mapped types, plus `extra`) and loads `select` into it. */
async function loadLanding(
  write: Write,
  extra: readonly ClickHouseColumn[],
  select: string,
): Promise<number> {
  const { connection, database, names, features, written, context } = write;
  const columns = [
    ...written.map((f) => ({
      name: f.name,
      type: clickhouseColumnType(f.type, f.nullable, features),
    })),
    ...extra,
  ];
  await connection.command(
    createTableStatement(quoteClickHouseName(database, names.input), columns, {
      engine: 'MergeTree',
      keys: [],
    }),
    context.signal,
  );
  return loadSelect(
    context,
    connection,
    database,
    names.input,
    columns.map((c) => c.name),
    select,
  );
}

/** Copies the written columns from the landing table into the staging table (ClickHouse converts the types), then drops it. */
async function copyLanding(write: Write, filter: string): Promise<void> {
  const { connection, database, names, written, context } = write;
  const columns = written.map((f) => quoteClickHouseIdentifier(f.name)).join(', ');
  await connection.command(
    `INSERT INTO ${quoteClickHouseName(database, names.rows)} (${columns}) SELECT ${columns} FROM ${quoteClickHouseName(database, names.input)}${filter}`,
    context.signal,
  );
  await connection.command(
    `DROP TABLE IF EXISTS ${quoteClickHouseName(database, names.input)}`,
    context.signal,
  );
}

function stagedOutput(
  write: Write,
  rowsColumns: readonly ClickHouseColumn[],
  rowsWritten: number,
): StagedOutput {
  const { connection, database, table, names, where } = write;
  return {
    rowsWritten,
    outputs: [connection.location(database, table)],
    warehouseRelation: relationAfterPublish(write, rowsColumns),
    async publish() {
      try {
        await publish(write, rowsColumns);
      } catch (cause) {
        throw clickhouseError(where, `cannot publish into ${database}.${table}`, cause, connection);
      }
    },
    discard: () => dropTables(connection, database, [names.rows, names.input]),
  };
}

/**
 * The ClickHouse SQL that reads the target as it will be after `publish`: the staging table for
 * swaps and new tables, else the target's rows and the staged rows together (the target's
 * missing new columns read as NULL).
 */
function relationAfterPublish(write: Write, rowsColumns: readonly ClickHouseColumn[]): string {
  const { database, table, names, target } = write;
  const rows = quoteClickHouseName(database, names.rows);
  if (write.config.mode !== 'append' || write.fullRefresh || target === undefined) return rows;
  const have = new Set(target.map((c) => c.name));
  const columns = rowsColumns.map((c) => quoteClickHouseIdentifier(c.name));
  const fromTarget = rowsColumns.map((c) => {
    const name = quoteClickHouseIdentifier(c.name);
    if (have.has(c.name)) return name;
    return `CAST(${c.type.startsWith('Array(') ? '[]' : 'NULL'} AS ${c.type}) AS ${name}`;
  });
  return `(SELECT ${fromTarget.join(', ')} FROM ${quoteClickHouseName(database, table)} UNION ALL SELECT ${columns.join(', ')} FROM ${rows})`;
}

/**
 * Makes the staged rows visible. A missing target is created by renaming the staging table.
 * Append adds the new columns to the target and attaches each staged partition (each attach is
 * atomic); the other modes, and every mode on a full refresh, swap the staging table in with one
 * `RENAME` and drop the old table.
 */
async function publish(write: Write, rowsColumns: readonly ClickHouseColumn[]): Promise<void> {
  const { connection, config, database, table, names, context } = write;
  const target = quoteClickHouseName(database, table);
  const rows = quoteClickHouseName(database, names.rows);
  const current = await connection.tableColumns(database, table);
  if (current === undefined) {
    if (!config.createTable && write.target !== undefined)
      throw new SinkError(
        context.stepId,
        `table ${database}.${table} was dropped during the run (createTable is false)`,
        { hint: 'create the table again and rerun' },
      );
    await connection.command(`RENAME TABLE ${rows} TO ${target}`);
    return;
  }
  if (config.mode === 'append' && !write.fullRefresh) {
    const have = new Set(current.map((c) => c.name));
    const alter = addColumnsStatement(
      target,
      rowsColumns.filter((c) => !have.has(c.name)),
    );
    if (alter !== undefined) await connection.command(alter);
    for (const id of await stagedPartitions(connection, database, names.rows))
      await connection.command(
        `ALTER TABLE ${target} ATTACH PARTITION ID ${quoteClickHouseString(id)} FROM ${rows}`,
      );
    await dropAfterPublish(write, names.rows);
    return;
  }
  const old = quoteClickHouseName(database, names.old);
  await connection.command(`RENAME TABLE ${target} TO ${old}, ${rows} TO ${target}`);
  await dropAfterPublish(write, names.old);
  if (write.fullRefresh)
    context.logger.info(
      { table: `${database}.${table}`, mode: config.mode },
      "full refresh: the target table was replaced by the run's rows",
    );
}

/** Drops a table the publish no longer needs; a failure only leaves it for the next run to drop. */
async function dropAfterPublish(write: Write, name: string): Promise<void> {
  try {
    await write.connection.command(
      `DROP TABLE IF EXISTS ${quoteClickHouseName(write.database, name)}`,
    );
  } catch (cause) {
    write.context.logger.warn(
      { table: `${write.database}.${name}`, error: String(cause) },
      'published, but could not drop a staging table; the next write to the table drops it',
    );
  }
}

/** Drops staging tables; never fails (what remains is dropped by the next write). */
async function dropTables(
  connection: ClickHouseConnection,
  database: string,
  tables: readonly string[],
): Promise<void> {
  for (const table of tables)
    await connection
      .command(`DROP TABLE IF EXISTS ${quoteClickHouseName(database, table)}`)
      .catch(() => undefined);
}
