import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect as assert, it } from 'vitest';
import {
  check,
  expect,
  pipeline,
  planPipeline,
  ref,
  source,
  sql,
  suite,
  suiteFromGX,
} from '../src/index.js';
import { defaultRegistry } from '../src/registry.js';
import { expectationArgumentProblems } from '../src/quality/expectation-arguments.js';
import { expectationDefinition } from '../src/quality/catalog.js';
import { compileRowCheck, ROW_FAIL, ROW_PASS } from '../src/quality/row-checks.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import { profileRelation } from '../src/quality/profile.js';
import { suggestSuite } from '../src/quality/profile-suggest.js';
import { fixtureFolder } from './fixtures.js';
import { runIn, sluice, stepOf, tempDir } from './helpers.js';

const ORDERS = sql`
  select * from (values
    (1, 'c-001', 'paid'),
    (2, 'c-002', 'refunded'),
    (3, 'c-404', 'lost'),
    (4, null, 'paid')
  ) v(order_id, customer_id, status)`;

describe("dbt's argument names for its tests", () => {
  it('accepted_values(values), relationships(to: ref(...), field) and column_name run as documented', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'customers.csv'), 'id\nc-001\nc-002\n');
    const report = await runIn(
      dir,
      pipeline('dbt_names', {
        steps: {
          orders: ORDERS,
          customers: source.csv({ path: 'customers.csv' }),
          checked: check({
            input: ref('orders'),
            suite: suiteFromGX({
              expectation_suite_name: 'dbt',
              expectations: [
                {
                  type: 'accepted_values',
                  kwargs: { column_name: 'status', values: ['paid', 'refunded'] },
                  meta: { severity: 'warn' },
                },
                {
                  type: 'relationships',
                  kwargs: { column_name: 'customer_id', to: "ref('customers')", field: 'id' },
                  meta: { severity: 'warn' },
                },
                { type: 'not_null', kwargs: { column_name: 'order_id' } },
                { type: 'unique', kwargs: { arguments: { column_name: 'order_id' } } },
                {
                  type: 'accepted_values',
                  kwargs: {
                    arguments: {
                      column_name: 'order_id',
                      values: ['1', '2', '3', '4'],
                      quote: false,
                    },
                  },
                },
              ],
            }),
          }),
        },
      }),
    );
    assert(report.error?.message).toBeUndefined();
    assert(report.status).toBe('success');
    const results = stepOf(report, 'checked').quality?.results ?? [];
    assert(results.map((r) => r.exception_info.exception_message)).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    assert(results.map((r) => r.success)).toEqual([false, false, true, true, true]);
    assert(results[0]?.result.partial_unexpected_list).toEqual(['lost']);
    assert(results[1]?.result.partial_unexpected_list).toEqual(['c-404']);
  });

  it('accepted_values(values) is checked record by record in streams too', () => {
    const rowCheck = compileRowCheck(
      expect.gx('accepted_values', { column_name: 'status', values: ['paid'] }),
    );
    assert(rowCheck.evaluate({ status: 'paid' })).toBe(ROW_PASS);
    assert(rowCheck.evaluate({ status: 'lost' })).toBe(ROW_FAIL);
  });

  it('stream expectations report every argument problem of an expectation', () => {
    assert(() =>
      compileRowCheck(expect.gx('accepted_values', { column_name: 'status', vals: ['paid'] })),
    ).toThrow(
      'expectation "accepted_values" (accepted_values): unknown argument "vals"; missing required argument "values"',
    );
  });

  it('relationships(to: ref(...)) orders the check after the dataset it names', () => {
    const result = planPipeline(
      pipeline('order', {
        steps: {
          orders: ORDERS,
          checked: check({
            input: ref('orders'),
            suite: suite('s', [
              expect.gx('relationships', {
                column: 'customer_id',
                to: "ref('customers')",
                field: 'id',
              }),
            ]),
          }),
          customers: sql`select 'c-001' as id`,
        },
      }),
      { connectors: defaultRegistry.lookup },
    );
    assert(
      result.ok ? result.plan.steps.find((s) => s.id === 'checked')?.inputs : result.diagnostics,
    ).toEqual(['orders', 'customers']);
  });
});

function planProblems(
  expectations: Parameters<typeof suite>[1],
): [string | undefined, string | undefined, string][] {
  const result = planPipeline(
    pipeline('args', {
      steps: {
        orders: ORDERS,
        checked: check({ input: ref('orders'), suite: suite('s', expectations) }),
      },
    }),
    { connectors: defaultRegistry.lookup },
  );
  return result.ok ? [] : result.diagnostics.map((d) => [d.stepId, d.path, d.message]);
}

describe('expectation arguments are checked when the pipeline is planned', () => {
  it('lists every unknown, mistyped and missing argument at once, naming step, expectation and argument', () => {
    const problems = planProblems([
      expect.gx(
        'expect_column_values_to_be_between',
        { column: 'order_id', min_vlaue: 0 },
        { id: 'positive' },
      ),
      expect.gx('expect_column_values_to_be_in_set', { column: 'status', value_set: 'paid' }),
      expect.gx('expect_column_values_to_match_regex', { regex: 5 }),
      expect.gx('accepted_values', { column_name: 'status', valeus: ['paid'] }),
      expect.gx('relationships', { column: 'customer_id', to: 'customers' }),
      expect.notNull('order_id', { mostly: 1.5 }),
      expect.gx('expect_table_row_count_to_be_between', { min_value: 1.5, result_format: 'ALL' }),
    ]);
    assert(problems).toEqual([
      [
        'checked',
        'suite.expectations[0].kwargs.min_vlaue',
        'expectation "positive" (expect_column_values_to_be_between): unknown argument "min_vlaue"',
      ],
      [
        'checked',
        'suite.expectations[0].kwargs.min_value, max_value',
        'expectation "positive" (expect_column_values_to_be_between): give at least one of "min_value" or "max_value"',
      ],
      [
        'checked',
        'suite.expectations[1].kwargs.value_set',
        'expectation "column_values_to_be_in_set(status)" (expect_column_values_to_be_in_set): "value_set" must be a list, got "paid"',
      ],
      [
        'checked',
        'suite.expectations[2].kwargs.regex',
        'expectation "column_values_to_match_regex" (expect_column_values_to_match_regex): "regex" must be a string, got 5',
      ],
      [
        'checked',
        'suite.expectations[2].kwargs.column',
        'expectation "column_values_to_match_regex" (expect_column_values_to_match_regex): missing required argument "column"',
      ],
      [
        'checked',
        'suite.expectations[3].kwargs.valeus',
        'expectation "accepted_values" (accepted_values): unknown argument "valeus"',
      ],
      [
        'checked',
        'suite.expectations[3].kwargs.values',
        'expectation "accepted_values" (accepted_values): missing required argument "values"',
      ],
      [
        'checked',
        'suite.expectations[4].kwargs.field',
        'expectation "relationships(customer_id)" (relationships): missing required argument "field"',
      ],
      [
        'checked',
        'suite.expectations[5].kwargs.mostly',
        'expectation "column_values_to_not_be_null(order_id)" (expect_column_values_to_not_be_null): "mostly" must be a number between 0 and 1, got 1.5',
      ],
      [
        'checked',
        'suite.expectations[6].kwargs.min_value',
        'expectation "table_row_count_to_be_between" (expect_table_row_count_to_be_between): "min_value" must be an integer or a {"$PARAMETER": ...} expression, got 1.5',
      ],
      [
        'checked',
        'suite.expectations[6].kwargs.result_format',
        'expectation "table_row_count_to_be_between" (expect_table_row_count_to_be_between): "result_format" must be BOOLEAN_ONLY, BASIC, SUMMARY, COMPLETE or a result_format object, got "ALL"',
      ],
    ]);
  });

  it('suggests the closest argument name', () => {
    assert(
      expectationArgumentProblems('expect_column_values_to_be_between', {
        column: 'a',
        max_value: 1,
        min_vlaue: 0,
      }),
    ).toEqual([
      {
        argument: 'min_vlaue',
        message: 'unknown argument "min_vlaue"',
        hint: 'did you mean "min_value"?',
      },
    ]);
    assert(
      expectationArgumentProblems('accepted_values', { column_name: 'a', value: [1] })[0]?.hint,
    ).toBe('did you mean "values"?');
  });

  it('refuses the GX and the dbt name of one argument together', () => {
    assert(
      expectationArgumentProblems('accepted_values', {
        column: 'a',
        column_name: 'a',
        values: [],
      }).map((p) => p.message),
    ).toEqual(['"column_name" and "column" are the same argument; give one']);
  });

  it('accepts suite parameters where GX does', () => {
    assert(
      expectationArgumentProblems('expect_column_values_to_be_between', {
        column: 'ts',
        max_value: { $PARAMETER: 'now()' },
      }),
    ).toEqual([]);
  });

  it('checks suite parameter expressions when planning', () => {
    assert(
      expectationArgumentProblems('expect_column_values_to_be_between', {
        column: 'ts',
        min_value: { $PARAMETER: 'now() - timedelta(fortnights=1)' },
        max_value: { $PARAMETER: 3 },
      }).map((p) => [p.argument, p.message]),
    ).toEqual([
      [
        'min_value',
        assert.stringContaining(
          '"min_value": suite parameter "now() - timedelta(fortnights=1)": timedelta() has no argument "fortnights"',
        ),
      ],
      ['max_value', '"max_value": $PARAMETER must be a string expression'],
    ]);
  });

  it('a suite parameter bound quarantines the rows outside it in a check step', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('params', {
        steps: {
          events: sql`select * from (values (1, TIMESTAMP '1999-01-01 00:00:00'), (2, TIMESTAMP '2020-06-01 00:00:00'), (3, TIMESTAMP '2999-01-01 00:00:00')) v(id, seen)`,
          checked: check({
            input: ref('events'),
            suite: suite('s', [
              expect.gx(
                'expect_column_values_to_be_between',
                {
                  column: 'seen',
                  min_value: { $PARAMETER: 'datetime(2000, 1, 1)' },
                  max_value: { $PARAMETER: 'now() + timedelta(days=1)' },
                },
                { severity: 'quarantine' },
              ),
            ]),
          }),
        },
      }),
    );
    assert(report.error?.message).toBeUndefined();
    assert(stepOf(report, 'checked')).toMatchObject({ rowsIn: 3, rowsOut: 1, rowsQuarantined: 2 });
  });

  it('a run with a bad argument stops before any step runs', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('stopped', {
        steps: {
          orders: ORDERS,
          checked: check({
            input: ref('orders'),
            suite: suite('s', [
              expect.gx('expect_column_values_to_be_in_set', { column: 'status' }),
            ]),
          }),
        },
      }),
    ).catch((error: unknown) => error);
    const error = (report as { error?: { code?: string; message?: string } }).error ?? report;
    assert((error as { code?: string }).code).toBe('CONFIG_INVALID');
    assert(String((error as { message?: string }).message)).toContain(
      'missing required argument "value_set"',
    );
    assert((report as { steps?: unknown[] }).steps ?? []).toEqual([]);
  });

  const folder = fixtureFolder('great-expectations');
  it.skipIf(folder === undefined)(
    'accepts the arguments of every GX fixture case that is not an error case',
    async () => {
      let checked = 0;
      const wrong: string[] = [];
      for (const category of await readdir(folder as string)) {
        if (category.endsWith('.md') || category === 'multi_table_expectations') continue;
        for (const file of (await readdir(join(folder as string, category))).filter((f) =>
          f.endsWith('.json'),
        )) {
          const doc = JSON.parse(
            await readFile(join(folder as string, category, file), 'utf8'),
          ) as {
            expectation_type: string;
            datasets: {
              tests: {
                title: string;
                in: Record<string, unknown>;
                out: Record<string, unknown>;
                error?: unknown;
              }[];
            }[];
          };
          if (expectationDefinition(doc.expectation_type) === undefined) continue;
          for (const dataset of doc.datasets)
            for (const test of dataset.tests) {
              if (test.error !== undefined || 'traceback_substring' in test.out) continue;
              checked++;
              const problems = expectationArgumentProblems(doc.expectation_type, test.in);
              if (problems.length > 0)
                wrong.push(`${file} ${test.title}: ${problems.map((p) => p.message).join('; ')}`);
            }
        }
      }
      assert(checked).toBeGreaterThan(300);
      assert(wrong).toEqual([]);
    },
  );
});

describe('suites Sluice writes itself', () => {
  it('a suggested suite (sluice profile --suggest) passes the argument check', async () => {
    const session = await DuckDBSession.create({ threads: 1 });
    try {
      const connection = await session.connect();
      await connection.run(
        `CREATE TABLE t AS SELECT range AS id, ['a', 'b'][range % 2 + 1] AS status,
           'u' || range || '@example.com' AS email, range * 1.5 AS amount,
           DATE '2026-01-01' + CAST(range AS INTEGER) AS day FROM range(30)`,
      );
      const suggested = suggestSuite(await profileRelation(connection, 't'), { name: 't' });
      assert(suggested.expectations.length).toBeGreaterThan(5);
      const problems = suggested.expectations.flatMap((e) =>
        expectationArgumentProblems(e.expectation_type, e.kwargs),
      );
      assert(problems).toEqual([]);
    } finally {
      session.close();
    }
  });
});

describe('sluice check', () => {
  it('prints every expectation argument problem with the step, expectation and argument', async () => {
    const dir = await tempDir();
    const file = join(dir, 'bad-suite.ts');
    await writeFile(
      file,
      `import { check, expect, pipeline, ref, sql, suite } from 'sluice';
export default pipeline('bad_suite', {
  steps: {
    orders: sql\`select 1 as id, 'paid' as status\`,
    gate: check({
      input: ref('orders'),
      suite: suite('s', [
        expect.gx('accepted_values', { column_name: 'status', vals: ['paid'] }),
        expect.gx('expect_column_values_to_be_unique', { column: 42 }),
      ]),
    }),
  },
});
`,
    );
    const bad = sluice(['check', file]);
    assert(bad.code).toBe(2);
    assert(bad.stderr).toContain('3 problems found:');
    assert(bad.stderr).toContain(
      'step "gate" at suite.expectations[0].kwargs.vals: expectation "accepted_values" (accepted_values): unknown argument "vals"',
    );
    assert(bad.stderr).toContain('did you mean "values"?');
    assert(bad.stderr).toContain(
      'step "gate" at suite.expectations[0].kwargs.values: expectation "accepted_values" (accepted_values): missing required argument "values"',
    );
    assert(bad.stderr).toContain(
      'step "gate" at suite.expectations[1].kwargs.column: expectation "column_values_to_be_unique" (expect_column_values_to_be_unique): "column" must be a column name (a non-empty string), got 42',
    );
    const json = sluice(['check', file, '--json']);
    assert(json.code).toBe(2);
    assert(
      (JSON.parse(json.stdout) as { error: { diagnostics: unknown[] } }).error.diagnostics,
    ).toHaveLength(3);
  });
});
