import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { quoteIdentifier } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';

/**
 * Metrics of one column of a dataset in one run, with snake_case names as stored on disk.
 *
 * @example
 * ```ts
 * const amount: ColumnMetrics = { null_percent: 1.5, distinct_count: 912, mean: 42.1, min: 0, max: 980 };
 * ```
 */
export interface ColumnMetrics {
  /**
   * Share of SQL NULLs among the rows, 0..100. Absent when the relation has no rows (a share of
   * nothing is undefined). Floating-point NaN counts as a value, not as a null.
   */
  readonly null_percent?: number;
  /** Number of distinct non-null values (exact unless `approximateDistinct` was asked for). */
  readonly distinct_count: number;
  /**
   * Mean of the finite values; numeric columns only (integers, decimals, floats). Absent when
   * the column is not numeric or has no finite value.
   */
  readonly mean?: number;
  /** Smallest finite value, as a double; numeric columns only, absent as `mean` is. */
  readonly min?: number;
  /** Largest finite value, as a double; numeric columns only, absent as `mean` is. */
  readonly max?: number;
}

/**
 * Metrics of one dataset in one run: what {@link collectDatasetMetrics} measures and what a
 * {@link MetricHistoryEntry} stores.
 *
 * @example
 * ```ts
 * const metrics: DatasetMetrics = {
 *   row_count: 1200,
 *   freshness_seconds: 3600,
 *   columns: { amount: { null_percent: 0, distinct_count: 1100, mean: 12.5, min: 0, max: 99 } },
 * };
 * ```
 */
export interface DatasetMetrics {
  readonly row_count: number;
  /**
   * Seconds from the newest value of the timestamp column to the time of measurement; negative
   * when the data is stamped in the future. Absent when no timestamp column was named or it holds
   * no finite value.
   */
  readonly freshness_seconds?: number;
  /** Per-column metrics keyed by the exact column name. */
  readonly columns: Readonly<Record<string, ColumnMetrics>>;
}

/**
 * One line of a dataset's metric history: the metrics one run measured.
 *
 * @example
 * ```ts
 * const entry: MetricHistoryEntry = {
 *   runId: 'run_20261122T160512Z_3f9a1c7e',
 *   dataset: 'orders',
 *   at: new Date().toISOString(),
 *   metrics: { row_count: 1200, columns: {} },
 * };
 * ```
 */
export interface MetricHistoryEntry {
  readonly runId: string;
  readonly dataset: string;
  /** When the metrics were measured, as an ISO 8601 timestamp. */
  readonly at: string;
  readonly metrics: DatasetMetrics;
}

/**
 * Names one numeric metric of an entry's `metrics`: `row_count`, `freshness_seconds`, or
 * `columns.<column>.<stat>` (the column is everything between the first and the last dot, so
 * column names may contain dots). The array form `['columns', column, stat]` names any column
 * without parsing; {@link columnMetricPath} builds it.
 *
 * @example
 * ```ts
 * const a: MetricPath = 'row_count';
 * const b: MetricPath = 'columns.amount.null_percent';
 * const c: MetricPath = ['columns', 'weird.name', 'mean'];
 * ```
 */
export type MetricPath = string | readonly string[];

/**
 * The per-column statistics a {@link MetricPath} may name.
 *
 * @example
 * ```ts
 * const stat: ColumnMetricName = 'null_percent';
 * ```
 */
export type ColumnMetricName = keyof ColumnMetrics;

/**
 * The unambiguous {@link MetricPath} of a column's statistic, whatever characters the column
 * name holds.
 *
 * @example
 * ```ts
 * await store.history('orders', columnMetricPath('amount', 'null_percent'), { limit: 20 });
 * ```
 */
export function columnMetricPath(column: string, stat: ColumnMetricName): readonly string[] {
  return ['columns', column, stat];
}

/**
 * Where a {@link MetricHistoryStore} keeps its lines when they are shared between machines:
 * one JSON line per run and dataset, returned in append order.
 *
 * @example
 * ```ts
 * const log: MetricHistoryLog = { append: async (dataset, line) => {}, lines: async (dataset) => [] };
 * ```
 */
export interface MetricHistoryLog {
  append(dataset: string, line: string): Promise<void>;
  lines(dataset: string): Promise<string[]>;
}

/**
 * Options of {@link MetricHistoryStore.open}.
 *
 * @example
 * ```ts
 * const store = await MetricHistoryStore.open('.sluice', { logger: logger.child({ part: 'metrics' }) });
 * ```
 */
export interface MetricHistoryStoreOptions {
  /** Receives a warning for every history line that is skipped because it cannot be read. */
  readonly logger?: Logger;
}

/**
 * Options of {@link MetricHistoryStore.history}.
 *
 * @example
 * ```ts
 * const query: MetricHistoryQuery = { limit: 20, excludeRunId: 'run_20261122T160512Z_3f9a1c7e' };
 * ```
 */
export interface MetricHistoryQuery {
  /** Return at most this many values: the most recent ones. A positive integer; all when absent. */
  readonly limit?: number;
  /**
   * Ignore this run's line, so a check can read the history before or after the current run
   * appended its own metrics (or a retried attempt appended them already).
   */
  readonly excludeRunId?: string;
}

const DATASET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$/;

/**
 * Throws a {@link ConfigError} unless `dataset` is safe as a file name in the metrics folder:
 * 1 to 200 letters, digits, `_`, `-` or `.`, not starting with a dot or a dash.
 *
 * @example
 * ```ts
 * assertValidDatasetName('daily_orders'); // ok
 * assertValidDatasetName('../etc/passwd'); // throws ConfigError (CONFIG_INVALID)
 * ```
 */
export function assertValidDatasetName(dataset: unknown): asserts dataset is string {
  if (typeof dataset === 'string' && DATASET_NAME.test(dataset)) return;
  const shown = JSON.stringify(dataset) ?? String(dataset);
  const reason =
    typeof dataset !== 'string'
      ? 'it is not a string'
      : dataset === ''
        ? 'it is empty'
        : /[/\\]/.test(dataset)
          ? 'it contains a path separator'
          : dataset.length > 200
            ? 'it is longer than 200 characters'
            : /^[.-]/.test(dataset)
              ? 'it starts with a dot or a dash'
              : 'it contains characters other than letters, digits, "_", "-" and "."';
  throw new ConfigError([
    {
      code: 'invalid-dataset-name',
      path: 'dataset',
      message: `dataset name ${shown} cannot name a metric history file: ${reason}`,
      hint: 'use letters, digits, "_", "-" and "." (not first), at most 200 characters, e.g. "daily_orders"',
    },
  ]);
}

/**
 * The per-dataset metric history of the embedded default: append-only NDJSON files under
 * `<stateDir>/metrics/<dataset>.ndjson`, one line per run.
 *
 * Appends are atomic per line: each entry is one complete line written by a single append, so
 * concurrent writers never interleave inside a line. A writer killed mid-append can leave a torn
 * last line; readers skip any line that does not parse (logging a warning) and the next append
 * starts on a fresh line, so a torn line never corrupts the entry after it. When a run appears
 * more than once (a retried attempt), its last line wins.
 *
 * @example
 * ```ts
 * const store = await MetricHistoryStore.open('.sluice');
 * const previous = await store.history('orders', 'row_count', { limit: 20 });
 * const metrics = await collectDatasetMetrics(connection, '"orders"', { timestampColumn: 'updated_at' });
 * await store.append({ runId, dataset: 'orders', at: new Date().toISOString(), metrics });
 * ```
 */
export class MetricHistoryStore {
  /** The folder holding the history files: `<stateDir>/metrics` (unused with a shared log). */
  readonly directory: string;
  readonly #logger: Logger;
  readonly #shared: MetricHistoryLog | undefined;

  private constructor(directory: string, logger: Logger, shared?: MetricHistoryLog) {
    this.directory = directory;
    this.#logger = logger;
    this.#shared = shared;
  }

  /**
   * A store whose lines live in a shared log (the orchestrator's run store) instead of files
   * under one machine's state folder, so workers on every machine see one history.
   *
   * @example
   * ```ts
   * const history = MetricHistoryStore.onLog(runStore.metricHistoryLog(), { logger });
   * ```
   */
  static onLog(log: MetricHistoryLog, options: MetricHistoryStoreOptions = {}): MetricHistoryStore {
    return new MetricHistoryStore('', options.logger ?? silentLogger, log);
  }

  /**
   * Opens the store under a state folder (usually `.sluice`). Nothing is created until the
   * first append, so reading a history never writes to disk.
   *
   * @example
   * ```ts
   * const store = await MetricHistoryStore.open('.sluice', { logger });
   * ```
   */
  static async open(
    stateDir: string,
    options: MetricHistoryStoreOptions = {},
  ): Promise<MetricHistoryStore> {
    if (typeof stateDir !== 'string' || stateDir === '') {
      throw new ConfigError([
        {
          code: 'invalid-state-dir',
          path: 'stateDir',
          message: 'the metric history needs a state folder, got an empty or non-string path',
          hint: 'pass the run state folder, e.g. ".sluice"',
        },
      ]);
    }
    return new MetricHistoryStore(join(stateDir, 'metrics'), options.logger ?? silentLogger);
  }

  /**
   * The history file of a dataset (which may not exist yet). Throws {@link ConfigError} for an
   * unsafe dataset name.
   *
   * @example
   * ```ts
   * store.pathFor('orders'); // ".sluice/metrics/orders.ndjson"
   * ```
   */
  pathFor(dataset: string): string {
    assertValidDatasetName(dataset);
    return join(this.directory, `${dataset}.ndjson`);
  }

  /**
   * Appends one run's metrics to its dataset's history as one complete line. The entry is
   * validated first: a safe dataset name, a non-empty run id, an ISO 8601 `at`, finite metric
   * values (row and distinct counts non-negative integers, null shares within 0..100) and no
   * unknown keys; a bad entry throws {@link ConfigError} and writes nothing. Safe to call again
   * for the same run (the later line wins for readers).
   *
   * @example
   * ```ts
   * await store.append({ runId, dataset: 'orders', at: new Date().toISOString(), metrics });
   * ```
   */
  async append(entry: MetricHistoryEntry): Promise<void> {
    assertValidDatasetName(entry?.dataset);
    const parsed = strictEntrySchema.safeParse(entry);
    if (!parsed.success) {
      throw new ConfigError(
        parsed.error.issues.map((issue) => ({
          code: 'invalid-metric-entry',
          path: issue.path.map(String).join('.'),
          message: `metric history entry for "${entry.dataset}": ${issue.message}`,
        })),
      );
    }
    if (this.#shared !== undefined) {
      await this.#shared.append(entry.dataset, JSON.stringify(entry));
      return;
    }
    const path = this.pathFor(entry.dataset);
    await mkdir(this.directory, { recursive: true });
    const handle = await open(path, 'a+');
    try {
      // A writer killed mid-line leaves no newline at the end: start on a fresh line, so the
      // torn line stays a line of its own that readers skip.
      const { size } = await handle.stat();
      let prefix = '';
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) prefix = '\n';
      }
      // The validated input itself, not zod's copy, which would drop a `__proto__` column key.
      await handle.appendFile(`${prefix}${JSON.stringify(entry)}\n`);
    } finally {
      await handle.close();
    }
  }

  /**
   * Every readable entry of a dataset's history in append order (oldest first), one per run
   * (the last line of a run wins). Lines that do not parse, torn or otherwise, are skipped with
   * a warning to the store's logger. An unknown dataset has an empty history.
   *
   * @example
   * ```ts
   * for (const entry of await store.entries('orders')) chart.push([entry.at, entry.metrics.row_count]);
   * ```
   */
  async entries(dataset: string): Promise<MetricHistoryEntry[]> {
    const path = this.pathFor(dataset);
    let text: string;
    try {
      text =
        this.#shared === undefined
          ? await readFile(path, 'utf8')
          : (await this.#shared.lines(dataset)).join('\n');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw cause;
    }
    const parsed: MetricHistoryEntry[] = [];
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      const entry = parseLine(line);
      if (entry === undefined || entry.dataset !== dataset) {
        this.#logger.warn(
          {
            file: path,
            line: index + 1,
            torn: index === lines.length - 1,
          },
          entry === undefined
            ? 'skipped an unreadable metric history line'
            : 'skipped a metric history line of another dataset',
        );
        return;
      }
      parsed.push(entry);
    });
    const lastLineOfRun = new Map<string, number>();
    parsed.forEach((entry, index) => lastLineOfRun.set(entry.runId, index));
    return parsed.filter((entry, index) => lastLineOfRun.get(entry.runId) === index);
  }

  /**
   * The most recent values of one numeric metric of a dataset, oldest first: at most `limit`
   * of them, from the runs where the metric is present (runs where it is missing are skipped,
   * not counted). Feed the result to {@link robustZScoreCheck}; `limit: 1` gives the previous
   * value for {@link relativeChangeCheck}.
   *
   * @example
   * ```ts
   * const counts = await store.history('orders', 'row_count', { limit: 20, excludeRunId: runId });
   * const nulls = await store.history('orders', 'columns.amount.null_percent', { limit: 20 });
   * ```
   */
  async history(
    dataset: string,
    metricPath: MetricPath,
    query: MetricHistoryQuery = {},
  ): Promise<number[]> {
    const segments = metricPathSegments(metricPath);
    const { limit, excludeRunId } = query;
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new ConfigError([
        {
          code: 'invalid-history-limit',
          path: 'limit',
          message: `the history limit must be a positive integer, got ${String(limit)}`,
        },
      ]);
    }
    const values: number[] = [];
    for (const entry of await this.entries(dataset)) {
      if (entry.runId === excludeRunId) continue;
      const value = valueAt(entry.metrics, segments);
      if (value !== undefined) values.push(value);
    }
    return limit === undefined ? values : values.slice(-limit);
  }
}

/**
 * Options of {@link collectDatasetMetrics}.
 *
 * @example
 * ```ts
 * const options: CollectDatasetMetricsOptions = { timestampColumn: 'updated_at', approximateDistinct: true };
 * ```
 */
export interface CollectDatasetMetricsOptions {
  /**
   * A DATE or TIMESTAMP (any precision, with or without time zone) column; freshness is the
   * seconds from its newest finite value to `now`. Naive timestamps are taken as UTC.
   */
  readonly timestampColumn?: string;
  /** The time freshness is measured against; the current time when absent. */
  readonly now?: Date;
  /** Measure only these columns (all columns when absent). */
  readonly columns?: readonly string[];
  /**
   * Count distinct values with DuckDB's HyperLogLog `approx_count_distinct` (a few percent off,
   * much cheaper on wide or large relations) instead of exact `count(DISTINCT ...)`.
   */
  readonly approximateDistinct?: boolean;
}

/**
 * What {@link collectDatasetMetrics} needs of a connection; {@link EngineConnection} has it.
 *
 * @example
 * ```ts
 * const connection: MetricsConnection = await session.connect('orders_metrics');
 * ```
 */
export type MetricsConnection = Pick<EngineConnection, 'rows'>;

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\s*\d+\))$/;
const FLOATING_TYPE = /^(FLOAT|DOUBLE)$/;
const TIMESTAMP_TYPE =
  /^(DATE|TIMESTAMP|TIMESTAMP WITH TIME ZONE|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS)$/;

/**
 * Measures a relation's {@link DatasetMetrics} in one aggregate DuckDB query (after a
 * `DESCRIBE` that reads no rows): row count; per column the null share, distinct count and, for
 * numeric columns, mean/min/max of the finite values; freshness when a timestamp column is
 * named. Every identifier is quoted, so any column name is safe.
 *
 * `relationSQL` is anything that can follow `FROM`: a quoted table or view name, a table
 * function call such as `read_parquet('x.parquet')`, or a query (a bare `SELECT`/`WITH`/
 * `FROM`/`VALUES` query is parenthesised for you). Errors from DuckDB surface as the
 * connection's errors ({@link EngineError}); a missing or non-temporal `timestampColumn`, or an
 * unknown column in `columns`, throws {@link ConfigError}.
 *
 * @example
 * ```ts
 * const connection = await session.connect('orders_check');
 * const metrics = await collectDatasetMetrics(connection, '"orders"', { timestampColumn: 'updated_at' });
 * metrics.row_count; // 1200
 * metrics.columns['amount']?.null_percent; // 0.5
 * ```
 */
export async function collectDatasetMetrics(
  connection: MetricsConnection,
  relationSQL: string,
  options: CollectDatasetMetricsOptions = {},
): Promise<DatasetMetrics> {
  const from = fromItem(relationSQL);
  const described = await connection.rows(`DESCRIBE SELECT * FROM ${from}`);
  const allColumns = described.map((row) => ({
    name: String(row['column_name']),
    type: String(row['column_type']),
  }));
  const byName = new Map(allColumns.map((c) => [c.name, c]));
  const problems: { path: string; message: string }[] = [];
  const measured =
    options.columns === undefined
      ? allColumns
      : options.columns.flatMap((name) => {
          const column = byName.get(name);
          if (column === undefined)
            problems.push({ path: 'columns', message: unknownColumn(name) });
          return column === undefined ? [] : [column];
        });
  const { timestampColumn } = options;
  const timestamp = timestampColumn === undefined ? undefined : byName.get(timestampColumn);
  if (timestampColumn !== undefined) {
    if (timestamp === undefined) {
      problems.push({ path: 'timestampColumn', message: unknownColumn(timestampColumn) });
    } else if (!TIMESTAMP_TYPE.test(timestamp.type)) {
      problems.push({
        path: 'timestampColumn',
        message: `freshness needs a DATE or TIMESTAMP column, but "${timestamp.name}" is ${timestamp.type}`,
      });
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((p) => ({
        code: 'invalid-metrics-option',
        ...p,
        hint: `columns are ${allColumns.map((c) => JSON.stringify(c.name)).join(', ')}`,
      })),
    );
  }

  const select = ['count(*) AS "row_count"'];
  measured.forEach((column, i) => {
    const id = quoteIdentifier(column.name);
    select.push(`count(${id}) AS "c${i}_present"`);
    select.push(
      options.approximateDistinct === true
        ? `approx_count_distinct(${id}) AS "c${i}_distinct"`
        : `count(DISTINCT ${id}) AS "c${i}_distinct"`,
    );
    if (NUMERIC_TYPE.test(column.type)) {
      const filter = FLOATING_TYPE.test(column.type) ? ` FILTER (WHERE isfinite(${id}))` : '';
      select.push(`avg(${id})${filter} AS "c${i}_mean"`);
      select.push(`CAST(min(${id})${filter} AS DOUBLE) AS "c${i}_min"`);
      select.push(`CAST(max(${id})${filter} AS DOUBLE) AS "c${i}_max"`);
    }
  });
  if (timestamp !== undefined) {
    const id = quoteIdentifier(timestamp.name);
    select.push(`epoch_us(max(${id}) FILTER (WHERE isfinite(${id}))) AS "newest_us"`);
  }
  const [row = {}] = await connection.rows(`SELECT ${select.join(', ')} FROM ${from}`);
  const nowMs = (options.now ?? new Date()).getTime();

  const rowCount = toFiniteNumber(row['row_count']) ?? 0;
  // Built with fromEntries so that a column named "__proto__" stays an ordinary key.
  const columns: Record<string, ColumnMetrics> = Object.fromEntries(
    measured.map((column, i): [string, ColumnMetrics] => {
      const present = toFiniteNumber(row[`c${i}_present`]) ?? 0;
      const stats = (['mean', 'min', 'max'] as const).flatMap((stat) => {
        const value = toFiniteNumber(row[`c${i}_${stat}`]);
        return value === undefined ? [] : [[stat, value] as const];
      });
      return [
        column.name,
        {
          ...(rowCount > 0 ? { null_percent: ((rowCount - present) / rowCount) * 100 } : {}),
          distinct_count: toFiniteNumber(row[`c${i}_distinct`]) ?? 0,
          ...Object.fromEntries(stats),
        },
      ];
    }),
  );
  const newestUs = toFiniteNumber(row['newest_us']);
  return {
    row_count: rowCount,
    ...(newestUs === undefined ? {} : { freshness_seconds: (nowMs - newestUs / 1000) / 1000 }),
    columns,
  };
}

function unknownColumn(name: string): string {
  return `column ${JSON.stringify(name)} does not exist in the relation`;
}

const BARE_QUERY = /^(SELECT|WITH|FROM|VALUES|TABLE|PIVOT|UNPIVOT)\b/i;

function fromItem(relationSQL: string): string {
  const trimmed = typeof relationSQL === 'string' ? relationSQL.trim() : '';
  if (trimmed === '') {
    throw new ConfigError([
      {
        code: 'invalid-metrics-option',
        path: 'relationSQL',
        message: 'metrics need a relation to measure, got an empty string',
        hint: 'pass a quoted table or view name, a table function call or a query',
      },
    ]);
  }
  return BARE_QUERY.test(trimmed) ? `(${trimmed})` : trimmed;
}

function toFiniteNumber(value: unknown): number | undefined {
  const n = typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function metricPathSegments(metricPath: MetricPath): readonly string[] {
  let segments: readonly string[] | undefined;
  if (typeof metricPath === 'string') {
    if (metricPath.startsWith('columns.')) {
      const rest = metricPath.slice('columns.'.length);
      const lastDot = rest.lastIndexOf('.');
      if (lastDot > 0) segments = ['columns', rest.slice(0, lastDot), rest.slice(lastDot + 1)];
    } else if (metricPath !== '') {
      segments = metricPath.split('.');
    }
  } else if (
    Array.isArray(metricPath) &&
    metricPath.length > 0 &&
    metricPath.every((s) => typeof s === 'string')
  ) {
    segments = metricPath;
  }
  if (segments === undefined || segments.some((s) => s === '')) {
    throw new ConfigError([
      {
        code: 'invalid-metric-path',
        path: 'metricPath',
        message: `${JSON.stringify(metricPath)} does not name a metric`,
        hint: 'use "row_count", "freshness_seconds" or "columns.<column>.<stat>" (stat: null_percent, distinct_count, mean, min, max)',
      },
    ]);
  }
  return segments;
}

function valueAt(metrics: DatasetMetrics, segments: readonly string[]): number | undefined {
  let current: unknown = metrics;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[segment];
  }
  return typeof current === 'number' && Number.isFinite(current) ? current : undefined;
}

function parseLine(line: string): MetricHistoryEntry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  // Unknown keys are kept (a newer Sluice may store more metrics); known ones must be sound.
  return looseEntrySchema.safeParse(value).success ? (value as MetricHistoryEntry) : undefined;
}

function entrySchema(strict: boolean) {
  const object = strict ? z.strictObject : z.looseObject;
  const count = z.number().int().nonnegative();
  const finite = z.number().refine(Number.isFinite, 'must be a finite number');
  const column = object({
    null_percent: z.number().min(0).max(100).optional(),
    distinct_count: count,
    mean: finite.optional(),
    min: finite.optional(),
    max: finite.optional(),
  });
  return object({
    runId: z.string().min(1),
    dataset: z.string().regex(DATASET_NAME),
    at: z.iso.datetime({ offset: true }),
    metrics: object({
      row_count: count,
      freshness_seconds: finite.optional(),
      // Checked entry by entry: z.record skips a `__proto__` key, which is a valid column name.
      columns: z.unknown().superRefine((value, ctx) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) {
          ctx.addIssue({ code: 'custom', message: 'columns must be an object keyed by column' });
          return;
        }
        for (const [name, metrics] of Object.entries(value)) {
          const result = column.safeParse(metrics);
          for (const issue of result.error?.issues ?? []) {
            ctx.addIssue({ code: 'custom', message: issue.message, path: [name, ...issue.path] });
          }
        }
      }),
    }),
  });
}

const strictEntrySchema = entrySchema(true);
const looseEntrySchema = entrySchema(false);
