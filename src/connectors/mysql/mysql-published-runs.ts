import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../../core/logger.js';
import type { MySQLRole } from './mysql-client.js';
import type { MySQLConnectionConfig } from './mysql-configs.js';
import {
  closeMySQL,
  endpointOf,
  mysqlError,
  openMySQL,
  quoteMySQLName,
  splitMySQLTableName,
} from './mysql-client.js';

/** The table, in the target table's database, where sinks mark the runs they published. */
const PUBLISHED_RUNS_TABLE = 'sluice_published_runs';

/**
 * The marker table next to `table` (in its database, or the connection's default one).
 *
 * @example
 * ```ts
 * publishedRunsTable('shop.orders'); // "`shop`.`sluice_published_runs`"
 * ```
 */
export function publishedRunsTable(table: string): string {
  const { schema } = splitMySQLTableName(table);
  return quoteMySQLName(
    schema === undefined ? PUBLISHED_RUNS_TABLE : `${schema}.${PUBLISHED_RUNS_TABLE}`,
  );
}

/**
 * Creates the marker table when missing, resolving to whether it exists. MySQL commits DDL on
 * its own, so this runs before the transaction that moves the rows; {@link markPublishedRun}
 * then writes inside it. A user that may not create it gets a warning (and no mark).
 *
 * @example
 * ```ts
 * const marking = await createPublishedRunsTable(connection, config.table, logger);
 * ```
 */
export async function createPublishedRunsTable(
  connection: Connection,
  table: string,
  logger: Logger,
): Promise<boolean> {
  if (await publishedRunsTableExists(connection, table)) return true;
  const ddl = `CREATE TABLE IF NOT EXISTS ${publishedRunsTable(table)} (
      run_id VARCHAR(191) NOT NULL, step_id VARCHAR(191) NOT NULL,
      published_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (run_id, step_id))
     ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
  try {
    await connection.query(ddl);
    return true;
  } catch (cause) {
    // A user that may write the table but not create one still loads; only crash recovery
    // falls back to reading the run's rows again.
    logger.warn(
      { err: (cause as Error).message, ddl },
      `cannot create ${PUBLISHED_RUNS_TABLE}: after a crash between publishing and saving the source state, this sink may receive the run's rows again; create the table once and grant SELECT, INSERT on it`,
    );
    return false;
  }
}

async function publishedRunsTableExists(connection: Connection, table: string): Promise<boolean> {
  const { schema } = splitMySQLTableName(table);
  const [found] = await connection.query<RowDataPacket[]>(
    `SELECT 1 FROM information_schema.tables WHERE table_schema = coalesce(?, database()) AND table_name = ?`,
    [schema ?? null, PUBLISHED_RUNS_TABLE],
  );
  return found.length > 0;
}

/**
 * Marks run `runId`'s output of step `stepId` as published, inside the transaction that
 * publishes its rows, so the mark commits with them or not at all.
 *
 * @example
 * ```ts
 * await markPublishedRun(connection, config.table, runId, stepId);
 * await connection.commit();
 * ```
 */
export async function markPublishedRun(
  connection: Connection,
  table: string,
  runId: string,
  stepId: string,
): Promise<void> {
  await connection.query(
    `INSERT IGNORE INTO ${publishedRunsTable(table)} (run_id, step_id) VALUES (?, ?)`,
    [runId, stepId],
  );
}

/**
 * Whether run `runId` committed its output of step `role.stepId` next to `table`.
 *
 * @example
 * ```ts
 * await mysqlPublishedRun(config, { role: 'sink', stepId: 'out' }, config.table, 'run_x');
 * ```
 */
export async function mysqlPublishedRun(
  config: MySQLConnectionConfig,
  role: MySQLRole,
  table: string,
  runId: string,
): Promise<boolean> {
  const connection = await openMySQL(config, role);
  try {
    if (!(await publishedRunsTableExists(connection, table))) return false;
    const [rows] = await connection.query<RowDataPacket[]>(
      `SELECT 1 FROM ${publishedRunsTable(table)} WHERE run_id = ? AND step_id = ?`,
      [runId, role.stepId],
    );
    return rows.length > 0;
  } catch (cause) {
    throw mysqlError(role, endpointOf(config), cause, `cannot read ${PUBLISHED_RUNS_TABLE}`);
  } finally {
    await closeMySQL(connection);
  }
}
