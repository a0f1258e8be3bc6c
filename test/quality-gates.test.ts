import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect as assert, it } from 'vitest';
import {
  check,
  expect,
  param,
  pipeline,
  planPipeline,
  ref,
  sink,
  source,
  sql,
  suite,
  suiteFromGX,
} from '../src/index.js';
import { defaultRegistry } from '../src/registry.js';
import { readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const ORDERS = sql`
  select * from (values
    (1, 'c-001', 10.0, 'paid'),
    (2, 'c-002', -5.0, 'paid'),
    (3, 'bad id', 7.5, 'shipped'),
    (3, 'c-003', 12.0, 'unknown')
  ) v(order_id, customer_id, amount, status)`;

describe('check steps', () => {
  it('quarantine failing rows, report warnings, and pass the rest downstream', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('gated', {
        steps: {
          orders: ORDERS,
          checked: check({
            input: ref('orders'),
            suite: suite('orders', [
              expect.between(
                'amount',
                { min: 0 },
                { severity: 'quarantine', id: 'amount_not_negative' },
              ),
              expect.matchesRegex('customer_id', '^c-\\d+$', { severity: 'quarantine' }),
              expect.unique('order_id', { severity: 'warn' }),
              expect.inSet('status', ['paid', 'shipped', 'unknown']),
            ]),
          }),
          out: sink.ndjson({ input: ref('checked'), path: 'checked.ndjson' }),
        },
      }),
    );
    assert(report.status).toBe('success');
    const step = stepOf(report, 'checked');
    assert(step).toMatchObject({ rowsIn: 4, rowsOut: 2, rowsQuarantined: 2 });
    assert((await readNDJSON(join(dir, 'checked.ndjson'))).map((r) => r['order_id'])).toEqual([
      1, 3,
    ]);
    const quarantined = await readNDJSON(step.quarantineFile as string);
    assert(quarantined.map((q) => q['reason']).sort()).toEqual([
      'expectation "amount_not_negative" (expect_column_values_to_be_between) failed',
      'expectation "column_values_to_match_regex(customer_id)" (expect_column_values_to_match_regex) failed',
    ]);
    assert(
      quarantined.find((q) => (q['record'] as { order_id: number }).order_id === 2)?.['run_id'],
    ).toBe(report.runId);
    const quality = step.quality;
    assert(quality?.statistics).toMatchObject({
      evaluated_expectations: 4,
      successful_expectations: 1,
    });
    const unique = quality?.results.find(
      (r) => r.expectation_config.id === 'column_values_to_be_unique(order_id)',
    );
    assert(unique).toMatchObject({
      success: false,
      result: { unexpected_count: 2, partial_unexpected_list: [3, 3] },
    });
    assert(quality?.quality_score).toBeCloseTo((3 / (2 + 2 + 1 + 3)) * 100, 5);
    const saved = JSON.parse(
      readFileSync(join(dir, '.sluice', 'runs', `${report.runId}.json`), 'utf8'),
    ) as typeof report;
    assert(
      saved.steps.find((s) => s.id === 'checked')?.quality?.statistics.evaluated_expectations,
    ).toBe(4);
  });

  it('fail the run on an error expectation and publish nothing', async () => {
    const dir = await tempDir();
    const run = (status: readonly string[]) =>
      runIn(
        dir,
        pipeline('strict', {
          steps: {
            orders: ORDERS,
            checked: check({
              input: ref('orders'),
              suite: suite('orders', [
                expect.inSet('status', status),
                expect.rowCountBetween({ max: 10 }),
              ]),
            }),
            out: sink.csv({ input: ref('checked'), path: 'orders.csv' }),
          },
        }),
      );
    assert((await run(['paid', 'shipped', 'unknown'])).status).toBe('success');
    const before = readFileSync(join(dir, 'orders.csv'), 'utf8');
    const failed = await run(['paid']);
    assert(failed.status).toBe('failed');
    assert(failed.error).toMatchObject({ code: 'QUALITY_GATE_FAILED', stepId: 'checked' });
    assert(failed.error?.message).toContain(
      'column_values_to_be_in_set(status): 2 of 4 rows unexpected',
    );
    assert(stepOf(failed, 'checked').quality?.success).toBe(false);
    assert(stepOf(failed, 'out').status).toBe('skipped');
    assert(readFileSync(join(dir, 'orders.csv'), 'utf8')).toBe(before);
  });

  it('run GX suites, relationships to other datasets, and hostile column names', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'customers.csv'), 'customer_id\nc-001\nc-002\n');
    const nasty = 'a"; drop table x; --';
    const report = await runIn(
      dir,
      pipeline('relations', {
        steps: {
          orders: sql`select * from (values ('c-001', 1), ('c-002', 2), ('c-404', 3)) v(customer_id, "a""; drop table x; --")`,
          customers: source.csv({ path: 'customers.csv' }),
          checked: check({
            input: ref('orders'),
            suite: suiteFromGX({
              expectation_suite_name: 'orders',
              expectations: [
                {
                  expectation_type: 'expect_column_values_to_be_between',
                  kwargs: { column: nasty, min_value: 1, max_value: 3 },
                },
                {
                  type: 'relationships',
                  kwargs: { column: 'customer_id', to: 'customers', field: 'customer_id' },
                  meta: { severity: 'quarantine' },
                },
              ],
            }),
          }),
        },
      }),
    );
    assert(report.status).toBe('success');
    assert(stepOf(report, 'checked')).toMatchObject({ rowsIn: 3, rowsOut: 2, rowsQuarantined: 1 });
    assert(stepOf(report, 'checked').quality?.results.map((r) => r.success)).toEqual([true, false]);
  });

  it('refuse at plan time a quarantine severity on a dataset-level expectation and unknown types', () => {
    const result = planPipeline(
      pipeline('bad', {
        steps: {
          orders: ORDERS,
          checked: check({
            input: ref('orders'),
            suite: suite('s', [
              expect.rowCount(4, { severity: 'quarantine' }),
              expect.gx('expect_the_impossible', {}),
            ]),
          }),
        },
      }),
      { connectors: defaultRegistry.lookup },
    );
    assert(result.ok).toBe(false);
    assert(result.ok ? [] : result.diagnostics.map((d) => [d.code, d.stepId, d.path])).toEqual([
      ['invalid-suite', 'checked', 'suite.expectations[0]'],
      ['unknown-expectation', 'checked', 'suite.expectations[1]'],
    ]);
  });
});

describe('expect: on a step', () => {
  it('gates a source, a SQL step and a transform so readers see checked data', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'orders.csv'), 'order_id,amount\n1,10\n2,-3\n3,7\n');
    const positive = suite('positive', [
      expect.between('amount', { min: 0 }, { severity: 'quarantine' }),
    ]);
    const report = await runIn(
      dir,
      pipeline('inline', {
        steps: {
          orders: source.csv({ path: 'orders.csv', expect: positive }),
          doubled: sql`select order_id, amount * 2 - 20 as amount from ${ref('orders')}`.options({
            expect: positive,
          }),
          out: sink.ndjson({ input: ref('doubled'), path: 'out.ndjson' }),
        },
      }),
    );
    assert(report.status).toBe('success');
    assert(report.steps.map((s) => [s.id, s.kind, s.rowsOut])).toEqual([
      ['orders_unchecked', 'source', 3],
      ['orders', 'check', 2],
      ['doubled_unchecked', 'sql', 2],
      ['doubled', 'check', 1],
      ['out', 'sink', 1],
    ]);
    assert(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([{ order_id: 1, amount: 0 }]);
  });
});

describe('anomaly expectations', () => {
  it('judge row counts and column metrics against the history of earlier successful runs', async () => {
    const dir = await tempDir();
    const gated = pipeline('daily_load', {
      params: { rows: '100', nulls: '0' },
      steps: {
        rows: sql`select range as id, case when range < cast(${param('nulls')} as integer) then null else 'x' end as label
                  from range(cast(${param('rows')} as integer))`,
        checked: check({
          input: ref('rows'),
          suite: suite('daily', [
            expect.gx('row_count_anomaly', { threshold: 3.5, min_history: 5 }),
            expect.gx(
              'metric_change',
              { metric: 'columns.label.null_percent', max_change_percent: 50 },
              { severity: 'warn' },
            ),
          ]),
        }),
      },
    });
    const counts = [100, 104, 98, 101, 99, 102];
    for (const rows of counts) {
      const report = await runIn(dir, gated, { params: { rows: String(rows), nulls: '10' } });
      assert(report.status).toBe('success');
    }
    const history = readFileSync(
      join(dir, '.sluice', 'metrics', 'daily_load.checked.ndjson'),
      'utf8',
    )
      .trim()
      .split('\n');
    assert(history).toHaveLength(counts.length);
    const first = JSON.parse(history[0] as string) as { metrics: { row_count: number } };
    assert(first.metrics.row_count).toBe(100);

    const spike = await runIn(dir, gated, { params: { rows: '1000', nulls: '500' } });
    assert(spike.status).toBe('failed');
    assert(spike.error?.code).toBe('QUALITY_GATE_FAILED');
    const results = stepOf(spike, 'checked').quality?.results ?? [];
    assert(results[0]).toMatchObject({
      success: false,
      result: { observed_value: 1000, details: { status: 'fail', history_size: 6 } },
    });
    assert(results[1]).toMatchObject({ success: false, result: { details: { status: 'fail' } } });
    // A failed run does not join the history.
    assert(
      readFileSync(join(dir, '.sluice', 'metrics', 'daily_load.checked.ndjson'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(counts.length);
  });
});

describe('custom SQL expectations', () => {
  it('fail with the number of rows the query returns and a sample of them', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('custom', {
        steps: {
          orders: ORDERS,
          checked: check({
            input: ref('orders'),
            suite: suite('custom', [
              expect.sql('select order_id, amount from {dataset} where amount < 0', {
                severity: 'warn',
                id: 'no_refunds',
              }),
              expect.sql("select * from {dataset} where status = 'lost'", { id: 'nothing_lost' }),
            ]),
          }),
        },
      }),
    );
    assert(report.status).toBe('success');
    const [refunds, lost] = stepOf(report, 'checked').quality?.results ?? [];
    assert(refunds).toMatchObject({
      success: false,
      result: {
        observed_value: 1,
        details: { failing_rows_sample: [{ order_id: 2, amount: -5 }] },
      },
    });
    assert(lost).toMatchObject({ success: true, result: { observed_value: 0 } });
  });
});
