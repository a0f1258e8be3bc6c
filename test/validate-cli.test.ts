import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sluice, tempDir } from './helpers.js';

const SUITE = {
  expectation_suite_name: 'orders',
  expectations: [
    { expectation_type: 'expect_column_values_to_not_be_null', kwargs: { column: 'customer_id' } },
    {
      type: 'expect_column_values_to_be_between',
      kwargs: { column: 'amount', min_value: 0, max_value: 100, mostly: 0.5 },
    },
    {
      expectation_type: 'expect_table_row_count_to_be_between',
      kwargs: { min_value: 1, max_value: 10 },
    },
  ],
};

describe('sluice validate', () => {
  it('prints the GX-shaped result and exits 0 when the suite passes, 1 when it fails', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'suite.json'), JSON.stringify(SUITE));
    await writeFile(join(dir, 'good.csv'), 'customer_id,amount\nc1,10\nc2,20\nc3,500\n');
    await writeFile(
      join(dir, 'bad.ndjson'),
      '{"customer_id": null, "amount": 10}\n{"customer_id": "c2", "amount": 20}\n',
    );
    const good = sluice(
      [
        'validate',
        'good.csv',
        '--suite',
        'suite.json',
        '--format',
        'json',
        '--result-format',
        'SUMMARY',
      ],
      dir,
    );
    expect(good.code).toBe(0);
    const result = JSON.parse(good.stdout) as {
      success: boolean;
      statistics: Record<string, number>;
      results: { success: boolean; result: Record<string, unknown> }[];
    };
    expect(result.success).toBe(true);
    expect(result.statistics).toEqual({
      evaluated_expectations: 3,
      successful_expectations: 3,
      unsuccessful_expectations: 0,
      success_percent: 100,
    });
    expect(result.results[1]?.result).toMatchObject({
      element_count: 3,
      unexpected_count: 1,
      partial_unexpected_list: [500],
      partial_unexpected_counts: [{ value: 500, count: 1 }],
    });
    const bad = sluice(['validate', 'bad.ndjson', '--suite', 'suite.json'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('Suite "orders": FAILED (2/3 expectations');
    expect(bad.stdout).toContain(
      'FAIL column_values_to_not_be_null(customer_id): 1 unexpected of 2',
    );
  });

  it('exits 2 on bad usage, an unreadable file or a broken suite', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'suite.json'), JSON.stringify(SUITE));
    await writeFile(
      join(dir, 'broken.json'),
      '{"expectations": [{"expectation_type": "expect_nothing"}]}',
    );
    await writeFile(join(dir, 'data.csv'), 'customer_id,amount\nc1,1\n');
    expect(sluice(['validate', 'data.csv'], dir).stderr).toContain(
      '--suite <suite.json> is required',
    );
    expect(sluice(['validate', 'data.csv'], dir).code).toBe(2);
    const missing = sluice(['validate', 'nope.csv', '--suite', 'suite.json'], dir);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('file not found');
    const unknown = sluice(['validate', 'data.csv', '--suite', 'broken.json'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown expectation type "expect_nothing"');
    expect(sluice(['validate', 'data.xlsx', '--suite', 'suite.json'], dir).code).toBe(2);
    expect(
      sluice(['validate', 'data.csv', '--suite', 'suite.json', '--result-format', 'LOUD'], dir)
        .code,
    ).toBe(2);
  });
});
