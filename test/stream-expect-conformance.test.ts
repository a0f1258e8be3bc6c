import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { suiteFromGX, validateDataFile } from '../src/quality/index.js';
import type { ExpectationConfig, ExpectationResult } from '../src/quality/index.js';
import type { RowCheck } from '../src/quality/row-checks.js';
import {
  compileRowCheck,
  ROW_CHECK_TYPES,
  ROW_INCOMPARABLE,
  ROW_MISSING,
  ROW_PASS,
  RowCheckError,
} from '../src/quality/row-checks.js';
import { fixtureFolder } from './fixtures.js';
import { tempDir } from './helpers.js';

/**
 * The map-expectation cases of Great Expectations' own test definitions, run through the
 * record-by-record evaluator streams use: each case's expected outcome (success under `mostly`,
 * unexpected values, an error) must come out, and the records it fails must be exactly the rows
 * the batch evaluation (SQL on the engine) counts as unexpected.
 */
interface GXCase {
  readonly title: string;
  readonly in: Record<string, unknown>;
  readonly out: Record<string, unknown>;
  readonly only_for?: readonly string[];
  readonly suppress_test_for?: readonly string[];
  readonly error?: unknown;
}
interface GXDataset {
  readonly data: Record<string, unknown[]>;
  readonly only_for?: readonly string[];
  readonly suppress_test_for?: readonly string[];
  readonly tests: readonly GXCase[];
}
interface FixtureCase {
  readonly name: string;
  readonly file: string;
  readonly type: string;
  readonly dataset: GXDataset;
  readonly test: GXCase;
}

const MAP_CATEGORIES = [
  'column_map_expectations',
  'column_pair_map_expectations',
  'multicolumn_map_expectations',
];

const EVALUATION_PARAMETERS =
  'uses GX evaluation parameters ($PARAMETER, now()), which suites here do not have';
const ROW_CONDITION = 'row_condition is SQL; streams refuse it (tested below)';

const folder = fixtureFolder('great-expectations');

function appliesToPandas(spec: {
  only_for?: readonly string[];
  suppress_test_for?: readonly string[];
}): boolean {
  const only = spec.only_for ?? [];
  return (
    (only.length === 0 || only.includes('pandas')) &&
    !(spec.suppress_test_for ?? []).includes('pandas')
  );
}

async function loadCases(): Promise<FixtureCase[]> {
  if (folder === undefined) return [];
  const cases: FixtureCase[] = [];
  for (const category of MAP_CATEGORIES)
    for (const file of (await readdir(join(folder, category)))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const doc = JSON.parse(await readFile(join(folder, category, file), 'utf8')) as {
        expectation_type: string;
        datasets: GXDataset[];
      };
      if (!ROW_CHECK_TYPES.includes(doc.expectation_type)) continue;
      doc.datasets.forEach((dataset, d) => {
        if (!appliesToPandas(dataset)) return;
        for (const test of dataset.tests)
          if (appliesToPandas(test))
            cases.push({
              name: `${file.replace(/\.json$/, '')} #${d} ${test.title}`,
              file,
              type: doc.expectation_type,
              dataset,
              test,
            });
      });
    }
  return cases;
}

const cases = await loadCases();

function rowsOf(dataset: GXDataset): Record<string, unknown>[] {
  const columns = Object.keys(dataset.data);
  const length = columns.length === 0 ? 0 : (dataset.data[columns[0] as string] ?? []).length;
  return Array.from({ length }, (_, i) => {
    const row: Record<string, unknown> = { pk_index: i };
    for (const column of columns) row[column] = dataset.data[column]?.[i] ?? null;
    return row;
  });
}

/** The value GX lists for an unexpected row: the column's, a pair, or the columns as an object. */
function unexpectedValue(check: RowCheck, row: Record<string, unknown>): unknown {
  if (check.type.startsWith('expect_column_pair_')) return check.columns.map((c) => row[c]);
  if (check.columns.length > 1 || check.type.startsWith('expect_select_column'))
    return Object.fromEntries(check.columns.map((c) => [c, row[c]]));
  return row[check.columns[0] as string];
}

/** What the evaluator makes of a case: an argument error, or the failing rows and success. */
function evaluate(
  type: string,
  kwargs: Record<string, unknown>,
  rows: readonly Record<string, unknown>[],
):
  | { readonly error: string }
  | {
      readonly success: boolean;
      readonly failing: number[];
      readonly unexpected: unknown[];
      readonly incomparable: boolean;
    } {
  const expectation: ExpectationConfig = { id: type, type, kwargs, severity: 'error' };
  let check: RowCheck;
  try {
    check = compileRowCheck(expectation);
  } catch (error) {
    if (error instanceof RowCheckError) return { error: error.message };
    throw error;
  }
  const failing: number[] = [];
  const unexpected: unknown[] = [];
  let domain = 0;
  let incomparable = false;
  rows.forEach((row, i) => {
    const outcome = check.evaluate(row);
    if (outcome === ROW_MISSING) return;
    domain++;
    if (outcome === ROW_PASS) return;
    if (outcome === ROW_INCOMPARABLE) incomparable = true;
    failing.push(i);
    unexpected.push(unexpectedValue(check, row));
  });
  const success = domain === 0 || (domain - failing.length) / domain >= check.mostly - 1e-12;
  return { success, failing, unexpected, incomparable };
}

const sorted = (values: readonly unknown[]): string[] =>
  values.map((v) => JSON.stringify(v)).sort();

describe.skipIf(folder === undefined)(
  'GX map-expectation cases through the record-by-record evaluator',
  () => {
    it('found the cases of every expectation streams check that GX has tests for', () => {
      expect(cases.length).toBeGreaterThan(100);
      expect(new Set(cases.map((c) => c.type)).size).toBeGreaterThanOrEqual(12);
    });

    for (const c of cases) {
      it(c.name, async (context) => {
        const reason = c.file.includes('evaluation_parameters')
          ? EVALUATION_PARAMETERS
          : c.test.in['row_condition'] === undefined
            ? undefined
            : ROW_CONDITION;
        if (reason !== undefined) {
          context.skip(reason);
          return;
        }
        const rows = rowsOf(c.dataset);
        const kwargs = { ...c.test.in };
        delete kwargs['result_format'];
        const outcome = evaluate(c.type, kwargs, rows);
        const out = c.test.out;
        if (c.test.error !== undefined || out['traceback_substring'] !== undefined) {
          // GX raises for the whole column; a stream refuses the arguments or fails each
          // record whose value has the wrong type.
          expect(
            'error' in outcome || outcome.incomparable,
            `an error was expected: ${JSON.stringify(outcome)}`,
          ).toBe(true);
          return;
        }
        if ('error' in outcome) throw new Error(outcome.error);
        if ('success' in out) expect(outcome.success).toBe(out['success']);
        const expected =
          (out['result'] as Record<string, unknown> | undefined)?.['partial_unexpected_list'] ??
          out['unexpected_list'];
        if (Array.isArray(expected)) expect(sorted(outcome.unexpected)).toEqual(sorted(expected));

        // The same rows as the batch evaluation of the same data.
        const dir = await tempDir();
        const file = join(dir, 'data.ndjson');
        if (rows.length === 0) return;
        await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
        const suite = suiteFromGX({
          expectation_suite_name: 'fixture',
          expectations: [
            {
              expectation_type: c.type,
              kwargs: {
                ...kwargs,
                result_format: {
                  result_format: 'COMPLETE',
                  unexpected_index_column_names: ['pk_index'],
                },
              },
            },
          ],
        });
        const { result } = await validateDataFile(file, suite, { stateDir: join(dir, '.sluice') });
        const batch = result.results[0] as ExpectationResult;
        if (batch.exception_info.raised_exception) {
          expect(outcome.incomparable, batch.exception_info.exception_message ?? '').toBe(true);
          return;
        }
        const batchFailing = (batch.result.unexpected_index_list ?? [])
          .map((entry) => Number((entry as { pk_index: number }).pk_index))
          .sort((a, b) => a - b);
        expect(outcome.failing).toEqual(batchFailing);
        expect(outcome.success).toBe(batch.success);
      });
    }
  },
);

/** Expectations GX has no pandas test for, and stream-specific values, with hand-computed failures. */
const FURTHER_CASES: readonly {
  readonly name: string;
  readonly type: string;
  readonly kwargs: Record<string, unknown>;
  readonly data: Record<string, unknown[]>;
  readonly failing: readonly number[];
}[] = [
  {
    name: 'not_in_set compares numbers with numbers only',
    type: 'expect_column_values_to_not_be_in_set',
    kwargs: { column: 'x', value_set: [2, '3'] },
    data: { x: [1, 2, 3, null] },
    failing: [1],
  },
  {
    name: 'in_set of booleans',
    type: 'expect_column_values_to_be_in_set',
    kwargs: { column: 'b', value_set: [true] },
    data: { b: [true, false, null, true] },
    failing: [1],
  },
  {
    name: 'not_match_regex searches anywhere',
    type: 'expect_column_values_to_not_match_regex',
    kwargs: { column: 's', regex: '\\d' },
    data: { s: ['abc', 'xyz', null, 'ab1'] },
    failing: [3],
  },
  {
    name: 'match_regex on numbers reads their text',
    type: 'expect_column_values_to_match_regex',
    kwargs: { column: 'n', regex: '^1' },
    data: { n: [10, 21, 1, null, 100] },
    failing: [1],
  },
  {
    name: 'match_like_pattern: _ one character, % any text',
    type: 'expect_column_values_to_match_like_pattern',
    kwargs: { column: 's', like_pattern: '_p%' },
    data: { s: ['apple', 'banana', 'spam', null, 'p'] },
    failing: [1, 4],
  },
  {
    name: 'not_match_like_pattern',
    type: 'expect_column_values_to_not_match_like_pattern',
    kwargs: { column: 's', like_pattern: '%an%' },
    data: { s: ['apple', 'banana', null, 'pan'] },
    failing: [1, 3],
  },
  {
    name: 'match_like_pattern_list with match_on all',
    type: 'expect_column_values_to_match_like_pattern_list',
    kwargs: { column: 's', like_pattern_list: ['a%', '%e'], match_on: 'all' },
    data: { s: ['apple', 'avocado', 'able', 'orange'] },
    failing: [1, 3],
  },
  {
    name: 'not_match_like_pattern_list',
    type: 'expect_column_values_to_not_match_like_pattern_list',
    kwargs: { column: 's', like_pattern_list: ['x%', '%z'] },
    data: { s: ['xa', 'ab', 'abz', null] },
    failing: [0, 2],
  },
  {
    name: 'pair_values_to_be_equal: a null on one side is unexpected, on both missing',
    type: 'expect_column_pair_values_to_be_equal',
    kwargs: { column_A: 'a', column_B: 'b' },
    data: { a: [1, 2, null, 4, null], b: [1, 3, null, null, 5] },
    failing: [1, 3, 4],
  },
  {
    name: 'pair_values_a_to_be_greater_than_b on text',
    type: 'expect_column_pair_values_a_to_be_greater_than_b',
    kwargs: { column_A: 'a', column_B: 'b', or_equal: true },
    data: { a: ['b', 'a', 'c'], b: ['a', 'b', 'c'] },
    failing: [1],
  },
  {
    name: 'multicolumn_sum_to_equal counts nulls as 0 unless all are null',
    type: 'expect_multicolumn_sum_to_equal',
    kwargs: { column_list: ['a', 'b'], sum_total: 3 },
    data: { a: [1, 2, null, 5, 3], b: [2, 2, null, null, null] },
    failing: [1, 3],
  },
  {
    name: 'between on text compares text, as GX does (ISO timestamps of one format sort by time)',
    type: 'expect_column_values_to_be_between',
    kwargs: { column: 'ts', min_value: '2024-01-01T09:00:00Z', max_value: '2024-01-01T23:59:59Z' },
    data: {
      ts: [
        '2024-01-01T10:00:00Z',
        '2024-01-01T08:30:00Z',
        '2024-01-02T00:00:00Z',
        null,
        '2024-01-01T23:59:59Z',
      ],
    },
    failing: [1, 2],
  },
  {
    name: 'value_lengths_to_be_between counts characters',
    type: 'expect_column_value_lengths_to_be_between',
    kwargs: { column: 's', min_value: 2, max_value: 5 },
    data: { s: ['héllo', '😀😀', 'x', 'toolong', null] },
    failing: [2, 3],
  },
  {
    name: 'between with strict bounds',
    type: 'expect_column_values_to_be_between',
    kwargs: { column: 'x', min_value: 0, max_value: 10, strict_min: true, strict_max: true },
    data: { x: [0, 0.5, 10, 9.99, -1, null] },
    failing: [0, 2, 4],
  },
];

describe('further cases: the evaluator, the batch evaluation and a hand count agree', () => {
  it.each(FURTHER_CASES)('$name', async ({ type, kwargs, data, failing }) => {
    const rows = rowsOf({ data, tests: [] });
    const outcome = evaluate(type, kwargs, rows);
    if ('error' in outcome) throw new Error(outcome.error);
    expect(outcome.failing).toEqual(failing);
    const dir = await tempDir();
    const file = join(dir, 'data.ndjson');
    await writeFile(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const suite = suiteFromGX({
      expectation_suite_name: 'further',
      expectations: [
        {
          expectation_type: type,
          kwargs: {
            ...kwargs,
            result_format: {
              result_format: 'COMPLETE',
              unexpected_index_column_names: ['pk_index'],
            },
          },
        },
      ],
    });
    const { result } = await validateDataFile(file, suite, { stateDir: join(dir, '.sluice') });
    const batch = result.results[0] as ExpectationResult;
    expect(batch.exception_info.exception_message).toBeNull();
    expect(
      (batch.result.unexpected_index_list ?? [])
        .map((entry) => Number((entry as { pk_index: number }).pk_index))
        .sort((a, b) => a - b),
    ).toEqual(failing);
  });
});

describe('expectations a record cannot answer', () => {
  it.each([
    ['expect_column_mean_to_be_between', { column: 'a', min_value: 0 }, /judges a whole dataset/],
    ['expect_table_row_count_to_be_between', { min_value: 1 }, /judges a whole dataset/],
    [
      'expect_column_values_to_be_unique',
      { column: 'a' },
      /compares each record with other records/,
    ],
    ['expect_compound_columns_to_be_unique', { column_list: ['a', 'b'] }, /other records/],
    ['expect_column_values_to_be_increasing', { column: 'a' }, /other records/],
    ['relationships', { column: 'a', to: 'b', field: 'id' }, /other records/],
    [
      'expect_column_values_to_match_strftime_format',
      { column: 'a', strftime_format: '%Y' },
      /not evaluated record by record/,
    ],
    [
      'expect_column_values_to_be_between',
      { column: 'a', min_value: 0, row_condition: 'b > 1' },
      /row_condition/,
    ],
    [
      'expect_column_values_to_be_between',
      { column: 'a', min_value: 0, mostly: 1.5 },
      /"mostly" must be a number between 0 and 1/,
    ],
    ['expect_column_values_to_match_regex', { column: 'a', regex: '(' }, /is not valid/],
  ])('%s is refused with a reason naming it', (type, kwargs, message) => {
    const expectation: ExpectationConfig = { id: `my_${type}`, type, kwargs, severity: 'error' };
    expect(() => compileRowCheck(expectation)).toThrow(message);
    expect(() => compileRowCheck(expectation)).toThrow(`expectation "my_${type}" (${type})`);
  });
});
