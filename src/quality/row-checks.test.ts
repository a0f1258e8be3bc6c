import { describe, expect, it } from 'vitest';
import type { ExpectationConfig } from './expectation.js';
import {
  compileRowCheck,
  ROW_FAIL,
  ROW_INCOMPARABLE,
  ROW_MISSING,
  ROW_PASS,
} from './row-checks.js';
import { expect as gx } from './suite.js';

const outcomes = (
  expectation: ExpectationConfig,
  values: readonly unknown[],
  column = 'v',
): number[] => {
  const check = compileRowCheck(expectation);
  return values.map((value) => check.evaluate(value === undefined ? {} : { [column]: value }));
};

// Values GX's test data (JSON) cannot hold but stream records can: Dates, bigints, absent columns.
describe('row checks on values of stream records', () => {
  it('compares Dates with ISO-8601 bounds by time, zones included', () => {
    const between = gx.between('v', {
      min: '2024-01-01T09:00:00Z',
      max: '2024-01-01T12:00:00+02:00',
    });
    expect(
      outcomes(between, [
        new Date('2024-01-01T09:00:00Z'),
        new Date('2024-01-01T08:59:59Z'),
        new Date('2024-01-01T10:00:00Z'), // the maximum, 12:00 at +02:00
        new Date('2024-01-01T10:00:01Z'),
      ]),
    ).toEqual([ROW_PASS, ROW_FAIL, ROW_PASS, ROW_FAIL]);
  });

  it('compares bigints as numbers and treats an absent column as null', () => {
    expect(outcomes(gx.between('v', { min: 0, max: 10 }), [5n, 11n, undefined, null])).toEqual([
      ROW_PASS,
      ROW_FAIL,
      ROW_MISSING,
      ROW_MISSING,
    ]);
    expect(outcomes(gx.notNull('v'), [0, '', undefined, null])).toEqual([
      ROW_PASS,
      ROW_PASS,
      ROW_FAIL,
      ROW_FAIL,
    ]);
    expect(outcomes(gx.inSet('v', [1, 2]), [1n, 3n, 2.0])).toEqual([ROW_PASS, ROW_FAIL, ROW_PASS]);
  });

  it('reads Python regexes: leading inline flags, named groups, \\A and \\Z', () => {
    expect(outcomes(gx.matchesRegex('v', '(?i)^abc'), ['ABCd', 'xabc'])).toEqual([
      ROW_PASS,
      ROW_FAIL,
    ]);
    expect(
      outcomes(gx.matchesRegex('v', '\\A(?P<year>\\d{4})-(?P=year)\\Z'), [
        '2024-2024',
        '2024-2025',
      ]),
    ).toEqual([ROW_PASS, ROW_FAIL]);
  });

  it('treats LIKE wildcards only as wildcards: regex characters and backslashes are literal', () => {
    expect(outcomes(gx.matchesLike('v', 'a.b%'), ['a.bc', 'axbc'])).toEqual([ROW_PASS, ROW_FAIL]);
    expect(outcomes(gx.matchesLike('v', 'a\\_b'), ['a\\xb', 'a_b'])).toEqual([ROW_PASS, ROW_FAIL]);
  });

  it('judges a value of the wrong type as incomparable, which fails the record', () => {
    expect(outcomes(gx.between('v', { min: 0 }), ['5', true, { a: 1 }])).toEqual([
      ROW_INCOMPARABLE,
      ROW_INCOMPARABLE,
      ROW_INCOMPARABLE,
    ]);
    expect(outcomes(gx.lengthBetween('v', { min: 1, max: 2 }), [12])).toEqual([ROW_INCOMPARABLE]);
  });

  it('accepts NaN and Infinity as JSON text, as json.loads does', () => {
    expect(outcomes(gx.jsonParseable('v'), ['NaN', '{"a":1}', '{a:1}', 5])).toEqual([
      ROW_PASS,
      ROW_PASS,
      ROW_FAIL,
      ROW_FAIL,
    ]);
  });

  it('resolves dbt aliases', () => {
    const check = compileRowCheck(
      gx.gx('accepted_values', { column: 'v', value_set: ['a'] }, { id: 'v_accepted' }),
    );
    expect(check.type).toBe('expect_column_values_to_be_in_set');
    expect(check.evaluate({ v: 'b' })).toBe(ROW_FAIL);
    expect(check.explain({ v: 'b' })).toBe('v = "b" is not in the set ["a"]');
  });
});
