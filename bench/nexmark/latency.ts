/**
 * Latencies (ms) of the output rows of a latency run, and their percentiles.
 *
 * @example
 * ```ts
 * const summary: LatencySummary = recorder.summary();
 * if (summary.received < expected) console.log('rows missing');
 * ```
 */
export interface LatencySummary {
  readonly received: number;
  /** Rows whose `dateTime` was not a number (none expected). */
  readonly malformed: number;
  /**
   * Percentiles over all expected rows. A row that never arrived counts as slower than every
   * arrival, so with rows missing these are lower bounds; one that falls on a missing row is
   * null (its latency is at least the wait after the last publish, which the caller knows).
   */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  /** Of the rows that arrived. */
  readonly max: number;
  readonly mean: number;
}

/**
 * The `q`-quantile (0..1) by nearest rank of `total` values of which the ascending `sorted`
 * ones are known and the rest are larger than all of them: null when it falls on one of those.
 *
 * @example
 * ```ts
 * quantile(Float64Array.of(1, 2, 3, 4), 4, 0.5); // 2
 * quantile(Float64Array.of(1, 2, 3, 4), 5, 0.9); // null: the 5th value never arrived
 * ```
 */
export function quantile(sorted: Float64Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
  return rank <= sorted.length ? (sorted[rank - 1] as number) : null;
}

/**
 * Collects the latency of each output row (the time it was seen minus the event's `dateTime`,
 * its publish time) for `expected` rows, and says when they are all there.
 *
 * @example
 * ```ts
 * const recorder = new LatencyRecorder(920_000);
 * recorder.add(Date.now(), row['dateTime']);
 * await recorder.complete; // every expected row seen (or finish() called)
 * console.log(recorder.summary().p99);
 * ```
 */
export class LatencyRecorder {
  /** Resolves once every expected row was seen, or {@link finish} was called. */
  readonly complete: Promise<void>;
  readonly #expected: number;
  readonly #latencies: Float64Array;
  #measured = 0;
  #received = 0;
  #malformed = 0;
  #finish: () => void = () => undefined;

  constructor(expected: number) {
    this.#expected = expected;
    this.#latencies = new Float64Array(expected);
    this.complete = new Promise<void>((resolve) => (this.#finish = resolve));
    if (expected === 0) this.#finish();
  }

  /** Records a row seen at `now` (epoch ms) whose event was published at `sentAt`. */
  add(now: number, sentAt: unknown): void {
    if (typeof sentAt !== 'number') this.#malformed++;
    else if (this.#measured < this.#expected) this.#latencies[this.#measured++] = now - sentAt;
    this.#received++;
    if (this.#received >= this.#expected) this.#finish();
  }

  /** Stops waiting for rows that have not come. */
  finish(): void {
    this.#finish();
  }

  summary(): LatencySummary {
    const kept = this.#latencies.slice(0, this.#measured).sort();
    let sum = 0;
    for (const value of kept) sum += value;
    const total = this.#expected;
    return {
      received: this.#received,
      malformed: this.#malformed,
      p50: quantile(kept, total, 0.5),
      p90: quantile(kept, total, 0.9),
      p99: quantile(kept, total, 0.99),
      p999: quantile(kept, total, 0.999),
      max: kept.length === 0 ? Number.NaN : (kept[kept.length - 1] as number),
      mean: kept.length === 0 ? Number.NaN : sum / kept.length,
    };
  }
}
