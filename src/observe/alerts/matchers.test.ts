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

  it('refuses regexes that could backtrack for ever, and overlong ones, before they run', () => {
    for (const bad of ['pipeline=~(a+)+', 'pipeline=~(.*)*x', 'pipeline=~((ab)*c)*'])
      expect(() => parseMatchers(bad), bad).toThrow(/nests quantifiers/);
    expect(() => parseMatchers(`pipeline=~${'a|'.repeat(200)}a`)).toThrow(/too long/);
    // What passes runs in linear time on a hostile label value (a hang would time the test out).
    const hostile = { pipeline: `${'a'.repeat(50_000)}!` };
    expect(matchesAll(parseMatchers('pipeline=~a+'), hostile)).toBe(false);
    expect(matchesAll(parseMatchers('pipeline=~[a-z_]*'), hostile)).toBe(false);
  });
});
