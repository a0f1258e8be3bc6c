import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createJiti } from 'jiti';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import type { Suite } from './expectation.js';
import type { DatasetProfile } from './profile.js';
import { profileRelation } from './profile.js';
import type { SuggestedSuite } from './profile-suggest.js';
import { renderSuiteTS, suggestSuite } from './profile-suggest.js';
import { SEMANTIC_KINDS } from './profile-semantic.js';
import { suiteFromGX } from './suite.js';
import { validateSuite } from './validate.js';

let session: DuckDBSession;
let connection: EngineConnection;

beforeEach(async () => {
  session = await DuckDBSession.create({ threads: 2 });
  connection = await session.connect();
  // 40 rows covering each rule: a unique id, a categorical status, e-mails, a float with a NaN,
  // a date, a column with a few nulls, one with many, one with only nulls.
  await connection.run(
    `CREATE TABLE orders AS SELECT
       range + 1 AS id,
       ['paid', 'shipped', 'canceled'][range % 3 + 1] AS status,
       'customer' || range || '@example.com' AS email,
       CASE WHEN range = 7 THEN 'nan'::DOUBLE ELSE 10.0 + range * 2.5 END AS amount,
       DATE '2026-03-01' + CAST(range % 10 AS INTEGER) AS day,
       TIMESTAMPTZ '2026-03-01 08:00:00+00' + to_hours(range) AS seen_at,
       CASE WHEN range = 3 THEN NULL ELSE 'c-' || (range % 12) END AS customer,
       CASE WHEN range % 2 = 0 THEN 'note' END AS note,
       CAST(NULL AS VARCHAR) AS unused
     FROM range(40)`,
  );
});

afterEach(() => session.close());

type Expectation = SuggestedSuite['expectations'][number];

function find(suite: SuggestedSuite, type: string, column?: string): Expectation[] {
  return suite.expectations.filter(
    (e) => e.expectation_type === type && (column === undefined || e.kwargs['column'] === column),
  );
}

async function profileOrders(): Promise<DatasetProfile> {
  return profileRelation(connection, 'orders');
}

describe('suggestSuite', () => {
  it('suggests standard GX expectations with sensible kwargs', async () => {
    const profile = await profileOrders();
    const suite = suggestSuite(profile, { name: 'orders' });
    expect(suite.expectation_suite_name).toBe('orders');
    expect(find(suite, 'expect_table_row_count_to_be_between')[0]?.kwargs).toEqual({
      min_value: 36,
      max_value: 44,
    });
    expect(find(suite, 'expect_table_columns_to_match_set')[0]?.kwargs).toEqual({
      column_set: [
        'id',
        'status',
        'email',
        'amount',
        'day',
        'seen_at',
        'customer',
        'note',
        'unused',
      ],
      exact_match: true,
    });
    // Not null: exactly where there are no nulls; with mostly for few nulls; never for many.
    for (const c of ['id', 'status', 'email', 'amount', 'day']) {
      expect(find(suite, 'expect_column_values_to_not_be_null', c)[0]?.kwargs, c).toEqual({
        column: c,
      });
    }
    expect(find(suite, 'expect_column_values_to_not_be_null', 'customer')[0]?.kwargs).toEqual({
      column: 'customer',
      mostly: 0.97,
    });
    expect(find(suite, 'expect_column_values_to_not_be_null', 'note')).toEqual([]);
    expect(find(suite, 'expect_column_values_to_be_null', 'unused')).toHaveLength(1);
    // Unique: the integer id and the e-mails, not the float amount.
    expect(find(suite, 'expect_column_values_to_be_unique').map((e) => e.kwargs['column'])).toEqual(
      ['id', 'email'],
    );
    // In set: low-cardinality strings only.
    expect(find(suite, 'expect_column_values_to_be_in_set', 'status')[0]?.kwargs).toEqual({
      column: 'status',
      value_set: ['canceled', 'paid', 'shipped'],
    });
    expect(find(suite, 'expect_column_values_to_be_in_set', 'email')).toEqual([]);
    // Ranges: observed min and max; the NaN makes it `mostly`.
    expect(find(suite, 'expect_column_values_to_be_between', 'id')[0]?.kwargs).toEqual({
      column: 'id',
      min_value: 1,
      max_value: 40,
    });
    expect(find(suite, 'expect_column_values_to_be_between', 'amount')[0]?.kwargs).toEqual({
      column: 'amount',
      min_value: 10,
      max_value: 107.5,
      mostly: 0.97,
    });
    expect(find(suite, 'expect_column_values_to_be_between', 'day')[0]?.kwargs).toEqual({
      column: 'day',
      min_value: '2026-03-01',
      max_value: '2026-03-10',
    });
    expect(find(suite, 'expect_column_values_to_be_between', 'seen_at')[0]?.kwargs).toMatchObject({
      column: 'seen_at',
    });
    expect(find(suite, 'expect_column_mean_to_be_between', 'id')).toEqual([]);
    const mean = find(suite, 'expect_column_mean_to_be_between', 'amount')[0]?.kwargs;
    const observed = profile.columns.find((c) => c.name === 'amount')?.mean ?? NaN;
    expect(observed).toBeCloseTo(2322.5 / 39, 10);
    expect(Number(mean?.['min_value'])).toBeCloseTo(observed * 0.9, 3);
    expect(Number(mean?.['max_value'])).toBeCloseTo(observed * 1.1, 3);
    expect(find(suite, 'expect_column_value_lengths_to_be_between', 'status')[0]?.kwargs).toEqual({
      column: 'status',
      min_value: 4,
      max_value: 8,
    });
    expect(find(suite, 'expect_column_values_to_match_regex', 'email')[0]).toEqual({
      expectation_type: 'expect_column_values_to_match_regex',
      kwargs: { column: 'email', regex: SEMANTIC_KINDS.email.regex },
      meta: { semantic_kind: 'email' },
    });
  });

  it('suggests a suite that passes on the data it was profiled from', async () => {
    const profile = await profileOrders();
    const suggested = suggestSuite(profile, { name: 'orders' });
    const columns = profile.columns.map((c) => ({ name: c.name, type: c.logicalType }));
    const result = await validateSuite(
      { connection, relation: 'orders', columns },
      suiteFromGX(JSON.parse(JSON.stringify(suggested))),
    );
    const failed = result.results.filter((r) => !r.success).map((r) => r.expectation_config);
    expect(failed).toEqual([]);
    expect(result.statistics.evaluated_expectations).toBe(suggested.expectations.length);
  });

  it('suggests only table expectations for an empty dataset', async () => {
    await connection.run('CREATE TABLE empty (id BIGINT, name VARCHAR)');
    const suite = suggestSuite(await profileRelation(connection, 'empty'));
    expect(suite.expectation_suite_name).toBe('suggested');
    expect(suite.expectations.map((e) => e.expectation_type)).toEqual([
      'expect_table_row_count_to_be_between',
      'expect_table_columns_to_match_set',
    ]);
    expect(suite.expectations[0]?.kwargs).toEqual({ min_value: 0, max_value: 0 });
  });

  it('does not claim uniqueness from an estimated distinct count', async () => {
    const profile = await profileRelation(connection, 'orders', { mode: 'approximate' });
    const suite = suggestSuite(profile);
    // The grouped (small) columns are exact even in approximate mode, so the id stays unique.
    expect(find(suite, 'expect_column_values_to_be_unique', 'id')).toHaveLength(1);
    const estimated = {
      ...profile,
      columns: profile.columns.map((c) => ({ ...c, distinctApproximate: true })),
    };
    expect(find(suggestSuite(estimated), 'expect_column_values_to_be_unique')).toEqual([]);
  });
});

describe('renderSuiteTS', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-suggest-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('renders expect.* builder calls that build the same suite as the JSON', async () => {
    const suggested = suggestSuite(await profileOrders(), { name: 'orders' });
    const source = renderSuiteTS(suggested, { source: 'orders.csv' });
    expect(source).toContain(`import { expect, suite } from 'sluice';`);
    expect(source).toContain(`export default suite('orders', [`);
    expect(source).toContain(`expect.notNull('customer', { mostly: 0.97 }),`);
    expect(source).toContain(`expect.inSet('status', ['canceled', 'paid', 'shipped']),`);

    const file = join(dir, 'orders.suite.ts');
    await writeFile(
      file,
      renderSuiteTS(suggested, { importFrom: resolve(import.meta.dirname, 'suite.ts') }),
    );
    const jiti = createJiti(import.meta.url, { interopDefault: true, moduleCache: false });
    const fromTS = await jiti.import<Suite>(file, { default: true });
    const withoutEmptyMeta = (s: Suite) =>
      s.expectations.map(({ meta, ...rest }) =>
        meta === undefined || Object.keys(meta).length === 0 ? rest : { ...rest, meta },
      );
    expect(fromTS.name).toBe('orders');
    expect(withoutEmptyMeta(fromTS)).toEqual(
      withoutEmptyMeta(suiteFromGX(JSON.parse(JSON.stringify(suggested)))),
    );
  });

  it('falls back to expect.gx for types without a builder and quotes awkward strings', () => {
    const source = renderSuiteTS({
      expectation_suite_name: "o'brien",
      expectations: [
        {
          expectation_type: 'expect_column_values_to_be_between',
          kwargs: { column: 'a"; drop table x; --', min_value: 0, strict_min: true },
          meta: {},
        },
      ],
      meta: {},
    });
    expect(source).toContain(`export default suite("o'brien", [`);
    expect(source).toContain(
      [
        '  expect.gx(',
        "    'expect_column_values_to_be_between',",
        `    { column: 'a"; drop table x; --', min_value: 0, strict_min: true },`,
        '  ),',
      ].join('\n'),
    );
  });
});
