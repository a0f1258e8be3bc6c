import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';
import { SluiceError } from './errors.js';

describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['1h1m1s1ms', 3_661_001],
    [' 30s ', 30_000],
    [1200, 1200],
  ])('reads %j as %d ms', (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each(['', '5', 'm', '5 minutes', '1h-5m', 'abc', '5mm'])('rejects %j with a hint', (input) => {
    expect(() => parseDuration(input)).toThrow(SluiceError);
    try {
      parseDuration(input);
    } catch (error) {
      expect((error as SluiceError).hint).toContain('1h30m');
    }
  });

  it('rejects negative and non-finite numbers', () => {
    expect(() => parseDuration(-1)).toThrow(/not a duration/);
    expect(() => parseDuration(Number.NaN)).toThrow(/not a duration/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [5_400_000, '1h30m'],
    [90_061_001, '1d1h1m1s1ms'],
    [250, '250ms'],
  ])('formats %d as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1, 999, 61_000, 3_600_000, 123_456_789]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
