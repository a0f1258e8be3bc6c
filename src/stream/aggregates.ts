import { ownValue } from '../core/own-keys.js';
import { HyperLogLog } from './hyperloglog.js';
import type { StreamRow } from '../contracts/stream-connector.js';

/**
 * How a window aggregates its records into one value: an accumulator created per window (and
 * key), records added to it, accumulators merged when session windows join, and the result read
 * when the window fires. Accumulators are mutated in place.
 *
 * @example
 * ```ts
 * const total: Aggregate<{ sum: number }, number> = {
 *   name: 'sum(amount)', create: () => ({ sum: 0 }),
 *   add: (acc, row) => { acc.sum += Number(row.amount); }, merge: (a, b) => { a.sum += b.sum; },
 *   result: (acc) => acc.sum, snapshot: (acc) => acc, restore: (s) => s as { sum: number },
 * };
 * ```
 */
export interface Aggregate<Acc = unknown, Out = unknown> {
  /** How the aggregate is described in messages and docs: `sum(amount)`. */
  readonly name: string;
  create(): Acc;
  add(acc: Acc, row: StreamRow, eventTime: number): void;
  /** Adds `from` into `into` (session windows that grow together). */
  merge(into: Acc, from: Acc): void;
  result(acc: Acc): Out;
  /** The accumulator as JSON-able state for a checkpoint, and back. */
  snapshot(acc: Acc): unknown;
  restore(state: unknown): Acc;
}

/** A column's value as a number, or undefined for NULL (SQL aggregates skip NULLs). */
function numeric(row: StreamRow, column: string): number | undefined {
  const value = ownValue(row, column);
  if (value === null || value === undefined) return undefined;
  return typeof value === 'number' ? value : Number(value);
}

function plain<Acc>(acc: Acc): unknown {
  return acc;
}

/**
 * `count()` counts records; `count('col')` counts records where the column is not NULL.
 *
 * @example
 * ```ts
 * window({ key: 'page', window: tumbling('1m'), aggregate: { views: count() } });
 * ```
 */
export function count(column?: string): Aggregate<{ n: number }, number> {
  return {
    name: column === undefined ? 'count()' : `count(${column})`,
    create: () => ({ n: 0 }),
    add:
      column === undefined
        ? (acc) => {
            acc.n++;
          }
        : (acc, row) => {
            const value = ownValue(row, column);
            if (value !== null && value !== undefined) acc.n++;
          },
    merge: (into, from) => {
      into.n += from.n;
    },
    result: (acc) => acc.n,
    snapshot: plain,
    restore: (state) => state as { n: number },
  };
}

/**
 * The sum of a numeric column (NULL when every value was NULL).
 *
 * @example
 * ```ts
 * aggregate: { revenue: sum('amount') }
 * ```
 */
export function sum(column: string): Aggregate<{ sum: number; seen: boolean }, number | null> {
  return {
    name: `sum(${column})`,
    create: () => ({ sum: 0, seen: false }),
    add: (acc, row) => {
      const value = numeric(row, column);
      if (value === undefined) return;
      acc.sum += value;
      acc.seen = true;
    },
    merge: (into, from) => {
      into.sum += from.sum;
      into.seen ||= from.seen;
    },
    result: (acc) => (acc.seen ? acc.sum : null),
    snapshot: plain,
    restore: (state) => state as { sum: number; seen: boolean },
  };
}

/**
 * The mean of a numeric column's non-NULL values.
 *
 * @example
 * ```ts
 * aggregate: { avg_price: avg('price') }
 * ```
 */
export function avg(column: string): Aggregate<{ sum: number; n: number }, number | null> {
  return {
    name: `avg(${column})`,
    create: () => ({ sum: 0, n: 0 }),
    add: (acc, row) => {
      const value = numeric(row, column);
      if (value === undefined) return;
      acc.sum += value;
      acc.n++;
    },
    merge: (into, from) => {
      into.sum += from.sum;
      into.n += from.n;
    },
    result: (acc) => (acc.n === 0 ? null : acc.sum / acc.n),
    snapshot: plain,
    restore: (state) => state as { sum: number; n: number },
  };
}

function extreme(
  name: 'min' | 'max',
  column: string,
): Aggregate<{ value: unknown; seen: boolean }, unknown> {
  const better =
    name === 'min'
      ? (a: unknown, b: unknown) => (a as number) < (b as number)
      : (a: unknown, b: unknown) => (a as number) > (b as number);
  return {
    name: `${name}(${column})`,
    create: () => ({ value: null, seen: false }),
    add: (acc, row) => {
      const value = ownValue(row, column);
      if (value === null || value === undefined) return;
      if (!acc.seen || better(value, acc.value)) {
        acc.value = value;
        acc.seen = true;
      }
    },
    merge: (into, from) => {
      if (from.seen && (!into.seen || better(from.value, into.value))) {
        into.value = from.value;
        into.seen = true;
      }
    },
    result: (acc) => (acc.seen ? acc.value : null),
    snapshot: plain,
    restore: (state) => state as { value: unknown; seen: boolean },
  };
}

/**
 * The smallest non-NULL value of a column (numbers, strings, or dates compared as JS does).
 *
 * @example
 * ```ts
 * aggregate: { cheapest: min('price') }
 * ```
 */
export function min(column: string): Aggregate<{ value: unknown; seen: boolean }, unknown> {
  return extreme('min', column);
}

/**
 * The largest non-NULL value of a column.
 *
 * @example
 * ```ts
 * aggregate: { highest_bid: max('price') }
 * ```
 */
export function max(column: string): Aggregate<{ value: unknown; seen: boolean }, unknown> {
  return extreme('max', column);
}

function positional(
  name: 'first' | 'last',
  column: string,
): Aggregate<{ value: unknown; time: number }, unknown> {
  const wins =
    name === 'first'
      ? (t: number, best: number) => t < best
      : (t: number, best: number) => t >= best;
  return {
    name: `${name}(${column})`,
    create: () => ({ value: null, time: name === 'first' ? Infinity : -Infinity }),
    add: (acc, row, eventTime) => {
      if (wins(eventTime, acc.time)) {
        acc.value = ownValue(row, column) ?? null;
        acc.time = eventTime;
      }
    },
    merge: (into, from) => {
      if (from.time !== Infinity && from.time !== -Infinity && wins(from.time, into.time)) {
        into.value = from.value;
        into.time = from.time;
      }
    },
    result: (acc) => acc.value,
    snapshot: (acc) => ({
      value: acc.value,
      time: acc.time === Infinity || acc.time === -Infinity ? null : acc.time,
    }),
    restore: (state) => {
      const s = state as { value: unknown; time: number | null };
      return { value: s.value, time: s.time ?? (name === 'first' ? Infinity : -Infinity) };
    },
  };
}

/**
 * The column's value in the window's earliest record by event time (the first to arrive among
 * equal times).
 *
 * @example
 * ```ts
 * aggregate: { landing_page: first('url') }
 * ```
 */
export function first(column: string): Aggregate<{ value: unknown; time: number }, unknown> {
  return positional('first', column);
}

/**
 * The column's value in the window's latest record by event time (the last to arrive among
 * equal times).
 *
 * @example
 * ```ts
 * aggregate: { exit_page: last('url') }
 * ```
 */
export function last(column: string): Aggregate<{ value: unknown; time: number }, unknown> {
  return positional('last', column);
}

/**
 * The approximate number of distinct non-NULL values of a column (HyperLogLog; about 0.8%
 * standard error at the default precision 14, 16 KiB of state per window and key).
 *
 * @example
 * ```ts
 * aggregate: { visitors: approxDistinct('user_id') }
 * ```
 */
export function approxDistinct(column: string, precision = 14): Aggregate<HyperLogLog, number> {
  return {
    name: `approxDistinct(${column})`,
    create: () => new HyperLogLog(precision),
    add: (acc, row) => {
      const value = ownValue(row, column);
      if (value !== null && value !== undefined) acc.add(value);
    },
    merge: (into, from) => into.merge(from),
    result: (acc) => acc.estimate(),
    snapshot: (acc) => Buffer.from(acc.registers).toString('base64'),
    restore: (state) =>
      new HyperLogLog(precision, new Uint8Array(Buffer.from(String(state), 'base64'))),
  };
}

/**
 * A user-defined aggregate. `merge` is needed only for session windows; the accumulator must
 * be JSON-able for checkpoints (or give `snapshot`/`restore`).
 *
 * @example
 * ```ts
 * const longestSession = reduce({
 *   name: 'longest', create: () => ({ best: 0 }),
 *   add: (acc, row) => { acc.best = Math.max(acc.best, Number(row.seconds)); },
 *   result: (acc) => acc.best,
 * });
 * ```
 */
export function reduce<Acc, Out>(definition: {
  readonly name: string;
  create(): Acc;
  add(acc: Acc, row: StreamRow, eventTime: number): void;
  merge?(into: Acc, from: Acc): void;
  result(acc: Acc): Out;
  snapshot?(acc: Acc): unknown;
  restore?(state: unknown): Acc;
}): Aggregate<Acc, Out> {
  return {
    name: definition.name,
    create: () => definition.create(),
    add: (acc, row, time) => definition.add(acc, row, time),
    merge: (into, from) => {
      if (definition.merge === undefined)
        throw new Error(`aggregate ${definition.name} has no merge; session windows need one`);
      definition.merge(into, from);
    },
    result: (acc) => definition.result(acc),
    snapshot: (acc) => (definition.snapshot === undefined ? acc : definition.snapshot(acc)),
    restore: (state) =>
      definition.restore === undefined ? (state as Acc) : definition.restore(state),
  };
}
