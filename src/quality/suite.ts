import { ConfigError } from '../core/errors.js';
import type { Diagnostic } from '../core/errors.js';
import { canonicalKwargs, expectationDefinition } from './catalog.js';
import { expectationArgumentProblems } from './expectation-arguments.js';
import type { ExpectationConfig, Severity, Suite } from './expectation.js';

/** What every `expect.*` builder takes besides its own arguments. */
export interface ExpectationOptions {
  /** What a failure does: `error` (default) fails the run, `warn` reports, `quarantine` sets rows aside. */
  readonly severity?: Severity;
  /** A stable id for reports and quarantine entries (default: derived from type and columns). */
  readonly id?: string;
  /** Share of non-null values that must pass, 0..1 (row-level expectations). */
  readonly mostly?: number;
  /** Only rows matching this SQL predicate are checked. */
  readonly where?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

function make(
  type: string,
  kwargs: Record<string, unknown>,
  options: ExpectationOptions = {},
): ExpectationConfig {
  const all: Record<string, unknown> = { ...kwargs };
  if (options.mostly !== undefined) all['mostly'] = options.mostly;
  if (options.where !== undefined) all['row_condition'] = options.where;
  return {
    id: options.id ?? defaultId(type, all),
    type,
    kwargs: all,
    severity: options.severity ?? 'error',
    ...(options.meta === undefined ? {} : { meta: options.meta }),
  };
}

function defaultId(type: string, kwargs: Readonly<Record<string, unknown>>): string {
  const columns = [
    kwargs['column'],
    kwargs['column_A'],
    kwargs['column_B'],
    ...((kwargs['column_list'] as unknown[] | undefined) ?? []),
  ].filter((c): c is string => typeof c === 'string');
  const short = type.replace(/^expect_/, '');
  return columns.length === 0 ? short : `${short}(${columns.join(',')})`;
}

type Bounds = {
  readonly min?: number | string | null;
  readonly max?: number | string | null;
  readonly strictMin?: boolean;
  readonly strictMax?: boolean;
};

function bounds(b: Bounds): Record<string, unknown> {
  return {
    min_value: b.min ?? null,
    max_value: b.max ?? null,
    ...(b.strictMin === undefined ? {} : { strict_min: b.strictMin }),
    ...(b.strictMax === undefined ? {} : { strict_max: b.strictMax }),
  };
}

/**
 * Expectation builders with Great Expectations semantics and short names. Each returns an
 * {@link ExpectationConfig} whose `type` is the GX expectation name, so suites port both ways.
 *
 * @example
 * ```ts
 * suite('orders', [
 *   expect.notNull('order_id'),
 *   expect.between('amount', { min: 0 }, { severity: 'quarantine', mostly: 0.99 }),
 *   expect.inSet('currency', ['EUR', 'USD'], { severity: 'warn' }),
 * ]);
 * ```
 */
export const expect = {
  rowCountBetween: (b: Bounds, o?: ExpectationOptions) =>
    make('expect_table_row_count_to_be_between', bounds(b), o),
  rowCount: (value: number, o?: ExpectationOptions) =>
    make('expect_table_row_count_to_equal', { value }, o),
  rowCountEqualsDataset: (dataset: string, o?: ExpectationOptions) =>
    make('expect_table_row_count_to_equal_other_table', { other_table_name: dataset }, o),
  columnCount: (value: number, o?: ExpectationOptions) =>
    make('expect_table_column_count_to_equal', { value }, o),
  columns: (columns: readonly string[], o?: ExpectationOptions) =>
    make('expect_table_columns_to_match_ordered_list', { column_list: columns }, o),
  columnSet: (columns: readonly string[], exactMatch = true, o?: ExpectationOptions) =>
    make('expect_table_columns_to_match_set', { column_set: columns, exact_match: exactMatch }, o),
  columnExists: (column: string, o?: ExpectationOptions) =>
    make('expect_column_to_exist', { column }, o),
  notNull: (column: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_not_be_null', { column }, o),
  isNull: (column: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_be_null', { column }, o),
  unique: (column: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_be_unique', { column }, o),
  between: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_values_to_be_between', { column, ...bounds(b) }, o),
  inSet: (column: string, values: readonly unknown[], o?: ExpectationOptions) =>
    make('expect_column_values_to_be_in_set', { column, value_set: values }, o),
  notInSet: (column: string, values: readonly unknown[], o?: ExpectationOptions) =>
    make('expect_column_values_to_not_be_in_set', { column, value_set: values }, o),
  matchesRegex: (column: string, regex: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_match_regex', { column, regex }, o),
  notMatchesRegex: (column: string, regex: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_not_match_regex', { column, regex }, o),
  matchesLike: (column: string, pattern: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_match_like_pattern', { column, like_pattern: pattern }, o),
  lengthBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_value_lengths_to_be_between', { column, ...bounds(b) }, o),
  lengthEquals: (column: string, value: number, o?: ExpectationOptions) =>
    make('expect_column_value_lengths_to_equal', { column, value }, o),
  ofType: (column: string, type: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_be_of_type', { column, type_: type }, o),
  increasing: (column: string, strictly = false, o?: ExpectationOptions) =>
    make('expect_column_values_to_be_increasing', { column, strictly }, o),
  decreasing: (column: string, strictly = false, o?: ExpectationOptions) =>
    make('expect_column_values_to_be_decreasing', { column, strictly }, o),
  jsonParseable: (column: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_be_json_parseable', { column }, o),
  strftimeFormat: (column: string, format: string, o?: ExpectationOptions) =>
    make('expect_column_values_to_match_strftime_format', { column, strftime_format: format }, o),
  minBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_min_to_be_between', { column, ...bounds(b) }, o),
  maxBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_max_to_be_between', { column, ...bounds(b) }, o),
  meanBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_mean_to_be_between', { column, ...bounds(b) }, o),
  medianBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_median_to_be_between', { column, ...bounds(b) }, o),
  sumBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_sum_to_be_between', { column, ...bounds(b) }, o),
  stdevBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_stdev_to_be_between', { column, ...bounds(b) }, o),
  distinctCountBetween: (column: string, b: Bounds, o?: ExpectationOptions) =>
    make('expect_column_unique_value_count_to_be_between', { column, ...bounds(b) }, o),
  distinctInSet: (column: string, values: readonly unknown[], o?: ExpectationOptions) =>
    make('expect_column_distinct_values_to_be_in_set', { column, value_set: values }, o),
  compoundUnique: (columns: readonly string[], o?: ExpectationOptions) =>
    make('expect_compound_columns_to_be_unique', { column_list: columns }, o),
  pairGreater: (a: string, b: string, orEqual = false, o?: ExpectationOptions) =>
    make(
      'expect_column_pair_values_a_to_be_greater_than_b',
      { column_A: a, column_B: b, or_equal: orEqual },
      o,
    ),
  pairEqual: (a: string, b: string, o?: ExpectationOptions) =>
    make('expect_column_pair_values_to_be_equal', { column_A: a, column_B: b }, o),
  multicolumnSum: (columns: readonly string[], total: number, o?: ExpectationOptions) =>
    make('expect_multicolumn_sum_to_equal', { column_list: columns, sum_total: total }, o),
  /** dbt's `relationships`: every value of `column` exists in `field` of dataset `to`. */
  relationships: (column: string, to: string, field: string, o?: ExpectationOptions) =>
    make('relationships', { column, to, field }, o),
  /** The latest value of a timestamp column is at most `maxAge` old (e.g. `'1h'`). */
  freshness: (column: string, maxAge: string, o?: ExpectationOptions) =>
    make('freshness', { column, max_age: maxAge }, o),
  /** A SQL query whose rows are the failures; read the dataset as `{dataset}`. */
  sql: (query: string, o?: ExpectationOptions) => make('sql', { query }, o),
  /** Any expectation by its GX name and kwargs. */
  gx: (type: string, kwargs: Record<string, unknown>, o?: ExpectationOptions) =>
    make(type, kwargs, o),
} as const;

/**
 * Declares a suite: a name and its expectations.
 *
 * @example
 * ```ts
 * export const ordersSuite = suite('orders', [expect.notNull('order_id'), expect.unique('order_id')]);
 * ```
 */
export function suite(name: string, expectations: readonly ExpectationConfig[]): Suite {
  return { name, expectations };
}

/**
 * Reads a Great Expectations ExpectationSuite JSON document (`expectation_type` or `type` keys,
 * `kwargs`, `meta`). A `meta.severity` of `warn` or `quarantine` sets the severity. Every problem
 * (unknown types, missing kwargs objects) is reported at once.
 *
 * @example
 * ```ts
 * const s = suiteFromGX(JSON.parse(readFileSync('orders.json', 'utf8')));
 * ```
 */
export function suiteFromGX(document: unknown, fallbackName = 'suite'): Suite {
  const doc = document as {
    expectation_suite_name?: unknown;
    name?: unknown;
    expectations?: unknown;
  } | null;
  if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.expectations)) {
    throw new ConfigError([
      {
        code: 'invalid-suite',
        message: 'a suite document needs an "expectations" list',
        hint: 'use the ExpectationSuite JSON format of Great Expectations',
      },
    ]);
  }
  const problems: Diagnostic[] = [];
  const expectations: ExpectationConfig[] = [];
  doc.expectations.forEach((raw: unknown, index: number) => {
    const e = raw as {
      expectation_type?: unknown;
      type?: unknown;
      kwargs?: unknown;
      meta?: unknown;
      id?: unknown;
    } | null;
    const type = e?.expectation_type ?? e?.type;
    const path = `expectations[${index}]`;
    if (typeof type !== 'string') {
      problems.push({
        code: 'invalid-suite',
        path,
        message: 'an expectation needs "expectation_type" (or "type")',
      });
      return;
    }
    if (expectationDefinition(type) === undefined) {
      problems.push({
        code: 'unknown-expectation',
        path,
        message: `unknown expectation type "${type}"`,
      });
      return;
    }
    const kwargs = (e?.kwargs ?? {}) as Record<string, unknown>;
    const meta = (e?.meta ?? {}) as Record<string, unknown>;
    const severity = meta['severity'];
    if (
      severity !== undefined &&
      severity !== 'error' &&
      severity !== 'warn' &&
      severity !== 'quarantine'
    ) {
      problems.push({
        code: 'invalid-suite',
        path: `${path}.meta.severity`,
        message: `severity must be error, warn or quarantine, got ${JSON.stringify(severity)}`,
      });
      return;
    }
    expectations.push({
      ...make(type, kwargs, { ...(severity === undefined ? {} : { severity }), meta }),
      ...(typeof e?.id === 'string' ? { id: e.id } : {}),
    });
  });
  if (problems.length > 0) throw new ConfigError(problems);
  const name =
    typeof doc.expectation_suite_name === 'string'
      ? doc.expectation_suite_name
      : typeof doc.name === 'string'
        ? doc.name
        : fallbackName;
  return { name, expectations };
}

/**
 * Problems with a suite as a pipeline gate: unknown expectation types, every expectation's
 * arguments (unknown ones, wrong types, missing required ones; dbt's names for dbt tests),
 * severities other than error/warn/quarantine, and `quarantine` on expectations that judge the
 * whole dataset (they have no rows to set aside).
 *
 * @example
 * ```ts
 * suiteProblems(suite('s', [expect.rowCount(5, { severity: 'quarantine' })])); // one problem
 * ```
 */
export function suiteProblems(
  value: unknown,
): { code: string; message: string; path: string; hint?: string }[] {
  const candidate = value as Partial<Suite> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    !Array.isArray(candidate.expectations)
  ) {
    return [
      {
        code: 'invalid-suite',
        message: 'suite must be built with suite(name, [...]) or suiteFromGX(json)',
        path: 'suite',
      },
    ];
  }
  const problems: { code: string; message: string; path: string; hint?: string }[] = [];
  candidate.expectations.forEach((e, i) => {
    const path = `suite.expectations[${i}]`;
    const definition = expectationDefinition(e.type);
    if (definition === undefined) {
      const suggestion = e.type.startsWith('expect_')
        ? undefined
        : 'use a Great Expectations expectation_type or expect.*';
      problems.push({
        code: 'unknown-expectation',
        message: `unknown expectation type "${e.type}"`,
        path,
        ...(suggestion === undefined ? {} : { hint: suggestion }),
      });
      return;
    }
    for (const argument of expectationArgumentProblems(e.type, e.kwargs ?? {})) {
      problems.push({
        code: 'invalid-expectation-argument',
        message: `expectation "${e.id}" (${e.type}): ${argument.message}`,
        path: `${path}.kwargs.${argument.argument}`,
        ...(argument.hint === undefined ? {} : { hint: argument.hint }),
      });
    }
    if (!['error', 'warn', 'quarantine'].includes(e.severity)) {
      problems.push({
        code: 'invalid-suite',
        message: `severity must be error, warn or quarantine, got ${JSON.stringify(e.severity)}`,
        path,
      });
    } else if (e.severity === 'quarantine' && definition.kind !== 'map') {
      problems.push({
        code: 'invalid-suite',
        message: `expectation "${e.id}" judges the whole dataset, so it cannot quarantine rows`,
        path,
        hint: "use severity 'error' or 'warn' for table and aggregate expectations",
      });
    }
  });
  return problems;
}

/**
 * Names of other datasets a suite reads (relationships' `to`, row counts of other tables), so
 * the planner can run the check after them.
 *
 * @example
 * ```ts
 * suiteDatasets(suite('s', [expect.relationships('customer_id', 'customers', 'id')])); // ['customers']
 * ```
 */
export function suiteDatasets(value: Suite): string[] {
  const names = value.expectations.flatMap((e) => {
    let kwargs = e.kwargs;
    try {
      kwargs = canonicalKwargs(e.type, e.kwargs);
    } catch {
      // suiteProblems reports the arguments; the names as given are the best guess here.
    }
    return [kwargs['to'], kwargs['other_table_name']];
  });
  return [...new Set(names.filter((n): n is string => typeof n === 'string'))];
}
