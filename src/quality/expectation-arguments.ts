import { closestName } from '../core/closest-name.js';
import { evaluateSuiteParameter, isSuiteParameter } from './suite-parameters.js';

/** One problem with one argument of an expectation. */
export interface ArgumentProblem {
  /** The argument's name (as written: dbt's names for dbt tests). */
  readonly argument: string;
  readonly message: string;
  readonly hint?: string;
}

/** What an argument accepts. */
type Kind =
  | 'column'
  | 'columns'
  | 'string'
  | 'strings'
  | 'list'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'bound'
  | 'count'
  | 'scalar'
  | 'object'
  | 'result_format'
  | 'share'
  | readonly string[];

interface Argument {
  readonly kind: Kind;
  readonly required?: boolean;
  /** Whether null is a meaningful value (GX's None), not only "not given". */
  readonly nullable?: boolean;
}

type Spec = Readonly<Record<string, Argument>>;

const req = (kind: Kind, nullable = false): Argument => ({ kind, required: true, nullable });
const opt = (kind: Kind): Argument => ({ kind });

const PARSERS = [
  'pandas',
  'great_expectations',
  'great_expectations__experimental__',
  'spark',
  'sql',
];

/** Arguments every expectation takes (GX's common kwargs). */
const COMMON: Spec = {
  result_format: opt('result_format'),
  catch_exceptions: opt('boolean'),
  include_config: opt('boolean'),
  meta: opt('object'),
  row_condition: opt('string'),
  condition_parser: opt(PARSERS),
};

const BOUNDS: Spec = {
  min_value: opt('bound'),
  max_value: opt('bound'),
  strict_min: opt('boolean'),
  strict_max: opt('boolean'),
};
const COUNT_BOUNDS: Spec = {
  min_value: opt('count'),
  max_value: opt('count'),
  strict_min: opt('boolean'),
  strict_max: opt('boolean'),
};
const COLUMN: Spec = { column: req('column') };
const MAP: Spec = { mostly: opt('share') };
const PAIR: Spec = {
  column_A: req('column'),
  column_B: req('column'),
  ignore_row_if: opt(['both_values_are_missing', 'either_value_is_missing', 'neither']),
  ...MAP,
};
const MULTI: Spec = {
  column_list: req('columns'),
  ignore_row_if: opt(['all_values_are_missing', 'any_value_is_missing', 'never']),
  ...MAP,
};
const DATETIMES: Spec = { parse_strings_as_datetimes: opt('boolean') };
const ANOMALY: Spec = {
  metric: opt('string'),
  window: opt('integer'),
  threshold: opt('number'),
  min_history: opt('integer'),
};

/** Arguments by expectation type; `oneOf` lists arguments of which at least one is needed. */
const SPECS: Readonly<Record<string, { readonly args: Spec; readonly oneOf?: readonly string[] }>> =
  {
    expect_table_row_count_to_be_between: { args: COUNT_BOUNDS },
    expect_table_row_count_to_equal: { args: { value: req('integer') } },
    expect_table_row_count_to_equal_other_table: { args: { other_table_name: req('string') } },
    expect_table_column_count_to_equal: { args: { value: req('integer') } },
    expect_table_column_count_to_be_between: { args: COUNT_BOUNDS },
    expect_table_columns_to_match_ordered_list: { args: { column_list: req('strings', true) } },
    expect_table_columns_to_match_set: {
      args: { column_set: req('strings'), exact_match: opt('boolean') },
    },
    expect_column_to_exist: { args: { ...COLUMN, column_index: opt('integer') } },
    expect_column_values_to_not_be_null: { args: { ...COLUMN, ...MAP } },
    expect_column_values_to_be_null: { args: { ...COLUMN, ...MAP } },
    expect_column_values_to_be_unique: { args: { ...COLUMN, ...MAP } },
    expect_column_values_to_be_between: {
      args: {
        ...COLUMN,
        ...MAP,
        ...BOUNDS,
        ...DATETIMES,
        allow_cross_type_comparisons: opt('boolean'),
        output_strftime_format: opt('string'),
      },
      oneOf: ['min_value', 'max_value'],
    },
    expect_column_values_to_be_in_set: {
      args: { ...COLUMN, ...MAP, ...DATETIMES, value_set: req('list') },
    },
    expect_column_values_to_not_be_in_set: {
      args: { ...COLUMN, ...MAP, ...DATETIMES, value_set: req('list') },
    },
    expect_column_values_to_match_regex: { args: { ...COLUMN, ...MAP, regex: req('string') } },
    expect_column_values_to_not_match_regex: { args: { ...COLUMN, ...MAP, regex: req('string') } },
    expect_column_values_to_match_regex_list: {
      args: { ...COLUMN, ...MAP, regex_list: req('strings'), match_on: opt(['any', 'all']) },
    },
    expect_column_values_to_not_match_regex_list: {
      args: { ...COLUMN, ...MAP, regex_list: req('strings') },
    },
    expect_column_values_to_match_like_pattern: {
      args: { ...COLUMN, ...MAP, like_pattern: req('string') },
    },
    expect_column_values_to_not_match_like_pattern: {
      args: { ...COLUMN, ...MAP, like_pattern: req('string') },
    },
    expect_column_values_to_match_like_pattern_list: {
      args: { ...COLUMN, ...MAP, like_pattern_list: req('strings'), match_on: opt(['any', 'all']) },
    },
    expect_column_values_to_not_match_like_pattern_list: {
      args: { ...COLUMN, ...MAP, like_pattern_list: req('strings') },
    },
    expect_column_values_to_be_of_type: { args: { ...COLUMN, ...MAP, type_: req('string') } },
    expect_column_values_to_be_in_type_list: {
      args: { ...COLUMN, ...MAP, type_list: req('strings', true) },
    },
    expect_column_value_z_scores_to_be_less_than: {
      args: { ...COLUMN, ...MAP, threshold: req('number'), double_sided: opt('boolean') },
    },
    expect_column_values_to_be_increasing: {
      args: { ...COLUMN, ...MAP, ...DATETIMES, strictly: opt('boolean') },
    },
    expect_column_values_to_be_decreasing: {
      args: { ...COLUMN, ...MAP, ...DATETIMES, strictly: opt('boolean') },
    },
    expect_column_values_to_be_dateutil_parseable: { args: { ...COLUMN, ...MAP } },
    expect_column_values_to_match_strftime_format: {
      args: { ...COLUMN, ...MAP, strftime_format: req('string') },
    },
    expect_column_values_to_be_json_parseable: { args: { ...COLUMN, ...MAP } },
    expect_column_value_lengths_to_be_between: {
      args: { ...COLUMN, ...MAP, ...COUNT_BOUNDS },
      oneOf: ['min_value', 'max_value'],
    },
    expect_column_value_lengths_to_equal: { args: { ...COLUMN, ...MAP, value: req('integer') } },
    expect_column_min_to_be_between: {
      args: { ...COLUMN, ...BOUNDS, ...DATETIMES, output_strftime_format: opt('string') },
    },
    expect_column_max_to_be_between: {
      args: { ...COLUMN, ...BOUNDS, ...DATETIMES, output_strftime_format: opt('string') },
    },
    expect_column_mean_to_be_between: { args: { ...COLUMN, ...BOUNDS } },
    expect_column_median_to_be_between: { args: { ...COLUMN, ...BOUNDS } },
    expect_column_sum_to_be_between: { args: { ...COLUMN, ...BOUNDS } },
    expect_column_stdev_to_be_between: { args: { ...COLUMN, ...BOUNDS } },
    expect_column_unique_value_count_to_be_between: { args: { ...COLUMN, ...COUNT_BOUNDS } },
    expect_column_proportion_of_unique_values_to_be_between: { args: { ...COLUMN, ...BOUNDS } },
    expect_column_distinct_values_to_be_in_set: {
      args: { ...COLUMN, ...DATETIMES, value_set: req('list', true) },
    },
    expect_column_distinct_values_to_contain_set: {
      args: { ...COLUMN, ...DATETIMES, value_set: req('list') },
    },
    expect_column_distinct_values_to_equal_set: {
      args: { ...COLUMN, ...DATETIMES, value_set: req('list') },
    },
    expect_column_most_common_value_to_be_in_set: {
      args: { ...COLUMN, value_set: req('list'), ties_okay: opt('boolean') },
    },
    expect_column_quantile_values_to_be_between: {
      args: { ...COLUMN, quantile_ranges: req('object'), allow_relative_error: opt('scalar') },
    },
    expect_column_pair_values_to_be_equal: { args: PAIR },
    expect_column_pair_values_a_to_be_greater_than_b: {
      args: { ...PAIR, or_equal: opt('boolean'), ...DATETIMES },
    },
    expect_column_pair_values_to_be_in_set: { args: { ...PAIR, value_pairs_set: req('list') } },
    expect_compound_columns_to_be_unique: { args: MULTI },
    expect_select_column_values_to_be_unique_within_record: { args: MULTI },
    expect_multicolumn_sum_to_equal: {
      args: { ...MULTI, sum_total: req('number') },
    },
    row_count_anomaly: { args: ANOMALY },
    metric_anomaly: { args: ANOMALY },
    metric_change: {
      args: { metric: opt('string'), window: opt('integer'), max_change_percent: req('number') },
    },
    sql: { args: { query: req('string') } },
    freshness: { args: { ...COLUMN, max_age: req('string') } },
    relationships: { args: { ...COLUMN, ...MAP, to: req('string'), field: req('string') } },
  };

/** dbt's names for the arguments of its tests, as a user wrote them. */
const DBT_NAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  not_null: { column: 'column_name' },
  unique: { column: 'column_name' },
  accepted_values: { column: 'column_name', value_set: 'values' },
  relationships: { column: 'column_name' },
};

function accepts(kind: Kind, value: unknown): boolean {
  if (Array.isArray(kind)) return typeof value === 'string' && kind.includes(value);
  switch (kind) {
    case 'column':
      return typeof value === 'string' && value !== '';
    case 'columns':
      return (
        Array.isArray(value) &&
        value.length > 0 &&
        value.every((v) => typeof v === 'string' && v !== '')
      );
    case 'string':
      return typeof value === 'string';
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'list':
      return Array.isArray(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'bound':
      return (
        (typeof value === 'number' && !Number.isNaN(value)) ||
        typeof value === 'string' ||
        value instanceof Date ||
        isSuiteParameter(value)
      );
    case 'count':
      return Number.isInteger(value) || isSuiteParameter(value);
    case 'scalar':
      return ['number', 'string', 'boolean'].includes(typeof value);
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value);
    case 'result_format':
      return (
        (typeof value === 'string' &&
          ['BOOLEAN_ONLY', 'BASIC', 'SUMMARY', 'COMPLETE'].includes(value.toUpperCase())) ||
        (value !== null && typeof value === 'object' && !Array.isArray(value))
      );
    case 'share':
      return typeof value === 'number' && value >= 0 && value <= 1;
    default:
      return false;
  }
}

function describeKind(kind: Kind): string {
  if (Array.isArray(kind)) return `one of ${kind.map((k) => JSON.stringify(k)).join(', ')}`;
  const names: Record<string, string> = {
    column: 'a column name (a non-empty string)',
    columns: 'a non-empty list of column names',
    string: 'a string',
    strings: 'a list of strings',
    list: 'a list',
    number: 'a number',
    integer: 'an integer',
    boolean: 'true or false',
    bound: 'a number, a string, a date or a {"$PARAMETER": ...} expression',
    count: 'an integer or a {"$PARAMETER": ...} expression',
    scalar: 'a number, a string or a boolean',
    object: 'an object',
    result_format: 'BOOLEAN_ONLY, BASIC, SUMMARY, COMPLETE or a result_format object',
    share: 'a number between 0 and 1',
  };
  return names[kind as string] ?? String(kind);
}

/**
 * Every problem with an expectation's arguments, before any data is read: an argument the
 * expectation does not take (with the closest known name), a value of the wrong type (a suite
 * parameter expression that does not parse or evaluate included), a required argument missing. dbt tests (`accepted_values`, `relationships`, `not_null`,
 * `unique`) are checked with dbt's argument names too. Unknown expectation types give no
 * problem here (the suite check reports them).
 *
 * @example
 * ```ts
 * expectationArgumentProblems('expect_column_values_to_be_between', { column: 'a', min_vlaue: 0 });
 * // [{ argument: 'min_vlaue', message: 'unknown argument "min_vlaue"', hint: 'did you mean "min_value"?' }, ...]
 * ```
 */
export function expectationArgumentProblems(
  type: string,
  kwargs: Readonly<Record<string, unknown>>,
): ArgumentProblem[] {
  const canonical =
    type === 'not_null'
      ? 'expect_column_values_to_not_be_null'
      : type === 'unique'
        ? 'expect_column_values_to_be_unique'
        : type === 'accepted_values'
          ? 'expect_column_values_to_be_in_set'
          : type === 'expect_column_pair_values_A_to_be_greater_than_B'
            ? 'expect_column_pair_values_a_to_be_greater_than_b'
            : type;
  const spec = SPECS[canonical];
  if (spec === undefined) return [];
  const dbt = DBT_NAMES[type] ?? {};
  // Arguments by the name the user may have written: the GX name, or dbt's.
  const written = new Map<string, string>();
  for (const name of [...Object.keys(spec.args), ...Object.keys(COMMON)]) {
    written.set(name, name);
    const alias = dbt[name];
    if (alias !== undefined) written.set(alias, name);
  }
  if (type === 'accepted_values') written.set('quote', 'quote');
  if (type in DBT_NAMES) written.set('arguments', 'arguments');
  const nested = kwargs['arguments'];
  const given: Record<string, unknown> =
    type in DBT_NAMES && nested !== null && typeof nested === 'object' && !Array.isArray(nested)
      ? { ...kwargs, ...(nested as Record<string, unknown>) }
      : { ...kwargs };
  delete given['arguments'];

  const problems: ArgumentProblem[] = [];
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(given)) {
    const target = written.get(name);
    if (target === undefined) {
      const suggestion = closestName(
        name,
        [...written.keys()].filter((k) => k !== 'arguments'),
      );
      problems.push({
        argument: name,
        message: `unknown argument "${name}"`,
        hint:
          suggestion === undefined
            ? `${type} takes ${[...written.keys()].filter((k) => !(k in COMMON) && k !== 'arguments').join(', ')}`
            : `did you mean "${suggestion}"?`,
      });
      continue;
    }
    if (seen.has(target)) {
      problems.push({
        argument: name,
        message: `"${name}" and "${seen.get(target) ?? ''}" are the same argument; give one`,
      });
      continue;
    }
    seen.set(target, name);
    if (target === 'quote') {
      if (typeof value !== 'boolean')
        problems.push({
          argument: name,
          message: `"quote" must be true or false, got ${JSON.stringify(value)}`,
        });
      continue;
    }
    const argument = spec.args[target] ?? COMMON[target];
    if (argument === undefined) continue;
    if (value === null || value === undefined) {
      if (argument.required === true && argument.nullable !== true)
        problems.push({ argument: name, message: `"${name}" is required, got null` });
      continue;
    }
    if (!accepts(argument.kind, value))
      problems.push({
        argument: name,
        message: `"${name}" must be ${describeKind(argument.kind)}, got ${JSON.stringify(value)}`,
      });
    else if (isSuiteParameter(value)) {
      const expression = value.$PARAMETER;
      try {
        if (typeof expression !== 'string')
          throw new Error('$PARAMETER must be a string expression');
        evaluateSuiteParameter(expression);
      } catch (error) {
        problems.push({
          argument: name,
          message: `"${name}": ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
  }
  for (const [name, argument] of Object.entries(spec.args)) {
    if (argument.required === true && !seen.has(name)) {
      const shown = dbt[name] ?? name;
      problems.push({ argument: shown, message: `missing required argument "${shown}"` });
    }
  }
  if (
    spec.oneOf !== undefined &&
    spec.oneOf.every((name) => given[name] === null || given[name] === undefined)
  ) {
    problems.push({
      argument: spec.oneOf.join(', '),
      message: `give at least one of ${spec.oneOf.map((n) => `"${n}"`).join(' or ')}`,
    });
  }
  return problems;
}
