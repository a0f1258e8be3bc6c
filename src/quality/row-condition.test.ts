import { describe, expect, it } from 'vitest';
import type { LogicalType } from '../core/types.js';
import { translateRowCondition } from './row-condition.js';

const TYPES: Readonly<Record<string, LogicalType>> = {
  n: { kind: 'int64' },
  s: { kind: 'string' },
  y: { kind: 'json' },
};
const pandas = (condition: string): string =>
  translateRowCondition(condition, 'pandas', (name) => TYPES[name]);

describe('translateRowCondition with the pandas grammar', () => {
  it('binds & and | after comparisons and makes comparisons with missing values false', () => {
    expect(pandas('n != 1 & s == "a" | n > 3')).toBe(
      `(((NOT coalesce("n" = 1, false)) AND coalesce("s" = 'a', false)) OR coalesce("n" > 3, false))`,
    );
  });

  it('reads backticked names, col("..."), ~, not, True/False/None and null tests', () => {
    expect(pandas('`my col` == True')).toBe('coalesce("my col" = TRUE, false)');
    expect(pandas('~(col("n") >= -2)')).toBe('(NOT coalesce("n" >= -2, false))');
    expect(pandas('not n.isnull() and s.notna()')).toBe(
      '((NOT ("n" IS NULL)) AND ("s" IS NOT NULL))',
    );
    expect(pandas('n == None')).toBe('false');
    expect(pandas('n != None')).toBe('true');
  });

  it('mirrors a literal on the left', () => {
    expect(pandas('3 < n')).toBe('coalesce("n" > 3, false)');
  });

  it('compares a mixed column only with values of the same type', () => {
    expect(pandas('y == "abc"')).toContain(`json_type("y") = 'VARCHAR'`);
    expect(pandas('y > 2')).toContain('error(');
  });

  it('refuses ordering across types on a typed column and answers equality', () => {
    expect(pandas('n == "1"')).toBe('false');
    expect(pandas('s != 1')).toBe('true');
    expect(() => pandas('n < "1"')).toThrow(/compares column "n" with "1"/);
  });

  it('reads what the grammar does not cover as SQL, and SQL without a parser', () => {
    expect(pandas('n BETWEEN 1 AND 3')).toBe('n BETWEEN 1 AND 3');
    expect(translateRowCondition("status = 'paid'", undefined)).toBe("status = 'paid'");
    expect(translateRowCondition('x == "a" & y != 2', 'sql')).toBe(`x = 'a' AND y <> 2`);
  });

  it('refuses a condition nested too deeply to read, with a clear error', () => {
    const deep = '('.repeat(50_000) + 'n == 1' + ')'.repeat(50_000);
    expect(() => pandas(deep)).toThrow(/row_condition nests too deeply to read/);
  });

  it('refuses an unknown parser and an empty condition', () => {
    expect(() => translateRowCondition('n == 1', 'bad_parser')).toThrow(
      /not a valid enumeration member/,
    );
    expect(() => translateRowCondition(' ', 'pandas')).toThrow(/non-empty string/);
  });
});
