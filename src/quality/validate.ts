import { describeCause } from '../core/errors.js';
import type { LogicalType } from '../core/types.js';
import { quoteIdentifier } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { firstLine } from '../contracts/engine-connection.js';
import type { AggregateDefinition, MapCompilation, MapDefinition } from './catalog.js';
import { anomalyMetric, canonicalKwargs, expectationDefinition } from './catalog.js';
import type { CompileContext } from './compile-context.js';
import { createCompileContext, ExpectationArgumentError } from './compile-context.js';
import type {
  ExpectationConfig,
  ExpectationResult,
  ExpectationResultDetails,
  ResultFormat,
  Suite,
  SuiteResult,
} from './expectation.js';
import type { ColumnTypes } from './row-condition.js';
import { translateRowCondition } from './row-condition.js';
import { resolveSuiteParameters } from './suite-parameters.js';

/** The data a suite is validated against. */
export interface ValidationTarget {
  readonly connection: EngineConnection;
  /** A quoted relation name or a parenthesised query. */
  readonly relation: string;
  readonly columns: readonly { readonly name: string; readonly type: LogicalType }[];
  /** Relations of other datasets, for relationships and cross-table expectations. */
  readonly datasets?: (name: string) => string | undefined;
  /** Earlier runs' values of a metric, oldest first, for anomaly expectations. */
  readonly history?: (metricPath: string, limit: number) => Promise<readonly number[]>;
}

/** Options of {@link validateSuite}. */
export interface ValidateOptions {
  /** Default result format; an expectation's `result_format` kwarg overrides it (default BASIC). */
  readonly resultFormat?: ResultFormat;
  /** What suite parameters' `now()` means (default: when validation starts). */
  readonly now?: Date;
}

interface ResolvedFormat {
  readonly format: ResultFormat;
  readonly partialCount: number;
  readonly indexColumns: readonly string[] | undefined;
}

type Planned =
  | {
      readonly expectation: ExpectationConfig;
      readonly format: ResolvedFormat;
      readonly kind: 'map';
      readonly definition: MapDefinition;
      readonly sql: MapCompilation;
    }
  | {
      readonly expectation: ExpectationConfig;
      readonly format: ResolvedFormat;
      readonly kind: 'aggregate';
      readonly definition: AggregateDefinition;
      readonly metrics: Readonly<Record<string, string>>;
    }
  | {
      readonly expectation: ExpectationConfig;
      readonly format: ResolvedFormat;
      readonly kind: 'failed';
      readonly error: unknown;
    };

const ROW = '__sluice_row';

/**
 * Validates a relation against a suite. Every expectation sharing a `row_condition` is computed
 * in one aggregate query (one scan); row-level expectations count elements, missing and
 * unexpected values in that same scan. Results have Great Expectations' shape.
 *
 * @example
 * ```ts
 * const result = await validateSuite({ connection, relation: '"orders"', columns }, ordersSuite);
 * if (!result.success) console.log(result.statistics);
 * ```
 */
export async function validateSuite(
  target: ValidationTarget,
  suite: Suite,
  options: ValidateOptions = {},
): Promise<SuiteResult> {
  const history = new Map<string, readonly number[]>();
  for (const expectation of suite.expectations) {
    const metric = anomalyMetric(expectation.type, expectation.kwargs);
    if (metric === undefined || history.has(metric)) continue;
    const window =
      typeof expectation.kwargs['window'] === 'number' ? expectation.kwargs['window'] : 20;
    history.set(metric, target.history === undefined ? [] : await target.history(metric, window));
  }
  const ctx = createCompileContext(
    target.columns,
    target.datasets ?? (() => undefined),
    history,
    target.relation,
  );
  const now = options.now ?? new Date();
  const types = columnTypes(target.columns);
  const planned = suite.expectations.map((expectation) =>
    plan(expectation, ctx, options.resultFormat ?? 'BASIC', now, types),
  );
  const groups = new Map<string, Planned[]>();
  for (const item of planned) {
    if (item.kind === 'failed') continue;
    const key = JSON.stringify([
      item.expectation.kwargs['row_condition'] ?? null,
      item.expectation.kwargs['condition_parser'] ?? null,
    ]);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  const results = new Map<ExpectationConfig, ExpectationResult>();
  for (const group of groups.values()) {
    for (const [expectation, result] of await runGroup(target, ctx, group))
      results.set(expectation, result);
  }
  const ordered = planned.map((item) =>
    item.kind === 'failed'
      ? exceptionResult(item.expectation, item.error)
      : (results.get(item.expectation) as ExpectationResult),
  );
  return summarize(suite.name, ordered);
}

/** A column's type by name, undefined for an unknown column. */
function columnTypes(columns: ValidationTarget['columns']): ColumnTypes {
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  return (name) => byName.get(name);
}

/**
 * The expectation as it runs: suite parameters (`{"$PARAMETER": "now()"}`) evaluated and dbt's
 * argument names translated.
 */
function resolvedExpectation(expectation: ExpectationConfig, now: Date): ExpectationConfig {
  const kwargs = canonicalKwargs(
    expectation.type,
    resolveSuiteParameters(expectation.kwargs, { now }),
  );
  return kwargs === expectation.kwargs ? expectation : { ...expectation, kwargs };
}

/** The catalog definition for these columns (a type check of a mixed column runs per value). */
function definitionFor(
  expectation: ExpectationConfig,
  ctx: CompileContext,
): AggregateDefinition | MapDefinition {
  const definition = expectationDefinition(expectation.type);
  if (definition === undefined)
    throw new ExpectationArgumentError(`unknown expectation type "${expectation.type}"`);
  return definition.kind === 'aggregate'
    ? (definition.forColumns?.(expectation.kwargs, ctx) ?? definition)
    : definition;
}

function plan(
  original: ExpectationConfig,
  ctx: CompileContext,
  defaultFormat: ResultFormat,
  now: Date,
  types: ColumnTypes,
): Planned {
  let expectation = original;
  const format = resolveFormat(expectation.kwargs['result_format'], defaultFormat);
  try {
    expectation = resolvedExpectation(original, now);
    const definition = definitionFor(expectation, ctx);
    const mostly = expectation.kwargs['mostly'];
    if (
      mostly !== undefined &&
      mostly !== null &&
      (typeof mostly !== 'number' || mostly < 0 || mostly > 1)
    ) {
      throw new ExpectationArgumentError(
        `"mostly" must be a number between 0 and 1, got ${JSON.stringify(mostly)}`,
      );
    }
    const condition = expectation.kwargs['row_condition'];
    if (condition !== undefined && condition !== null)
      translateRowCondition(condition, expectation.kwargs['condition_parser'], types);
    if (definition.kind === 'map')
      return {
        expectation,
        format,
        kind: 'map',
        definition,
        sql: definition.compile(expectation.kwargs, ctx),
      };
    return {
      expectation,
      format,
      kind: 'aggregate',
      definition,
      metrics: definition.metrics(expectation.kwargs, ctx),
    };
  } catch (error) {
    return { expectation, format, kind: 'failed', error };
  }
}

async function runGroup(
  target: ValidationTarget,
  ctx: CompileContext,
  group: readonly Planned[],
): Promise<Map<ExpectationConfig, ExpectationResult>> {
  try {
    const [row] = await target.connection.rows(buildQuery(target, group));
    return new Map(group.map((item, i) => [item.expectation, toResult(item, i, row ?? {}, ctx)]));
  } catch (error) {
    if (group.length === 1)
      return new Map([
        [
          group[0]?.expectation as ExpectationConfig,
          exceptionResult(group[0]?.expectation as ExpectationConfig, error),
        ],
      ]);
    // One bad expectation (a type clash the engine found) must not hide the others' results.
    const results = new Map<ExpectationConfig, ExpectationResult>();
    for (const item of group)
      for (const [k, v] of await runGroup(target, ctx, [item])) results.set(k, v);
    return results;
  }
}

function buildQuery(target: ValidationTarget, group: readonly Planned[]): string {
  const first = group[0]?.expectation.kwargs ?? {};
  const condition =
    first['row_condition'] === undefined || first['row_condition'] === null
      ? undefined
      : translateRowCondition(
          first['row_condition'],
          first['condition_parser'],
          columnTypes(target.columns),
        );
  const needsOrder = group.some(
    (item) =>
      item.kind === 'map' &&
      (item.sql.unexpected.includes(ROW) ||
        item.format.format === 'COMPLETE' ||
        item.format.format === 'SUMMARY'),
  );
  let relation = needsOrder
    ? `(SELECT *, row_number() OVER () - 1 AS ${ROW} FROM ${target.relation})`
    : target.relation;
  const filter = (r: string): string =>
    condition === undefined ? r : `(SELECT * FROM ${r} WHERE ${condition})`;
  relation = filter(relation);
  const duplicateSets = planDuplicateSets(group, filter(target.relation));
  const duplicateJoins: string[] = [];
  const duplicateFlags: string[] = [];
  const windowFlags: string[] = [];
  const selects: string[] = ['count(*) AS __sluice_rows'];
  group.forEach((item, i) => {
    if (item.kind === 'aggregate') {
      for (const [name, sql] of Object.entries(item.metrics))
        selects.push(`${sql} AS ${quoteIdentifier(`a${i}_${name}`)}`);
      return;
    }
    if (item.kind !== 'map') return;
    let unexpected = item.sql.unexpected;
    const keys = item.sql.duplicateKeys;
    if (keys !== undefined) {
      const alias = `__sluice_d${i}`;
      duplicateJoins.push(
        `LEFT JOIN ${duplicateSetName(i)} ${alias} ON ${keysMatch(keys, '__sluice_r', alias)}`,
      );
      duplicateFlags.push(`${alias}.__sluice_dup IS NOT NULL AS __sluice_w${i}`);
      unexpected = `__sluice_w${i}`;
    } else if (item.sql.window === true) {
      windowFlags.push(`${unexpected} AS __sluice_w${i}`);
      unexpected = `__sluice_w${i}`;
    }
    const failing = `(${item.sql.domain}) AND (${unexpected})`;
    selects.push(`count(*) FILTER (WHERE ${item.sql.domain}) AS m${i}_domain`);
    selects.push(`count(*) FILTER (WHERE ${failing}) AS m${i}_unexpected`);
    const order = needsOrder ? ` ORDER BY ${ROW}` : '';
    const limit = item.format.format === 'COMPLETE' ? '' : `[1:${item.format.partialCount}]`;
    selects.push(
      `list(${item.sql.value}${order}) FILTER (WHERE ${failing})${limit} AS m${i}_values`,
    );
    if (item.format.format === 'COMPLETE' || item.format.format === 'SUMMARY') {
      const index = item.format.indexColumns;
      const entry =
        index === undefined
          ? ROW
          : `struct_pack(${[...new Set([...index, ...item.sql.valueColumns])].map((c) => `${quoteIdentifier(c)} := ${quoteIdentifier(c)}`).join(', ')})`;
      selects.push(`list(${entry}${order}) FILTER (WHERE ${failing})${limit} AS m${i}_index`);
    }
  });
  const joined =
    duplicateJoins.length === 0
      ? relation
      : `(SELECT __sluice_r.*, ${duplicateFlags.join(', ')} FROM ${relation} __sluice_r ${duplicateJoins.join(' ')})`;
  const source =
    windowFlags.length === 0 ? joined : `(SELECT *, ${windowFlags.join(', ')} FROM ${joined})`;
  const ctes = duplicateSets.length === 0 ? '' : `WITH ${duplicateSets.join(',\n  ')}\n`;
  return `${ctes}SELECT ${selects.join(',\n  ')} FROM ${source}`;
}

function duplicateSetName(i: number): string {
  return `__sluice_dupset${i}`;
}

function keysMatch(keys: readonly string[], left: string, right: string): string {
  return keys.map((k) => `${left}.${k} IS NOT DISTINCT FROM ${right}.${k}`).join(' AND ');
}

/**
 * One CTE per uniqueness expectation: the key values that occur more than once in `relation`.
 * Rows that repeat a key also repeat every subset of it, so a key that contains another
 * expectation's key groups only the rows whose smaller key is duplicated (usually none) instead
 * of the whole relation: `unique(order_id)` next to `compound_unique(order_id, customer_id)`
 * costs one full GROUP BY, not two.
 */
function planDuplicateSets(group: readonly Planned[], relation: string): string[] {
  const uniqueness = group
    .map((item, i) => ({ i, keys: item.kind === 'map' ? item.sql.duplicateKeys : undefined }))
    .filter((entry): entry is { i: number; keys: readonly string[] } => entry.keys !== undefined)
    .sort((a, b) => a.keys.length - b.keys.length);
  return uniqueness.map(({ i, keys }, position) => {
    const narrower = uniqueness
      .slice(0, position)
      .find((earlier) => earlier.keys.every((k) => keys.includes(k)));
    const rows =
      narrower === undefined
        ? relation
        : `(SELECT __sluice_s.* FROM ${relation} __sluice_s JOIN ${duplicateSetName(narrower.i)} __sluice_n ON ${keysMatch(narrower.keys, '__sluice_s', '__sluice_n')})`;
    return `${duplicateSetName(i)} AS MATERIALIZED (SELECT ${keys.join(', ')}, true AS __sluice_dup FROM ${rows} GROUP BY ALL HAVING count(*) > 1)`;
  });
}

function toResult(
  item: Planned,
  i: number,
  row: Readonly<Record<string, unknown>>,
  ctx: CompileContext,
): ExpectationResult {
  const { expectation } = item;
  try {
    if (item.kind === 'aggregate') {
      const metrics: Record<string, unknown> = {};
      for (const name of Object.keys(item.metrics)) metrics[name] = row[`a${i}_${name}`];
      const outcome = item.definition.evaluate(expectation.kwargs, metrics, ctx);
      const result: ExpectationResultDetails =
        item.format.format === 'BOOLEAN_ONLY'
          ? {}
          : {
              observed_value: outcome.observed_value,
              ...(outcome.element_count === undefined
                ? {}
                : {
                    element_count: outcome.element_count,
                    missing_count: outcome.missing_count,
                    missing_percent: outcome.missing_percent,
                  }),
              ...(outcome.details === undefined ? {} : { details: outcome.details }),
            };
      return makeResult(expectation, outcome.success, result);
    }
    if (item.kind !== 'map') throw new Error('unreachable');
    return mapResult(item, i, row, ctx);
  } catch (error) {
    return exceptionResult(expectation, error);
  }
}

function mapResult(
  item: Extract<Planned, { kind: 'map' }>,
  i: number,
  row: Readonly<Record<string, unknown>>,
  ctx: CompileContext,
): ExpectationResult {
  const elements = Number(row['__sluice_rows'] ?? 0);
  const domain = Number(row[`m${i}_domain`] ?? 0);
  const unexpected = Number(row[`m${i}_unexpected`] ?? 0);
  // The engine hands values of a mixed (JSON) column over as JSON text.
  const mixed = item.sql.valueColumns.filter(
    (c) => ctx.columnNames.includes(c) && ctx.typeOf(c).kind === 'json',
  );
  const decodeValue =
    item.sql.valueColumns.length === 1 && mixed.length === 1 ? fromJSONText : (v: unknown) => v;
  const decodeEntry = (entry: unknown): unknown =>
    entry !== null && typeof entry === 'object' && !Array.isArray(entry) && mixed.length > 0
      ? Object.fromEntries(
          Object.entries(entry).map(([k, v]) => [k, mixed.includes(k) ? fromJSONText(v) : v]),
        )
      : entry;
  const values = ((row[`m${i}_values`] as unknown[] | null) ?? []).map(toPlain).map(decodeValue);
  const index = ((row[`m${i}_index`] as unknown[] | null) ?? []).map(toPlain).map(decodeEntry);
  const mostly = (item.expectation.kwargs['mostly'] as number | undefined | null) ?? 1;
  const success = domain === 0 ? true : (domain - unexpected) / domain >= mostly - 1e-12;
  const percent = (n: number, of: number): number | null => (of === 0 ? null : (n / of) * 100);
  const { format, partialCount } = item.format;
  if (format === 'BOOLEAN_ONLY') return makeResult(item.expectation, success, {});
  const partial = values.slice(0, partialCount);
  const base: ExpectationResultDetails =
    item.definition.nulls === 'null-check'
      ? {
          element_count: elements,
          unexpected_count: unexpected,
          unexpected_percent: percent(unexpected, elements),
          partial_unexpected_list: partial,
        }
      : {
          element_count: elements,
          missing_count: elements - domain,
          missing_percent: percent(elements - domain, elements),
          unexpected_count: unexpected,
          unexpected_percent: percent(unexpected, domain),
          unexpected_percent_total: percent(unexpected, elements),
          unexpected_percent_nonmissing: percent(unexpected, domain),
          partial_unexpected_list: partial,
        };
  if (format === 'BASIC') return makeResult(item.expectation, success, base);
  const summary: ExpectationResultDetails = {
    ...base,
    partial_unexpected_index_list: index.slice(0, partialCount),
    partial_unexpected_counts: countValues(values).slice(0, partialCount),
  };
  if (format === 'SUMMARY') return makeResult(item.expectation, success, summary);
  return makeResult(item.expectation, success, {
    ...summary,
    unexpected_list: values,
    unexpected_index_list: index,
  });
}

function countValues(values: readonly unknown[]): { value: unknown; count: number }[] {
  const counts = new Map<string, { value: unknown; count: number }>();
  for (const value of values) {
    const key = JSON.stringify(value);
    const entry = counts.get(key) ?? { value, count: 0 };
    entry.count++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count);
}

function resolveFormat(value: unknown, fallback: ResultFormat): ResolvedFormat {
  const formats: readonly ResultFormat[] = ['BOOLEAN_ONLY', 'BASIC', 'SUMMARY', 'COMPLETE'];
  if (typeof value === 'string' && (formats as readonly string[]).includes(value.toUpperCase())) {
    return {
      format: value.toUpperCase() as ResultFormat,
      partialCount: 20,
      indexColumns: undefined,
    };
  }
  if (typeof value === 'object' && value !== null) {
    const spec = value as {
      result_format?: unknown;
      partial_unexpected_count?: unknown;
      unexpected_index_column_names?: unknown;
    };
    const format =
      typeof spec.result_format === 'string' &&
      (formats as readonly string[]).includes(spec.result_format.toUpperCase())
        ? (spec.result_format.toUpperCase() as ResultFormat)
        : fallback;
    return {
      format,
      partialCount:
        typeof spec.partial_unexpected_count === 'number' ? spec.partial_unexpected_count : 20,
      indexColumns: Array.isArray(spec.unexpected_index_column_names)
        ? (spec.unexpected_index_column_names as string[])
        : undefined,
    };
  }
  return { format: fallback, partialCount: 20, indexColumns: undefined };
}

function makeResult(
  expectation: ExpectationConfig,
  success: boolean,
  result: ExpectationResultDetails,
): ExpectationResult {
  return {
    success,
    expectation_config: {
      expectation_type: expectation.type,
      kwargs: expectation.kwargs,
      meta: expectation.meta ?? {},
      id: expectation.id,
      severity: expectation.severity,
    },
    result,
    exception_info: { raised_exception: false, exception_message: null, exception_traceback: null },
  };
}

function exceptionResult(expectation: ExpectationConfig, error: unknown): ExpectationResult {
  const message =
    error instanceof ExpectationArgumentError
      ? error.message
      : firstLine(error) || describeCause(error);
  return {
    ...makeResult(expectation, false, {}),
    exception_info: {
      raised_exception: true,
      exception_message: message,
      exception_traceback: error instanceof Error ? (error.stack ?? null) : null,
    },
  };
}

const WEIGHTS = { error: 3, quarantine: 2, warn: 1 } as const;

function summarize(name: string, results: readonly ExpectationResult[]): SuiteResult {
  const successful = results.filter((r) => r.success).length;
  const total = results.length;
  const weight = (r: ExpectationResult): number => WEIGHTS[r.expectation_config.severity];
  const totalWeight = results.reduce((sum, r) => sum + weight(r), 0);
  const passedWeight = results.filter((r) => r.success).reduce((sum, r) => sum + weight(r), 0);
  return {
    success: successful === total,
    suite_name: name,
    statistics: {
      evaluated_expectations: total,
      successful_expectations: successful,
      unsuccessful_expectations: total - successful,
      success_percent: total === 0 ? null : (successful / total) * 100,
    },
    quality_score: totalWeight === 0 ? null : (passedWeight / totalWeight) * 100,
    results,
  };
}

function fromJSONText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Engine values as JSON-friendly values: bigints as numbers, maps and structs as objects. */
function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  }
  return value;
}

/** A row-level predicate of a `quarantine` expectation, for splitting rows. */
export interface QuarantineRule {
  readonly id: string;
  /** SQL, true for a row that fails the expectation (window functions allowed). */
  readonly failing: string;
  readonly reason: string;
}

/**
 * The row predicates of a suite's `quarantine` expectations, so a check can set failing rows
 * aside in the same pass that computes them. Aggregate expectations cannot quarantine rows and
 * are left out (the planner refuses them with that severity).
 *
 * @example
 * ```ts
 * const rules = quarantineRules(suite, columns);
 * // SELECT *, (rules[0].failing) AS q0 FROM input
 * ```
 */
export function quarantineRules(
  suite: Suite,
  columns: ValidationTarget['columns'],
  datasets: (name: string) => string | undefined = () => undefined,
  now: Date = new Date(),
): QuarantineRule[] {
  const ctx = createCompileContext(columns, datasets);
  const types = columnTypes(columns);
  const rules: QuarantineRule[] = [];
  for (const original of suite.expectations) {
    if (original.severity !== 'quarantine') continue;
    if (expectationDefinition(original.type) === undefined) continue;
    const expectation = resolvedExpectation(original, now);
    const definition = definitionFor(expectation, ctx);
    if (definition.kind !== 'map') continue;
    const sql = definition.compile(expectation.kwargs, ctx);
    const condition = expectation.kwargs['row_condition'];
    const scope =
      condition === undefined || condition === null
        ? 'true'
        : translateRowCondition(condition, expectation.kwargs['condition_parser'], types);
    rules.push({
      id: expectation.id,
      failing: `coalesce((${scope}) AND (${sql.domain}) AND (${sql.unexpected}), false)`,
      reason: `expectation "${expectation.id}" (${expectation.type}) failed`,
    });
  }
  return rules;
}
