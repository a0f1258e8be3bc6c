import { parseDuration } from '../core/duration.js';
import type { LogicalType } from '../core/types.js';
import { quoteIdentifier, quoteLiteral } from '../core/type-mappings.js';
import type { CompileContext } from './compile-context.js';
import { ExpectationArgumentError } from './compile-context.js';
import type { AnomalyCheckResult } from './anomaly.js';
import {
  comparedAs,
  isMixed,
  mixedCompare,
  mixedInSet,
  orderedAs,
  pythonTypeName,
  textForMatching,
  valueIfType,
} from './mixed-values.js';
import { relativeChangeCheck, robustZScoreCheck, toAnomalyExpectationResult } from './anomaly.js';

/** SQL pieces of a row-level expectation, evaluated on every row (that meets `row_condition`). */
export interface MapCompilation {
  /** Rows counted in the denominator (non-missing); the others are `missing`. */
  readonly domain: string;
  /** True for a row of the domain that is unexpected. */
  readonly unexpected: string;
  /** The value shown in unexpected lists. */
  readonly value: string;
  /** Columns shown beside the index columns in `unexpected_index_list`. */
  readonly valueColumns: readonly string[];
  /** Whether `unexpected` uses window functions (computed before aggregation). */
  readonly window?: boolean;
  /**
   * For duplicate checks: the quoted key columns. A validation then finds duplicated keys with
   * one GROUP BY joined back, which is much cheaper than the window in `unexpected` (that
   * window stays for splitting rows in a check step).
   */
  readonly duplicateKeys?: readonly string[];
}

/** A row-level ("column map") expectation. */
export interface MapDefinition {
  readonly kind: 'map';
  /**
   * `skip`: nulls are missing, neither expected nor unexpected (GX's default). `null-check`:
   * the expectation is about nulls (not_be_null, be_null), so every row is in the domain and the
   * result carries no missing counts.
   */
  readonly nulls: 'skip' | 'null-check';
  compile(kwargs: Kwargs, ctx: CompileContext): MapCompilation;
}

/** Outcome of an aggregate expectation once its metrics are known. */
export interface AggregateOutcome {
  readonly success: boolean;
  readonly observed_value: unknown;
  readonly details?: unknown;
  readonly element_count?: number;
  readonly missing_count?: number;
  readonly missing_percent?: number | null;
}

/** A table- or column-level expectation decided from aggregate metrics. */
export interface AggregateDefinition {
  readonly kind: 'aggregate';
  /** SQL aggregate expressions by metric name, over the (row-condition filtered) relation. */
  metrics(kwargs: Kwargs, ctx: CompileContext): Readonly<Record<string, string>>;
  evaluate(
    kwargs: Kwargs,
    metrics: Readonly<Record<string, unknown>>,
    ctx: CompileContext,
  ): AggregateOutcome;
  /**
   * The definition to use instead for these columns, if any: type expectations judge a column
   * of values of several types value by value.
   */
  forColumns?(kwargs: Kwargs, ctx: CompileContext): MapDefinition | undefined;
}

/** Any expectation kind of the catalog. */
export type ExpectationDefinition = MapDefinition | AggregateDefinition;

type Kwargs = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------------------------------------
// Helpers

function string(kwargs: Kwargs, key: string): string {
  const value = kwargs[key];
  if (typeof value !== 'string') throw new ExpectationArgumentError(`"${key}" must be a string`);
  return value;
}

function list(kwargs: Kwargs, key: string): readonly unknown[] {
  const value = kwargs[key];
  if (!Array.isArray(value)) throw new ExpectationArgumentError(`"${key}" must be a list`);
  return value;
}

function optionalNumber(kwargs: Kwargs, key: string): number | undefined {
  const value = kwargs[key];
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'number' || Number.isNaN(value))
    throw new ExpectationArgumentError(`"${key}" must be a number`);
  return value;
}

const NUMERIC_KINDS = new Set(['int8', 'int16', 'int32', 'int64', 'float32', 'float64', 'decimal']);

function isNumeric(type: LogicalType): boolean {
  return NUMERIC_KINDS.has(type.kind);
}

/** A value-set literal list matched to the column's type (GX compares like Python: 1 == 1.0, '1' != 1). */
function setLiteral(
  values: readonly unknown[],
  type: LogicalType,
  ctx: CompileContext,
): { column: (c: string) => string; items: string[] } {
  if (isNumeric(type)) {
    return {
      column: (c) => c,
      items: values.filter((v) => typeof v === 'number' || typeof v === 'bigint').map(ctx.literal),
    };
  }
  if (type.kind === 'bool')
    return {
      column: (c) => c,
      items: values.filter((v) => typeof v === 'boolean').map(ctx.literal),
    };
  if (type.kind === 'string')
    return {
      column: (c) => c,
      items: values.filter((v) => typeof v === 'string').map(ctx.literal),
    };
  return {
    column: (c) => `CAST(${c} AS VARCHAR)`,
    items: values.filter((v) => v !== null).map((v) => ctx.literal(String(v))),
  };
}

function inSet(
  column: string,
  values: readonly unknown[],
  type: LogicalType,
  ctx: CompileContext,
): string {
  if (isMixed(type)) return mixedInSet(column, values, ctx.literal);
  const set = setLiteral(values, type, ctx);
  return set.items.length === 0 ? 'false' : `${set.column(column)} IN (${set.items.join(', ')})`;
}

/**
 * SQL bounds check with GX's semantics: either bound may be null, strict bounds exclude equality.
 * `compared(bound)` is the value compared with that bound (it may depend on the bound's type).
 */
function withinBounds(
  compared: string | ((bound: unknown) => string),
  kwargs: Kwargs,
  ctx: CompileContext,
): string {
  const parts: string[] = [];
  const min = kwargs['min_value'];
  const max = kwargs['max_value'];
  const side = (bound: unknown): string =>
    typeof compared === 'string' ? compared : compared(bound);
  if (min !== null && min !== undefined)
    parts.push(`${side(min)} ${kwargs['strict_min'] === true ? '>' : '>='} ${ctx.literal(min)}`);
  if (max !== null && max !== undefined)
    parts.push(`${side(max)} ${kwargs['strict_max'] === true ? '<' : '<='} ${ctx.literal(max)}`);
  return parts.length === 0 ? 'true' : parts.join(' AND ');
}

/**
 * A column's value as compared with a bound: a mixed column's value of the bound's type (other
 * types raise, as Python does), text parsed as a timestamp for a datetime bound.
 */
function comparedWith(column: string, name: string, type: LogicalType): (bound: unknown) => string {
  return (bound) => {
    if (isMixed(type)) return orderedAs(column, name, comparedAs(bound));
    if (bound instanceof Date && type.kind === 'string') return `CAST(${column} AS TIMESTAMP)`;
    // Suite parameters are UTC; an instant column is read in UTC whatever the session's zone.
    if (bound instanceof Date && type.kind === 'timestamp' && type.tz)
      return `timezone('UTC', ${column})`;
    return column;
  };
}

/** A value as text for patterns: a mixed column's strings without JSON quotes. */
function asText(column: string, ctx: CompileContext, name: string): string {
  return textForMatching(column, ctx.typeOf(name));
}

/** The same bounds check in JS, for aggregate values. */
function between(value: unknown, kwargs: Kwargs): boolean {
  const keys = { min: 'min_value', max: 'max_value' };
  if (value === null || value === undefined) return false;
  const min = kwargs[keys.min];
  const max = kwargs[keys.max];
  const v = typeof value === 'bigint' ? Number(value) : value;
  const compare = (a: unknown, b: unknown): number => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    // A suite parameter's datetime against an observed timestamp (or its text).
    if (b instanceof Date)
      return new Date(a instanceof Date ? a : String(a)).getTime() - b.getTime();
    if (a instanceof Date) return a.getTime() - new Date(String(b)).getTime();
    return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
  };
  if (min !== null && min !== undefined) {
    const c = compare(v, min);
    if (kwargs['strict_min'] === true ? c <= 0 : c < 0) return false;
  }
  if (max !== null && max !== undefined) {
    const c = compare(v, max);
    if (kwargs['strict_max'] === true ? c >= 0 : c > 0) return false;
  }
  return true;
}

/** GX refuses a minimum above the maximum. */
function checkBoundsOrder(kwargs: Kwargs): void {
  const min = kwargs['min_value'];
  const max = kwargs['max_value'];
  if (
    min !== null &&
    min !== undefined &&
    max !== null &&
    max !== undefined &&
    typeof min === typeof max &&
    (min as number) > (max as number)
  ) {
    throw new ExpectationArgumentError('Minimum Threshold cannot be larger than Maximum Threshold');
  }
}

/** Row and column counts take integer bounds. */
function integerBounds(kwargs: Kwargs): void {
  for (const key of ['min_value', 'max_value']) {
    const value = kwargs[key];
    if (value !== null && value !== undefined && !Number.isInteger(value)) {
      throw new ExpectationArgumentError('min_value and max_value must be integers');
    }
  }
  checkBoundsOrder(kwargs);
}

function requireBound(
  kwargs: Kwargs,
  options: { readonly ordered: boolean } = { ordered: true },
): void {
  // A length range with min above max is simply never met (GX reports failure, not an error).
  if (options.ordered) checkBoundsOrder(kwargs);
  if (
    (kwargs['min_value'] === null || kwargs['min_value'] === undefined) &&
    (kwargs['max_value'] === null || kwargs['max_value'] === undefined)
  ) {
    throw new ExpectationArgumentError('min_value and max_value cannot both be None');
  }
}

function plain(value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

const single = (kwargs: Kwargs, ctx: CompileContext): { name: string; column: string } => {
  const name = string(kwargs, 'column');
  return { name, column: ctx.column(name) };
};

/** A single-column map expectation where nulls are missing. */
function columnMap(
  unexpected: (column: string, kwargs: Kwargs, ctx: CompileContext, name: string) => string,
  window = false,
  requires?: { readonly kinds: readonly string[]; readonly message: string },
): MapDefinition {
  return {
    kind: 'map',
    nulls: 'skip',
    compile(kwargs, ctx) {
      const { name, column } = single(kwargs, ctx);
      if (requires !== undefined && !requires.kinds.includes(ctx.typeOf(name).kind)) {
        throw new ExpectationArgumentError(requires.message);
      }
      return {
        domain: `${column} IS NOT NULL`,
        unexpected: unexpected(column, kwargs, ctx, name),
        value: column,
        valueColumns: [name],
        window,
      };
    },
  };
}

/** A single-column aggregate expectation whose metric must fall between min_value and max_value. */
function columnAggregateBetween(
  metric: (column: string) => string,
  options: {
    readonly numeric: boolean;
    readonly boundsRequired: boolean;
    readonly ordered?: boolean;
  },
): AggregateDefinition {
  return {
    kind: 'aggregate',
    metrics(kwargs, ctx) {
      if (options.boundsRequired) requireBound(kwargs);
      else checkBoundsOrder(kwargs);
      const { name, column } = single(kwargs, ctx);
      if (!options.numeric) {
        // min and max of values of several types compare them, which Python refuses across types.
        if (options.ordered === true && isMixed(ctx.typeOf(name))) {
          const bound = kwargs['min_value'] ?? kwargs['max_value'] ?? 0;
          return { observed: metric(orderedAs(column, name, comparedAs(bound))) };
        }
        return { observed: metric(column) };
      }
      for (const key of ['min_value', 'max_value']) {
        const bound = kwargs[key];
        if (bound !== null && bound !== undefined && typeof bound !== 'number') {
          throw new ExpectationArgumentError(
            `"${key}" must be a number for a numeric aggregate, got ${JSON.stringify(bound)}`,
          );
        }
      }
      const type = ctx.typeOf(name);
      // GX averages booleans as 0/1; a column with no values (typed as text) has no numeric aggregate.
      if (type.kind === 'bool') return { observed: metric(`CAST(${column} AS INTEGER)`) };
      if (isMixed(type)) return { observed: metric(orderedAs(column, name, 'number')) };
      if (type.kind === 'string') return { observed: textHasNoNumericAggregate(column, name) };
      if (!isNumeric(type)) return { observed: metric(`TRY_CAST(${column} AS DOUBLE)`) };
      return { observed: metric(column) };
    },
    evaluate(kwargs, metrics) {
      const observed = plain(metrics['observed']);
      const unbounded =
        (kwargs['min_value'] ?? null) === null && (kwargs['max_value'] ?? null) === null;
      return {
        success: observed !== null && (unbounded || between(observed, kwargs)),
        observed_value: observed,
      };
    },
  };
}

/**
 * A numeric aggregate of a text column: null when the column holds no values, else an error
 * naming the column and a value, as GX raises for the mean of strings.
 */
function textHasNoNumericAggregate(column: string, name: string): string {
  return `CASE WHEN count(${column}) = 0 THEN NULL ELSE error(concat('column ', ${quoteLiteral(JSON.stringify(name))}, ' holds text such as ', any_value(${column}), ', not numeric values; a numeric aggregate (mean, median, sum, stdev) needs a numeric column')) END`;
}

function regexes(kwargs: Kwargs, key: string): string[] {
  return list(kwargs, key).map((r) => {
    if (typeof r !== 'string') throw new ExpectationArgumentError(`"${key}" must hold strings`);
    return r;
  });
}

function combine(predicates: string[], matchOn: unknown): string {
  if (predicates.length === 0) return 'false';
  return `(${predicates.join(matchOn === 'all' ? ' AND ' : ' OR ')})`;
}

/** GX type names (Python, pandas, SQL, Spark) mapped to logical type kinds. */
const TYPE_NAMES: Readonly<Record<string, readonly string[]>> = {
  int: ['int8', 'int16', 'int32', 'int64'],
  integer: ['int8', 'int16', 'int32', 'int64'],
  int8: ['int8'],
  int16: ['int16'],
  int32: ['int32'],
  int64: ['int64'],
  bigint: ['int64'],
  smallint: ['int16'],
  tinyint: ['int8'],
  integertype: ['int32'],
  longtype: ['int64'],
  shorttype: ['int16'],
  float: ['float32', 'float64'],
  float32: ['float32'],
  float64: ['float64'],
  double: ['float64'],
  real: ['float32'],
  floattype: ['float32'],
  doubletype: ['float64'],
  numeric: ['decimal'],
  decimal: ['decimal'],
  decimaltype: ['decimal'],
  str: ['string'],
  string: ['string'],
  varchar: ['string'],
  text: ['string'],
  stringtype: ['string'],
  object: ['string', 'json'],
  object_: ['string', 'json'],
  o: ['string', 'json'],
  bool: ['bool'],
  boolean: ['bool'],
  booleantype: ['bool'],
  date: ['date'],
  datetype: ['date'],
  datetime: ['timestamp'],
  timestamp: ['timestamp'],
  'datetime64[ns]': ['timestamp'],
  timestamptype: ['timestamp'],
  bytes: ['binary'],
  blob: ['binary'],
  binarytype: ['binary'],
  list: ['list'],
  dict: ['struct', 'map', 'json'],
};

function matchesTypeName(type: LogicalType, name: unknown): boolean {
  if (typeof name !== 'string') throw new ExpectationArgumentError('type names must be strings');
  return TYPE_NAMES[name.toLowerCase()]?.includes(type.kind) ?? false;
}

const PYTHON_TYPE_OF_KIND: Readonly<Record<string, string>> = {
  int8: 'int',
  int16: 'int',
  int32: 'int',
  int64: 'int',
  float32: 'float',
  float64: 'float',
  decimal: 'float',
  string: 'str',
  bool: 'bool',
  list: 'list',
  struct: 'dict',
  map: 'dict',
  json: 'dict',
};

/**
 * For a column of values of several types (GX's pandas object column): a row-level check of
 * each value's Python type against the type names, so the values of other types are listed.
 */
function valueTypeMap(
  kwargs: Kwargs,
  ctx: CompileContext,
  names: () => readonly unknown[],
): MapDefinition | undefined {
  const name = kwargs['column'];
  if (typeof name !== 'string' || !ctx.columnNames.includes(name)) return undefined;
  if (!isMixed(ctx.typeOf(name))) return undefined;
  return {
    kind: 'map',
    nulls: 'skip',
    compile(_kwargs, context) {
      const column = context.column(name);
      const requested = names().map((n) => {
        if (typeof n !== 'string') throw new ExpectationArgumentError('type names must be strings');
        return n.toLowerCase();
      });
      const everything = requested.some((n) => OBJECT_NAMES.includes(n));
      const allowed = [
        ...new Set(
          requested.flatMap((n) =>
            (TYPE_NAMES[n] ?? []).map((kind) => PYTHON_TYPE_OF_KIND[kind] ?? kind),
          ),
        ),
      ];
      return {
        domain: `${column} IS NOT NULL AND json_type(${column}) <> 'NULL'`,
        unexpected: everything
          ? 'false'
          : allowed.length === 0
            ? 'true'
            : `coalesce(${pythonTypeName(column)} NOT IN (${allowed.map((a) => quoteLiteral(a)).join(', ')}), true)`,
        value: column,
        valueColumns: [name],
      };
    },
  };
}

/** pandas' names of its object dtype. */
const OBJECT_NAMES: readonly string[] = ['object', 'object_', 'o'];

function typeCheck(
  kwargs: Kwargs,
  ctx: CompileContext,
  names: readonly unknown[],
): AggregateOutcome {
  const { name } = single(kwargs, ctx);
  const type = ctx.typeOf(name);
  const success = names.some((n) => matchesTypeName(type, n));
  // pandas keeps text in its object dtype, reported as "object_".
  const asObject =
    success && names.some((n) => typeof n === 'string' && OBJECT_NAMES.includes(n.toLowerCase()));
  return { success, observed_value: asObject ? 'object_' : typeObservedName(type) };
}

function typeObservedName(type: LogicalType): string {
  switch (type.kind) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
      return 'int';
    case 'float32':
    case 'float64':
      return 'float';
    case 'string':
      return 'str';
    default:
      return type.kind;
  }
}

function rowCountMetric(): Readonly<Record<string, string>> {
  return { rows: 'count(*)' };
}

function compareSets(
  observed: readonly unknown[],
  expected: readonly unknown[],
): { missing: unknown[]; extra: unknown[] } {
  const key = (v: unknown): string => JSON.stringify(plain(v));
  const observedKeys = new Set(observed.map(key));
  const expectedKeys = new Set(expected.map(key));
  return {
    missing: expected.filter((v) => !observedKeys.has(key(v))),
    extra: observed.filter((v) => !expectedKeys.has(key(v))),
  };
}

/** The distinct values of a column; a mixed column's come as JSON text and are decoded. */
function distinctObserved(
  kwargs: Kwargs,
  m: Readonly<Record<string, unknown>>,
  ctx: CompileContext,
): unknown[] {
  const values = ((m['values'] as unknown[] | null) ?? []).map(plain);
  const name = kwargs['column'];
  if (typeof name !== 'string' || !isMixed(ctx.typeOf(name))) return values;
  return values.map((v) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v));
}

function distinctValues(kwargs: Kwargs, ctx: CompileContext): Readonly<Record<string, string>> {
  const { column } = single(kwargs, ctx);
  return {
    values: `list(DISTINCT ${column} ORDER BY ${column}) FILTER (WHERE ${column} IS NOT NULL)`,
  };
}

// ---------------------------------------------------------------------------------------------
// The catalog

const robustAnomaly = anomalyDefinition((history, value, kwargs) =>
  robustZScoreCheck(history, value, {
    ...(typeof kwargs['threshold'] === 'number' ? { threshold: kwargs['threshold'] } : {}),
    ...(typeof kwargs['min_history'] === 'number' ? { minHistory: kwargs['min_history'] } : {}),
  }),
);

const notNull: MapDefinition = {
  kind: 'map',
  nulls: 'null-check',
  compile(kwargs, ctx) {
    const { name, column } = single(kwargs, ctx);
    return { domain: 'true', unexpected: `${column} IS NULL`, value: column, valueColumns: [name] };
  },
};

const beNull: MapDefinition = {
  kind: 'map',
  nulls: 'null-check',
  compile(kwargs, ctx) {
    const { name, column } = single(kwargs, ctx);
    return {
      domain: 'true',
      unexpected: `${column} IS NOT NULL`,
      value: column,
      valueColumns: [name],
    };
  },
};

const uniqueColumnMap = columnMap((column) => `count(*) OVER (PARTITION BY ${column}) > 1`, true);
const unique: MapDefinition = {
  ...uniqueColumnMap,
  compile: (kwargs, ctx) => {
    const compiled = uniqueColumnMap.compile(kwargs, ctx);
    return { ...compiled, duplicateKeys: [compiled.value] };
  },
};

/** Comparisons between the two columns of a pair, by their types (see mixed-values.ts). */
interface PairComparison {
  compare(operator: '=' | '>' | '>='): string;
  equals(side: 'A' | 'B', value: unknown): string;
}

function pairComparison(
  a: { readonly sql: string; readonly name: string; readonly type: LogicalType },
  b: { readonly sql: string; readonly name: string; readonly type: LogicalType },
  ctx: CompileContext,
): PairComparison {
  const mixed = isMixed(a.type) || isMixed(b.type);
  const asJSON = (side: typeof a): string =>
    isMixed(side.type) ? side.sql : `to_json(${side.sql})`;
  return {
    compare: (operator) =>
      mixed
        ? mixedCompare(asJSON(a), asJSON(b), operator, a.name, b.name)
        : `${a.sql} ${operator} ${b.sql}`,
    equals: (side, value) => {
      const column = side === 'A' ? a : b;
      const sql = isMixed(column.type) ? valueIfType(column.sql, comparedAs(value)) : column.sql;
      return `${sql} = ${ctx.literal(value)}`;
    },
  };
}

function pairMap(
  unexpected: (
    a: string,
    b: string,
    kwargs: Kwargs,
    ctx: CompileContext,
    pair: PairComparison,
  ) => string,
): MapDefinition {
  return {
    kind: 'map',
    nulls: 'skip',
    compile(kwargs, ctx) {
      const nameA = string(kwargs, 'column_A');
      const nameB = string(kwargs, 'column_B');
      const a = ctx.column(nameA);
      const b = ctx.column(nameB);
      const ignore = kwargs['ignore_row_if'] ?? 'both_values_are_missing';
      const domain =
        ignore === 'either_value_is_missing'
          ? `${a} IS NOT NULL AND ${b} IS NOT NULL`
          : ignore === 'neither'
            ? 'true'
            : `NOT (${a} IS NULL AND ${b} IS NULL)`;
      return {
        domain,
        unexpected: `coalesce(NOT (${unexpected(a, b, kwargs, ctx, pairComparison({ sql: a, name: nameA, type: ctx.typeOf(nameA) }, { sql: b, name: nameB, type: ctx.typeOf(nameB) }, ctx))}), true)`,
        value: `[${a}, ${b}]`,
        valueColumns: [nameA, nameB],
      };
    },
  };
}

function multicolumnMap(
  unexpected: (columns: readonly string[]) => string,
  window = false,
): MapDefinition {
  return {
    kind: 'map',
    nulls: 'skip',
    compile(kwargs, ctx) {
      const names = list(kwargs, 'column_list').map((n) => {
        ctx.column(n);
        return n as string;
      });
      const columns = names.map((n) => quoteIdentifier(n));
      const ignore = kwargs['ignore_row_if'] ?? 'all_values_are_missing';
      const domain =
        ignore === 'any_value_is_missing'
          ? columns.map((c) => `${c} IS NOT NULL`).join(' AND ')
          : ignore === 'never'
            ? 'true'
            : `NOT (${columns.map((c) => `${c} IS NULL`).join(' AND ')})`;
      return {
        domain,
        unexpected: unexpected(columns),
        value: `struct_pack(${names.map((n, i) => `${quoteIdentifier(n)} := ${columns[i]}`).join(', ')})`,
        valueColumns: names,
        window,
      };
    },
  };
}

const catalog: Readonly<Record<string, ExpectationDefinition>> = {
  // table
  expect_table_row_count_to_be_between: {
    kind: 'aggregate',
    metrics: (kwargs) => {
      integerBounds(kwargs);
      return rowCountMetric();
    },
    evaluate: (kwargs, m) => {
      const rows = Number(m['rows']);
      return {
        success: between(rows, {
          ...kwargs,
          min_value: kwargs['min_value'] ?? null,
          max_value: kwargs['max_value'] ?? null,
        }),
        observed_value: rows,
      };
    },
  },
  expect_table_row_count_to_equal: {
    kind: 'aggregate',
    metrics: (kwargs) => {
      if (!Number.isInteger(kwargs['value']))
        throw new ExpectationArgumentError('value must be an integer');
      return rowCountMetric();
    },
    evaluate: (kwargs, m) => ({
      success: Number(m['rows']) === Number(kwargs['value']),
      observed_value: Number(m['rows']),
    }),
  },
  expect_table_row_count_to_equal_other_table: {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => ({
      rows: 'count(*)',
      other: `(SELECT count(*) FROM ${ctx.dataset(kwargs['other_table_name'])})`,
    }),
    evaluate: (_kwargs, m) => {
      const self = Number(m['rows']);
      const other = Number(m['other']);
      return { success: self === other, observed_value: { self, other } };
    },
  },
  expect_table_column_count_to_equal: {
    kind: 'aggregate',
    metrics: (kwargs) => {
      if (!Number.isInteger(kwargs['value']))
        throw new ExpectationArgumentError('value must be an integer');
      return {};
    },
    evaluate: (kwargs, _m, ctx) => ({
      success: ctx.columnNames.length === Number(kwargs['value']),
      observed_value: ctx.columnNames.length,
    }),
  },
  expect_table_column_count_to_be_between: {
    kind: 'aggregate',
    metrics: (kwargs) => {
      integerBounds(kwargs);
      return {};
    },
    evaluate: (kwargs, _m, ctx) => ({
      success: between(ctx.columnNames.length, { min_value: null, max_value: null, ...kwargs }),
      observed_value: ctx.columnNames.length,
    }),
  },
  expect_table_columns_to_match_ordered_list: {
    kind: 'aggregate',
    metrics: () => ({}),
    evaluate: (kwargs, _m, ctx) => {
      const observed = ctx.columnNames;
      if (kwargs['column_list'] === null || kwargs['column_list'] === undefined)
        return { success: true, observed_value: [...observed] };
      const expected = list(kwargs, 'column_list');
      const success =
        expected.length === observed.length && expected.every((name, i) => name === observed[i]);
      const mismatched = success
        ? undefined
        : Array.from({ length: Math.max(expected.length, observed.length) }, (_, i) => ({
            'Expected Column Position': i,
            Expected: expected[i] ?? null,
            Found: observed[i] ?? null,
          })).filter((d) => d.Expected !== d.Found);
      return {
        success,
        observed_value: [...observed],
        ...(mismatched === undefined ? {} : { details: { mismatched } }),
      };
    },
  },
  expect_table_columns_to_match_set: {
    kind: 'aggregate',
    metrics: () => ({}),
    evaluate: (kwargs, _m, ctx) => {
      const expected = list(kwargs, 'column_set');
      const { missing, extra } = compareSets(ctx.columnNames, expected);
      const exact = kwargs['exact_match'] !== false;
      const success = missing.length === 0 && (!exact || extra.length === 0);
      return {
        success,
        observed_value: [...ctx.columnNames],
        ...(success
          ? {}
          : {
              details: {
                mismatched: {
                  ...(missing.length > 0 ? { missing } : {}),
                  ...(extra.length > 0 ? { unexpected: extra } : {}),
                },
              },
            }),
      };
    },
  },
  expect_column_to_exist: {
    kind: 'aggregate',
    metrics: () => ({}),
    evaluate: (kwargs, _m, ctx) => {
      const name = string(kwargs, 'column');
      const index = ctx.columnNames.indexOf(name);
      const position = optionalNumber(kwargs, 'column_index');
      return {
        success: index >= 0 && (position === undefined || position === index),
        observed_value: index >= 0 ? index : null,
      };
    },
  },

  // column map
  expect_column_values_to_not_be_null: notNull,
  expect_column_values_to_be_null: beNull,
  expect_column_values_to_be_unique: unique,
  expect_column_values_to_be_between: {
    kind: 'map',
    nulls: 'skip',
    compile(kwargs, ctx) {
      requireBound(kwargs);
      const { name, column } = single(kwargs, ctx);
      return {
        domain: `${column} IS NOT NULL`,
        unexpected: `NOT coalesce(${withinBounds(comparedWith(column, name, ctx.typeOf(name)), kwargs, ctx)}, false)`,
        value: column,
        valueColumns: [name],
      };
    },
  },
  expect_column_values_to_be_in_set: columnMap(
    (column, kwargs, ctx, name) =>
      `NOT (${inSet(column, list(kwargs, 'value_set'), ctx.typeOf(name), ctx)})`,
  ),
  expect_column_values_to_not_be_in_set: columnMap((column, kwargs, ctx, name) =>
    inSet(column, list(kwargs, 'value_set'), ctx.typeOf(name), ctx),
  ),
  expect_column_values_to_match_regex: columnMap(
    (column, kwargs, ctx, name) =>
      `NOT regexp_matches(${asText(column, ctx, name)}, ${ctx.literal(string(kwargs, 'regex'))})`,
  ),
  expect_column_values_to_not_match_regex: columnMap(
    (column, kwargs, ctx, name) =>
      `regexp_matches(${asText(column, ctx, name)}, ${ctx.literal(string(kwargs, 'regex'))})`,
  ),
  expect_column_values_to_match_regex_list: columnMap(
    (column, kwargs, ctx, name) =>
      `NOT ${combine(
        regexes(kwargs, 'regex_list').map(
          (r) => `regexp_matches(${asText(column, ctx, name)}, ${ctx.literal(r)})`,
        ),
        kwargs['match_on'] ?? 'any',
      )}`,
  ),
  expect_column_values_to_not_match_regex_list: columnMap((column, kwargs, ctx, name) =>
    combine(
      regexes(kwargs, 'regex_list').map(
        (r) => `regexp_matches(${asText(column, ctx, name)}, ${ctx.literal(r)})`,
      ),
      'any',
    ),
  ),
  expect_column_values_to_match_like_pattern: columnMap(
    (column, kwargs, ctx, name) =>
      `NOT (${asText(column, ctx, name)} LIKE ${ctx.literal(string(kwargs, 'like_pattern'))})`,
  ),
  expect_column_values_to_not_match_like_pattern: columnMap(
    (column, kwargs, ctx, name) =>
      `${asText(column, ctx, name)} LIKE ${ctx.literal(string(kwargs, 'like_pattern'))}`,
  ),
  expect_column_values_to_match_like_pattern_list: columnMap(
    (column, kwargs, ctx, name) =>
      `NOT ${combine(
        regexes(kwargs, 'like_pattern_list').map(
          (p) => `${asText(column, ctx, name)} LIKE ${ctx.literal(p)}`,
        ),
        kwargs['match_on'] ?? 'any',
      )}`,
  ),
  expect_column_values_to_not_match_like_pattern_list: columnMap((column, kwargs, ctx, name) =>
    combine(
      regexes(kwargs, 'like_pattern_list').map(
        (p) => `${asText(column, ctx, name)} LIKE ${ctx.literal(p)}`,
      ),
      'any',
    ),
  ),
  expect_column_values_to_be_of_type: {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => {
      single(kwargs, ctx);
      return {};
    },
    evaluate: (kwargs, _m, ctx) => typeCheck(kwargs, ctx, [kwargs['type_']]),
    forColumns: (kwargs, ctx) => valueTypeMap(kwargs, ctx, () => [kwargs['type_']]),
  },
  expect_column_values_to_be_in_type_list: {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => {
      single(kwargs, ctx);
      return {};
    },
    evaluate: (kwargs, _m, ctx) =>
      kwargs['type_list'] === null
        ? { success: true, observed_value: typeObservedName(ctx.typeOf(string(kwargs, 'column'))) }
        : typeCheck(kwargs, ctx, list(kwargs, 'type_list')),
    forColumns: (kwargs, ctx) =>
      kwargs['type_list'] === null || kwargs['type_list'] === undefined
        ? undefined
        : valueTypeMap(kwargs, ctx, () => list(kwargs, 'type_list')),
  },
  expect_column_value_z_scores_to_be_less_than: columnMap((raw, kwargs, ctx, name) => {
    const threshold = optionalNumber(kwargs, 'threshold');
    if (threshold === undefined) throw new ExpectationArgumentError('"threshold" is required');
    const column = isMixed(ctx.typeOf(name)) ? orderedAs(raw, name, 'number') : raw;
    const z = `(${column} - avg(${column}) OVER ()) / nullif(stddev_samp(${column}) OVER (), 0)`;
    return `coalesce(${kwargs['double_sided'] === false ? z : `abs(${z})`} >= ${ctx.literal(threshold)}, false)`;
  }, true),
  expect_column_values_to_be_increasing: columnMap(
    (column, kwargs, ctx, name) =>
      orderCheck(
        column,
        kwargs['strictly'] === true,
        '<',
        isMixed(ctx.typeOf(name)) ? name : undefined,
      ),
    true,
  ),
  expect_column_values_to_be_decreasing: columnMap(
    (column, kwargs, ctx, name) =>
      orderCheck(
        column,
        kwargs['strictly'] === true,
        '>',
        isMixed(ctx.typeOf(name)) ? name : undefined,
      ),
    true,
  ),
  expect_column_values_to_be_dateutil_parseable: columnMap(
    (column) =>
      `TRY_CAST(${column} AS TIMESTAMP) IS NULL AND TRY_CAST(${column} AS DATE) IS NULL AND try_strptime(${column}, ['%b %d %Y %H:%M:%S', '%m/%d/%Y', '%d %B %Y', '%B %d, %Y', '%Y%m%d']) IS NULL`,
    false,
    {
      kinds: ['string'],
      message:
        'Values passed to expect_column_values_to_be_dateutil_parseable must be of type string.',
    },
  ),
  expect_column_values_to_match_strftime_format: columnMap(
    (column, kwargs, ctx, name) =>
      `try_strptime(${asText(column, ctx, name)}, ${ctx.literal(string(kwargs, 'strftime_format'))}) IS NULL`,
  ),
  // Only text is parsed: a number is not JSON text here, as json.loads(1) fails in GX.
  expect_column_values_to_be_json_parseable: columnMap((column, _kwargs, ctx, name) =>
    ctx.typeOf(name).kind === 'string' ? `NOT json_valid(${column})` : 'true',
  ),
  expect_column_value_lengths_to_be_between: {
    kind: 'map',
    nulls: 'skip',
    compile(kwargs, ctx) {
      requireBound(kwargs, { ordered: false });
      const { name, column } = single(kwargs, ctx);
      const type = ctx.typeOf(name);
      if (type.kind !== 'string' && !isMixed(type)) {
        throw new ExpectationArgumentError(
          `column "${name}" holds ${type.kind} values, which have no length`,
        );
      }
      const text = isMixed(type) ? orderedAs(column, name, 'text') : column;
      return {
        domain: `${column} IS NOT NULL`,
        unexpected: `NOT coalesce(${withinBounds(`length(${text})`, kwargs, ctx)}, false)`,
        value: column,
        valueColumns: [name],
      };
    },
  },
  expect_column_value_lengths_to_equal: columnMap((column, kwargs, ctx, name) => {
    const type = ctx.typeOf(name);
    if (type.kind !== 'string' && !isMixed(type))
      throw new ExpectationArgumentError(
        `column "${name}" holds ${type.kind} values, which have no length`,
      );
    const text = isMixed(type) ? orderedAs(column, name, 'text') : column;
    return `length(${text}) <> ${ctx.literal(optionalNumber(kwargs, 'value'))}`;
  }),

  // column aggregate
  expect_column_min_to_be_between: columnAggregateBetween((c) => `min(${c})`, {
    numeric: false,
    ordered: true,
    boundsRequired: true,
  }),
  expect_column_max_to_be_between: columnAggregateBetween((c) => `max(${c})`, {
    numeric: false,
    ordered: true,
    boundsRequired: false,
  }),
  expect_column_mean_to_be_between: columnAggregateBetween((c) => `avg(${c})`, {
    numeric: true,
    boundsRequired: false,
  }),
  expect_column_median_to_be_between: columnAggregateBetween((c) => `median(${c})`, {
    numeric: true,
    boundsRequired: false,
  }),
  expect_column_sum_to_be_between: columnAggregateBetween((c) => `sum(${c})`, {
    numeric: true,
    boundsRequired: true,
  }),
  expect_column_stdev_to_be_between: columnAggregateBetween((c) => `stddev_samp(${c})`, {
    numeric: true,
    boundsRequired: false,
  }),
  expect_column_unique_value_count_to_be_between: columnAggregateBetween(
    (c) => `count(DISTINCT ${c})`,
    { numeric: false, boundsRequired: false },
  ),
  expect_column_proportion_of_unique_values_to_be_between: columnAggregateBetween(
    (c) => `CASE WHEN count(${c}) = 0 THEN NULL ELSE count(DISTINCT ${c}) / count(${c}) END`,
    { numeric: false, boundsRequired: false },
  ),
  expect_column_distinct_values_to_be_in_set: {
    kind: 'aggregate',
    metrics: distinctValues,
    evaluate: (kwargs, m, ctx) => {
      const observed = distinctObserved(kwargs, m, ctx);
      const expected = kwargs['value_set'] === null ? null : list(kwargs, 'value_set');
      return {
        success: expected === null || compareSets(observed, expected).extra.length === 0,
        observed_value: observed,
      };
    },
  },
  expect_column_distinct_values_to_contain_set: {
    kind: 'aggregate',
    metrics: distinctValues,
    evaluate: (kwargs, m, ctx) => {
      const observed = distinctObserved(kwargs, m, ctx);
      return {
        success: compareSets(observed, list(kwargs, 'value_set')).missing.length === 0,
        observed_value: observed,
      };
    },
  },
  expect_column_distinct_values_to_equal_set: {
    kind: 'aggregate',
    metrics: distinctValues,
    evaluate: (kwargs, m, ctx) => {
      const observed = distinctObserved(kwargs, m, ctx);
      const { missing, extra } = compareSets(observed, list(kwargs, 'value_set'));
      return { success: missing.length === 0 && extra.length === 0, observed_value: observed };
    },
  },
  expect_column_most_common_value_to_be_in_set: {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => {
      const { column } = single(kwargs, ctx);
      // Every value tied for the highest count (GX reports all of them).
      return {
        counts: `histogram(${column}) FILTER (WHERE ${column} IS NOT NULL)`,
        elements: 'count(*)',
        present: `count(${column})`,
      };
    },
    evaluate: (kwargs, m) => {
      const counts =
        (m['counts'] as { key: unknown; value: unknown }[] | Map<unknown, unknown> | null) ?? [];
      const entries = Array.isArray(counts)
        ? counts.map((e) => [e.key, Number(e.value)] as const)
        : [...(counts as Map<unknown, unknown>).entries()].map(([k, v]) => [k, Number(v)] as const);
      const top = Math.max(...entries.map(([, c]) => c));
      const modes = entries.filter(([, c]) => c === top).map(([k]) => plain(k));
      const expected = list(kwargs, 'value_set');
      const inSetValues = modes.filter((v) => compareSets([v], expected).extra.length === 0);
      // Without ties_okay a tie fails, even when every tied value is in the set (GX's rule).
      const success =
        kwargs['ties_okay'] === true
          ? inSetValues.length > 0
          : modes.length === 1 && inSetValues.length === 1;
      const elements = Number(m['elements']);
      const missing = elements - Number(m['present']);
      return {
        success,
        observed_value: modes,
        element_count: elements,
        missing_count: missing,
        missing_percent: elements === 0 ? null : (missing / elements) * 100,
      };
    },
  },
  expect_column_quantile_values_to_be_between: {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => {
      const { column } = single(kwargs, ctx);
      const ranges = kwargs['quantile_ranges'] as
        { quantiles?: unknown; value_ranges?: unknown } | undefined;
      const quantiles = ranges?.quantiles;
      if (
        !Array.isArray(quantiles) ||
        !Array.isArray(ranges?.value_ranges) ||
        quantiles.length !== ranges.value_ranges.length
      ) {
        throw new ExpectationArgumentError(
          'quantile_ranges needs "quantiles" and "value_ranges" of the same length',
        );
      }
      return {
        values:
          orderedRanges(ranges.value_ranges) &&
          `quantile_disc(${column}, [${quantiles.map((q) => ctx.literal(q)).join(', ')}])`,
      };
    },
    evaluate: (kwargs, m) => {
      const ranges = kwargs['quantile_ranges'] as {
        quantiles: number[];
        value_ranges: [unknown, unknown][];
      };
      const values = ((m['values'] as unknown[] | null) ?? []).map((v) => Number(plain(v)));
      const success =
        values.length === ranges.quantiles.length &&
        values.every((v, i) =>
          between(v, {
            min_value: ranges.value_ranges[i]?.[0] ?? null,
            max_value: ranges.value_ranges[i]?.[1] ?? null,
          }),
        );
      return { success, observed_value: { quantiles: ranges.quantiles, values } };
    },
  },

  // multi-column
  expect_column_pair_values_to_be_equal: pairMap((_a, _b, _kwargs, _ctx, pair) =>
    pair.compare('='),
  ),
  expect_column_pair_values_a_to_be_greater_than_b: pairMap((_a, _b, kwargs, _ctx, pair) =>
    pair.compare(kwargs['or_equal'] === true ? '>=' : '>'),
  ),
  expect_column_pair_values_to_be_in_set: pairMap((_a, _b, kwargs, _ctx, pair) => {
    const pairs = list(kwargs, 'value_pairs_set').map((p) => {
      if (!Array.isArray(p) || p.length !== 2)
        throw new ExpectationArgumentError('value_pairs_set must hold pairs');
      return `(${pair.equals('A', p[0])} AND ${pair.equals('B', p[1])})`;
    });
    return pairs.length === 0 ? 'false' : pairs.join(' OR ');
  }),
  expect_compound_columns_to_be_unique: withDuplicateKeys(
    multicolumnMap((columns) => `count(*) OVER (PARTITION BY ${columns.join(', ')}) > 1`, true),
  ),
  expect_select_column_values_to_be_unique_within_record: multicolumnMap(
    (columns) =>
      `list_unique(list_filter([${columns.join(', ')}], x -> x IS NOT NULL)) < len(list_filter([${columns.join(', ')}], x -> x IS NOT NULL))`,
  ),
  expect_multicolumn_sum_to_equal: {
    kind: 'map',
    nulls: 'skip',
    compile(kwargs, ctx) {
      const names = list(kwargs, 'column_list').map((n) => {
        ctx.column(n);
        return n as string;
      });
      const columns = names.map((n) => quoteIdentifier(n));
      return {
        domain: `NOT (${columns.map((c) => `${c} IS NULL`).join(' AND ')})`,
        unexpected: `coalesce(${columns.map((c, i) => `coalesce(${isMixed(ctx.typeOf(names[i] as string)) ? orderedAs(c, names[i] as string, 'number') : c}, 0)`).join(' + ')} <> ${ctx.literal(kwargs['sum_total'])}, true)`,
        value: `struct_pack(${names.map((n, i) => `${quoteIdentifier(n)} := ${columns[i]}`).join(', ')})`,
        valueColumns: names,
      };
    },
  },

  // anomaly detection against the metric history of earlier runs
  row_count_anomaly: robustAnomaly,
  metric_anomaly: robustAnomaly,
  metric_change: anomalyDefinition((history, value, kwargs) => {
    const max = optionalNumber(kwargs, 'max_change_percent');
    if (max === undefined) throw new ExpectationArgumentError('"max_change_percent" is required');
    return relativeChangeCheck(history.at(-1), value, { maxChangePercent: max });
  }),

  // A query whose rows are the failures; {dataset} is the dataset under validation.
  sql: {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => {
      const query = string(kwargs, 'query');
      if (!query.includes('{dataset}')) {
        throw new ExpectationArgumentError(
          'the query must read the dataset as {dataset}, e.g. select * from {dataset} where amount < 0',
        );
      }
      const failures = `(${query.replaceAll('{dataset}', ctx.relation)})`;
      return {
        failures: `(SELECT count(*) FROM ${failures} __sluice_failures)`,
        sample: `(SELECT list(to_json(__sluice_sample)) FROM (SELECT * FROM ${failures} __sluice_f LIMIT 20) __sluice_sample)`,
      };
    },
    evaluate: (_kwargs, m) => {
      const failures = Number(m['failures']);
      const sample = ((m['sample'] as unknown[] | null) ?? []).map((row) =>
        typeof row === 'string' ? (JSON.parse(row) as unknown) : row,
      );
      return {
        success: failures === 0,
        observed_value: failures,
        details: { failing_rows_sample: sample },
      };
    },
  },

  // dbt-style and Sluice expectations
  freshness: {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => {
      const { column } = single(kwargs, ctx);
      return { latest: `max(${column})` };
    },
    evaluate: (kwargs, m) => {
      const latest = m['latest'];
      const maxAge = parseDuration(string(kwargs, 'max_age'));
      const at =
        latest instanceof Date
          ? latest.getTime()
          : latest === null || latest === undefined
            ? NaN
            : new Date(String(latest)).getTime();
      const ageSeconds = Number.isNaN(at) ? null : Math.round((Date.now() - at) / 1000);
      return {
        success: ageSeconds !== null && ageSeconds * 1000 <= maxAge,
        observed_value: { latest: plain(latest), age_seconds: ageSeconds },
      };
    },
  },
  relationships: columnMap((column, kwargs, ctx) => {
    const to = ctx.dataset(kwargs['to']);
    const field = quoteIdentifier(string(kwargs, 'field'));
    return `${column} NOT IN (SELECT ${field} FROM ${to} WHERE ${field} IS NOT NULL)`;
  }),
};

/** SQL computing a metric of the current data, for the paths metric history stores. */
export function metricSQL(path: string, ctx: CompileContext): string {
  if (path === 'row_count') return 'count(*)';
  const match = /^columns\.(.+)\.(null_percent|distinct_count|mean|min|max)$/.exec(path);
  if (match === null) {
    throw new ExpectationArgumentError(
      `unknown metric "${path}"; use row_count or columns.<column>.<null_percent|distinct_count|mean|min|max>`,
    );
  }
  const column = ctx.column(match[1]);
  switch (match[2]) {
    case 'null_percent':
      return `100.0 * count(*) FILTER (WHERE ${column} IS NULL) / nullif(count(*), 0)`;
    case 'distinct_count':
      return `count(DISTINCT ${column})`;
    case 'mean':
      return `avg(${column})`;
    case 'min':
      return `min(${column})`;
    default:
      return `max(${column})`;
  }
}

/** The metric an anomaly expectation watches (`row_count` unless `metric` says otherwise). */
export function anomalyMetric(type: string, kwargs: Kwargs): string | undefined {
  if (type === 'row_count_anomaly') return 'row_count';
  if (type === 'metric_anomaly' || type === 'metric_change')
    return typeof kwargs['metric'] === 'string' ? kwargs['metric'] : 'row_count';
  return undefined;
}

function anomalyDefinition(
  judge: (history: readonly number[], value: number, kwargs: Kwargs) => AnomalyCheckResult,
): AggregateDefinition {
  return {
    kind: 'aggregate',
    metrics: (kwargs, ctx) => ({
      value: metricSQL(anomalyMetric('metric_anomaly', kwargs) as string, ctx),
    }),
    evaluate: (kwargs, m, ctx) => {
      const value = Number(plain(m['value']));
      const outcome = toAnomalyExpectationResult(
        judge(ctx.history(anomalyMetric('metric_anomaly', kwargs) as string), value, kwargs),
      );
      return {
        success: outcome.success,
        observed_value: outcome.result.observed_value,
        details: outcome.result.details,
      };
    },
  };
}

function withDuplicateKeys(definition: MapDefinition): MapDefinition {
  return {
    ...definition,
    compile: (kwargs, ctx) => ({
      ...definition.compile(kwargs, ctx),
      duplicateKeys: list(kwargs, 'column_list').map((name) => quoteIdentifier(String(name))),
    }),
  };
}

function orderedRanges(ranges: readonly unknown[]): true {
  for (const range of ranges) {
    const [low, high] = Array.isArray(range) ? range : [];
    if (typeof low === 'number' && typeof high === 'number' && low > high) {
      throw new ExpectationArgumentError('value_ranges must be ordered as [low, high]');
    }
  }
  return true;
}

/** `mixedName`: the column's name when it holds values of several types. */
function orderCheck(
  column: string,
  strictly: boolean,
  operator: '<' | '>',
  mixedName?: string,
): string {
  const previous = `lag(${column}) OVER (PARTITION BY ${column} IS NULL ORDER BY __sluice_row)`;
  const op = strictly ? (`${operator}=` as const) : operator;
  if (mixedName !== undefined)
    return `coalesce(${mixedCompare(column, previous, op, mixedName, mixedName)}, false)`;
  return `coalesce(${column} ${op} ${previous}, false)`;
}

/** dbt test names and short names mapped to GX expectation types. */
const ALIASES: Readonly<Record<string, string>> = {
  not_null: 'expect_column_values_to_not_be_null',
  unique: 'expect_column_values_to_be_unique',
  accepted_values: 'expect_column_values_to_be_in_set',
  expect_column_pair_values_A_to_be_greater_than_B:
    'expect_column_pair_values_a_to_be_greater_than_b',
};

/** dbt's argument names of its generic tests, mapped to the GX names of the aliased expectation. */
const ALIAS_ARGUMENTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  not_null: { column_name: 'column' },
  unique: { column_name: 'column' },
  accepted_values: { column_name: 'column', values: 'value_set' },
  relationships: { column_name: 'column' },
};

/**
 * An expectation's kwargs with dbt's argument names translated (`accepted_values`' `values` and
 * `quote`, `column_name`, `relationships`' `to: ref('customers')`; dbt 1.10's nested
 * `arguments`), so a dbt test runs as its GX expectation. Other kwargs are returned as given.
 *
 * @example
 * ```ts
 * canonicalKwargs('accepted_values', { column_name: 'status', values: ['a', 'b'] });
 * // { column: 'status', value_set: ['a', 'b'] }
 * ```
 */
export function canonicalKwargs(type: string, kwargs: Kwargs): Kwargs {
  const renames = ALIAS_ARGUMENTS[type];
  if (renames === undefined) return kwargs;
  const nested = kwargs['arguments'];
  const flat: Record<string, unknown> =
    nested !== null && typeof nested === 'object' && !Array.isArray(nested)
      ? {
          ...Object.fromEntries(Object.entries(kwargs).filter(([k]) => k !== 'arguments')),
          ...nested,
        }
      : { ...kwargs };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const target = renames[key] ?? key;
    if (target !== key && flat[target] !== undefined) {
      throw new ExpectationArgumentError(`give "${target}" or dbt's "${key}", not both`);
    }
    out[target] = value;
  }
  if (type === 'accepted_values' && 'quote' in out) {
    const quote = out['quote'];
    delete out['quote'];
    if (typeof quote !== 'boolean')
      throw new ExpectationArgumentError(
        `"quote" must be true or false, got ${JSON.stringify(quote)}`,
      );
    // quote: false compares the values as written in SQL, so numbers given as text are numbers.
    if (!quote && Array.isArray(out['value_set']))
      out['value_set'] = (out['value_set'] as unknown[]).map((v) =>
        typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v,
      );
  }
  if (type === 'relationships' && typeof out['to'] === 'string') {
    const ref = /^\s*ref\(\s*(?:"([^"]+)"|'([^']+)')\s*\)\s*$/.exec(out['to']);
    if (ref !== null) out['to'] = ref[1] ?? ref[2];
  }
  return out;
}

/**
 * The definition of an expectation type (GX name, dbt alias or Sluice name), if known.
 *
 * @example
 * ```ts
 * expectationDefinition('not_null')?.kind; // 'map'
 * ```
 */
export function expectationDefinition(type: string): ExpectationDefinition | undefined {
  return catalog[ALIASES[type] ?? type];
}

/** Every expectation type the catalog knows, GX names first. */
export const expectationTypes: readonly string[] = [
  ...Object.keys(catalog),
  ...Object.keys(ALIASES),
];

/** Whether a map expectation's `unexpected` needs the rows in their original order. */
export function needsRowOrder(
  definition: ExpectationDefinition,
  kwargs: Kwargs,
  ctx: CompileContext,
): boolean {
  return (
    definition.kind === 'map' && definition.compile(kwargs, ctx).unexpected.includes('__sluice_row')
  );
}
