import { describe, expect, it } from 'vitest';
import { formatMatchers, matchesAll, parseMatchers } from './matchers.js';

describe('label matchers', () => {
  const labels = { pipeline: 'orders_daily', severity: 'critical', owners: 'data-eng,finance' };

  it('holds equality, inequality and anchored regexes, all of them', () => {
    expect(matchesAll(parseMatchers('pipeline=orders_daily'), labels)).toBe(true);
    expect(matchesAll(parseMatchers('pipeline!=orders_daily'), labels)).toBe(false);
    expect(matchesAll(parseMatchers('pipeline=~orders'), labels)).toBe(false); // anchored
    expect(
      matchesAll(parseMatchers('pipeline=~orders_.*,severity=~critical|warning'), labels),
    ).toBe(true);
    expect(matchesAll(parseMatchers('pipeline=~orders_.*,severity!~critical'), labels)).toBe(false);
    expect(matchesAll(parseMatchers('dataset='), labels)).toBe(true); // a missing label is empty
    expect(matchesAll(parseMatchers('dataset!='), labels)).toBe(false);
  });

  it('matches owner and tag against the lists of owners and tags', () => {
    expect(matchesAll(parseMatchers('owner=finance'), labels)).toBe(true);
    expect(matchesAll(parseMatchers('owner=fin'), labels)).toBe(false);
    expect(matchesAll(parseMatchers('owner!=finance'), labels)).toBe(false);
    expect(matchesAll(parseMatchers('tag=tier1'), labels)).toBe(false);
    expect(matchesAll(parseMatchers('tag!=tier1'), labels)).toBe(true);
  });

  it('reads quoted values with commas and writes them back the same', () => {
    const matchers = parseMatchers('summary="a, b",rule=x');
    expect(matchers).toEqual([
      { name: 'summary', op: '=', value: 'a, b' },
      { name: 'rule', op: '=', value: 'x' },
    ]);
    expect(parseMatchers(formatMatchers(matchers))).toEqual(matchers);
  });

  it('refuses what is not a matcher, with a hint', () => {
    for (const bad of ['', ',', 'pipeline', '9x=1', 'a=~(', 'a b=c'])
      expect(() => parseMatchers(bad), bad).toThrow(/matcher|regular expression/);
  });
});
