import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { suiteFromGX, validateDataFile } from '../src/quality/index.js';
import type { ExpectationResult } from '../src/quality/index.js';
import { fixtureFolder } from './fixtures.js';
import { query, tempDir } from './helpers.js';

interface GXCase {
  readonly title: string;
  readonly exact_match_out?: boolean;
  readonly in: Record<string, unknown>;
  readonly out: Record<string, unknown>;
  readonly only_for?: readonly string[];
  readonly suppress_test_for?: readonly string[];
  readonly tolerance?: number;
  readonly error?: unknown;
}
interface GXDataset {
  readonly data: Record<string, unknown[]>;
  readonly only_for?: readonly string[];
  readonly suppress_test_for?: readonly string[];
  readonly tests: readonly GXCase[];
}

/**
 * Cases that test Python or pandas behaviour with no meaning here, each with its reason.
 * Everything else in the fixture folder must pass.
 */
const OUTSIDE_CATALOG = 'an expectation outside the catalog (not among the ones Sluice implements)';
const NOT_PORTABLE: Readonly<Record<string, string>> = {
  'expect_column_values_to_be_of_type #1 positive_pandas_datetime_no_timezone':
    "the fixture's pandas schema makes the column datetime64; this harness writes the values as NDJSON text",
  'expect_compound_columns_to_be_unique #1 row_condition_with_ignore_if_any_are_missing':
    'the counts agree (8 elements, 1 missing, 0 unexpected); the exact expected result omits the percentages and lists GX returns for COMPLETE elsewhere',
  'expect_compound_columns_to_be_unique #1 unexpected_values_exact_match_out_without_unexpected_index_list':
    'the expected result omits element_count and carries a pandas-specific partial_unexpected_counts error',
  'expect_select_column_values_to_be_unique_within_record #1 unexpected_values_exact_match_out_without_unexpected_index_list':
    'the expected result carries a pandas-specific partial_unexpected_counts error',
};
const NOT_IMPLEMENTED_TYPES: Readonly<Record<string, string>> = {
  expect_column_pair_cramers_phi_value_to_be_less_than: OUTSIDE_CATALOG,
  expect_column_values_to_match_json_schema: OUTSIDE_CATALOG,
};

const MAP_CATEGORIES = [
  'column_map_expectations',
  'column_pair_map_expectations',
  'multicolumn_map_expectations',
];

const folder = fixtureFolder('great-expectations');

interface GXFixtureCase {
  readonly name: string;
  readonly file: string;
  readonly category: string;
  readonly type: string;
  readonly dataset: GXDataset;
  readonly test: GXCase;
}

async function loadCases(): Promise<GXFixtureCase[]> {
  if (folder === undefined) return [];
  const cases: GXFixtureCase[] = [];
  for (const category of (await readdir(folder)).sort()) {
    if (category.endsWith('.md')) continue;
    for (const file of (await readdir(join(folder, category)))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const doc = JSON.parse(await readFile(join(folder, category, file), 'utf8')) as {
        expectation_type: string;
        datasets: GXDataset[];
      };
      if (category === 'multi_table_expectations') continue;
      doc.datasets.forEach((dataset, d) => {
        if (!appliesToPandas(dataset)) return;
        for (const test of dataset.tests) {
          if (!appliesToPandas(test)) continue;
          cases.push({
            name: `${file.replace(/\.json$/, '')} #${d} ${test.title}`,
            file,
            category,
            type: doc.expectation_type,
            dataset,
            test,
          });
        }
      });
    }
  }
  return cases;
}

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

const cases = await loadCases();

/** Orders a list for comparison; a number sorts as its text, as `close` lets 1 match "1". */
function sorted(list: readonly unknown[]): unknown[] {
  const key = (v: unknown): string => JSON.stringify(typeof v === 'number' ? String(v) : v);
  return [...list].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function close(actual: unknown, expected: unknown, tolerance?: number): boolean {
  if (typeof actual === 'number' && typeof expected === 'number') {
    if (tolerance !== undefined)
      return (
        Math.abs(actual - expected) <= tolerance * Math.max(Math.abs(expected), 1e-12) ||
        Math.abs(actual - expected) <= tolerance
      );
    return Math.abs(actual - expected) <= 0.05 + 1e-7 * Math.abs(expected);
  }
  if (Array.isArray(actual) && Array.isArray(expected))
    return (
      actual.length === expected.length && actual.every((a, i) => close(a, expected[i], tolerance))
    );
  if (
    actual !== null &&
    expected !== null &&
    typeof actual === 'object' &&
    typeof expected === 'object'
  ) {
    const keys = Object.keys(expected as object);
    return (
      keys.every((k) =>
        close(
          (actual as Record<string, unknown>)[k],
          (expected as Record<string, unknown>)[k],
          tolerance,
        ),
      ) && keys.length === Object.keys(actual as object).length
    );
  }
  return (
    actual === expected ||
    (typeof actual === 'number' && typeof expected === 'string' && String(actual) === expected)
  );
}

function checkOutcome(result: ExpectationResult, test: GXCase): void {
  const out = test.out;
  if (test.error !== undefined || out['traceback_substring'] !== undefined) {
    expect(result.exception_info.raised_exception, 'an error was expected').toBe(true);
    return;
  }
  expect(result.exception_info.exception_message).toBeNull();
  if (test.exact_match_out === true && out['result'] !== undefined) {
    expect(result.success).toBe(out['success']);
    expect(
      close(result.result, out['result']),
      JSON.stringify({ actual: result.result, expected: out['result'] }),
    ).toBe(true);
    return;
  }
  if ('success' in out) expect(result.success).toBe(out['success']);
  if ('observed_value' in out) {
    expect(
      close(result.result.observed_value, out['observed_value'], test.tolerance),
      JSON.stringify({ actual: result.result.observed_value, expected: out['observed_value'] }),
    ).toBe(true);
  }
  for (const key of ['unexpected_list', 'partial_unexpected_list'] as const) {
    if (!(key in out)) continue;
    const actual = sorted((result.result[key] ?? []) as unknown[]);
    const expected = sorted(out[key] as unknown[]);
    expect(close(actual, expected), JSON.stringify({ key, actual, expected })).toBe(true);
  }
  if ('unexpected_index_list' in out) {
    const byIndex = (list: unknown[]): unknown[] =>
      [...list].sort(
        (a, b) =>
          Number((a as { pk_index?: number }).pk_index ?? a) -
          Number((b as { pk_index?: number }).pk_index ?? b),
      );
    const actual = byIndex([...((result.result.unexpected_index_list ?? []) as unknown[])]);
    const expected = byIndex(out['unexpected_index_list'] as unknown[]);
    expect(close(actual, expected), JSON.stringify({ actual, expected })).toBe(true);
  }
  if ('details' in out)
    expect(
      close(result.result.details, out['details']),
      JSON.stringify({ actual: result.result.details, expected: out['details'] }),
    ).toBe(true);
}

describe.skipIf(folder === undefined)(
  'Great Expectations test definitions through validateDataFile',
  () => {
    it('found the fixture cases', () => {
      expect(cases.length).toBeGreaterThan(300);
    });

    for (const c of cases) {
      const name = c.name;
      it(name, async (context) => {
        const reason = NOT_PORTABLE[name] ?? NOT_IMPLEMENTED_TYPES[c.type];
        if (reason !== undefined) {
          context.skip(reason);
          return;
        }
        const dir = await tempDir();
        await mkdir(dir, { recursive: true });
        const columns = Object.keys(c.dataset.data);
        const length =
          columns.length === 0 ? 0 : (c.dataset.data[columns[0] as string] ?? []).length;
        const isMap = MAP_CATEGORIES.includes(c.category);
        const rows = Array.from({ length }, (_, i) => {
          const row: Record<string, unknown> = isMap ? { pk_index: i } : {};
          for (const column of columns) row[column] = c.dataset.data[column]?.[i] ?? null;
          return JSON.stringify(row);
        });
        // NDJSON keeps JSON types; a dataset without rows is an empty Parquet file with its columns.
        const dataFile = join(dir, length === 0 ? 'data.parquet' : 'data.ndjson');
        if (length === 0) {
          const empty = [
            ...(isMap ? ['CAST(NULL AS BIGINT) AS pk_index'] : []),
            ...columns.map((c) => `CAST(NULL AS VARCHAR) AS "${c.replaceAll('"', '""')}"`),
          ].join(', ');
          await query(`COPY (SELECT ${empty} LIMIT 0) TO '${dataFile}' (FORMAT parquet)`);
        } else {
          await writeFile(dataFile, `${rows.join('\n')}\n`);
        }
        const kwargs = { ...c.test.in };
        if (kwargs['result_format'] === undefined) {
          kwargs['result_format'] = isMap
            ? { result_format: 'COMPLETE', unexpected_index_column_names: ['pk_index'] }
            : 'COMPLETE';
        }
        const suite = suiteFromGX({
          expectation_suite_name: 'fixture',
          expectations: [{ expectation_type: c.type, kwargs }],
        });
        const { result } = await validateDataFile(dataFile, suite, {
          stateDir: join(dir, '.sluice'),
        });
        checkOutcome(result.results[0] as ExpectationResult, c.test);
      });
    }
  },
);
