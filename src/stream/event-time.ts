import { ownValue } from '../core/own-keys.js';
import type { StreamRow } from '../contracts/stream-connector.js';

/** How a stream finds a record's event time: a column, or a function of the record. */
export type EventTimeSpec = string | ((row: StreamRow) => unknown);

/**
 * An event time as epoch milliseconds: numbers as they are, Dates, and text `Date.parse` reads;
 * undefined for anything else.
 *
 * @example
 * ```ts
 * eventTimeOf('2024-01-01T00:00:00Z'); // 1704067200000
 * eventTimeOf('yesterday'); // undefined
 * ```
 */
export function eventTimeOf(value: unknown): number | undefined {
  const time =
    typeof value === 'number'
      ? value
      : value instanceof Date
        ? value.getTime()
        : typeof value === 'string'
          ? Date.parse(value)
          : Number.NaN;
  return Number.isFinite(time) ? time : undefined;
}

/**
 * Reads the raw event-time value of a record as a spec says (the column's value, or the
 * function's result); {@link eventTimeOf} turns it into epoch milliseconds.
 *
 * @example
 * ```ts
 * const read = eventTimeReader('ts');
 * eventTimeOf(read({ ts: 1704067200000 })); // 1704067200000
 * ```
 */
export function eventTimeReader(spec: EventTimeSpec): (row: StreamRow) => unknown {
  return typeof spec === 'string' ? (row) => ownValue(row, spec) : spec;
}

/**
 * Names where a spec looks for the event time, for messages.
 *
 * @example
 * ```ts
 * describeEventTime('ts'); // 'column "ts"'
 * ```
 */
export function describeEventTime(spec: EventTimeSpec): string {
  return typeof spec === 'string' ? `column "${spec}"` : 'the eventTime function';
}
