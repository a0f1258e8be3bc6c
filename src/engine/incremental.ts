import { ConfigError, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { quoteIdentifier, quoteLiteral } from '../core/type-mappings.js';
import type { IncrementalOptions } from '../define/steps.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { IncrementalDefaults } from '../contracts/incremental-defaults.js';

/** Rows of the boundary window an incremental source remembers by default. */
export const DEFAULT_MAX_BOUNDARY_ROWS = 10_000;

/** Marks the JSON form of the state; a state without it is a plain watermark of an older Sluice. */
const STATE_FORMAT = 'sluice.incremental/1';

/** Columns whose values change on every run, left out of a whole-row identity. */
const RUN_METADATA_COLUMNS = new Set(['_extracted_at', '_run_id']);

/**
 * What an incremental source keeps between runs: the watermark (the highest cursor value read,
 * as DuckDB writes it), the start of the boundary window (the watermark minus the lag window)
 * and the identities of the rows read with a cursor in that window, one entry per row.
 *
 * @example
 * ```ts
 * const state: IncrementalState = { watermark: '2024-01-01 10:05:00', windowStart: '2024-01-01 10:05:00', seen: ['9f1c...'] };
 * ```
 */
export interface IncrementalState {
  readonly watermark: string;
  /** Undefined for a plain watermark saved by an older Sluice: everything up to it counts as read. */
  readonly windowStart?: string;
  /** md5 identities of the rows read with a cursor in [windowStart, watermark], repeated per row. */
  readonly seen: readonly string[];
}

/**
 * Reads a source step's saved state: the JSON document this module writes, or a plain
 * watermark string saved before boundary rows were remembered.
 *
 * @example
 * ```ts
 * parseIncrementalState('2024-01-01 12:00:00'); // { watermark: '2024-01-01 12:00:00', seen: [] }
 * ```
 */
export function parseIncrementalState(text: string | undefined): IncrementalState | undefined {
  if (text === undefined) return undefined;
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (isStateDocument(parsed))
      return { watermark: parsed.watermark, windowStart: parsed.windowStart, seen: parsed.seen };
  }
  return { watermark: text, seen: [] };
}

/**
 * The text an incremental source's state is saved as (see {@link parseIncrementalState}).
 *
 * @example
 * ```ts
 * formatIncrementalState({ watermark: '10', windowStart: '10', seen: [] });
 * ```
 */
export function formatIncrementalState(state: IncrementalState): string {
  return JSON.stringify({
    format: STATE_FORMAT,
    watermark: state.watermark,
    windowStart: state.windowStart,
    seen: state.seen,
  });
}

/**
 * The watermark in a source step's saved state (a run report's `watermarks` entry), or
 * undefined when there is none.
 *
 * @example
 * ```ts
 * incrementalWatermark(report.watermarks?.['orders']); // '2024-01-01 12:00:00'
 * ```
 */
export function incrementalWatermark(state: string | undefined): string | undefined {
  return parseIncrementalState(state)?.watermark;
}

function isStateDocument(
  value: unknown,
): value is { watermark: string; windowStart: string; seen: string[] } {
  if (typeof value !== 'object' || value === null) return false;
  const doc = value as Record<string, unknown>;
  return (
    doc['format'] === STATE_FORMAT &&
    typeof doc['watermark'] === 'string' &&
    typeof doc['windowStart'] === 'string' &&
    Array.isArray(doc['seen']) &&
    doc['seen'].every((h) => typeof h === 'string')
  );
}

/**
 * The settings an incremental read runs with: the step's options merged with the connector's
 * defaults.
 *
 * @example
 * ```ts
 * const settings = incrementalSettings('orders', { cursor: 'updated_at', primaryKey: 'id' }, {});
 * ```
 */
export interface IncrementalSettings {
  readonly cursor: string;
  readonly primaryKey: readonly string[];
  readonly lagWindow: string | number | undefined;
  readonly maxBoundaryRows: number;
}

/**
 * Merges a step's incremental options with what its connector's config declares; a lag window
 * or primary key set in both places must agree.
 *
 * @example
 * ```ts
 * incrementalSettings('orders', { cursor: 'updated_at' }, { primaryKey: ['id'] });
 * // { cursor: 'updated_at', primaryKey: ['id'], lagWindow: undefined, maxBoundaryRows: 10000 }
 * ```
 */
export function incrementalSettings(
  stepId: string,
  options: IncrementalOptions,
  defaults: IncrementalDefaults | undefined,
): IncrementalSettings {
  const stepKey =
    options.primaryKey === undefined
      ? undefined
      : typeof options.primaryKey === 'string'
        ? [options.primaryKey]
        : [...options.primaryKey];
  const connectorKey = defaults?.primaryKey;
  const problems: { field: string; text: string }[] = [];
  if (
    stepKey !== undefined &&
    connectorKey !== undefined &&
    stepKey.join('\u0000') !== connectorKey.join('\u0000')
  )
    problems.push({
      field: 'primaryKey',
      text: `incremental.primaryKey (${stepKey.join(', ')}) differs from the source's primaryKey (${connectorKey.join(', ')})`,
    });
  if (stepKey?.length === 0)
    problems.push({ field: 'primaryKey', text: 'incremental.primaryKey names no column' });
  if (
    options.lagWindow !== undefined &&
    defaults?.lagWindow !== undefined &&
    options.lagWindow !== defaults.lagWindow
  )
    problems.push({
      field: 'lagWindow',
      text: `incremental.lagWindow (${String(options.lagWindow)}) differs from the source's lagWindow (${String(defaults.lagWindow)})`,
    });
  const maxBoundaryRows = options.maxBoundaryRows ?? DEFAULT_MAX_BOUNDARY_ROWS;
  if (!Number.isInteger(maxBoundaryRows) || maxBoundaryRows < 1)
    problems.push({
      field: 'maxBoundaryRows',
      text: `incremental.maxBoundaryRows must be a whole number of at least 1, got ${String(maxBoundaryRows)}`,
    });
  if (problems.length > 0)
    throw new ConfigError(
      problems.map((p) => ({
        code: 'invalid-incremental',
        stepId,
        message: p.text,
        hint: `set ${p.field} in one place only: in the step's incremental options or in the source's config`,
      })),
    );
  return {
    cursor: options.cursor,
    primaryKey: stepKey ?? connectorKey ?? [],
    lagWindow: options.lagWindow ?? defaults?.lagWindow,
    maxBoundaryRows,
  };
}

/**
 * What {@link keepNewRows} did: rows it dropped from the dataset (read before, or older than the
 * saved window) and the state to save if the run succeeds (undefined when nothing was ever read).
 *
 * @example
 * ```ts
 * const { skipped, state } = await keepNewRows(request);
 * ```
 */
export interface IncrementalOutcome {
  readonly skipped: number;
  readonly state: string | undefined;
}

/**
 * What {@link keepNewRows} works on: the step's dataset on its connection, the settings, and the
 * state the last successful run saved.
 *
 * @example
 * ```ts
 * await keepNewRows({ connection, stepId: 'orders', settings, previous: parseIncrementalState(saved), logger });
 * ```
 */
export interface IncrementalRequest {
  readonly connection: EngineConnection;
  readonly stepId: string;
  readonly settings: IncrementalSettings;
  readonly previous: IncrementalState | undefined;
  readonly logger: Logger;
}

/**
 * Makes an incremental source's dataset hold only the rows new to this run, inside DuckDB, and
 * computes the state to save:
 *
 * - rows whose cursor is before the saved window start, or NULL, are dropped (sources that read
 *   everything, such as files, leave them to this step);
 * - rows whose cursor is in the saved window [windowStart, watermark] are dropped when their
 *   identity (primary key and cursor, or the whole row without a key) is in the saved set, as
 *   many times as it was saved; others there (late commits, new ties) are kept;
 * - the new state holds max(watermark, highest cursor read), its window start (minus the lag
 *   window) and the identities of every row read in the new window, at most
 *   `maxBoundaryRows` of them (past it the window narrows to the newest cursor values that fit,
 *   never below the rows at the watermark themselves).
 *
 * @example
 * ```ts
 * const { skipped, state } = await keepNewRows({ connection, stepId: 'orders', settings, previous, logger });
 * ```
 */
export async function keepNewRows(request: IncrementalRequest): Promise<IncrementalOutcome> {
  const { connection, stepId, settings, previous, logger } = request;
  const columns = await datasetColumns(connection, stepId);
  const cursorType = columns.get(settings.cursor);
  if (cursorType === undefined)
    throw new ConfigError([
      {
        code: 'unknown-cursor',
        stepId,
        message: `incremental cursor column "${settings.cursor}" is not a column of source "${stepId}"`,
        hint: 'name a column whose values only grow, such as an update timestamp',
      },
    ]);
  const missingKeys = settings.primaryKey.filter((k) => !columns.has(k));
  if (missingKeys.length > 0)
    throw new ConfigError([
      {
        code: 'unknown-key',
        stepId,
        message: `primary key column${missingKeys.length > 1 ? 's' : ''} ${missingKeys.map((k) => `"${k}"`).join(', ')} not in source "${stepId}"`,
        hint: `its columns: ${[...columns.keys()].join(', ')}`,
      },
    ]);
  const names = new SQLNames(stepId);
  const cursor = quoteIdentifier(settings.cursor);
  const typed = (text: string): string => `CAST(${quoteLiteral(text)} AS ${cursorType})`;
  const identity = identityExpression(settings, columns);
  if (previous !== undefined) await materialize(connection, stepId);

  const [high] = await connection.rows(
    `SELECT CAST(${previous === undefined ? `max(${cursor})` : `greatest(max(${cursor}), ${typed(previous.watermark)})`} AS VARCHAR) AS high FROM ${names.dataset}`,
  );
  const watermark =
    high?.['high'] === null || high?.['high'] === undefined ? undefined : String(high['high']);
  if (watermark === undefined) return { skipped: 0, state: undefined };
  const windowStart = await lowerBound(connection, stepId, settings, cursorType, watermark);

  const oldWindow =
    previous?.windowStart === undefined
      ? 'FALSE'
      : `${cursor} >= ${typed(previous.windowStart)} AND ${cursor} <= ${typed(previous.watermark)}`;
  const rowId = previous === undefined ? '' : 'rowid AS rid, ';
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${names.ids} AS
     SELECT ${rowId}${cursor} AS c, ${identity} AS h FROM ${names.dataset}
     WHERE (${oldWindow}) OR ${cursor} >= ${typed(windowStart)}`,
  );
  try {
    const skipped =
      previous === undefined ? 0 : await dropRowsRead(connection, names, cursor, typed, previous);
    const boundary = await boundaryRows(connection, names, typed, windowStart, settings);
    if (boundary.narrowedFrom !== undefined)
      logger.warn(
        {
          cursor: settings.cursor,
          maxBoundaryRows: settings.maxBoundaryRows,
          windowStart: boundary.windowStart,
          lagWindowStart: boundary.narrowedFrom,
        },
        'more rows in the boundary window than incremental.maxBoundaryRows: the window is narrowed, rows committed late before its start will not be read',
      );
    if (boundary.seen.length > settings.maxBoundaryRows)
      logger.warn(
        { cursor: settings.cursor, rows: boundary.seen.length, watermark },
        'more rows share the watermark than incremental.maxBoundaryRows: all are remembered',
      );
    if (previous !== undefined)
      logger.info(
        { cursor: settings.cursor, watermark: previous.watermark, skipped },
        'rows read by an earlier run skipped',
      );
    return {
      skipped,
      state: formatIncrementalState({
        watermark,
        windowStart: boundary.windowStart,
        seen: boundary.seen,
      }),
    };
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${names.ids}`);
    await connection.run(`DROP TABLE IF EXISTS ${names.seen}`);
  }
}

class SQLNames {
  readonly dataset: string;
  readonly ids: string;
  readonly seen: string;

  constructor(stepId: string) {
    this.dataset = quoteIdentifier(stepId);
    this.ids = quoteIdentifier(`__sluice_incremental_ids_${stepId}`);
    this.seen = quoteIdentifier(`__sluice_incremental_seen_${stepId}`);
  }
}

/** The dataset's columns and their DuckDB types, in order. */
async function datasetColumns(
  connection: EngineConnection,
  stepId: string,
): Promise<Map<string, string>> {
  const rows = await connection.rows(
    `SELECT column_name, data_type FROM information_schema.columns
     WHERE table_name = ${quoteLiteral(stepId)} ORDER BY ordinal_position`,
  );
  return new Map(rows.map((r) => [String(r['column_name']), String(r['data_type'])]));
}

/**
 * The md5 of the primary key and cursor, or of every column but run metadata without a key.
 * Instants enter as epoch microseconds, so the session's time zone (which may differ between the
 * workers that run a pipeline) does not change a row's identity.
 */
function identityExpression(
  settings: IncrementalSettings,
  columns: ReadonlyMap<string, string>,
): string {
  const parts =
    settings.primaryKey.length > 0
      ? [...settings.primaryKey, settings.cursor]
      : [...columns.keys()].filter((c) => !RUN_METADATA_COLUMNS.has(c));
  const fields = parts
    .map((c, i) => {
      const value = quoteIdentifier(c);
      return `k${i} := ${columns.get(c) === 'TIMESTAMP WITH TIME ZONE' ? `epoch_us(${value})` : value}`;
    })
    .join(', ');
  return `md5(CAST(to_json(struct_pack(${fields})) AS VARCHAR))`;
}

/** Turns a view dataset into a table, so rows can be deleted from it by rowid. */
async function materialize(connection: EngineConnection, stepId: string): Promise<void> {
  const [found] = await connection.rows(
    `SELECT table_type FROM information_schema.tables WHERE table_name = ${quoteLiteral(stepId)}`,
  );
  if (found?.['table_type'] !== 'VIEW') return;
  const name = quoteIdentifier(stepId);
  const copy = quoteIdentifier(`__sluice_incremental_copy_${stepId}`);
  await connection.run(`CREATE OR REPLACE TABLE ${copy} AS SELECT * FROM ${name}`);
  await connection.run(`DROP VIEW ${name}`);
  await connection.run(`ALTER TABLE ${copy} RENAME TO ${name}`);
}

/** The watermark minus the lag window, in the cursor's type, as text. */
async function lowerBound(
  connection: EngineConnection,
  stepId: string,
  settings: IncrementalSettings,
  cursorType: string,
  watermark: string,
): Promise<string> {
  const lag = settings.lagWindow;
  if (lag === undefined || lag === 0) return watermark;
  const value = `CAST(${quoteLiteral(watermark)} AS ${cursorType})`;
  const numeric = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|FLOAT|DOUBLE|DECIMAL|U)/i.test(
    cursorType,
  );
  const temporal = /^(DATE|TIMESTAMP)/i.test(cursorType);
  if (
    (numeric && typeof lag !== 'number') ||
    (temporal && typeof lag !== 'string') ||
    (!numeric && !temporal)
  )
    throw new ConfigError([
      {
        code: 'invalid-incremental',
        stepId,
        message: `lagWindow ${JSON.stringify(lag)} does not fit the cursor "${settings.cursor}" (${cursorType})`,
        hint: 'a lag window is a duration such as "5m" for date/time cursors and a number for numeric ones; text cursors take none',
      },
    ]);
  const shifted = numeric
    ? `${value} - ${String(lag)}`
    : `${value} - CAST(${quoteLiteral(String(lag))} AS INTERVAL)`;
  try {
    const [row] = await connection.rows(
      `SELECT CAST(CAST(${shifted} AS ${cursorType}) AS VARCHAR) AS start`,
    );
    return String(row?.['start']);
  } catch (cause) {
    throw new ConfigError(
      [
        {
          code: 'invalid-incremental',
          stepId,
          message: `cannot subtract lagWindow ${JSON.stringify(lag)} from the watermark ${watermark}`,
          hint: 'write the lag window as a duration such as "5m" or "2h", or a number for numeric cursors',
        },
      ],
      { cause },
    );
  }
}

/**
 * Deletes from the dataset the rows an earlier run read: before the saved window, NULL cursors,
 * and rows in the window whose identity was saved (each saved entry drops one row).
 */
async function dropRowsRead(
  connection: EngineConnection,
  names: SQLNames,
  cursor: string,
  typed: (text: string) => string,
  previous: IncrementalState,
): Promise<number> {
  if (previous.windowStart === undefined)
    return connection.run(
      `DELETE FROM ${names.dataset} WHERE ${cursor} IS NULL OR ${cursor} <= ${typed(previous.watermark)}`,
    );
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE ${names.seen} AS
     SELECT h, count(*) AS n FROM (SELECT unnest(from_json($seen, '["VARCHAR"]')) AS h) GROUP BY h`,
    { seen: JSON.stringify(previous.seen) },
  );
  return connection.run(
    `DELETE FROM ${names.dataset} WHERE rowid IN (
       SELECT rowid FROM ${names.dataset}
       WHERE ${cursor} IS NULL OR ${cursor} < ${typed(previous.windowStart)}
       UNION ALL
       SELECT r.rid FROM (
         SELECT rid, h, row_number() OVER (PARTITION BY h ORDER BY rid) AS occurrence
         FROM ${names.ids}
         WHERE c >= ${typed(previous.windowStart)} AND c <= ${typed(previous.watermark)}
       ) AS r JOIN ${names.seen} AS s ON s.h = r.h AND r.occurrence <= s.n
     )`,
  );
}

/**
 * The identities of the rows read in the new window, narrowed to the newest cursor values whose
 * rows fit in `maxBoundaryRows` (but always every row at the watermark).
 */
async function boundaryRows(
  connection: EngineConnection,
  names: SQLNames,
  typed: (text: string) => string,
  lagStart: string,
  settings: IncrementalSettings,
): Promise<{ windowStart: string; seen: string[]; narrowedFrom?: string }> {
  const [count] = await connection.rows(
    `SELECT count(*) AS n FROM ${names.ids} WHERE c >= ${typed(lagStart)}`,
  );
  let windowStart = lagStart;
  let narrowedFrom: string | undefined;
  if (Number(count?.['n'] ?? 0) > settings.maxBoundaryRows) {
    const [fit] = await connection.rows(
      `SELECT CAST(coalesce(
         (SELECT min(c) FROM (
            SELECT c, sum(n) OVER (ORDER BY c DESC) AS total
            FROM (SELECT c, count(*) AS n FROM ${names.ids} WHERE c >= ${typed(lagStart)} GROUP BY c)
          ) WHERE total <= ${settings.maxBoundaryRows}),
         (SELECT max(c) FROM ${names.ids})) AS VARCHAR) AS start`,
    );
    const start = fit?.['start'];
    if (typeof start !== 'string')
      throw new SluiceError('INTERNAL', 'the boundary window of an incremental read is empty');
    narrowedFrom = lagStart;
    windowStart = start;
  }
  const rows = await connection.rows(
    `SELECT h FROM ${names.ids} WHERE c >= ${typed(windowStart)} ORDER BY h`,
  );
  return {
    windowStart,
    seen: rows.map((r) => String(r['h'])),
    ...(narrowedFrom === undefined ? {} : { narrowedFrom }),
  };
}

/**
 * One incremental source read: what the source is told (`context`) and, once it has read,
 * the filtering of its dataset and the state to save (`finish`). A source that derives other
 * datasets from its own calls `context.keepNewRows` itself; `finish` then only reports.
 *
 * @example
 * ```ts
 * const read = new IncrementalRead({ connection, stepId, settings, previous, logger });
 * const result = await connector.read(config, { ...ctx, incremental: read.context });
 * const { skipped, state } = await read.finish();
 * ```
 */
export class IncrementalRead {
  readonly context: {
    readonly cursor: string;
    readonly watermark: string | undefined;
    readonly lagWindow?: string | number;
    readonly keepNewRows: () => Promise<number>;
  };
  readonly #request: IncrementalRequest;
  #outcome: IncrementalOutcome | undefined;

  constructor(request: IncrementalRequest) {
    this.#request = request;
    const { settings, previous } = request;
    this.context = {
      cursor: settings.cursor,
      watermark: previous?.watermark,
      ...(settings.lagWindow === undefined ? {} : { lagWindow: settings.lagWindow }),
      keepNewRows: async () => {
        if (this.#outcome !== undefined)
          throw new SluiceError('INTERNAL', `source "${request.stepId}" filtered its rows twice`);
        this.#outcome = await keepNewRows(this.#request);
        return this.#outcome.skipped;
      },
    };
  }

  /** Filters the dataset unless the source already did; either way reports every row dropped. */
  async finish(): Promise<IncrementalOutcome> {
    this.#outcome ??= await keepNewRows(this.#request);
    return this.#outcome;
  }
}
