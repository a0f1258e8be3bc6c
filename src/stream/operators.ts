import { parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';
import { ownValue } from '../core/own-keys.js';
import type { StreamRow } from '../contracts/stream-connector.js';
import { ExpectOperator } from './expect-operator.js';
import { EnrichOperator } from './enrich.js';
import { IntervalJoinOperator } from './interval-join.js';
import type { WindowOptions } from './windows.js';
import { WindowAggregation } from './windows.js';
import type { OperatorSpec, SideOutput, StreamBatch, StreamOperator } from './operator-spec.js';

const EMPTY: StreamBatch = { rows: [], times: [] };

/**
 * Transforms each record: the function returns the new record (its event time is kept).
 *
 * @example
 * ```ts
 * map((r) => ({ ...r, price_eur: Number(r.price) * 0.908 }))
 * ```
 */
export function map(fn: (row: StreamRow) => StreamRow): OperatorSpec {
  return { kind: 'map', fn };
}

/**
 * Keeps the records for which the function returns true.
 *
 * @example
 * ```ts
 * filter((r) => Number(r.auction) % 123 === 0)
 * ```
 */
export function filter(fn: (row: StreamRow) => boolean): OperatorSpec {
  return { kind: 'filter', fn };
}

/**
 * Turns each record into zero or more records, with the input's event time.
 *
 * @example
 * ```ts
 * flatMap((order) => (order.items as StreamRow[]).map((item) => ({ order_id: order.id, ...item })))
 * ```
 */
export function flatMap(
  fn: (row: StreamRow) => readonly StreamRow[] | Iterable<StreamRow>,
): OperatorSpec {
  return { kind: 'flatMap', fn };
}

/**
 * Drops records whose key was already seen within `ttl` of event time (the first one wins), so
 * a producer's retries do not count twice. Without `key`, the key of the `keyBy` before it.
 *
 * @example
 * ```ts
 * dedupe({ key: 'event_id', ttl: '10m' })
 * ```
 */
export function dedupe(options: {
  readonly key?: string | readonly string[];
  readonly ttl: string | number;
}): OperatorSpec {
  return {
    kind: 'dedupe',
    ...(options.key === undefined
      ? {}
      : { key: typeof options.key === 'string' ? [options.key] : options.key }),
    ttlMs: parseDuration(options.ttl),
  };
}

/**
 * Aggregates records per key and event-time window; see {@link WindowAggregation}.
 *
 * @example
 * ```ts
 * window({ key: 'page', window: tumbling('1m'), aggregate: { views: count() }, allowedLateness: '30s' })
 * ```
 */
export function window(
  options: Omit<WindowOptions, 'allowedLatenessMs'> & {
    readonly allowedLateness?: string | number;
  },
): OperatorSpec {
  const { allowedLateness, ...rest } = options;
  return {
    kind: 'window',
    options: {
      ...rest,
      ...(allowedLateness === undefined
        ? {}
        : { allowedLatenessMs: parseDuration(allowedLateness) }),
    },
  };
}

/**
 * Makes the operator a spec declares.
 *
 * @example
 * ```ts
 * const operators = spec.steps.map(createOperator);
 * ```
 */
export function createOperator(spec: OperatorSpec): StreamOperator {
  switch (spec.kind) {
    case 'map':
      return stateless((batch) => ({ rows: batch.rows.map(spec.fn), times: batch.times }));
    case 'filter':
      return stateless((batch) => {
        const out: StreamBatch = { rows: [], times: [] };
        for (let i = 0; i < batch.rows.length; i++) {
          const row = batch.rows[i] as StreamRow;
          if (spec.fn(row)) {
            out.rows.push(row);
            out.times.push(batch.times[i] as number);
          }
        }
        return out;
      });
    case 'flatMap':
      return stateless((batch) => {
        const out: StreamBatch = { rows: [], times: [] };
        for (let i = 0; i < batch.rows.length; i++) {
          for (const row of spec.fn(batch.rows[i] as StreamRow)) {
            out.rows.push(row);
            out.times.push(batch.times[i] as number);
          }
        }
        return out;
      });
    case 'dedupe':
      if (spec.key === undefined || spec.key.length === 0)
        throw new ConfigError([
          {
            code: 'invalid-config',
            message: 'dedupe has no key: it names none and no keyBy comes before it',
            hint: "name the key (dedupe({ key: 'event_id', ttl: '10m' })) or put keyBy('event_id') before it",
          },
        ]);
      return new DedupeOperator(spec.key, spec.ttlMs);
    case 'window':
      return new WindowOperator(spec.options);
    case 'enrich':
      return new EnrichOperator(spec.options);
    case 'intervalJoin':
      return new IntervalJoinOperator(spec.join);
    case 'expect':
      return new ExpectOperator(spec.suite);
    case 'keyBy': {
      const { fn } = spec;
      if (fn === undefined) return stateless((batch) => batch);
      const column = spec.key[0] as string;
      return stateless((batch) => ({
        rows: batch.rows.map((row) => ({ ...row, [column]: fn(row) })),
        times: batch.times,
      }));
    }
  }
}

function stateless(process: (batch: StreamBatch) => StreamBatch): StreamOperator {
  return {
    process,
    advance: () => EMPTY,
    stateSize: () => 0,
    snapshot: () => null,
    restore: () => undefined,
  };
}

/** Keys seen, with the event time they were first seen, forgotten `ttl` after it (by watermark). */
class DedupeOperator implements StreamOperator {
  #seen = new Map<string, number>();

  constructor(
    private readonly key: readonly string[],
    private readonly ttlMs: number,
  ) {}

  process(batch: StreamBatch, watermark: number): StreamBatch {
    const out: StreamBatch = { rows: [], times: [] };
    const single = this.key.length === 1 ? (this.key[0] as string) : undefined;
    for (let i = 0; i < batch.rows.length; i++) {
      const row = batch.rows[i] as StreamRow;
      const time = batch.times[i] as number;
      const key =
        single === undefined
          ? JSON.stringify(this.key.map((k) => ownValue(row, k) ?? null))
          : String(ownValue(row, single) ?? '\u0000null');
      const seenAt = this.#seen.get(key);
      if (seenAt !== undefined && time - seenAt < this.ttlMs) continue;
      this.#seen.set(key, time);
      out.rows.push(row);
      out.times.push(time);
    }
    this.#expire(watermark);
    return out;
  }

  advance(watermark: number): StreamBatch {
    this.#expire(watermark);
    return EMPTY;
  }

  #expire(watermark: number): void {
    if (!Number.isFinite(watermark)) return;
    for (const [key, seenAt] of this.#seen)
      if (seenAt + this.ttlMs <= watermark) this.#seen.delete(key);
  }

  stateSize(): number {
    return this.#seen.size;
  }

  snapshot(): unknown {
    return [...this.#seen];
  }

  restore(state: unknown): void {
    this.#seen = new Map(state as [string, number][]);
  }
}

/** A window aggregation as a stage: records in, closed windows out when the watermark moves. */
class WindowOperator implements StreamOperator {
  readonly #windows: WindowAggregation;

  constructor(options: WindowOptions) {
    this.#windows = new WindowAggregation(options);
  }

  process(batch: StreamBatch, watermark: number, side: SideOutput): StreamBatch {
    this.#windows.add(batch.rows, batch.times, watermark, side);
    return EMPTY;
  }

  advance(watermark: number): StreamBatch {
    return this.#windows.advance(watermark);
  }

  stateSize(): number {
    return this.#windows.stateSize();
  }

  snapshot(): unknown {
    return this.#windows.snapshot();
  }

  restore(state: unknown): void {
    this.#windows.restore(state);
  }
}
