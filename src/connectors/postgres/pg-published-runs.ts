import type { Client } from 'pg';
import type { Logger } from '../../core/logger.js';
import type { PostgresRole } from './pg-connection.js';
import { connectPostgres, postgresError } from './pg-connection.js';

/** The table, in the connection's first schema, where sinks mark the runs they published. */
export const PUBLISHED_RUNS_TABLE = 'sluice_published_runs';

const PUBLISHED_RUNS_DDL = `CREATE TABLE IF NOT EXISTS ${PUBLISHED_RUNS_TABLE} (
  run_id TEXT NOT NULL, step_id TEXT NOT NULL,
  published_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (run_id, step_id))`;

/**
 * Marks run `runId`'s output of sink step `stepId` as written, on the client inside the run's
 * transaction: the mark commits with the rows or not at all, so the next run can ask
 * {@link postgresPublishedRun} whether a run stopped before saving its source state published.
 * The table is created when missing; a role that may not create it gets a warning and no mark.
 *
 * @example
 * ```ts
 * await session.use((client) => markPublishedRun(client, context.runId, context.stepId, logger));
 * ```
 */
export async function markPublishedRun(
  client: Client,
  runId: string,
  stepId: string,
  logger: Logger,
): Promise<void> {
  const { rows } = await client.query<{ found: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS found`,
    [PUBLISHED_RUNS_TABLE],
  );
  if (rows[0]?.found !== true) {
    await client.query('SAVEPOINT sluice_mark');
    try {
      await client.query(PUBLISHED_RUNS_DDL);
      await client.query('RELEASE SAVEPOINT sluice_mark');
    } catch (cause) {
      // A role that may write the table but not create one in the schema still loads; only
      // crash recovery falls back to reading the run's rows again.
      await client.query('ROLLBACK TO SAVEPOINT sluice_mark');
      logger.warn(
        { err: (cause as Error).message, ddl: PUBLISHED_RUNS_DDL },
        `cannot create ${PUBLISHED_RUNS_TABLE}: after a crash between publishing and saving the source state, this sink may receive the run's rows again; create the table once (as its owner) and grant SELECT, INSERT on it`,
      );
      return;
    }
  }
  await client.query(
    `INSERT INTO ${PUBLISHED_RUNS_TABLE} (run_id, step_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
    [runId, stepId],
  );
}

/**
 * Whether run `runId` committed its output of sink step `stepId` to the server at `url`.
 *
 * @example
 * ```ts
 * await postgresPublishedRun(url, { role: 'sink', stepId: 'out' }, 'run_x'); // true or false
 * ```
 */
export async function postgresPublishedRun(
  url: string,
  where: PostgresRole,
  runId: string,
): Promise<boolean> {
  const client = await connectPostgres(url, where);
  try {
    const { rows } = await client.query<{ found: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AS found`,
      [PUBLISHED_RUNS_TABLE],
    );
    if (rows[0]?.found !== true) return false;
    const marks = await client.query(
      `SELECT 1 FROM ${PUBLISHED_RUNS_TABLE} WHERE run_id = $1 AND step_id = $2`,
      [runId, where.stepId],
    );
    return marks.rowCount !== null && marks.rowCount > 0;
  } catch (cause) {
    throw postgresError(where, `cannot read ${PUBLISHED_RUNS_TABLE}`, cause);
  } finally {
    await client.end().catch(() => undefined);
  }
}
