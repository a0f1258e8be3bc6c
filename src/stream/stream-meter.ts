import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import type { OperatorSpec, StreamOperator } from './operator-spec.js';

/** The `step` label of the stream's source. */
const SOURCE = 'source';
/** The `step` label of the stream's sink. */
const SINK = 'sink';

/**
 * What a running stream tells its {@link SluiceMetrics}: the runtime counts into plain fields
 * while it processes a batch, and the meter hands the batch's totals over once per batch (and
 * once per checkpoint), so a record costs an addition, not a metric update. Steps are labelled
 * `source`, `sink`, and `<kind>_<n>` for the n-th operator (`window_2`), so the labels are
 * bounded by the stream's definition.
 *
 * @example
 * ```ts
 * const meter = new StreamMeter(metrics, plan.name, plan.operators);
 * meter.recordsIn += records.length;
 * meter.batchDone(out.length, [latestEventTime], watermark);
 * ```
 */
export class StreamMeter {
  /** Records the source gave that this batch had not seen (redeliveries excluded). */
  recordsIn = 0;
  /** The step index of the source, for {@link invalid}. */
  readonly source = -1;
  readonly #metrics: SluiceMetrics;
  readonly #pipeline: string;
  readonly #steps: readonly string[];
  readonly #invalid: number[];
  readonly #late: number[];
  readonly #stateful = new Set<number>();
  #watermark = Number.NEGATIVE_INFINITY;

  constructor(metrics: SluiceMetrics, pipeline: string, operators: readonly OperatorSpec[]) {
    this.#metrics = metrics;
    this.#pipeline = pipeline;
    this.#steps = operators.map((operator, i) => `${operator.kind}_${i + 1}`);
    this.#invalid = new Array<number>(operators.length + 1).fill(0);
    this.#late = new Array<number>(operators.length).fill(0);
  }

  /** A record was set aside as invalid by operator `step` (or the source, `-1`). */
  invalid(step: number): void {
    this.#invalid[step + 1] = (this.#invalid[step + 1] ?? 0) + 1;
  }

  /** Operator `step` found a record behind the watermark. */
  late(step: number): void {
    this.#late[step] = (this.#late[step] ?? 0) + 1;
  }

  /**
   * A batch went through: `out` rows for the sink, the newest event time read per partition,
   * and the watermark after it (epoch milliseconds).
   */
  batchDone(out: number, eventTimes: Iterable<number>, watermark: number): void {
    const pipeline = this.#pipeline;
    const metrics = this.#metrics;
    if (this.recordsIn > 0) {
      metrics.streamRecords({ pipeline, step: SOURCE, direction: 'in', count: this.recordsIn });
      this.recordsIn = 0;
    }
    if (out > 0) metrics.streamRecords({ pipeline, step: SINK, direction: 'out', count: out });
    this.#invalid.forEach((count, i) => {
      if (count === 0) return;
      metrics.streamRejected({ pipeline, step: this.#step(i - 1), reason: 'invalid', count });
      this.#invalid[i] = 0;
    });
    this.#late.forEach((count, i) => {
      if (count === 0) return;
      metrics.streamRejected({ pipeline, step: this.#step(i), reason: 'late', count });
      this.#late[i] = 0;
    });
    let newest = Number.NEGATIVE_INFINITY;
    for (const time of eventTimes) if (time > newest) newest = time;
    if (Number.isFinite(newest))
      metrics.streamSourceLag({
        pipeline,
        step: SOURCE,
        seconds: Math.max(0, (Date.now() - newest) / 1000),
      });
    if (Number.isFinite(watermark) && watermark !== this.#watermark) {
      this.#watermark = watermark;
      metrics.streamWatermark({ pipeline, at: watermark });
    }
  }

  /** The sink committed a checkpoint in `seconds`. */
  sinkCommitted(seconds: number): void {
    this.#metrics.streamSinkCommit({ pipeline: this.#pipeline, step: SINK, seconds });
  }

  /** The source's backlog at a checkpoint, in records. */
  sourceLag(records: number): void {
    this.#metrics.streamSourceLag({ pipeline: this.#pipeline, step: SOURCE, records });
  }

  /** A checkpoint succeeded: its time, size (when known), and the state each operator holds. */
  checkpointed(
    seconds: number,
    bytes: number | undefined,
    operators: readonly StreamOperator[],
  ): void {
    const pipeline = this.#pipeline;
    this.#metrics.streamCheckpoint({
      pipeline,
      seconds,
      ok: true,
      ...(bytes === undefined ? {} : { bytes }),
    });
    operators.forEach((operator, i) => {
      const entries = operator.stateSize();
      // Stateless operators never hold state: they get no series.
      if (entries === 0 && !this.#stateful.has(i)) return;
      this.#stateful.add(i);
      this.#metrics.streamStateEntries({ pipeline, step: this.#step(i), entries });
    });
  }

  /** A checkpoint failed after `seconds`. */
  checkpointFailed(seconds: number): void {
    this.#metrics.streamCheckpoint({ pipeline: this.#pipeline, seconds, ok: false });
  }

  #step(index: number): string {
    return index < 0 ? SOURCE : (this.#steps[index] ?? SINK);
  }
}
