import { createHash } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { ClickHouseConnection } from './clickhouse-client.js';
import { quoteClickHouseName, quoteClickHouseString } from './clickhouse-client.js';

/**
 * What marks a staging table of a target: `<table>__sluice_stage_...`.
 *
 * @example
 * ```ts
 * name.includes(STAGE_MARK); // a staging table
 * ```
 */
export const STAGE_MARK = '__sluice_stage_';
/** Room for the target's name in a staging table's name (file names on the server stay short). */
const MAX_BASE_LENGTH = 150;
const STAGE_NAME = /^(\d{8}T\d{6}Z)_([0-9a-f]{8})_(rows|in|old)$/;

/**
 * The staging tables of one sink step's write, all in the target's database and named
 * `<table>__sluice_stage_<start>_<hash>_<role>`, where `<start>` is the run's start (UTC) and
 * `<hash>` comes from the run and step ids:
 * - `rows`: the table that is published (attached to the target, or renamed over it);
 * - `in`: the input as loaded, when it needs converting or merging first;
 * - `old`: the previous target during a swap, dropped right after.
 *
 * @example
 * ```ts
 * const { rows, input, old } = stageNames('orders', context.runId, context.stepId);
 * ```
 */
export interface StageNames {
  /** `<table>__sluice_stage_`: every staging table of the target starts with it. */
  readonly prefix: string;
  /** The run's start, `YYYYMMDDTHHMMSSZ`; staging tables with an older one are stale. */
  readonly stamp: string;
  readonly rows: string;
  readonly input: string;
  readonly old: string;
}

/**
 * The staging table names of a write. The start time comes from the run id when it has one
 * (`run_20261122T160512Z_...`), else from `now`.
 *
 * @example
 * ```ts
 * stageNames('orders', 'run_20261122T160512Z_3f9a1c7e', 'out').rows;
 * // "orders__sluice_stage_20261122T160512Z_<8 hex>_rows"
 * ```
 */
export function stageNames(
  table: string,
  runId: string,
  stepId: string,
  now: Date = new Date(),
): StageNames {
  const stamp =
    /\d{8}T\d{6}Z/.exec(runId)?.[0] ??
    now
      .toISOString()
      .replaceAll(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
  const hash = createHash('sha256').update(`${runId}\0${stepId}`).digest('hex').slice(0, 8);
  const prefix = `${table.slice(0, MAX_BASE_LENGTH)}${STAGE_MARK}`;
  const base = `${prefix}${stamp}_${hash}`;
  return { prefix, stamp, rows: `${base}_rows`, input: `${base}_in`, old: `${base}_old` };
}

/**
 * Cleans up after crashed runs: drops the target's staging tables that are older than this run
 * (started in an earlier second). If a crash came in the middle of a swap and left the target
 * missing, the newest stale `old` table is renamed back to the target first, so no data is lost.
 * Returns the names of the tables dropped.
 *
 * @example
 * ```ts
 * const dropped = await dropStaleStages(connection, 'shop', 'orders', names, logger);
 * ```
 */
export async function dropStaleStages(
  connection: ClickHouseConnection,
  database: string,
  table: string,
  names: StageNames,
  logger: Logger,
  signal?: AbortSignal,
): Promise<string[]> {
  const found = await connection.rows<{ name: string }>(
    `SELECT name FROM system.tables WHERE database = ${quoteClickHouseString(database)} AND substring(name, 1, ${Buffer.byteLength(names.prefix)}) = ${quoteClickHouseString(names.prefix)} ORDER BY name`,
    signal,
  );
  const stale = found
    .map((row) => ({ name: row.name, parts: STAGE_NAME.exec(row.name.slice(names.prefix.length)) }))
    .filter((row) => row.parts !== null && (row.parts[1] ?? '') < names.stamp)
    .map((row) => ({ name: row.name, role: row.parts?.[3] }));
  if (stale.length === 0) return [];
  const olds = stale.filter((s) => s.role === 'old');
  const newestOld = olds[olds.length - 1];
  let restored: string | undefined;
  if (newestOld !== undefined && (await connection.tableEngine(database, table)) === undefined) {
    await connection.command(
      `RENAME TABLE ${quoteClickHouseName(database, newestOld.name)} TO ${quoteClickHouseName(database, table)}`,
      signal,
    );
    restored = newestOld.name;
    logger.warn(
      { table: `${database}.${table}`, from: restored },
      'restored the table from the previous contents a crashed run left mid-swap',
    );
  }
  const dropped: string[] = [];
  for (const { name } of stale) {
    if (name === restored) continue;
    await connection.command(`DROP TABLE IF EXISTS ${quoteClickHouseName(database, name)}`, signal);
    dropped.push(name);
  }
  if (dropped.length > 0)
    logger.info(
      { table: `${database}.${table}`, dropped },
      'dropped staging tables left by earlier runs',
    );
  return dropped;
}

/**
 * The ids of the partitions that hold rows in a table (`all` for an unpartitioned one), as
 * `ALTER TABLE ... ATTACH PARTITION ID` takes them.
 *
 * @example
 * ```ts
 * await stagedPartitions(connection, 'shop', 'orders__sluice_stage_..._rows'); // ['202401', '202402']
 * ```
 */
export async function stagedPartitions(
  connection: ClickHouseConnection,
  database: string,
  table: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const rows = await connection.rows<{ id: string }>(
    `SELECT DISTINCT partition_id AS id FROM system.parts WHERE database = ${quoteClickHouseString(database)} AND table = ${quoteClickHouseString(table)} AND active ORDER BY id`,
    signal,
  );
  return rows.map((row) => row.id);
}
