import type { DuckDBType } from '@duckdb/node-api';
import type { Field, LogicalType, TypeKind } from '../core/types.js';
import { formatType } from '../core/types.js';
import { quoteIdentifier } from '../core/type-mappings.js';
import { EngineError, UsageError } from '../core/errors.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { firstLine } from '../contracts/engine-connection.js';
import { fieldsFromColumns } from '../contracts/duckdb-types.js';
import type { SemanticKind } from './profile-semantic.js';
import { SEMANTIC_KINDS, SEMANTIC_KIND_NAMES, semanticPredicate } from './profile-semantic.js';

/** A statistic's value as it appears in a profile: JSON-safe. */
export type ProfileValue = string | number | boolean | null;

/** Which statistics apply to a column, decided by its logical type. */
export type ColumnCategory = 'numeric' | 'temporal' | 'string' | 'boolean' | 'other';

/** One frequent value and how many rows hold it. */
export interface ValueCount {
  readonly value: ProfileValue;
  readonly count: number;
}

/** The 25th, 50th (median) and 75th percentiles. */
export interface Quantiles {
  readonly p25: ProfileValue;
  readonly p50: ProfileValue;
  readonly p75: ProfileValue;
}

/** Lengths of a string column's non-null values, in characters. */
export interface LengthStats {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

/** A semantic kind most non-null values of a string column have. */
export interface SemanticMatch {
  readonly kind: SemanticKind;
  /** Share of non-null values of this kind, 0..1. */
  readonly share: number;
  /** Number of non-null values of this kind. */
  readonly matches: number;
}

/**
 * The profile of one column. Statistics that do not apply to the column's category are `null`
 * (a string column has no mean; a number has no length stats).
 */
export interface ColumnProfile {
  readonly name: string;
  /** The logical type, as written in schemas (`int64`, `decimal(12,2)`, `timestamp`). */
  readonly type: string;
  readonly logicalType: LogicalType;
  /** The engine's type name (`BIGINT`, `VARCHAR`, ...). */
  readonly engineType: string;
  readonly category: ColumnCategory;
  readonly nonNullCount: number;
  readonly nullCount: number;
  /** `nullCount / rowCount * 100`; 0 for an empty dataset. */
  readonly nullPercent: number;
  /** Distinct non-null values. NaN counts as a value. */
  readonly distinctCount: number;
  /**
   * Whether `distinctCount` is an estimate (DuckDB's HyperLogLog `approx_count_distinct`, seen 3-10%
   * low on the bench data) rather than exact.
   */
  readonly distinctApproximate: boolean;
  /** Smallest and largest non-null value (NaN excluded); strings compare by code point. */
  readonly min: ProfileValue;
  readonly max: ProfileValue;
  /** Mean and sample standard deviation of the finite values of a numeric column. */
  readonly mean: number | null;
  readonly stdev: number | null;
  /** Percentiles of numeric (finite values, interpolated) and temporal columns. */
  readonly quantiles: Quantiles | null;
  readonly quantilesApproximate: boolean;
  /** NaN and ±Infinity values of a float column; `null` for other columns. */
  readonly nanCount: number | null;
  readonly infiniteCount: number | null;
  /** Empty strings (`''`), which are values, not nulls; `null` for other columns. */
  readonly emptyCount: number | null;
  readonly length: LengthStats | null;
  /**
   * Up to `topValues` most frequent non-null values, most frequent first (ties by value). `null`
   * when skipped: in approximate mode for columns estimated above 100,000 distinct values.
   */
  readonly topValues: readonly ValueCount[] | null;
  /**
   * Every distinct non-null value, sorted, when there are at most 20 (exactly counted); `null`
   * otherwise. Suites suggest `expect_column_values_to_be_in_set` from it.
   */
  readonly distinctValues: readonly ProfileValue[] | null;
  /** Semantic kinds at least `semanticThreshold` of the non-null values have. */
  readonly semanticKinds: readonly SemanticMatch[];
}

/** The profile of a dataset: one {@link ColumnProfile} per column, in column order. */
export interface DatasetProfile {
  readonly rowCount: number;
  readonly columnCount: number;
  /** Whether distinct counts and quantiles were estimated (see {@link ProfileOptions.mode}). */
  readonly approximate: boolean;
  /** The share of non-null values a semantic kind needed to be reported. */
  readonly semanticThreshold: number;
  readonly columns: readonly ColumnProfile[];
  readonly durationMs: number;
}

/** How {@link profileRelation} works. */
export interface ProfileOptions {
  /**
   * `exact`: distinct counts from a GROUP BY per column, exact quantiles. `approximate`:
   * HyperLogLog distinct counts and t-digest quantiles in the one aggregate scan, and top values
   * only for columns estimated at most 100,000 distinct values. `auto` (default): counts the
   * rows first and is exact up to `approximateAboveRows` rows.
   */
  readonly mode?: 'auto' | 'exact' | 'approximate';
  /** Row count above which `auto` mode approximates. Default {@link APPROXIMATE_ABOVE_ROWS}. */
  readonly approximateAboveRows?: number;
  /** How many top values to keep per column, 0..100. Default 10. */
  readonly topValues?: number;
  /** Share of non-null values (0..1] a semantic kind needs to be reported. Default 0.95. */
  readonly semanticThreshold?: number;
}

/** Above this many rows, `auto` mode estimates distinct counts and quantiles. */
export const APPROXIMATE_ABOVE_ROWS = 1_000_000;
/** Default share of non-null values a semantic kind needs. */
export const SEMANTIC_THRESHOLD = 0.95;
/** Columns with at most this many distinct values list them all in `distinctValues`. */
export const VALUE_SET_LIMIT = 20;
/** In approximate mode, top values are computed only up to this many (estimated) distinct values. */
export const TOP_VALUES_MAX_DISTINCT = 100_000;
/** Rows sampled to decide which semantic kinds are worth counting exactly. */
const SEMANTIC_SAMPLE_ROWS = 10_000;
/**
 * A kind matched by at least this share of the sample (or half the threshold, when lower) is
 * counted exactly over every row.
 */
const SEMANTIC_CANDIDATE_SHARE = 0.5;

const CATEGORY_OF_KIND: { readonly [K in TypeKind]: ColumnCategory } = {
  bool: 'boolean',
  int8: 'numeric',
  int16: 'numeric',
  int32: 'numeric',
  int64: 'numeric',
  float32: 'numeric',
  float64: 'numeric',
  decimal: 'numeric',
  string: 'string',
  binary: 'other',
  date: 'temporal',
  timestamp: 'temporal',
  list: 'other',
  struct: 'other',
  map: 'other',
  json: 'other',
};

/** Everything the queries need to know about one column. */
interface ColumnPlan {
  readonly index: number;
  readonly field: Field;
  readonly engineType: string;
  readonly category: ColumnCategory;
  readonly isFloat: boolean;
  /** The quoted column. */
  readonly column: string;
  /** What is grouped for top values and distinct counts (text for nested and binary values). */
  readonly grouped: string;
  /** The column as VARCHAR, for string columns. */
  readonly text: string;
}

/** Per column index, the semantic kinds worth matching against every row. */
type SemanticCandidates = ReadonlyMap<number, readonly SemanticKind[]>;

/**
 * Profiles a relation in DuckDB: per column its logical type, null count and share, distinct
 * count, min/max, mean/stdev and quartiles (numbers), quartiles (dates and timestamps), top
 * values, length stats and semantic kinds (strings). `relationSQL` is anything that can follow
 * `FROM`: a quoted table or view name, a table function call, or a parenthesised query.
 *
 * Work done: one aggregate scan computes every per-column statistic at once; each column then
 * gets one GROUP BY of that column alone (top values and the exact distinct count, both from the
 * same groups). `auto` mode first counts the rows, and semantic kinds are first tried on a
 * 10,000-row sample so only plausible kinds are matched against every row. Relations that are
 * expensive to scan (a raw `read_csv`) are best materialised first.
 *
 * @example
 * ```ts
 * const session = await DuckDBSession.create();
 * const connection = await session.connect();
 * const profile = await profileRelation(connection, '(SELECT range AS n FROM range(101))');
 * profile.columns[0]?.quantiles; // { p25: 25, p50: 50, p75: 75 }
 * await connection.run(`CREATE TABLE orders AS SELECT * FROM read_csv('orders.csv')`);
 * const orders = await profileRelation(connection, '"orders"', { mode: 'exact' });
 * ```
 */
export async function profileRelation(
  connection: EngineConnection,
  relationSQL: string,
  options: ProfileOptions = {},
): Promise<DatasetProfile> {
  const started = performance.now();
  const topValueCount = clampInteger(options.topValues ?? 10, 0, 100);
  const threshold = options.semanticThreshold ?? SEMANTIC_THRESHOLD;
  if (!(threshold > 0 && threshold <= 1)) {
    throw new UsageError(`semanticThreshold must be in (0, 1], got ${threshold}`);
  }
  const plans = await planColumns(connection, relationSQL);

  const mode = options.mode ?? 'auto';
  let approximate = mode === 'approximate';
  if (mode === 'auto') {
    const [row] = await connection.rows(`SELECT count(*) AS n FROM ${relationSQL}`);
    approximate = toNumber(row?.['n']) > (options.approximateAboveRows ?? APPROXIMATE_ABOVE_ROWS);
  }

  const candidates = await chooseSemanticCandidates(connection, relationSQL, plans, threshold);
  const [aggregates = {}] = await connection.rows(
    aggregateQuery(relationSQL, plans, candidates, approximate),
  );
  const rowCount = toNumber(aggregates['__rows']);

  const columns: ColumnProfile[] = [];
  for (const plan of plans) {
    const at = (stat: string): unknown => aggregates[`c${plan.index}_${stat}`];
    const nonNullCount = toNumber(at('nonnull'));
    const estimate = approximate ? toNumber(at('approx_distinct')) : undefined;
    const grouped =
      estimate === undefined || estimate <= TOP_VALUES_MAX_DISTINCT
        ? await groupColumn(connection, relationSQL, plan, Math.max(topValueCount, VALUE_SET_LIMIT))
        : undefined;
    columns.push(
      columnProfile(plan, at, candidates.get(plan.index) ?? [], {
        rowCount,
        nonNullCount,
        approximate,
        estimate,
        grouped,
        topValueCount,
        threshold,
      }),
    );
  }
  return {
    rowCount,
    columnCount: plans.length,
    approximate,
    semanticThreshold: threshold,
    columns,
    durationMs: Math.round(performance.now() - started),
  };
}

async function planColumns(
  connection: EngineConnection,
  relationSQL: string,
): Promise<ColumnPlan[]> {
  let names: string[];
  let types: DuckDBType[];
  try {
    const reader = await connection.raw.runAndReadAll(`SELECT * FROM ${relationSQL} LIMIT 0`);
    names = reader.columnNames();
    types = reader.columnTypes();
  } catch (cause) {
    throw new EngineError(undefined, `cannot profile ${relationSQL}: ${firstLine(cause)}`, {
      cause,
    });
  }
  return fieldsFromColumns(names, types).map((field, index) => {
    const engineType = (types[index] as DuckDBType).toString();
    const category = CATEGORY_OF_KIND[field.type.kind];
    const column = quoteIdentifier(field.name);
    const text = engineType === 'VARCHAR' ? column : `CAST(${column} AS VARCHAR)`;
    return {
      index,
      field,
      engineType,
      category,
      isFloat: field.type.kind === 'float32' || field.type.kind === 'float64',
      column,
      grouped: category === 'other' ? `CAST(${column} AS VARCHAR)` : column,
      text,
    };
  });
}

/**
 * Tries every semantic kind on a reservoir sample of the string columns and keeps, per column,
 * the kinds that matched at least half of the sampled values (or half the threshold, when lower;
 * all kinds when the sample held no value of the column), so the full scan only runs the regexes
 * that can reach the threshold.
 */
async function chooseSemanticCandidates(
  connection: EngineConnection,
  relationSQL: string,
  plans: readonly ColumnPlan[],
  threshold: number,
): Promise<SemanticCandidates> {
  const candidateShare = Math.min(SEMANTIC_CANDIDATE_SHARE, threshold / 2);
  const strings = plans.filter((p) => p.category === 'string');
  if (strings.length === 0) return new Map();
  const sampled = (p: ColumnPlan): string => quoteIdentifier(`__s${p.index}`);
  const selects = strings.flatMap((p) => [
    `count(${sampled(p)}) AS ${quoteIdentifier(`n${p.index}`)}`,
    ...SEMANTIC_KIND_NAMES.map(
      (kind) =>
        `count(*) FILTER (WHERE ${semanticPredicate(sampled(p), kind)}) AS ${quoteIdentifier(`k${p.index}_${kind}`)}`,
    ),
  ]);
  const [row = {}] = await connection.rows(
    `SELECT ${selects.join(',\n  ')}
     FROM (SELECT ${strings.map((p) => `${p.text} AS ${sampled(p)}`).join(', ')}
           FROM ${relationSQL}
           USING SAMPLE reservoir(${SEMANTIC_SAMPLE_ROWS} ROWS) REPEATABLE (42))`,
  );
  return new Map(
    strings.map((plan) => {
      const present = toNumber(row[`n${plan.index}`]);
      const kinds = SEMANTIC_KIND_NAMES.filter(
        (kind) =>
          present === 0 || toNumber(row[`k${plan.index}_${kind}`]) >= candidateShare * present,
      );
      return [plan.index, kinds];
    }),
  );
}

function aggregateQuery(
  relationSQL: string,
  plans: readonly ColumnPlan[],
  candidates: SemanticCandidates,
  approximate: boolean,
): string {
  const selects: string[] = ['count(*) AS __rows'];
  const add = (plan: ColumnPlan, stat: string, sql: string): void => {
    selects.push(`${sql} AS ${quoteIdentifier(`c${plan.index}_${stat}`)}`);
  };
  const quartiles = '[0.25, 0.5, 0.75]';
  for (const plan of plans) {
    const { column } = plan;
    add(plan, 'nonnull', `count(${column})`);
    if (approximate) add(plan, 'approx_distinct', `approx_count_distinct(${plan.grouped})`);
    switch (plan.category) {
      case 'numeric': {
        const ordered = plan.isFloat ? `CASE WHEN NOT isnan(${column}) THEN ${column} END` : column;
        const finite = plan.isFloat
          ? `CAST(CASE WHEN isfinite(${column}) THEN ${column} END AS DOUBLE)`
          : `CAST(${column} AS DOUBLE)`;
        add(plan, 'min', `CAST(min(${ordered}) AS VARCHAR)`);
        add(plan, 'max', `CAST(max(${ordered}) AS VARCHAR)`);
        add(plan, 'mean', `avg(${finite})`);
        add(plan, 'stdev', `stddev_samp(${finite})`);
        add(
          plan,
          'quantiles',
          approximate
            ? `approx_quantile(${finite}, ${quartiles})`
            : `quantile_cont(${finite}, ${quartiles})`,
        );
        if (plan.isFloat) {
          add(plan, 'nan', `count(*) FILTER (WHERE isnan(${column}))`);
          add(plan, 'inf', `count(*) FILTER (WHERE isinf(${column}))`);
        }
        break;
      }
      case 'temporal':
        add(plan, 'min', `CAST(min(${column}) AS VARCHAR)`);
        add(plan, 'max', `CAST(max(${column}) AS VARCHAR)`);
        add(
          plan,
          'quantiles',
          `CAST(${approximate ? 'approx_quantile' : 'quantile_disc'}(${column}, ${quartiles}) AS VARCHAR[])`,
        );
        break;
      case 'string': {
        const { text } = plan;
        add(plan, 'min', `min(${text})`);
        add(plan, 'max', `max(${text})`);
        add(plan, 'len_min', `min(length(${text}))`);
        add(plan, 'len_max', `max(length(${text}))`);
        add(plan, 'len_mean', `avg(length(${text}))`);
        add(plan, 'empty', `count(*) FILTER (WHERE ${text} = '')`);
        for (const kind of candidates.get(plan.index) ?? []) {
          add(plan, `kind_${kind}`, `count(*) FILTER (WHERE ${semanticPredicate(text, kind)})`);
        }
        break;
      }
      case 'boolean':
        add(plan, 'min', `CAST(min(${column}) AS VARCHAR)`);
        add(plan, 'max', `CAST(max(${column}) AS VARCHAR)`);
        break;
      case 'other':
        break;
    }
  }
  return `SELECT ${selects.join(',\n  ')}\nFROM ${relationSQL}`;
}

interface GroupedColumn {
  readonly distinctCount: number;
  /** Most frequent first, at most the limit asked for. */
  readonly top: readonly ValueCount[];
}

/**
 * One GROUP BY of one column: the number of groups is the exact distinct count, and the largest
 * groups are the top values.
 */
async function groupColumn(
  connection: EngineConnection,
  relationSQL: string,
  plan: ColumnPlan,
  limit: number,
): Promise<GroupedColumn> {
  const rows = await connection.rows(
    `SELECT CAST(v AS VARCHAR) AS value, n, d FROM (
       SELECT v, n, count(*) OVER () AS d FROM (
         SELECT ${plan.grouped} AS v, count(*) AS n
         FROM ${relationSQL} WHERE ${plan.column} IS NOT NULL GROUP BY 1))
     ORDER BY n DESC, v LIMIT ${limit}`,
  );
  return {
    distinctCount: toNumber(rows[0]?.['d']),
    top: rows.map((r) => ({
      value: parseValue(r['value'], plan.category),
      count: toNumber(r['n']),
    })),
  };
}

function columnProfile(
  plan: ColumnPlan,
  at: (stat: string) => unknown,
  kinds: readonly SemanticKind[],
  context: {
    readonly rowCount: number;
    readonly nonNullCount: number;
    readonly approximate: boolean;
    readonly estimate: number | undefined;
    readonly grouped: GroupedColumn | undefined;
    readonly topValueCount: number;
    readonly threshold: number;
  },
): ColumnProfile {
  const { rowCount, nonNullCount, grouped } = context;
  const { category } = plan;
  const nullCount = rowCount - nonNullCount;
  const distinctCount = grouped?.distinctCount ?? context.estimate ?? 0;
  const quantileList = at('quantiles');
  const quantiles =
    Array.isArray(quantileList) && quantileList.length === 3
      ? {
          p25: parseValue(quantileList[0], category),
          p50: parseValue(quantileList[1], category),
          p75: parseValue(quantileList[2], category),
        }
      : null;
  const hasStat = category === 'numeric' || category === 'temporal';
  const distinctValues =
    grouped !== undefined && grouped.distinctCount <= VALUE_SET_LIMIT
      ? [...grouped.top].map((t) => t.value).sort(compareValues)
      : null;
  return {
    name: plan.field.name,
    type: formatType(plan.field.type),
    logicalType: plan.field.type,
    engineType: plan.engineType,
    category,
    nonNullCount,
    nullCount,
    nullPercent: rowCount === 0 ? 0 : (nullCount / rowCount) * 100,
    distinctCount,
    distinctApproximate: grouped === undefined,
    min: parseValue(at('min'), category),
    max: parseValue(at('max'), category),
    mean: category === 'numeric' ? toNullableNumber(at('mean')) : null,
    stdev: category === 'numeric' ? toNullableNumber(at('stdev')) : null,
    quantiles: hasStat ? quantiles : null,
    quantilesApproximate: hasStat && context.approximate,
    nanCount: plan.isFloat ? toNumber(at('nan')) : null,
    infiniteCount: plan.isFloat ? toNumber(at('inf')) : null,
    emptyCount: category === 'string' ? toNumber(at('empty')) : null,
    length:
      category === 'string' && nonNullCount > 0
        ? {
            min: toNumber(at('len_min')),
            max: toNumber(at('len_max')),
            mean: toNumber(at('len_mean')),
          }
        : null,
    topValues: grouped === undefined ? null : grouped.top.slice(0, context.topValueCount),
    distinctValues,
    semanticKinds: semanticMatches(kinds, at, nonNullCount, context.threshold),
  };
}

function semanticMatches(
  kinds: readonly SemanticKind[],
  at: (stat: string) => unknown,
  nonNullCount: number,
  threshold: number,
): SemanticMatch[] {
  if (nonNullCount === 0) return [];
  const found = kinds
    .map((kind) => {
      const matches = toNumber(at(`kind_${kind}`));
      return { kind, share: matches / nonNullCount, matches };
    })
    .filter((m) => m.share >= threshold);
  const detected = new Set(found.map((m) => m.kind));
  return found.filter(
    (m) => !(SEMANTIC_KINDS[m.kind].supersededBy ?? []).some((other) => detected.has(other)),
  );
}

/**
 * Turns a statistic read back as text (or a JS value) into a JSON-safe {@link ProfileValue}:
 * numbers for numeric columns (integers beyond 2^53 keep their exact digits as a string; NaN and
 * infinities become `"NaN"`, `"Infinity"`, `"-Infinity"`), booleans for boolean columns, text for
 * everything else (dates and timestamps in ISO form).
 *
 * @example
 * ```ts
 * parseValue('29.80', 'numeric'); // 29.8
 * parseValue('9007199254740993', 'numeric'); // "9007199254740993"
 * parseValue('2026-03-01', 'temporal'); // "2026-03-01"
 * ```
 */
export function parseValue(raw: unknown, category: ColumnCategory): ProfileValue {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : String(raw);
  if (typeof raw === 'bigint') return Number.isSafeInteger(Number(raw)) ? Number(raw) : String(raw);
  if (typeof raw === 'boolean') return raw;
  const text = typeof raw === 'string' ? raw : String(raw);
  if (category === 'boolean') return text === 'true';
  if (category !== 'numeric') return text;
  const special: Record<string, string> = { nan: 'NaN', inf: 'Infinity', '-inf': '-Infinity' };
  if (special[text] !== undefined) return special[text];
  const number = Number(text);
  if (!Number.isFinite(number)) return text;
  if (/^-?\d+$/.test(text) && !Number.isSafeInteger(number)) return text;
  return number;
}

function compareValues(a: ProfileValue, b: ProfileValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function toNumber(value: unknown): number {
  return toNullableNumber(value) ?? 0;
}

function toNullableNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const number = Number(value);
  return Number.isNaN(number) ? null : number;
}

function clampInteger(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.trunc(value)));
}
