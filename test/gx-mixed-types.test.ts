import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExpectationResult } from '../src/quality/index.js';
import { suiteFromGX, validateDataFile } from '../src/quality/index.js';
import { tempDir } from './helpers.js';

/**
 * Expectations over a column holding values of several types (an NDJSON field without a
 * schema: numbers, text and booleans), compared as Great Expectations (Python) compares them:
 * equality across types is false, ordering across types raises, and an expectation given a
 * column of the wrong type raises instead of answering.
 */
const ROWS = [
  { id: 0, v: 1, t: 'a', n: 1 },
  { id: 1, v: 'abc', t: 'b', n: 2 },
  { id: 2, v: 2.5, t: 'c', n: 3 },
  { id: 3, v: true, t: 'd', n: 4 },
  { id: 4, v: null, t: null, n: 5 },
  { id: 5, v: 7, t: 'f', n: 6 },
];

async function run(
  kwargs: Record<string, unknown>,
  type: string,
  rows: readonly Record<string, unknown>[] = ROWS,
): Promise<ExpectationResult> {
  const dir = await tempDir();
  const file = join(dir, 'data.ndjson');
  await writeFile(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const suite = suiteFromGX({
    expectation_suite_name: 'mixed',
    expectations: [
      {
        expectation_type: type,
        kwargs: {
          result_format: { result_format: 'COMPLETE', unexpected_index_column_names: ['id'] },
          ...kwargs,
        },
      },
    ],
  });
  const { result } = await validateDataFile(file, suite, { stateDir: join(dir, '.sluice') });
  return result.results[0] as ExpectationResult;
}

function ids(result: ExpectationResult): number[] {
  return ((result.result.unexpected_index_list ?? []) as { id: number }[]).map((e) => e.id);
}

function raised(result: ExpectationResult): string {
  expect(result.exception_info.raised_exception, JSON.stringify(result.result)).toBe(true);
  return result.exception_info.exception_message ?? '';
}

function answered(result: ExpectationResult): ExpectationResult {
  expect(result.exception_info.exception_message).toBeNull();
  return result;
}

const BETWEEN = 'expect_column_values_to_be_between';

describe('row_condition over a column of several types (pandas parser)', () => {
  const within = { column: 'n', min_value: 100, condition_parser: 'pandas' };

  it('== text selects only the text value', async () => {
    const r = answered(await run({ ...within, row_condition: 'v == "abc"' }, BETWEEN));
    expect(ids(r)).toEqual([1]);
  });

  it('== number selects numbers and booleans equal to it (1 == True in Python)', async () => {
    const r = answered(await run({ ...within, row_condition: 'v == 1' }, BETWEEN));
    expect(ids(r)).toEqual([0, 3]);
  });

  it('!= text keeps every other value, the missing one included (NaN != "abc")', async () => {
    const r = answered(await run({ ...within, row_condition: 'v != "abc"' }, BETWEEN));
    expect(ids(r)).toEqual([0, 2, 3, 4, 5]);
  });

  it('& and | bind after comparisons, and col("v") reads the column', async () => {
    const r = answered(
      await run(
        {
          ...within,
          condition_parser: 'great_expectations',
          row_condition: 'col("v") == 7 | col("v") == "abc" & col("t") == "b"',
        },
        BETWEEN,
      ),
    );
    expect(ids(r)).toEqual([1, 5]);
  });

  it('an ordering comparison with a value of another type raises, naming the column', async () => {
    const message = raised(await run({ ...within, row_condition: 'v > 1' }, BETWEEN));
    expect(message).toMatch(/column "v" holds the varchar value "abc"/);
  });

  it('a typed column compared with a literal of another type is not equal, never converted', async () => {
    const r = answered(await run({ ...within, row_condition: 'n == "2"' }, BETWEEN));
    expect(r.result.element_count).toBe(0);
    expect(raised(await run({ ...within, row_condition: 'n > "2"' }, BETWEEN))).toMatch(
      /another type/,
    );
  });
});

describe('expectations over a column of several types', () => {
  it('in_set compares by Python equality: 1 == True, "1" != 1', async () => {
    const r = answered(
      await run({ column: 'v', value_set: [1, 'abc', '7'] }, 'expect_column_values_to_be_in_set'),
    );
    expect(r.result.unexpected_list).toEqual([2.5, 7]);
    expect(ids(r)).toEqual([2, 5]);
  });

  it('not_in_set lists the values of the set, with their JSON types kept', async () => {
    const r = answered(
      await run({ column: 'v', value_set: ['abc', 2.5] }, 'expect_column_values_to_not_be_in_set'),
    );
    expect(r.result.unexpected_list).toEqual(['abc', 2.5]);
  });

  it('regexes search the value as text, without JSON quotes', async () => {
    const r = answered(
      await run({ column: 'v', regex: '^abc$' }, 'expect_column_values_to_not_match_regex'),
    );
    expect(r.result.unexpected_list).toEqual(['abc']);
    const like = answered(
      await run(
        { column: 'v', like_pattern: 'ab%' },
        'expect_column_values_to_not_match_like_pattern',
      ),
    );
    expect(like.result.unexpected_list).toEqual(['abc']);
  });

  it('between with number bounds raises on the text value', async () => {
    expect(raised(await run({ column: 'v', min_value: 0 }, BETWEEN))).toMatch(
      /column "v" holds the varchar value "abc", which cannot be compared with a number/,
    );
  });

  it('between over numbers and booleans of a mixed column compares them as numbers', async () => {
    const rows = [1, 2.5, true, null, 9].map((v, id) => ({ id, v }));
    const r = answered(await run({ column: 'v', min_value: 1, max_value: 3 }, BETWEEN, rows));
    expect(r.result.unexpected_list).toEqual([9]);
    expect(r.result.missing_count).toBe(1);
  });

  it('value lengths raise on a number', async () => {
    expect(
      raised(await run({ column: 'v', min_value: 1 }, 'expect_column_value_lengths_to_be_between')),
    ).toMatch(/column "v" holds the ubigint value 1, which cannot be compared with text/);
  });

  for (const type of [
    'expect_column_mean_to_be_between',
    'expect_column_median_to_be_between',
    'expect_column_sum_to_be_between',
    'expect_column_stdev_to_be_between',
    'expect_column_min_to_be_between',
    'expect_column_max_to_be_between',
  ]) {
    it(`${type} raises on the text value`, async () => {
      expect(raised(await run({ column: 'v', min_value: 0, max_value: 100 }, type))).toMatch(
        /column "v" holds the varchar value "abc"/,
      );
    });
  }

  it('distinct values keep their JSON types', async () => {
    const r = answered(
      await run(
        { column: 'v', value_set: [1, 'abc', 2.5, true, 7] },
        'expect_column_distinct_values_to_be_in_set',
      ),
    );
    expect(r.success).toBe(true);
    expect(new Set(r.result.observed_value as unknown[])).toEqual(
      new Set([1, 'abc', 2.5, true, 7]),
    );
  });

  it('type_list judges value by value and lists the values of other types', async () => {
    const r = answered(
      await run(
        { column: 'v', type_list: ['int', 'float'] },
        'expect_column_values_to_be_in_type_list',
      ),
    );
    expect(r.success).toBe(false);
    expect(r.result.unexpected_list).toEqual(['abc', true]);
    const all = answered(
      await run(
        { column: 'v', type_list: ['int', 'float', 'str', 'bool'] },
        'expect_column_values_to_be_in_type_list',
      ),
    );
    expect(all.success).toBe(true);
    const ofType = answered(
      await run({ column: 'v', type_: 'str' }, 'expect_column_values_to_be_of_type'),
    );
    expect(ofType.result.unexpected_list).toEqual([1, 2.5, true, 7]);
  });
});

describe('pairs, sums, order and z-scores over a column of several types', () => {
  const PAIRS = [
    { id: 0, a: 2, b: 1 },
    { id: 1, a: 'x', b: 'w' },
    { id: 2, a: 1, b: 1.0 },
    { id: 3, a: 'x', b: 'x' },
    { id: 4, a: null, b: 3 },
  ];

  it('pair equality compares numbers as numbers and text as text; across types it is unequal', async () => {
    const rows = [...PAIRS, { id: 5, a: '1', b: 1 }];
    const r = answered(
      await run({ column_A: 'a', column_B: 'b' }, 'expect_column_pair_values_to_be_equal', rows),
    );
    expect(ids(r)).toEqual([0, 1, 4, 5]);
  });

  it('pair ordering raises across types and orders within one', async () => {
    const r = answered(
      await run(
        { column_A: 'a', column_B: 'b', or_equal: true, ignore_row_if: 'either_value_is_missing' },
        'expect_column_pair_values_a_to_be_greater_than_b',
        PAIRS,
      ),
    );
    expect(r.success).toBe(true);
    expect(
      raised(
        await run(
          { column_A: 'a', column_B: 'b' },
          'expect_column_pair_values_a_to_be_greater_than_b',
          [...PAIRS, { id: 5, a: 'x', b: 1 }],
        ),
      ),
    ).toMatch(/columns "a" and "b" hold "x" and 1, values of different types/);
  });

  it('pair in set matches each value by Python equality', async () => {
    const r = answered(
      await run(
        {
          column_A: 'a',
          column_B: 'b',
          value_pairs_set: [
            [2, 1],
            ['x', 'x'],
          ],
        },
        'expect_column_pair_values_to_be_in_set',
        PAIRS,
      ),
    );
    expect(ids(r)).toEqual([1, 2, 4]);
  });

  it("a typed column paired with a mixed one compares by the mixed value's type", async () => {
    const r = answered(
      await run(
        { column_A: 'n', column_B: 'v', ignore_row_if: 'either_value_is_missing' },
        'expect_column_pair_values_to_be_equal',
      ),
    );
    // n = 1..6 against v = 1, "abc", 2.5, true, null, 7: only row 0 (1 = 1) is equal.
    expect(ids(r)).toEqual([1, 2, 3, 5]);
  });

  it('multicolumn sums raise on text and add numbers', async () => {
    expect(
      raised(
        await run({ column_list: ['v', 'n'], sum_total: 2 }, 'expect_multicolumn_sum_to_equal'),
      ),
    ).toMatch(/column "v" holds the varchar value "abc"/);
    const r = answered(
      await run(
        { column_list: ['a', 'b'], sum_total: 2 },
        'expect_multicolumn_sum_to_equal',
        [
          { id: 0, a: 1, b: 1 },
          { id: 1, a: true, b: 1.5 },
          { id: 2, a: 'y', b: null },
        ].slice(0, 2),
      ),
    );
    expect(ids(r)).toEqual([1]);
  });

  it('increasing orders values of one type and raises across types', async () => {
    const numbers = [1, 2.5, 2, 7].map((v, id) => ({ id, v: id === 3 ? 'z' : v }));
    expect(
      raised(await run({ column: 'v' }, 'expect_column_values_to_be_increasing', numbers)),
    ).toMatch(/values of different types, which cannot be ordered/);
    const text = ['a', 'c', 'b'].map((v, id) => ({ id, v: id === 2 ? 1 : v }));
    expect(
      raised(await run({ column: 'v' }, 'expect_column_values_to_be_increasing', text)),
    ).toMatch(/cannot be ordered/);
    const ok = [1, 'x'].map((v, id) => ({ id, v }));
    expect(
      raised(
        await run({ column: 'v', strictly: true }, 'expect_column_values_to_be_decreasing', ok),
      ),
    ).toMatch(/cannot be ordered/);
  });

  it('z-scores and value lengths raise on values of the other type', async () => {
    expect(
      raised(
        await run({ column: 'v', threshold: 3 }, 'expect_column_value_z_scores_to_be_less_than'),
      ),
    ).toMatch(/column "v" holds the varchar value "abc"/);
    expect(
      raised(await run({ column: 'v', value: 3 }, 'expect_column_value_lengths_to_equal')),
    ).toMatch(/column "v" holds the ubigint value 1, which cannot be compared with text/);
  });
});

describe('an expectation given a column of the wrong type raises, as GX does', () => {
  for (const type of [
    'expect_column_mean_to_be_between',
    'expect_column_median_to_be_between',
    'expect_column_sum_to_be_between',
    'expect_column_stdev_to_be_between',
  ]) {
    it(`${type} of a text column`, async () => {
      expect(raised(await run({ column: 't', min_value: 0, max_value: 1 }, type))).toMatch(
        /column "t" holds text such as .*not numeric values/,
      );
    });
  }

  it('value lengths of a number column', async () => {
    for (const type of [
      'expect_column_value_lengths_to_equal',
      'expect_column_value_lengths_to_be_between',
    ])
      expect(raised(await run({ column: 'n', value: 1, min_value: 1 }, type))).toMatch(
        /column "n" holds int64 values, which have no length/,
      );
  });

  it('the mean of a text column without values is null, not an error', async () => {
    const r = answered(
      await run({ column: 't', min_value: 0 }, 'expect_column_mean_to_be_between', [
        { id: 0, t: null },
        { id: 1, t: null },
      ]),
    );
    expect(r.result.observed_value).toBeNull();
  });

  it('one failing expectation does not hide the others of the suite', async () => {
    const dir = await tempDir();
    const file = join(dir, 'data.ndjson');
    await writeFile(file, ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const suite = suiteFromGX({
      expectations: [
        {
          expectation_type: 'expect_column_mean_to_be_between',
          kwargs: { column: 't', min_value: 0 },
        },
        {
          expectation_type: 'expect_column_mean_to_be_between',
          kwargs: { column: 'n', min_value: 0 },
        },
      ],
    });
    const { result } = await validateDataFile(file, suite, { stateDir: join(dir, '.sluice') });
    expect(result.results[0]?.exception_info.raised_exception).toBe(true);
    expect(result.results[1]?.success).toBe(true);
    expect(result.results[1]?.result.observed_value).toBe(3.5);
  });
});
