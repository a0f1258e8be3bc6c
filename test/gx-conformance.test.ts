import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { suiteFromGX, validateDataFile } from '../src/quality/index.js';
import type { ExpectationResult } from '../src/quality/index.js';
import { fixtureFolder } from './fixtures.js';
import { tempDir } from './helpers.js';

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
const NOT_PORTABLE: Readonly<Record<string, string>> = {};

const MAP_CATEGORIES = [
  'column_map_expectations',
  'column_pair_map_expectations',
  'multicolumn_map_expectations',
];

const folder = fixtureFolder('great-expectations');

async function loadCases(): Promise<
  { name: string; file: string; category: string; type: string; dataset: GXDataset; test: GXCase }[]
> {
  if (folder === undefined) return [];
  const cases = [];
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

function sortKey(v: unknown): string {
  return JSON.stringify(v);
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
    const actual = [...((result.result[key] ?? []) as unknown[])].map((v) => sortKey(v)).sort();
    const expected = [...(out[key] as unknown[])].map((v) => sortKey(v)).sort();
    expect(
      close(
        actual.map((a) => JSON.parse(a) as unknown),
        expected.map((e) => JSON.parse(e) as unknown),
      ),
      JSON.stringify({ key, actual, expected }),
    ).toBe(true);
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

    it.each(cases.map((c) => [c.name, c] as const))('%s', async (name, c) => {
      if (NOT_PORTABLE[name] !== undefined) return;
      const dir = await tempDir();
      await mkdir(dir, { recursive: true });
      const columns = Object.keys(c.dataset.data);
      const length = columns.length === 0 ? 0 : (c.dataset.data[columns[0] as string] ?? []).length;
      const isMap = MAP_CATEGORIES.includes(c.category);
      const rows = Array.from({ length }, (_, i) => {
        const row: Record<string, unknown> = isMap ? { pk_index: i } : {};
        for (const column of columns) row[column] = c.dataset.data[column]?.[i] ?? null;
        return JSON.stringify(row);
      });
      const dataFile = join(dir, 'data.ndjson');
      await writeFile(dataFile, rows.join('\n') + (rows.length > 0 ? '\n' : ''));
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
  },
);
