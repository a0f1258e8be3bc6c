import { existsSync } from 'node:fs';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../contracts/engine-connection.js';

/** The table, in the database file's `main` schema, where the DuckDB sink marks its runs. */
export const DUCKDB_PUBLISHED_RUNS_TABLE = 'sluice_published_runs';

let probeCounter = 0;

/**
 * Marks run `runId`'s output of sink step `stepId` as written to the database attached as
 * `alias`, inside the transaction that writes the rows: the mark commits with them or not at
 * all, so the next run can ask {@link duckDBPublishedRun} whether a run stopped before saving
 * its source state published.
 *
 * @example
 * ```ts
 * await markDuckDBPublishedRun(connection, '__sluice_out_1', { runId, stepId: 'local' });
 * ```
 */
export async function markDuckDBPublishedRun(
  connection: EngineConnection,
  alias: string,
  { runId, stepId }: { readonly runId: string; readonly stepId: string },
): Promise<void> {
  const table = `${quoteIdentifier(alias)}.main.${DUCKDB_PUBLISHED_RUNS_TABLE}`;
  await connection.run(`CREATE TABLE IF NOT EXISTS ${table} (
    run_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (run_id, step_id))`);
  await connection.run(`INSERT OR IGNORE INTO ${table} (run_id, step_id) VALUES ($run, $step)`, {
    run: runId,
    step: stepId,
  });
}

/**
 * Whether run `runId` committed its output of sink step `stepId` to the DuckDB database file
 * at `path` (opened read-only; a missing file or mark table means it did not).
 *
 * @example
 * ```ts
 * await duckDBPublishedRun('/data/warehouse.duckdb', { runId, stepId: 'local', connection });
 * ```
 */
export async function duckDBPublishedRun(
  path: string,
  context: {
    readonly runId: string;
    readonly stepId: string;
    readonly connection: EngineConnection;
  },
): Promise<boolean> {
  if (!existsSync(path)) return false;
  const { connection } = context;
  const alias = `__sluice_probe_${++probeCounter}`;
  await connection.run(`ATTACH ${quoteLiteral(path)} AS ${quoteIdentifier(alias)} (READ_ONLY)`);
  try {
    const [table] = await connection.rows(
      `SELECT 1 FROM duckdb_tables() WHERE database_name = $alias AND schema_name = 'main'
        AND table_name = $table`,
      { alias, table: DUCKDB_PUBLISHED_RUNS_TABLE },
    );
    if (table === undefined) return false;
    const marks = await connection.rows(
      `SELECT 1 FROM ${quoteIdentifier(alias)}.main.${DUCKDB_PUBLISHED_RUNS_TABLE}
        WHERE run_id = $run AND step_id = $step`,
      { run: context.runId, step: context.stepId },
    );
    return marks.length > 0;
  } finally {
    await connection.run(`DETACH ${quoteIdentifier(alias)}`).catch(() => 0);
  }
}
