/**
 * Function names whose meaning changes column lineage: aggregates (their inputs are DIRECT
 * AGGREGATION) and functions that expand or generate columns (the statement is refused).
 * Names are compared in lower case.
 */

const AGGREGATES = [
  // SQL standard, DuckDB and PostgreSQL
  'sum',
  'count',
  'avg',
  'min',
  'max',
  'mean',
  'median',
  'mode',
  'any_value',
  'arbitrary',
  'first',
  'last',
  'count_if',
  'countif',
  'count_star',
  'bool_and',
  'bool_or',
  'every',
  'logical_and',
  'logical_or',
  'bit_and',
  'bit_or',
  'bit_xor',
  'stddev',
  'stddev_pop',
  'stddev_samp',
  'variance',
  'var_pop',
  'var_samp',
  'covar_pop',
  'covar_samp',
  'corr',
  'regr_slope',
  'regr_intercept',
  'regr_count',
  'regr_r2',
  'regr_avgx',
  'regr_avgy',
  'regr_sxx',
  'regr_syy',
  'regr_sxy',
  'string_agg',
  'group_concat',
  'listagg',
  'array_agg',
  'list',
  'json_agg',
  'jsonb_agg',
  'json_object_agg',
  'jsonb_object_agg',
  'json_group_array',
  'json_group_object',
  'xmlagg',
  'histogram',
  'entropy',
  'kurtosis',
  'kurtosis_pop',
  'skewness',
  'product',
  'fsum',
  'sumkahan',
  'kahan_sum',
  'favg',
  'sem',
  'mad',
  'quantile',
  'quantile_cont',
  'quantile_disc',
  'percentile_cont',
  'percentile_disc',
  'approx_quantile',
  'approx_count_distinct',
  'approx_distinct',
  'reservoir_quantile',
  'arg_max',
  'arg_min',
  'argmax',
  'argmin',
  'max_by',
  'min_by',
  'bitstring_agg',
  'geometric_mean',
  'geomean',
  'weighted_avg',
  'range_agg',
  'range_intersect_agg',
  'grouping',
  // ClickHouse
  'any',
  'anylast',
  'anyheavy',
  'uniq',
  'uniqexact',
  'uniqcombined',
  'uniqcombined64',
  'uniqhll12',
  'uniqtheta',
  'grouparray',
  'groupuniqarray',
  'grouparrayinsertat',
  'groupbitand',
  'groupbitor',
  'groupbitxor',
  'groupbitmap',
  'topk',
  'topkweighted',
  'sumwithoverflow',
  'summap',
  'minmap',
  'maxmap',
  'avgweighted',
  'quantiles',
  'quantileexact',
  'quantiletiming',
  'quantiletdigest',
  'quantilesexact',
  'quantilestiming',
  'quantilestdigest',
  'medianexact',
  'simplelinearregression',
  'stddevpop',
  'stddevsamp',
  'varpop',
  'varsamp',
  'covarpop',
  'covarsamp',
  'deltasum',
  'sequencematch',
  'sequencecount',
  'windowfunnel',
  'retention',
  'groupconcat',
  'exponentialmovingaverage',
] as const;

const AGGREGATE_NAMES: ReadonlySet<string> = new Set(AGGREGATES);

/** ClickHouse aggregate combinators: `sumIf`, `uniqArray`, `avgOrNull`, `countState`, ... */
const COMBINATOR_SUFFIXES = [
  'if',
  'array',
  'distinct',
  'ornull',
  'ordefault',
  'state',
  'merge',
  'mergestate',
  'foreach',
  'resample',
  'simplestate',
];

/** Functions that expand into several columns or read a relation: never resolved. */
const REFUSED_FUNCTIONS: ReadonlySet<string> = new Set([
  'columns',
  'unpack',
  'star',
  'query',
  'query_table',
]);

/** Whether `name` (any case) is an aggregate function in one of the supported dialects. */
export function isAggregateFunction(name: string): boolean {
  const lower = name.toLowerCase();
  if (AGGREGATE_NAMES.has(lower)) return true;
  for (const suffix of COMBINATOR_SUFFIXES) {
    if (lower.length > suffix.length && lower.endsWith(suffix)) {
      if (isAggregateFunction(lower.slice(0, -suffix.length))) return true;
    }
  }
  return false;
}

/** Whether a call of `name` must make the whole statement unresolved. */
export function isRefusedFunction(name: string): boolean {
  return REFUSED_FUNCTIONS.has(name.toLowerCase());
}
