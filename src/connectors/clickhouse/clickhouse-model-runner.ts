import type { Logger } from '../../core/logger.js';
import type { Field } from '../../core/types.js';
import type { StagedOutput } from '../../contracts/staged-output.js';
import type {
  WarehouseModel,
  WarehouseModelContext,
  WarehouseModelResult,
} from '../../contracts/warehouse.js';
import type { ClickHouseCaller, ClickHouseColumn } from './clickhouse-client.js';
import {
  ClickHouseConnection,
  clickhouseError,
  quoteClickHouseIdentifier,
  quoteClickHouseName,
  quoteClickHouseString,
  splitClickHouseTable,
} from './clickhouse-client.js';
import { snapshotProblems, snapshotStatements } from './clickhouse-snapshot.js';
import { dropStaleStages, stagedPartitions, stageNames } from './clickhouse-staging.js';
import { addColumnsStatement } from './clickhouse-tables.js';
import { logicalTypeOfClickHouse } from './clickhouse-read-types.js';

/**
 * Builds one `sql` step's table in a ClickHouse staging table, swapped in at the run's publish.
 *
 * @example
 * ```ts
 * const result = await runClickHouseModel(model, context);
 * ```
 */
export async function runClickHouseModel(
  model: WarehouseModel,
  context: WarehouseModelContext,
): Promise<WarehouseModelResult> {
  const where: ClickHouseCaller = { role: 'sql', stepId: model.stepId };
  const connection = await context.shared(`clickhouse:${model.warehouse.url}`, () =>
    ClickHouseConnection.open(model.warehouse.url, where),
  );
  try {
    const build = await buildModel(
      connection,
      model,
      context.runId,
      context.logger,
      context.signal,
    );
    return {
      rowsWritten: build.rowsWritten,
      fields: build.columns.map((c): Field => ({
        name: c.name,
        type: logicalTypeOfClickHouse(c.type),
        nullable: true,
      })),
      staged: build.staged,
    };
  } catch (cause) {
    throw clickhouseError(where, `cannot build ${model.table}`, cause, connection);
  }
}

interface Build {
  readonly rowsWritten: number | undefined;
  readonly columns: readonly ClickHouseColumn[];
  readonly staged: StagedOutput;
}

async function buildModel(
  connection: ClickHouseConnection,
  model: WarehouseModel,
  runId: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<Build> {
  const { database, table } = splitClickHouseTable(model.table, connection.database);
  const names = stageNames(table, runId, model.stepId);
  await dropStaleStages(connection, database, table, names, logger, signal);
  const target = quoteClickHouseName(database, table);
  const rows = quoteClickHouseName(database, names.rows);
  const input = quoteClickHouseName(database, names.input);
  const existing = await connection.tableColumns(database, table);
  const engine = await connection.tableEngine(database, table);
  const run = (sql: string): Promise<void> => connection.command(sql, signal);
  const count = async (relation: string): Promise<number> =>
    Number((await connection.rows<{ n: string }>(`SELECT count() AS n FROM ${relation}`))[0]?.n);
  const columnsOf = async (name: string): Promise<ClickHouseColumn[]> =>
    (await connection.tableColumns(database, name)) ?? [];
  const rebuild = async (): Promise<Build> => {
    await run(`CREATE TABLE ${rows} ENGINE = MergeTree ORDER BY tuple() AS ${model.query}`);
    return {
      rowsWritten: await count(rows),
      columns: await columnsOf(names.rows),
      staged: staged(connection, { database, table, names, mode: 'swap' }, rows, logger),
    };
  };

  switch (model.materialize) {
    case 'view':
      // The view is checked (and described) over the run's staged tables now, and created over
      // the published tables when the run publishes: ClickHouse resolves a view's tables by name.
      await run(`CREATE VIEW ${rows} AS ${model.query}`);
      return {
        rowsWritten: undefined,
        columns: await columnsOf(names.rows),
        staged: staged(
          connection,
          {
            database,
            table,
            names,
            mode: 'swap',
            recreate: `CREATE VIEW ${rows} AS ${model.publishedQuery}`,
          },
          `(${model.query})`,
          logger,
        ),
      };
    case 'table':
      return rebuild();
    case 'snapshot': {
      const options = model.snapshot;
      if (options === undefined) throw new Error('a snapshot model needs snapshot options');
      if (engine === 'View')
        throw new Error(
          `${model.table} is a view; drop it or choose another table for the snapshot`,
        );
      await run(`CREATE TABLE ${input} ENGINE = MergeTree ORDER BY tuple() AS ${model.query}`);
      const [problem] = await connection.rows<{ problem: string }>(
        snapshotProblems(options, input),
      );
      if (problem !== undefined) {
        await run(`DROP TABLE ${input}`);
        throw new Error(`${problem.problem}; a snapshot needs one row per unique key`);
      }
      const statements = snapshotStatements({
        options,
        target,
        targetColumns: existing,
        input,
        inputColumns: await columnsOf(names.input),
        rows,
        now: model.startedAt,
      });
      for (const statement of statements) await run(statement);
      await run(`DROP TABLE ${input}`);
      return {
        rowsWritten: (await count(rows)) - (existing === undefined ? 0 : await count(target)),
        columns: await columnsOf(names.rows),
        staged: staged(connection, { database, table, names, mode: 'swap' }, rows, logger),
      };
    }
    case 'incremental':
      break;
  }
  if (existing === undefined || engine === 'View' || model.fullRefresh) return rebuild();

  const options = model.incremental ?? { strategy: 'append' };
  const query =
    options.cursor === undefined
      ? model.query
      : newerThanTable(model.query, target, quoteClickHouseIdentifier(options.cursor));
  await run(`CREATE TABLE ${input} ENGINE = MergeTree ORDER BY tuple() AS ${query}`);
  const added = await columnsOf(names.input);
  const have = new Set(existing.map((c) => c.name));
  const alter = addColumnsStatement(
    target,
    added.filter((c) => !have.has(c.name)),
  );
  if (alter !== undefined) await run(alter);
  const list = added.map((c) => quoteClickHouseIdentifier(c.name)).join(', ');
  const rowsWritten = await count(input);
  await run(`CREATE TABLE ${rows} AS ${target}`);
  const keys = (options.uniqueKey ?? []).map(quoteClickHouseIdentifier);
  if (options.strategy !== 'append') {
    const matched =
      options.strategy === 'insert_overwrite'
        ? [quoteClickHouseIdentifier(options.partitionBy ?? '')]
        : keys;
    await assertNoNulls(connection, input, matched, options.strategy);
    if (options.strategy === 'merge') await assertUniqueKeys(connection, input, keys);
    const tuple = `(${matched.join(', ')})`;
    await run(
      `INSERT INTO ${rows} SELECT * FROM ${target} WHERE ${tuple} NOT IN (SELECT ${matched.join(', ')} FROM ${input})`,
    );
  }
  await run(`INSERT INTO ${rows} (${list}) SELECT ${list} FROM ${input}`);
  await run(`DROP TABLE ${input}`);
  const mode = options.strategy === 'append' ? 'attach' : 'swap';
  const relation =
    mode === 'attach' ? `(SELECT * FROM ${target} UNION ALL SELECT * FROM ${rows})` : rows;
  return {
    rowsWritten,
    columns: await columnsOf(table),
    staged: staged(connection, { database, table, names, mode }, relation, logger),
  };
}

/** The query's rows whose cursor is past the table's highest (all of them when it is empty). */
function newerThanTable(query: string, target: string, cursor: string): string {
  return `SELECT * FROM (${query}) WHERE (SELECT count() FROM ${target}) = 0 OR ${cursor} > (SELECT max(${cursor}) FROM ${target})`;
}

function staged(
  connection: ClickHouseConnection,
  swap: {
    readonly database: string;
    readonly table: string;
    readonly names: ReturnType<typeof stageNames>;
    readonly mode: 'swap' | 'attach';
    /** Run at publish, after dropping the staged table, to create it again (views). */
    readonly recreate?: string;
  },
  relation: string,
  logger: Logger,
): StagedOutput {
  const { database, table, names } = swap;
  const target = quoteClickHouseName(database, table);
  const rows = quoteClickHouseName(database, names.rows);
  const drop = async (name: string): Promise<void> => {
    await connection
      .command(`DROP TABLE IF EXISTS ${quoteClickHouseName(database, name)}`)
      .catch((cause: unknown) =>
        logger.warn(
          { table: `${database}.${name}`, error: String(cause) },
          'could not drop a staging table; the next run of the model drops it',
        ),
      );
  };
  return {
    rowsWritten: 0,
    outputs: [connection.location(database, table)],
    warehouseRelation: relation,
    async publish() {
      if (swap.recreate !== undefined) {
        await connection.command(`DROP TABLE ${rows}`);
        await connection.command(swap.recreate);
      }
      if ((await connection.tableEngine(database, table)) === undefined) {
        await connection.command(`RENAME TABLE ${rows} TO ${target}`);
        return;
      }
      if (swap.mode === 'attach') {
        for (const id of await stagedPartitions(connection, database, names.rows))
          await connection.command(
            `ALTER TABLE ${target} ATTACH PARTITION ID ${quoteClickHouseString(id)} FROM ${rows}`,
          );
        await drop(names.rows);
        return;
      }
      const old = quoteClickHouseName(database, names.old);
      await connection.command(`RENAME TABLE ${target} TO ${old}, ${rows} TO ${target}`);
      await drop(names.old);
    },
    async discard() {
      await drop(names.rows);
      await drop(names.input);
    },
  };
}

async function assertNoNulls(
  connection: ClickHouseConnection,
  input: string,
  columns: readonly string[],
  strategy: string,
): Promise<void> {
  const [found] = await connection.rows<{ n: string }>(
    `SELECT count() AS n FROM ${input} WHERE ${columns.map((c) => `isNull(${c})`).join(' OR ')}`,
  );
  if (Number(found?.n) > 0)
    throw new Error(
      `the query returned a row with a NULL in ${columns.join(', ')}; ${strategy} needs every value set`,
    );
}

async function assertUniqueKeys(
  connection: ClickHouseConnection,
  input: string,
  keys: readonly string[],
): Promise<void> {
  const [duplicate] = await connection.rows<Record<string, unknown>>(
    `SELECT ${keys.join(', ')}, count() AS sluice_rows FROM ${input} GROUP BY ${keys.join(', ')} HAVING count() > 1 LIMIT 1`,
  );
  if (duplicate !== undefined) {
    const values = Object.entries(duplicate)
      .filter(([name]) => name !== 'sluice_rows')
      .map(([name, value]) => `${name} = ${String(value)}`)
      .join(', ');
    throw new Error(
      `the query returned ${String(duplicate['sluice_rows'])} rows with ${values}; merge needs one row per unique key (use the delete_insert strategy to replace all rows of a key)`,
    );
  }
}
