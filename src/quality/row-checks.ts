import { SluiceError } from '../core/errors.js';
import { canonicalKwargs, expectationDefinition } from './catalog.js';
import { expectationArgumentProblems } from './expectation-arguments.js';
import type { ExpectationConfig } from './expectation.js';
import {
  codePoints,
  compareValues,
  identity,
  isJSON,
  kindOf,
  likeRegex,
  pythonRegex,
  show,
  textOf,
} from './row-values.js';

/** A record as a row check reads it: column name to JS value (absent columns are null). */
export type CheckedRow = Readonly<Record<string, unknown>>;

/** The record meets the expectation. */
export const ROW_PASS = 0;
/** The record is outside the expectation's domain (its value is null): GX's "missing". */
export const ROW_MISSING = 1;
/** The record does not meet the expectation. */
export const ROW_FAIL = 2;
/**
 * The record's value has a type the expectation cannot judge (text against number bounds, a
 * number's length): a failure, where a batch check raises an error for the whole column.
 */
export const ROW_INCOMPARABLE = 3;

/** What {@link RowCheck.evaluate} says about one record. */
export type RowOutcome =
  typeof ROW_PASS | typeof ROW_MISSING | typeof ROW_FAIL | typeof ROW_INCOMPARABLE;

/**
 * A row-level expectation compiled to JavaScript: judges one record at a time with the same
 * semantics as the catalog's SQL (GX semantics: nulls are missing for all but the null checks,
 * regexes are searched anywhere in the value, sets compare numbers with numbers and text with
 * text).
 *
 * @example
 * ```ts
 * const check = compileRowCheck(expect.between('amount', { min: 0 }));
 * check.evaluate({ amount: -5 }); // ROW_FAIL
 * check.explain({ amount: -5 }); // 'amount = -5 is below the minimum 0'
 * ```
 */
export interface RowCheck {
  readonly expectation: ExpectationConfig;
  /** The GX expectation type, aliases resolved. */
  readonly type: string;
  /** The columns the expectation reads. */
  readonly columns: readonly string[];
  /** Share of non-missing records that must pass, 0..1 (GX `mostly`; 1 when not given). */
  readonly mostly: number;
  evaluate(row: CheckedRow): RowOutcome;
  /** Why a record that did not pass failed, in a few words naming the column and value. */
  explain(row: CheckedRow): string;
}

/**
 * An expectation that cannot be checked record by record: its type judges a whole dataset, needs
 * other records, or has arguments that make no sense.
 *
 * @example
 * ```ts
 * throw new RowCheckError('"regex" must be a string');
 * ```
 */
export class RowCheckError extends SluiceError {
  constructor(message: string, hint?: string) {
    super('CONFIG_INVALID', message, hint === undefined ? {} : { hint });
  }
}

type Kwargs = Readonly<Record<string, unknown>>;
type Compiled = Pick<RowCheck, 'columns' | 'evaluate' | 'explain'>;

const ALIASES: Readonly<Record<string, string>> = {
  not_null: 'expect_column_values_to_not_be_null',
  accepted_values: 'expect_column_values_to_be_in_set',
  unique: 'expect_column_values_to_be_unique',
  expect_column_pair_values_A_to_be_greater_than_B:
    'expect_column_pair_values_a_to_be_greater_than_b',
};

const COMPILERS: Readonly<Record<string, (kwargs: Kwargs) => Compiled>> = {
  expect_column_values_to_not_be_null: (kwargs) => {
    const column = columnOf(kwargs);
    return {
      columns: [column],
      evaluate: (row) =>
        valueAt(row, column) === null || valueAt(row, column) === undefined ? ROW_FAIL : ROW_PASS,
      explain: (row) =>
        valueAt(row, column) === undefined ? `the record has no "${column}"` : `${column} is null`,
    };
  },
  expect_column_values_to_be_null: (kwargs) => {
    const column = columnOf(kwargs);
    return {
      columns: [column],
      evaluate: (row) =>
        valueAt(row, column) === null || valueAt(row, column) === undefined ? ROW_PASS : ROW_FAIL,
      explain: (row) => `${column} = ${show(valueAt(row, column))} is not null`,
    };
  },
  expect_column_values_to_be_between: (kwargs) => {
    requireBound(kwargs);
    checkBoundsOrder(kwargs);
    const column = columnOf(kwargs);
    const judge = boundsJudge(kwargs);
    return single(
      column,
      (value) => judge.test(value),
      (value) => judge.explain(column, value),
    );
  },
  expect_column_values_to_be_in_set: (kwargs) => {
    const column = columnOf(kwargs);
    const set = valueSet(kwargs['value_set'], 'value_set');
    return single(
      column,
      (value) => (set.has(value) ? ROW_PASS : ROW_FAIL),
      (value) => `${column} = ${show(value)} is not in ${set.describe}`,
    );
  },
  expect_column_values_to_not_be_in_set: (kwargs) => {
    const column = columnOf(kwargs);
    const set = valueSet(kwargs['value_set'], 'value_set');
    return single(
      column,
      (value) => (set.has(value) ? ROW_FAIL : ROW_PASS),
      (value) => `${column} = ${show(value)} is in the forbidden ${set.describe}`,
    );
  },
  expect_column_values_to_match_regex: (kwargs) => {
    const regex = compileRegex(stringArg(kwargs, 'regex'));
    const column = columnOf(kwargs);
    return single(
      column,
      (value) => (regex.test(textOf(value)) ? ROW_PASS : ROW_FAIL),
      (value) => `${column} = ${show(value)} does not match ${String(regex)}`,
    );
  },
  expect_column_values_to_not_match_regex: (kwargs) => {
    const regex = compileRegex(stringArg(kwargs, 'regex'));
    const column = columnOf(kwargs);
    return single(
      column,
      (value) => (regex.test(textOf(value)) ? ROW_FAIL : ROW_PASS),
      (value) => `${column} = ${show(value)} matches ${String(regex)}`,
    );
  },
  expect_column_values_to_match_regex_list: (kwargs) =>
    patternList(kwargs, 'regex_list', compileRegex, 'match'),
  expect_column_values_to_not_match_regex_list: (kwargs) =>
    patternList(kwargs, 'regex_list', compileRegex, 'not-match'),
  expect_column_values_to_match_like_pattern: (kwargs) => {
    const pattern = likeRegex(stringArg(kwargs, 'like_pattern'));
    const column = columnOf(kwargs);
    return single(
      column,
      (value) => (pattern.test(textOf(value)) ? ROW_PASS : ROW_FAIL),
      (value) => `${column} = ${show(value)} is not LIKE '${String(kwargs['like_pattern'])}'`,
    );
  },
  expect_column_values_to_not_match_like_pattern: (kwargs) => {
    const pattern = likeRegex(stringArg(kwargs, 'like_pattern'));
    const column = columnOf(kwargs);
    return single(
      column,
      (value) => (pattern.test(textOf(value)) ? ROW_FAIL : ROW_PASS),
      (value) => `${column} = ${show(value)} is LIKE '${String(kwargs['like_pattern'])}'`,
    );
  },
  expect_column_values_to_match_like_pattern_list: (kwargs) =>
    patternList(kwargs, 'like_pattern_list', likeRegex, 'match'),
  expect_column_values_to_not_match_like_pattern_list: (kwargs) =>
    patternList(kwargs, 'like_pattern_list', likeRegex, 'not-match'),
  expect_column_value_lengths_to_be_between: (kwargs) => {
    requireBound(kwargs);
    for (const key of ['min_value', 'max_value'])
      if (kwargs[key] !== null && kwargs[key] !== undefined && typeof kwargs[key] !== 'number')
        throw new RowCheckError('min_value and max_value must be integers');
    const column = columnOf(kwargs);
    const judge = boundsJudge(kwargs);
    return single(
      column,
      (value) => (typeof value === 'string' ? judge.test(codePoints(value)) : ROW_INCOMPARABLE),
      (value) =>
        typeof value === 'string'
          ? `${column} = ${show(value)} has length ${codePoints(value)}, ${judge.explainLength()}`
          : `${column} = ${show(value)} is ${kindOf(value)}, which has no length`,
    );
  },
  expect_column_value_lengths_to_equal: (kwargs) => {
    const length = kwargs['value'];
    if (typeof length !== 'number') throw new RowCheckError('"value" must be a number');
    const column = columnOf(kwargs);
    return single(
      column,
      (value) => (codePoints(textOf(value)) === length ? ROW_PASS : ROW_FAIL),
      (value) =>
        `${column} = ${show(value)} has length ${codePoints(textOf(value))}, not ${length}`,
    );
  },
  expect_column_values_to_be_json_parseable: (kwargs) => {
    const column = columnOf(kwargs);
    return single(
      column,
      (value) => (typeof value === 'string' && isJSON(value) ? ROW_PASS : ROW_FAIL),
      (value) =>
        typeof value === 'string'
          ? `${column} = ${show(value)} is not JSON`
          : `${column} = ${show(value)} is ${kindOf(value)}, not JSON text`,
    );
  },
  expect_column_pair_values_to_be_equal: (kwargs) =>
    pair(
      kwargs,
      (a, b) => {
        const c = compareValues(a, b);
        return c === undefined ? ROW_INCOMPARABLE : c === 0 ? ROW_PASS : ROW_FAIL;
      },
      'are not equal',
    ),
  expect_column_pair_values_a_to_be_greater_than_b: (kwargs) => {
    const orEqual = kwargs['or_equal'] === true;
    return pair(
      kwargs,
      (a, b) => {
        const c = compareValues(a, b);
        return c === undefined
          ? ROW_INCOMPARABLE
          : c > 0 || (orEqual && c === 0)
            ? ROW_PASS
            : ROW_FAIL;
      },
      orEqual ? 'has A less than B' : 'has A not greater than B',
    );
  },
  expect_column_pair_values_to_be_in_set: (kwargs) => {
    const value = kwargs['value_pairs_set'];
    if (!Array.isArray(value)) throw new RowCheckError('"value_pairs_set" must be a list');
    const pairs = value.map((p: unknown) => {
      if (!Array.isArray(p) || p.length !== 2)
        throw new RowCheckError('value_pairs_set must hold pairs');
      return p as [unknown, unknown];
    });
    return pair(
      kwargs,
      (a, b) =>
        pairs.some(([x, y]) => compareValues(a, x) === 0 && compareValues(b, y) === 0)
          ? ROW_PASS
          : ROW_FAIL,
      'is not one of the value_pairs_set',
    );
  },
  expect_select_column_values_to_be_unique_within_record: (kwargs) => {
    const columns = columnList(kwargs);
    const skip = multicolumnDomain(columns, kwargs['ignore_row_if']);
    const repeated = (row: CheckedRow): boolean => {
      const seen = new Set<string>();
      for (const column of columns) {
        const value = valueAt(row, column);
        if (value === null || value === undefined) continue;
        const key = identity(value);
        if (seen.has(key)) return true;
        seen.add(key);
      }
      return false;
    };
    return {
      columns,
      evaluate: (row) => (skip(row) ? ROW_MISSING : repeated(row) ? ROW_FAIL : ROW_PASS),
      explain: (row) => `${showColumns(row, columns)} repeat a value within the record`,
    };
  },
  expect_multicolumn_sum_to_equal: (kwargs) => {
    const columns = columnList(kwargs);
    const total = kwargs['sum_total'];
    if (typeof total !== 'number') throw new RowCheckError('"sum_total" must be a number');
    const skip = multicolumnDomain(columns, undefined);
    const sum = (row: CheckedRow): number | undefined => {
      let result = 0;
      for (const column of columns) {
        const value = valueAt(row, column);
        if (value === null || value === undefined) continue;
        if (typeof value === 'number') result += value;
        else if (typeof value === 'bigint') result += Number(value);
        else return undefined;
      }
      return result;
    };
    return {
      columns,
      evaluate: (row) => {
        if (skip(row)) return ROW_MISSING;
        const result = sum(row);
        return result === undefined ? ROW_INCOMPARABLE : result === total ? ROW_PASS : ROW_FAIL;
      },
      explain: (row) => {
        const result = sum(row);
        return result === undefined
          ? `${showColumns(row, columns)} are not all numbers`
          : `${showColumns(row, columns)} sum to ${result}, not ${total}`;
      },
    };
  },
};

/**
 * Every expectation type a row check can evaluate (GX names); aliases (`not_null`,
 * `accepted_values`) resolve to them.
 *
 * @example
 * ```ts
 * ROW_CHECK_TYPES.includes('expect_column_values_to_be_between'); // true
 * ```
 */
export const ROW_CHECK_TYPES: readonly string[] = Object.keys(COMPILERS);

const OTHER_RECORDS: Readonly<Record<string, string>> = {
  expect_column_values_to_be_unique: 'use dedupe({ key, ttl }) to drop records whose key repeats',
  expect_compound_columns_to_be_unique:
    'use dedupe({ key: [...columns], ttl }) to drop records whose key repeats',
  expect_column_values_to_be_increasing: 'order is a property of a dataset, not of one record',
  expect_column_values_to_be_decreasing: 'order is a property of a dataset, not of one record',
  expect_column_value_z_scores_to_be_less_than:
    'a z-score needs the mean and deviation of a whole dataset',
  relationships:
    "use enrich({ lookup, on, missing: 'quarantine' }) to quarantine records whose key the other table lacks",
};

/**
 * Compiles a row-level expectation for record-by-record checks. Refuses, with a
 * {@link RowCheckError} naming the expectation, what a single record cannot answer: aggregate
 * and table expectations, expectations that compare records with each other (uniqueness, order),
 * `row_condition` (a SQL predicate), and types not in {@link ROW_CHECK_TYPES}.
 *
 * @example
 * ```ts
 * const check = compileRowCheck(expect.inSet('currency', ['EUR', 'USD']));
 * check.evaluate({ currency: 'GBP' }); // ROW_FAIL
 * check.evaluate({ currency: null }); // ROW_MISSING
 * ```
 */
export function compileRowCheck(expectation: ExpectationConfig): RowCheck {
  const type = ALIASES[expectation.type] ?? expectation.type;
  const name = `expectation "${expectation.id}" (${expectation.type})`;
  const definition = expectationDefinition(type);
  if (definition === undefined) throw new RowCheckError(`${name} is not a known expectation type`);
  if (definition.kind === 'aggregate')
    throw new RowCheckError(
      `${name} judges a whole dataset (an aggregate or table expectation), not single records, so a stream cannot check it`,
      "check it in a batch pipeline on the stream's output, or compute the figure with a window step",
    );
  const otherRecords = OTHER_RECORDS[type];
  if (otherRecords !== undefined)
    throw new RowCheckError(
      `${name} compares each record with other records, so a stream cannot check it record by record`,
      otherRecords,
    );
  const compile = COMPILERS[type];
  if (compile === undefined)
    throw new RowCheckError(
      `${name} is not evaluated record by record in streams`,
      `streams check ${ROW_CHECK_TYPES.join(', ')}`,
    );
  const argumentProblems = expectationArgumentProblems(expectation.type, expectation.kwargs);
  if (argumentProblems.length > 0)
    throw new RowCheckError(
      `${name}: ${argumentProblems.map((p) => p.message).join('; ')}`,
      argumentProblems.find((p) => p.hint !== undefined)?.hint,
    );
  let kwargs: Kwargs;
  try {
    // dbt's argument names (accepted_values' values, column_name) as the GX expectation's.
    kwargs = canonicalKwargs(expectation.type, expectation.kwargs);
  } catch (error) {
    throw new RowCheckError(`${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (kwargs['row_condition'] !== undefined && kwargs['row_condition'] !== null)
    throw new RowCheckError(
      `${name} has a row_condition (where), a SQL predicate, which a stream does not evaluate`,
      'drop the condition and put a filter step before, or check the records in a batch pipeline',
    );
  const mostly = kwargs['mostly'] ?? 1;
  if (typeof mostly !== 'number' || !(mostly >= 0 && mostly <= 1))
    throw new RowCheckError(
      `${name}: "mostly" must be a number between 0 and 1, got ${JSON.stringify(mostly)}`,
    );
  let compiled: Compiled;
  try {
    compiled = compile(kwargs);
  } catch (error) {
    if (error instanceof RowCheckError)
      throw new RowCheckError(`${name}: ${error.message}`, error.hint);
    throw error;
  }
  return { expectation, type, mostly, ...compiled };
}

// ---------------------------------------------------------------------------------------------
// Arguments

function columnOf(kwargs: Kwargs): string {
  return stringArg(kwargs, 'column');
}

function stringArg(kwargs: Kwargs, key: string): string {
  const value = kwargs[key];
  if (typeof value !== 'string') throw new RowCheckError(`"${key}" must be a string`);
  return value;
}

function columnList(kwargs: Kwargs): string[] {
  const value = kwargs['column_list'];
  if (!Array.isArray(value) || value.some((c) => typeof c !== 'string'))
    throw new RowCheckError('"column_list" must be a list of column names');
  return value as string[];
}

function compileRegex(source: string): RegExp {
  try {
    return pythonRegex(source);
  } catch (error) {
    throw new RowCheckError(
      `regex ${JSON.stringify(source)} is not valid: ${(error as Error).message}`,
    );
  }
}

function requireBound(kwargs: Kwargs): void {
  if (absent(kwargs['min_value']) && absent(kwargs['max_value']))
    throw new RowCheckError('min_value and max_value cannot both be None');
}

function checkBoundsOrder(kwargs: Kwargs): void {
  const min = kwargs['min_value'];
  const max = kwargs['max_value'];
  if (absent(min) || absent(max)) return;
  if (typeof min !== typeof max)
    throw new RowCheckError('min_value and max_value must either be None or of the same type');
  if ((min as number) > (max as number))
    throw new RowCheckError('min_value cannot be greater than max_value');
}

function absent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

// ---------------------------------------------------------------------------------------------
// Shapes

/** A single-column check: null values are missing, the others judged by `test`. */
function single(
  column: string,
  test: (value: unknown) => RowOutcome,
  explain: (value: unknown) => string,
): Compiled {
  return {
    columns: [column],
    evaluate: (row) => {
      const value = valueAt(row, column);
      return value === null || value === undefined ? ROW_MISSING : test(value);
    },
    explain: (row) => explain(valueAt(row, column)),
  };
}

function patternList(
  kwargs: Kwargs,
  key: string,
  compilePattern: (pattern: string) => RegExp,
  mode: 'match' | 'not-match',
): Compiled {
  const list = kwargs[key];
  if (!Array.isArray(list) || list.some((p) => typeof p !== 'string'))
    throw new RowCheckError(`"${key}" must hold strings`);
  const patterns = (list as string[]).map(compilePattern);
  const all = mode === 'match' && kwargs['match_on'] === 'all';
  const column = columnOf(kwargs);
  // An empty list matches nothing (the catalog's `false`).
  const matches = (text: string): boolean =>
    patterns.length > 0 &&
    (all ? patterns.every((p) => p.test(text)) : patterns.some((p) => p.test(text)));
  return single(
    column,
    (value) => (matches(textOf(value)) === (mode === 'match') ? ROW_PASS : ROW_FAIL),
    (value) =>
      mode === 'match'
        ? `${column} = ${show(value)} does not match ${all ? 'all' : 'any'} of ${key}`
        : `${column} = ${show(value)} matches one of ${key}`,
  );
}

function pair(
  kwargs: Kwargs,
  test: (a: unknown, b: unknown) => RowOutcome,
  failure: string,
): Compiled {
  const a = stringArg(kwargs, 'column_A');
  const b = stringArg(kwargs, 'column_B');
  const ignore = kwargs['ignore_row_if'];
  const skip =
    ignore === 'either_value_is_missing'
      ? (x: unknown, y: unknown) => absent(x) || absent(y)
      : ignore === 'neither'
        ? () => false
        : (x: unknown, y: unknown) => absent(x) && absent(y);
  return {
    columns: [a, b],
    evaluate: (row) => {
      const x = valueAt(row, a);
      const y = valueAt(row, b);
      if (skip(x, y)) return ROW_MISSING;
      // A null on either side is unexpected (the catalog's coalesce(NOT (...), true)).
      if (absent(x) || absent(y)) return ROW_FAIL;
      return test(x, y);
    },
    explain: (row) => `${showColumns(row, [a, b])} ${failure}`,
  };
}

function multicolumnDomain(
  columns: readonly string[],
  ignore: unknown,
): (row: CheckedRow) => boolean {
  if (ignore === 'any_value_is_missing')
    return (row) => columns.some((c) => absent(valueAt(row, c)));
  if (ignore === 'never') return () => false;
  return (row) => columns.every((c) => absent(valueAt(row, c)));
}

// ---------------------------------------------------------------------------------------------
// Values

interface BoundsJudge {
  test(value: unknown): RowOutcome;
  explain(column: string, value: unknown): string;
  explainLength(): string;
}

/**
 * GX's bounds check: either bound may be null, strict bounds exclude equality. Numbers compare
 * with numbers, text with text, Dates with ISO-8601 text; anything
 * else is incomparable.
 */
function boundsJudge(kwargs: Kwargs): BoundsJudge {
  const min = absent(kwargs['min_value']) ? undefined : kwargs['min_value'];
  const max = absent(kwargs['max_value']) ? undefined : kwargs['max_value'];
  const strictMin = kwargs['strict_min'] === true;
  const strictMax = kwargs['strict_max'] === true;
  for (const bound of [min, max])
    if (bound !== undefined && typeof bound !== 'number' && typeof bound !== 'string')
      throw new RowCheckError(`bounds must be numbers or text, got ${JSON.stringify(bound)}`);
  const numeric =
    (min === undefined || typeof min === 'number') &&
    (max === undefined || typeof max === 'number');
  const low = typeof min === 'number' ? min : -Infinity;
  const high = typeof max === 'number' ? max : Infinity;
  const belowMin = (c: number): boolean => (strictMin ? c <= 0 : c < 0);
  const aboveMax = (c: number): boolean => (strictMax ? c >= 0 : c > 0);
  const test = (value: unknown): RowOutcome => {
    if (numeric && typeof value === 'number') {
      // NaN sorts above every number, as in the engine.
      const v = value === value ? value : Infinity;
      return (strictMin ? v > low : v >= low) && (strictMax ? v < high : v <= high)
        ? ROW_PASS
        : ROW_FAIL;
    }
    if (min !== undefined) {
      const c = compareValues(value, min);
      if (c === undefined) return ROW_INCOMPARABLE;
      if (belowMin(c)) return ROW_FAIL;
    }
    if (max !== undefined) {
      const c = compareValues(value, max);
      if (c === undefined) return ROW_INCOMPARABLE;
      if (aboveMax(c)) return ROW_FAIL;
    }
    return ROW_PASS;
  };
  const range = (): string => {
    if (min !== undefined && max !== undefined)
      return `between ${show(min)} and ${show(max)}${strictMin || strictMax ? ' (strict)' : ''}`;
    if (min !== undefined) return `${strictMin ? 'above' : 'at least'} ${show(min)}`;
    return `${strictMax ? 'below' : 'at most'} ${show(max)}`;
  };
  return {
    test,
    explain: (column, value) =>
      test(value) === ROW_INCOMPARABLE
        ? `${column} = ${show(value)} is ${kindOf(value)}, which cannot be compared with ${typeof (min ?? max) === 'number' ? 'number' : 'text'} bounds`
        : `${column} = ${show(value)} is not ${range()}`,
    explainLength: () => `not ${range()}`,
  };
}

/** The sets of `value_set`, by kind: numbers match numbers (1 = 1.0), text matches text. */
function valueSet(
  value: unknown,
  key: string,
): { has(v: unknown): boolean; readonly describe: string } {
  if (!Array.isArray(value)) throw new RowCheckError(`"${key}" must be a list`);
  const numbers = new Set<number>();
  const texts = new Set<string>();
  const booleans = new Set<boolean>();
  const asText = new Set<string>();
  for (const item of value as unknown[]) {
    if (typeof item === 'number' || typeof item === 'bigint') numbers.add(Number(item));
    else if (typeof item === 'string') texts.add(item);
    else if (typeof item === 'boolean') booleans.add(item);
    if (item !== null && item !== undefined) asText.add(String(item));
  }
  const shown = (value as unknown[]).slice(0, 10).map(show).join(', ');
  return {
    has(v) {
      if (typeof v === 'string') return texts.has(v);
      if (typeof v === 'number') return numbers.has(v);
      if (typeof v === 'bigint') return numbers.has(Number(v));
      if (typeof v === 'boolean') return booleans.has(v);
      return asText.has(textOf(v));
    },
    describe: `the set [${shown}${value.length > 10 ? `, ... (${value.length} values)` : ''}]`,
  };
}

/** The values of several columns of a record, for messages. */
function showColumns(row: CheckedRow, columns: readonly string[]): string {
  return columns.map((c) => `${c} = ${show(valueAt(row, c))}`).join(', ');
}

/**
 * A record's value of `column`, own properties only: a record without `constructor` or
 * `toString` holds no value there, not a member of `Object.prototype`. Only a function or object
 * found needs the own-property check, so plain values cost nothing extra.
 */
function valueAt(row: Readonly<Record<string, unknown>>, column: string): unknown {
  const value = row[column];
  return (typeof value === 'function' || (typeof value === 'object' && value !== null)) &&
    !Object.hasOwn(row, column)
    ? undefined
    : value;
}
