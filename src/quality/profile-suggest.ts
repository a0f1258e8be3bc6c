import type { ColumnProfile, DatasetProfile } from './profile.js';
import { SEMANTIC_KINDS } from './profile-semantic.js';

/** A JSON value, as expectation kwargs and meta hold. */
export type JSONValue =
  string | number | boolean | null | readonly JSONValue[] | { readonly [key: string]: JSONValue };

/** One expectation in Great Expectations' `ExpectationConfiguration` shape. */
export interface SuggestedExpectation {
  /** A standard GX expectation name, e.g. `expect_column_values_to_not_be_null`. */
  readonly expectation_type: string;
  /** GX keyword arguments: `column`, `min_value`, `mostly`, ... */
  readonly kwargs: { readonly [key: string]: JSONValue };
  readonly meta: { readonly [key: string]: JSONValue };
}

/** A suite in Great Expectations' `ExpectationSuite` JSON shape. */
export interface SuggestedSuite {
  readonly expectation_suite_name: string;
  readonly expectations: readonly SuggestedExpectation[];
  readonly meta: { readonly [key: string]: JSONValue };
}

/** How {@link suggestSuite} names and bounds the suite. */
export interface SuggestOptions {
  /** The suite's name. Default `suggested`. */
  readonly name?: string;
  /** Relative slack around the observed row count. Default {@link ROW_COUNT_TOLERANCE}. */
  readonly rowCountTolerance?: number;
}

/** The suggested row count range is the observed count ± this share. */
export const ROW_COUNT_TOLERANCE = 0.1;
/** Columns with at most this share of nulls get a not-null expectation with `mostly`. */
export const FEW_NULLS_SHARE = 0.1;
/** String columns with at most this many distinct values get an in-set expectation... */
export const IN_SET_MAX_DISTINCT = 20;
/** ...when each value repeats on average at least this often (the column is categorical). */
const IN_SET_MIN_ROWS_PER_VALUE = 2;
/** The suggested mean range is the observed mean ± this share of its magnitude. */
export const MEAN_TOLERANCE = 0.1;

/**
 * Suggests a starting expectation suite from a profile, in Great Expectations ExpectationSuite
 * JSON shape with standard expectation names and kwargs. Every suggestion holds on the profiled
 * data; bounds are the observed ones (row count and mean with some slack), so review them
 * before using the suite as a gate. Rules:
 *
 * - `expect_table_row_count_to_be_between`: observed count ± 10%;
 * - `expect_table_columns_to_match_set`: the observed columns, `exact_match: true`;
 * - `expect_column_values_to_not_be_null`: columns without nulls, or with `mostly` (the observed
 *   non-null share rounded down to a percent) when at most 10% are null;
 *   `expect_column_values_to_be_null` for columns that are entirely null;
 * - `expect_column_values_to_be_unique`: integer and string columns whose exact distinct count
 *   equals their non-null count (not date-like strings);
 * - `expect_column_values_to_be_in_set`: string columns with at most 20 distinct values, each
 *   seen at least twice on average;
 * - `expect_column_values_to_be_between` (observed min and max) for numeric, date and timestamp
 *   columns, and `expect_column_mean_to_be_between` (mean ± 10%) for numeric ones;
 * - `expect_column_value_lengths_to_be_between`: observed string lengths;
 * - `expect_column_values_to_match_regex`: one per detected semantic kind, with `mostly` when
 *   not every value matched.
 *
 * @example
 * ```ts
 * const suite = suggestSuite(await profileRelation(connection, '"orders"'), { name: 'orders' });
 * await writeFile('orders.suite.json', JSON.stringify(suite, null, 2));
 * ```
 */
export function suggestSuite(
  profile: DatasetProfile,
  options: SuggestOptions = {},
): SuggestedSuite {
  const expectations: SuggestedExpectation[] = [];
  const add = (type: string, kwargs: SuggestedExpectation['kwargs'], meta = {}): void => {
    expectations.push({ expectation_type: type, kwargs, meta });
  };
  const tolerance = options.rowCountTolerance ?? ROW_COUNT_TOLERANCE;
  add('expect_table_row_count_to_be_between', {
    min_value: Math.floor(profile.rowCount * (1 - tolerance)),
    max_value: Math.ceil(profile.rowCount * (1 + tolerance)),
  });
  add('expect_table_columns_to_match_set', {
    column_set: profile.columns.map((c) => c.name),
    exact_match: true,
  });
  if (profile.rowCount > 0) {
    for (const column of profile.columns) {
      for (const e of columnExpectations(column, profile.rowCount)) expectations.push(e);
    }
  }
  return {
    expectation_suite_name: options.name ?? 'suggested',
    expectations,
    meta: {
      notes: `Starting suite suggested by sluice profile from ${profile.rowCount} rows${
        profile.approximate ? ' (distinct counts estimated)' : ''
      }; every bound is the observed one, review before use.`,
    },
  };
}

function columnExpectations(c: ColumnProfile, rowCount: number): SuggestedExpectation[] {
  const out: SuggestedExpectation[] = [];
  const add = (type: string, kwargs: Record<string, JSONValue>, meta = {}): void => {
    out.push({ expectation_type: type, kwargs: { column: c.name, ...kwargs }, meta });
  };

  if (c.nonNullCount === 0) {
    add('expect_column_values_to_be_null', {});
    return out;
  }
  if (c.nullCount === 0) add('expect_column_values_to_not_be_null', {});
  else if (c.nullCount / rowCount <= FEW_NULLS_SHARE) {
    add('expect_column_values_to_not_be_null', { mostly: mostly(c.nonNullCount / rowCount) });
  }

  const kind = c.logicalType.kind;
  const integerOrString = /^int/.test(kind) || kind === 'string';
  const dateLike = c.semanticKinds.some((k) => k.kind === 'iso_date' || k.kind === 'iso_datetime');
  const unique = !c.distinctApproximate && c.nonNullCount > 1 && c.distinctCount === c.nonNullCount;
  if (unique && integerOrString && !dateLike) add('expect_column_values_to_be_unique', {});

  if (
    c.category === 'string' &&
    c.distinctValues !== null &&
    c.distinctCount <= IN_SET_MAX_DISTINCT &&
    c.nonNullCount >= c.distinctCount * IN_SET_MIN_ROWS_PER_VALUE
  ) {
    add('expect_column_values_to_be_in_set', { value_set: [...c.distinctValues] });
  }

  if (c.category === 'numeric' && typeof c.min === 'number' && typeof c.max === 'number') {
    const unexpected = (c.nanCount ?? 0) + (c.infiniteCount ?? 0);
    const share = (c.nonNullCount - unexpected) / c.nonNullCount;
    const finite = c.infiniteCount === 0 || c.infiniteCount === null;
    if (finite && share > 0) {
      add('expect_column_values_to_be_between', {
        min_value: c.min,
        max_value: c.max,
        ...(share < 1 ? { mostly: mostly(share) } : {}),
      });
    }
    // The mean of an identifier says nothing; skip it for unique integer columns.
    if (c.mean !== null && c.mean !== 0 && !(unique && /^int/.test(kind))) {
      const slack = Math.abs(c.mean) * MEAN_TOLERANCE;
      add('expect_column_mean_to_be_between', {
        min_value: round(c.mean - slack),
        max_value: round(c.mean + slack),
      });
    }
  }
  if (c.category === 'temporal' && typeof c.min === 'string' && typeof c.max === 'string') {
    add('expect_column_values_to_be_between', { min_value: c.min, max_value: c.max });
  }

  if (c.category === 'string' && c.length !== null) {
    add('expect_column_value_lengths_to_be_between', {
      min_value: c.length.min,
      max_value: c.length.max,
    });
  }

  for (const match of c.semanticKinds) {
    add(
      'expect_column_values_to_match_regex',
      {
        regex: SEMANTIC_KINDS[match.kind].regex,
        ...(match.share < 1 ? { mostly: mostly(match.share) } : {}),
      },
      {
        semantic_kind: match.kind,
        ...(match.kind === 'credit_card' ? { notes: 'numbers also passed the Luhn check' } : {}),
      },
    );
  }
  return out;
}

/** The share rounded down to a whole percent, so the suggestion holds on the profiled data. */
function mostly(share: number): number {
  return Math.floor(share * 100) / 100;
}

function round(value: number): number {
  return Number(value.toPrecision(6));
}

/** Options of {@link renderSuiteTS}. */
export interface RenderSuiteOptions {
  /** Where `expect` and `suite` are imported from. Default `sluice`. */
  readonly importFrom?: string;
  /** What was profiled, for the header comment. */
  readonly source?: string;
}

type Kwargs = SuggestedExpectation['kwargs'];

/** How each suggested expectation type is written with the `expect.*` builders. */
const BUILDERS: Readonly<
  Record<string, (kw: Kwargs) => { call: string; args: JSONValue[]; consumed: string[] }>
> = {
  expect_table_row_count_to_be_between: (kw) => ({
    call: 'rowCountBetween',
    args: [bounds(kw)],
    consumed: ['min_value', 'max_value'],
  }),
  expect_table_columns_to_match_set: (kw) => ({
    call: 'columnSet',
    args: kw['exact_match'] === false ? [kw['column_set'] ?? [], false] : [kw['column_set'] ?? []],
    consumed: ['column_set', 'exact_match'],
  }),
  expect_column_values_to_not_be_null: (kw) => column('notNull', kw),
  expect_column_values_to_be_null: (kw) => column('isNull', kw),
  expect_column_values_to_be_unique: (kw) => column('unique', kw),
  expect_column_values_to_be_in_set: (kw) =>
    column('inSet', kw, [kw['value_set'] ?? []], ['value_set']),
  expect_column_values_to_be_between: (kw) =>
    column('between', kw, [bounds(kw)], ['min_value', 'max_value']),
  expect_column_mean_to_be_between: (kw) =>
    column('meanBetween', kw, [bounds(kw)], ['min_value', 'max_value']),
  expect_column_value_lengths_to_be_between: (kw) =>
    column('lengthBetween', kw, [bounds(kw)], ['min_value', 'max_value']),
  expect_column_values_to_match_regex: (kw) =>
    column('matchesRegex', kw, [kw['regex'] ?? ''], ['regex']),
};

function column(
  call: string,
  kw: Kwargs,
  args: JSONValue[] = [],
  consumed: string[] = [],
): { call: string; args: JSONValue[]; consumed: string[] } {
  return { call, args: [kw['column'] ?? null, ...args], consumed: ['column', ...consumed] };
}

function bounds(kw: Kwargs): JSONValue {
  return {
    ...(kw['min_value'] === undefined ? {} : { min: kw['min_value'] }),
    ...(kw['max_value'] === undefined ? {} : { max: kw['max_value'] }),
  };
}

/**
 * Renders a suggested suite as a TypeScript module: `export default suite(name, [...])` with one
 * `expect.*` builder call per expectation (`expect.gx(type, kwargs)` for a type without a
 * builder), `mostly` and `meta` as builder options. It builds the same expectations as the JSON
 * suite read with `suiteFromGX`.
 *
 * @example
 * ```ts
 * await writeFile('orders.suite.ts', renderSuiteTS(suggestSuite(profile, { name: 'orders' })));
 * ```
 */
export function renderSuiteTS(suite: SuggestedSuite, options: RenderSuiteOptions = {}): string {
  const calls = suite.expectations.map((e) => {
    const builder = BUILDERS[e.expectation_type]?.(e.kwargs);
    const rest = Object.entries(e.kwargs).filter(([key]) => !builder?.consumed.includes(key));
    const known = builder !== undefined && rest.every(([key]) => key === 'mostly');
    const mostly = e.kwargs['mostly'];
    const meta: Record<string, JSONValue> =
      Object.keys(e.meta).length === 0 ? {} : { meta: e.meta };
    if (!known) {
      const args: JSONValue[] = [e.expectation_type, e.kwargs];
      return renderCall('gx', Object.keys(meta).length === 0 ? args : [...args, meta]);
    }
    const opts: Record<string, JSONValue> = {
      ...(mostly === undefined ? {} : { mostly }),
      ...meta,
    };
    const args = Object.keys(opts).length === 0 ? builder.args : [...builder.args, opts];
    return renderCall(builder.call, args);
  });
  const lines = [
    '/**',
    ' * Starting expectation suite suggested by `sluice profile --suggest`' +
      (options.source === undefined ? '.' : ` for ${options.source}.`),
    ' * Every bound is the observed one: review them, and give each expectation its severity',
    " * (`{ severity: 'warn' }` or `'quarantine'`; the default fails the run).",
    ' */',
    `import { expect, suite } from ${renderString(options.importFrom ?? 'sluice')};`,
    '',
    `export default suite(${renderString(suite.expectation_suite_name)}, [`,
    ...calls.map((call) => `  ${call},`),
    ']);',
  ];
  return `${lines.join('\n')}\n`;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const PRINT_WIDTH = 100;

/** `expect.name(args)` on one line when it fits in the print width, one argument a line when not. */
function renderCall(name: string, args: readonly JSONValue[]): string {
  const flat = `expect.${name}(${args.map(renderFlat).join(', ')})`;
  if (flat.length + 3 <= PRINT_WIDTH) return flat;
  return `expect.${name}(\n${args.map((a) => `    ${renderValue(a, 2)},`).join('\n')}\n  )`;
}

function renderValue(value: JSONValue, indent: number): string {
  const flat = renderFlat(value);
  if (indent * 2 + flat.length + 1 <= PRINT_WIDTH || typeof value !== 'object' || value === null) {
    return flat;
  }
  const pad = '  '.repeat(indent + 1);
  const close = '  '.repeat(indent);
  if (Array.isArray(value)) {
    const items = (value as readonly JSONValue[]).map(
      (v) => `${pad}${renderValue(v, indent + 1)},`,
    );
    return `[\n${items.join('\n')}\n${close}]`;
  }
  const entries = Object.entries(value as { readonly [key: string]: JSONValue }).map(
    ([k, v]) => `${pad}${renderKey(k)}: ${renderValue(v, indent + 1)},`,
  );
  return `{\n${entries.join('\n')}\n${close}}`;
}

function renderFlat(value: JSONValue): string {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (typeof value === 'string') return renderString(value);
  if (Array.isArray(value)) {
    return `[${(value as readonly JSONValue[]).map(renderFlat).join(', ')}]`;
  }
  const entries = Object.entries(value as { readonly [key: string]: JSONValue });
  if (entries.length === 0) return '{}';
  return `{ ${entries.map(([k, v]) => `${renderKey(k)}: ${renderFlat(v)}`).join(', ')} }`;
}

function renderKey(key: string): string {
  return IDENTIFIER.test(key) ? key : renderString(key);
}

function renderString(text: string): string {
  const json = JSON.stringify(text);
  // Prefer single quotes, as the project's Prettier config does.
  if (text.includes("'") && !text.includes('"')) return json;
  return `'${json.slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'")}'`;
}
