import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.js';
import { dueIntervals, scheduleClock } from './schedule.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function dailyRuns(timezone: string, from: string, to: string): string[][] {
  const clock = scheduleClock({ cron: '0 2 * * *', timezone });
  return dueIntervals(clock, Date.parse(from), Date.parse(to)).map((i) => [
    iso(i.start),
    iso(i.end),
  ]);
}

describe('cron schedules across DST changes', () => {
  it('Europe/Berlin 0 2 * * *: one run per day when 02:00 is skipped (March) and repeated (October)', () => {
    expect(dailyRuns('Europe/Berlin', '2024-03-29T01:00:00Z', '2024-04-01T12:00:00Z')).toEqual([
      ['2024-03-29T01:00:00.000Z', '2024-03-30T01:00:00.000Z'],
      // 02:00 does not exist on March 31: the tick fires at 03:00 CEST, once.
      ['2024-03-30T01:00:00.000Z', '2024-03-31T01:00:00.000Z'],
      ['2024-03-31T01:00:00.000Z', '2024-04-01T00:00:00.000Z'],
    ]);
    expect(dailyRuns('Europe/Berlin', '2024-10-26T00:00:00Z', '2024-10-29T12:00:00Z')).toEqual([
      ['2024-10-26T00:00:00.000Z', '2024-10-27T00:00:00.000Z'],
      // 02:00 happens twice on October 27 (CEST, then CET): one tick, at the first.
      ['2024-10-27T00:00:00.000Z', '2024-10-28T01:00:00.000Z'],
      ['2024-10-28T01:00:00.000Z', '2024-10-29T01:00:00.000Z'],
    ]);
  });

  it('America/New_York 0 2 * * *: one run per day on both change days', () => {
    expect(dailyRuns('America/New_York', '2024-03-09T07:00:00Z', '2024-03-12T12:00:00Z')).toEqual([
      ['2024-03-09T07:00:00.000Z', '2024-03-10T07:00:00.000Z'],
      ['2024-03-10T07:00:00.000Z', '2024-03-11T06:00:00.000Z'],
      ['2024-03-11T06:00:00.000Z', '2024-03-12T06:00:00.000Z'],
    ]);
    expect(dailyRuns('America/New_York', '2024-11-02T06:00:00Z', '2024-11-05T12:00:00Z')).toEqual([
      ['2024-11-02T06:00:00.000Z', '2024-11-03T07:00:00.000Z'],
      ['2024-11-03T07:00:00.000Z', '2024-11-04T07:00:00.000Z'],
      ['2024-11-04T07:00:00.000Z', '2024-11-05T07:00:00.000Z'],
    ]);
  });

  it('a whole year of daily Berlin runs has 365 contiguous intervals', () => {
    const clock = scheduleClock({ cron: '0 2 * * *', timezone: 'Europe/Berlin' });
    const year = dueIntervals(
      clock,
      Date.parse('2022-12-31T01:00:00Z'),
      Date.parse('2023-12-31T01:00:00Z'),
    );
    expect(year).toHaveLength(365);
    year.slice(1).forEach((interval, i) => expect(interval.start).toBe(year[i]?.end));
  });
});

describe('fixed-interval schedules', () => {
  it('tick on multiples of the interval and list due intervals after a point', () => {
    const clock = scheduleClock({ every: '15m' });
    const after = Date.parse('2024-01-01T00:10:00Z');
    const intervals = dueIntervals(clock, after, Date.parse('2024-01-01T01:00:00Z'));
    expect(intervals.map((i) => iso(i.start))).toEqual([
      '2024-01-01T00:00:00.000Z',
      '2024-01-01T00:15:00.000Z',
      '2024-01-01T00:30:00.000Z',
      '2024-01-01T00:45:00.000Z',
    ]);
    expect(dueIntervals(clock, after, Date.parse('2024-01-01T01:00:00Z'), 2)).toHaveLength(2);
  });

  it('reject a bad cron expression or a zero interval with a config error', () => {
    expect(() => scheduleClock({ cron: '61 * * * *' }, 'p')).toThrow(ConfigError);
    expect(() => scheduleClock({ every: '0s' }, 'p')).toThrow(/more than zero/);
  });
});
