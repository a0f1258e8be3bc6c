/** A partition's progress: its highest event time and when it last delivered a record. */
interface PartitionProgress {
  maxEventTime: number;
  lastActive: number;
}

/**
 * Event-time watermarks with bounded out-of-orderness: each partition's watermark is its highest
 * event time minus `maxOutOfOrdernessMs` (records up to that much older than the newest still
 * count as on time); the stream's watermark is the smallest of its active partitions', so a
 * partition that lags holds windows open until its records arrive. A partition that delivered
 * nothing for `idleTimeoutMs` (processing time) is left out, so one quiet partition does not
 * stall output; it counts again with its next record. When every partition is idle the
 * watermark moves to the highest partition's: the stream has caught up with all of them. The
 * watermark never goes back.
 *
 * @example
 * ```ts
 * const watermarks = new WatermarkTracker({ maxOutOfOrdernessMs: 5_000, idleTimeoutMs: 30_000 });
 * watermarks.observe('eu', Date.parse('2024-01-01T00:00:10Z'));
 * watermarks.current(); // 2024-01-01T00:00:05Z in ms
 * ```
 */
export class WatermarkTracker {
  readonly #partitions = new Map<string, PartitionProgress>();
  readonly #outOfOrderness: number;
  readonly #idleTimeout: number;
  readonly #now: () => number;
  #watermark = -Infinity;

  constructor(options: {
    readonly maxOutOfOrdernessMs: number;
    readonly idleTimeoutMs?: number;
    readonly now?: () => number;
  }) {
    this.#outOfOrderness = options.maxOutOfOrdernessMs;
    this.#idleTimeout = options.idleTimeoutMs ?? Infinity;
    this.#now = options.now ?? Date.now;
  }

  /** Notes that `partition` delivered records up to `eventTime` (the batch's highest). */
  observe(partition: string, eventTime: number): void {
    const now = this.#now();
    const progress = this.#partitions.get(partition);
    if (progress === undefined) {
      this.#partitions.set(partition, { maxEventTime: eventTime, lastActive: now });
      return;
    }
    if (eventTime > progress.maxEventTime) progress.maxEventTime = eventTime;
    progress.lastActive = now;
  }

  /** The stream's watermark now (`-Infinity` before any record): no record older is expected. */
  current(): number {
    const now = this.#now();
    let lowest = Infinity;
    let highest = -Infinity;
    for (const progress of this.#partitions.values()) {
      const partitionWatermark = progress.maxEventTime - this.#outOfOrderness;
      if (partitionWatermark > highest) highest = partitionWatermark;
      if (now - progress.lastActive > this.#idleTimeout) continue;
      if (partitionWatermark < lowest) lowest = partitionWatermark;
    }
    // With every partition idle, nothing is in flight: the stream has caught up with all of them.
    const next = lowest === Infinity ? highest : lowest;
    if (next > this.#watermark) this.#watermark = next;
    return this.#watermark;
  }

  /** Partitions left out of the watermark because they have been quiet for the idle timeout. */
  idlePartitions(): string[] {
    const now = this.#now();
    return [...this.#partitions]
      .filter(([, progress]) => now - progress.lastActive > this.#idleTimeout)
      .map(([partition]) => partition);
  }

  /** The state a checkpoint keeps: each partition's highest event time and the watermark. */
  snapshot(): { readonly watermark: number | null; readonly partitions: Record<string, number> } {
    return {
      watermark: Number.isFinite(this.#watermark) ? this.#watermark : null,
      partitions: Object.fromEntries(
        [...this.#partitions].map(([partition, progress]) => [partition, progress.maxEventTime]),
      ),
    };
  }

  /** Restores a snapshot; partitions count as active from now. */
  restore(state: {
    readonly watermark: number | null;
    readonly partitions: Record<string, number>;
  }): void {
    const now = this.#now();
    this.#watermark = state.watermark ?? -Infinity;
    this.#partitions.clear();
    for (const [partition, maxEventTime] of Object.entries(state.partitions))
      this.#partitions.set(partition, { maxEventTime, lastActive: now });
  }
}
