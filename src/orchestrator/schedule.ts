import { Cron } from 'croner';
import { ConfigError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { ScheduleSpec } from '../define/pipeline.js';
import type { DataInterval } from './run-types.js';

/** The ticks of a schedule, as epoch milliseconds. */
export interface ScheduleClock {
  /** The first tick strictly after `time`. */
  next(time: number): number | undefined;
  /** The last tick at or before `time`. */
  previous(time: number): number | undefined;
}

/**
 * Builds the tick clock of a schedule. Cron ticks follow the time zone's wall clock across DST
 * changes: a tick in a skipped hour fires once at the first valid instant, a tick in a repeated
 * hour fires once.
 *
 * @example
 * ```ts
 * const clock = scheduleClock({ cron: '0 2 * * *', timezone: 'Europe/Berlin' });
 * new Date(clock.next(Date.parse('2024-03-30T12:00:00Z'))!).toISOString(); // 2024-03-31T01:00:00.000Z
 * ```
 */
export function scheduleClock(spec: ScheduleSpec, pipeline = 'pipeline'): ScheduleClock {
  if ('every' in spec) {
    const step = parseDuration(spec.every);
    if (step <= 0) throw invalid(pipeline, `schedule.every must be more than zero`);
    return {
      next: (time) => (Math.floor(time / step) + 1) * step,
      previous: (time) => Math.floor(time / step) * step,
    };
  }
  let cron: Cron;
  try {
    cron = new Cron(spec.cron, {
      paused: true,
      ...(spec.timezone === undefined ? {} : { timezone: spec.timezone }),
    });
  } catch (cause) {
    throw invalid(pipeline, `schedule.cron "${spec.cron}": ${(cause as Error).message}`);
  }
  return {
    next: (time) => cron.nextRun(new Date(time))?.getTime(),
    previous: (time) => {
      // previousRuns looks strictly before its reference.
      if (cron.match(new Date(time)) && time % 1000 === 0) return time;
      return cron.previousRuns(1, new Date(time))[0]?.getTime();
    },
  };
}

/**
 * The data intervals whose end is after `after` and at or before `until`, oldest first, at most
 * `limit` of them.
 *
 * @example
 * ```ts
 * dueIntervals(scheduleClock({ every: '1h' }), Date.parse('2024-01-01T00:00Z'), Date.parse('2024-01-01T03:00Z'));
 * // three intervals: 00-01, 01-02, 02-03
 * ```
 */
export function dueIntervals(
  clock: ScheduleClock,
  after: number,
  until: number,
  limit = Number.POSITIVE_INFINITY,
): DataInterval[] {
  const intervals: DataInterval[] = [];
  let start = clock.previous(after) ?? after;
  while (intervals.length < limit) {
    const end = clock.next(start);
    if (end === undefined || end > until) break;
    if (end > after) intervals.push({ start, end });
    start = end;
  }
  return intervals;
}

function invalid(pipeline: string, message: string): ConfigError {
  return new ConfigError([
    {
      code: 'invalid-schedule',
      message: `pipeline "${pipeline}": ${message}`,
      hint: "use { cron: '0 2 * * *', timezone: 'Europe/Berlin' } or { every: '15m' }",
    },
  ]);
}
