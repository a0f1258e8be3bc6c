import { getHeapStatistics } from 'node:v8';
import type { Logger } from '../core/logger.js';
import { SluiceError, describeCause } from '../core/errors.js';
import { ownKeysOnly } from '../core/own-keys.js';
import type { QuarantineStore } from '../contracts/quarantine-store.js';
import {
  SecretRedactor,
  addConfigSecrets,
  addEnvironmentSecrets,
  redactingLogger,
} from '../contracts/secrets.js';
import type { OperatorSpec, SideOutput, StreamBatch, StreamOperator } from './operator-spec.js';
import { createOperator } from './operators.js';
import type {
  StreamReader,
  StreamRecord,
  StreamRow,
  StreamSinkConnector,
  StreamSourceConnector,
  StreamStart,
  StreamWriter,
} from '../contracts/stream-connector.js';
import type { EventTimeSpec } from './event-time.js';
import { describeEventTime, eventTimeOf, eventTimeReader } from './event-time.js';
import { INVALID_REASON_FIELD, isInvalidRecord } from '../contracts/payload.js';
import { WatermarkTracker } from './watermarks.js';
import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import { noMetrics } from '../observe/metrics/recorder.js';
import type { LineageEmitter } from '../observe/lineage/lineage-emitter.js';
import { StreamLineage } from '../observe/lineage/stream-lineage.js';
import { StreamMeter } from './stream-meter.js';

/** A stream ready to run: connectors resolved, configs validated, durations in milliseconds. */
export interface StreamPlan {
  readonly name: string;
  readonly source: { readonly connector: StreamSourceConnector; readonly config: unknown };
  readonly sink: { readonly connector: StreamSinkConnector; readonly config: unknown };
  /** Where late records go instead of the quarantine store: a sink, committed per checkpoint. */
  readonly lateData?: { readonly connector: StreamSinkConnector; readonly config: unknown };
  /** The column holding each record's event time (epoch ms, a Date or ISO text), or a function. */
  readonly eventTime: EventTimeSpec;
  readonly maxOutOfOrdernessMs: number;
  readonly idleTimeoutMs?: number;
  readonly operators: readonly OperatorSpec[];
  readonly checkpointEveryMs: number;
  /** Most records pulled (and in flight) at once: the bound on memory between source and sink. */
  readonly maxBatch: number;
  /** Most entries of keyed state (window-and-key accumulators, dedupe keys) the stream may hold. */
  readonly maxStateEntries: number;
  /** Spread over several processes by partition leases; see {@link runScaledStream}. */
  readonly scaleOut?: { readonly leaseTimeoutMs: number };
  /** The one source partition this plan runs, under scale-out (its name ends the stream's). */
  readonly partition?: string;
}

/** The stream's state at a checkpoint, as stored with it. */
export interface StreamSnapshot {
  /** The last processed position of each partition. */
  readonly positions: Readonly<Record<string, string>>;
  readonly watermarks: ReturnType<WatermarkTracker['snapshot']>;
  readonly operators: readonly unknown[];
  readonly recordsIn: number;
  readonly recordsOut: number;
}

/** Where checkpoints are kept between runs (the run store). */
export interface CheckpointStore {
  last(stream: string): Promise<SavedCheckpoint | undefined>;
  /** Saves a checkpoint; may answer the bytes it stored (the checkpoint size metric). */
  save(checkpoint: SavedCheckpoint): Promise<number | void>;
}

/** A committed checkpoint of a stream, as a {@link CheckpointStore} keeps it. */
export interface SavedCheckpoint {
  readonly stream: string;
  readonly checkpointId: number;
  /** Source positions, watermark and operator state, as the runtime wrote them. */
  readonly snapshot: unknown;
  /** The watermark at the checkpoint, epoch ms; undefined before any record. */
  readonly watermark: number | undefined;
  /** Records read and written since the stream started (all processes, all restarts). */
  readonly recordsIn: number;
  readonly recordsOut: number;
  /** Window-and-key states and deduplication keys held by the stream's operators. */
  readonly stateSize: number;
  /** Records the source held that were not read yet, when it can tell. */
  readonly lag?: number | undefined;
  readonly createdAt: number;
}

/** What a stream reports when it stops, and after each checkpoint. */
export interface StreamProgress {
  readonly checkpointId: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly recordsLate: number;
  readonly recordsInvalid: number;
  readonly watermark: number | undefined;
  readonly stateSize: number;
  /** The source's lag at the checkpoint, when it can tell. */
  readonly lag?: number | undefined;
}

/** Options of {@link runStream}. */
export interface StreamRunOptions {
  readonly checkpoints: CheckpointStore;
  /** Late and invalid records go here (`late` and `invalid` files), never dropped. */
  readonly quarantine: QuarantineStore;
  /** Where to start when the stream has no checkpoint (default: the source's `defaultStart`). */
  readonly start?: StreamStart;
  /**
   * Ignore every checkpoint, the sink's own included, and read from `start`: a replay that
   * rebuilds the output (its checkpoint numbers continue after the newest one).
   */
  readonly fromScratch?: boolean;
  /** Aborting stops the stream: it drains, commits a final checkpoint and returns. */
  readonly signal: AbortSignal;
  /**
   * Aborting stops the stream at once, with no further checkpoint: another process took its
   * partition over, and what was not committed is that process's to redo.
   */
  readonly halt?: AbortSignal;
  readonly logger: Logger;
  /** This process's name among the stream's workers. */
  readonly worker?: string;
  /** The state folder sources keep local state in (webhook inboxes); default `.sluice`. */
  readonly stateDir?: string;
  readonly onCheckpoint?: (progress: StreamProgress) => void;
  /**
   * Where the stream's figures go as it runs (records in and out, invalid and late records,
   * source lag, watermark, checkpoints, sink commits, state entries); default: nowhere.
   */
  readonly metrics?: SluiceMetrics;
  /**
   * Where the stream run's OpenLineage events go (START, RUNNING at each checkpoint, then
   * COMPLETE, ABORT or FAIL); emitting never waits for a transport.
   */
  readonly lineage?: LineageEmitter;
  /** Folder relative paths of the stream's connectors resolve against, for dataset names. */
  readonly baseDir?: string;
}

/**
 * Runs a stream until `signal` aborts: pulls records (at most `maxBatch` in flight, so a slow
 * sink slows the source), assigns event times, runs the operators, writes their output, and
 * every `checkpointEveryMs` commits a checkpoint: the sink commits (a transactional sink with
 * the checkpoint's snapshot), the checkpoint is saved in the run store, and only then the source
 * is acknowledged. On start it resumes from the newest checkpoint (the sink's or the store's)
 * and drops records redelivered at or before its positions.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * process.once('SIGTERM', () => controller.abort());
 * const progress = await runStream(plan, { checkpoints, quarantine, signal: controller.signal, logger });
 * ```
 */
export async function runStream(
  plan: StreamPlan,
  options: StreamRunOptions,
): Promise<StreamProgress> {
  // The endpoints' secrets are redacted from the stream's log lines and from its error.
  const secrets = addConfigSecrets(addEnvironmentSecrets(new SecretRedactor()), [
    plan.source.config,
    plan.sink.config,
    plan.lateData?.config,
    plan.operators,
  ]);
  const lineage =
    options.lineage?.active === true
      ? new StreamLineage(options.lineage, {
          name: plan.name,
          source: { connector: plan.source.connector.name, config: plan.source.config },
          sink: { connector: plan.sink.connector.name, config: plan.sink.config },
          baseDir: options.baseDir ?? process.cwd(),
        })
      : undefined;
  lineage?.started(new Date());
  try {
    const progress = await runStreamUntilStopped(plan, {
      ...options,
      logger: redactingLogger(options.logger, secrets),
      ...(lineage === undefined
        ? {}
        : {
            onCheckpoint: (figures: StreamProgress) => {
              lineage.checkpoint(figures, new Date());
              options.onCheckpoint?.(figures);
            },
          }),
    });
    lineage?.ended(options.halt?.aborted === true ? 'ABORT' : 'COMPLETE', undefined, new Date());
    return progress;
  } catch (error) {
    const redacted = secrets.redactError(error);
    lineage?.ended('FAIL', secrets.redact(describeCause(redacted)), new Date());
    throw redacted;
  }
}

async function runStreamUntilStopped(
  plan: StreamPlan,
  options: StreamRunOptions,
): Promise<StreamProgress> {
  const { logger } = options;
  const internal = new AbortController();
  const writer = await plan.sink.connector.open(plan.sink.config, {
    stepId: 'sink',
    streamName: plan.name,
    ...(plan.partition === undefined ? {} : { partition: plan.partition }),
    logger,
    signal: internal.signal,
  });
  let reader: StreamReader | undefined;
  let late: LateOutput | undefined;
  try {
    late = await openLateOutput(plan, logger, internal.signal);
    const newest = await newestCheckpoint(plan.name, writer, options.checkpoints);
    const resumed = options.fromScratch === true ? undefined : newest;
    const state = new StreamState(plan, resumed, options, newest?.checkpointId ?? 0, late);
    reader = await plan.source.connector.open(plan.source.config, {
      stepId: 'source',
      streamName: plan.name,
      consumer: `sluice-${plan.name}`,
      worker: options.worker ?? 'worker-1',
      ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
      start:
        resumed === undefined
          ? (options.start ?? { kind: plan.source.connector.defaultStart ?? 'beginning' })
          : { kind: 'checkpoint', positions: state.positions },
      logger,
      signal: internal.signal,
    });
    logger.info(
      { stream: plan.name, checkpoint: resumed?.checkpointId ?? null },
      resumed === undefined ? 'stream started' : 'stream resumed from its checkpoint',
    );
    let nextCheckpoint = Date.now() + plan.checkpointEveryMs;
    const halted = (): boolean => options.halt?.aborted === true;
    while (!options.signal.aborted && !halted()) {
      const wait = Math.max(0, Math.min(200, nextCheckpoint - Date.now()));
      const records = await reader.pull(plan.maxBatch, wait);
      const output = await state.process(records);
      if (output.length > 0) await writer.write(output);
      state.checkLimits();
      if (Date.now() >= nextCheckpoint && !halted()) {
        await state.checkpoint(writer, reader);
        nextCheckpoint = Date.now() + plan.checkpointEveryMs;
      }
    }
    if (halted()) {
      logger.warn({ stream: plan.name }, 'stream halted without a final checkpoint');
      return state.progress();
    }
    await state.checkpoint(writer, reader);
    logger.info({ stream: plan.name, ...state.progress() }, 'stream stopped');
    return state.progress();
  } finally {
    internal.abort();
    await reader?.close();
    await late?.writer.close();
    await writer.close();
  }
}

/** The late-data sink, and the newest checkpoint it committed (replays skip what it holds). */
interface LateOutput {
  readonly writer: StreamWriter;
  readonly committed: number;
}

async function openLateOutput(
  plan: StreamPlan,
  logger: Logger,
  signal: AbortSignal,
): Promise<LateOutput | undefined> {
  if (plan.lateData === undefined) return undefined;
  const writer = await plan.lateData.connector.open(plan.lateData.config, {
    stepId: 'lateData',
    streamName: `${plan.name}.late`,
    ...(plan.partition === undefined ? {} : { partition: plan.partition }),
    logger,
    signal,
  });
  try {
    return { writer, committed: (await writer.recover?.())?.checkpointId ?? 0 };
  } catch (error) {
    await writer.close();
    throw error;
  }
}

/** The newer of the sink's own checkpoint (exactly-once sinks) and the run store's. */
async function newestCheckpoint(
  stream: string,
  writer: StreamWriter,
  store: CheckpointStore,
): Promise<{ readonly checkpointId: number; readonly snapshot: StreamSnapshot } | undefined> {
  const [fromSink, fromStore] = await Promise.all([writer.recover?.(), store.last(stream)]);
  const newest =
    fromSink !== undefined &&
    (fromStore === undefined || fromSink.checkpointId > fromStore.checkpointId)
      ? fromSink
      : fromStore;
  return newest === undefined
    ? undefined
    : { checkpointId: newest.checkpointId, snapshot: newest.snapshot as StreamSnapshot };
}

/** Everything a running stream holds between checkpoints. */
class StreamState {
  readonly positions: Record<string, string>;
  readonly #plan: StreamPlan;
  readonly #options: StreamRunOptions;
  readonly #operators: StreamOperator[];
  readonly #watermarks: WatermarkTracker;
  readonly #eventTime: (row: StreamRow) => unknown;
  readonly #compare: (a: string, b: string) => number;
  readonly #late: { record: unknown; reason: string }[] = [];
  readonly #invalid: { record: unknown; reason: string }[] = [];
  readonly #lateOutput: LateOutput | undefined;
  readonly #meter: StreamMeter;
  #checkpointId: number;
  #recordsIn: number;
  #recordsOut: number;
  #recordsLate = 0;
  #recordsInvalid = 0;

  constructor(
    plan: StreamPlan,
    resumed: { readonly checkpointId: number; readonly snapshot: StreamSnapshot } | undefined,
    options: StreamRunOptions,
    lastCheckpointId: number,
    late: LateOutput | undefined,
  ) {
    this.#plan = plan;
    this.#lateOutput = late;
    this.#options = options;
    this.#operators = plan.operators.map(createOperator);
    this.#meter = new StreamMeter(options.metrics ?? noMetrics, plan.name, plan.operators);
    for (const operator of this.#operators)
      operator.open?.({ stream: plan.name, logger: options.logger });
    this.#watermarks = new WatermarkTracker({
      maxOutOfOrdernessMs: plan.maxOutOfOrdernessMs,
      ...(plan.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: plan.idleTimeoutMs }),
    });
    this.#eventTime = eventTimeReader(plan.eventTime);
    this.#compare = plan.source.connector.comparePositions;
    this.#checkpointId = lastCheckpointId;
    const snapshot = resumed?.snapshot;
    // Without a prototype: partitions are named by sources (files, topics, stream keys), and a
    // partition named `__proto__` or `constructor` must keep and find its own position.
    this.positions = ownKeysOnly(snapshot?.positions ?? {});
    this.#recordsIn = snapshot?.recordsIn ?? 0;
    this.#recordsOut = snapshot?.recordsOut ?? 0;
    if (snapshot !== undefined) {
      this.#watermarks.restore(snapshot.watermarks);
      if (snapshot.operators.length !== this.#operators.length)
        throw new SluiceError(
          'CONFIG_INVALID',
          `stream "${plan.name}" has ${this.#operators.length} steps but its checkpoint ${resumed?.checkpointId} has ${snapshot.operators.length}`,
          {
            hint: 'a changed stream cannot resume from the old state: run it with --from-beginning (or --from <time>) to rebuild it',
          },
        );
      snapshot.operators.forEach((state, i) => this.#operators[i]?.restore(state));
    }
  }

  /** Runs a pulled batch through the operators; returns the rows for the sink. */
  async process(records: readonly StreamRecord[]): Promise<StreamRow[]> {
    for (const operator of this.#operators) await operator.prepare?.();
    const batch: StreamBatch = { rows: [], times: [] };
    const highest = new Map<string, number>();
    const meter = this.#meter;
    for (const record of records) {
      const done = this.positions[record.partition];
      if (done !== undefined && this.#compare(record.position, done) <= 0) continue;
      this.positions[record.partition] = record.position;
      this.#recordsIn++;
      meter.recordsIn++;
      const value = record.value;
      if (isInvalidRecord(value)) {
        this.#reject(value, String(value[INVALID_REASON_FIELD]), meter.source);
        continue;
      }
      const time = eventTimeOf(this.#eventTime(value));
      if (time === undefined) {
        this.#reject(
          value,
          `no valid event time in ${describeEventTime(this.#plan.eventTime)}`,
          meter.source,
        );
        continue;
      }
      batch.rows.push(value);
      batch.times.push(time);
      const high = highest.get(record.partition);
      if (high === undefined || time > high) highest.set(record.partition, time);
    }
    const watermark = this.#watermarks.current();
    const side = (step: number): SideOutput => {
      return (row, _time, reason, kind = 'late') => {
        if (kind === 'invalid') {
          this.#reject(row, reason, step);
          return;
        }
        this.#recordsLate++;
        meter.late(step);
        this.#late.push({ record: row, reason });
      };
    };
    let current: StreamBatch = batch;
    this.#operators.forEach((operator, i) => {
      current = operator.process(current, watermark, side(i));
    });
    for (const [partition, time] of highest) this.#watermarks.observe(partition, time);
    const moved = this.#watermarks.current();
    const out = [...current.rows];
    // Windows that the new watermark closed, passed through the operators after them. Those
    // operators judge lateness by the watermark before this batch: a result is never late for
    // the window after it, which closes in the same pass.
    for (let i = 0; i < this.#operators.length; i++) {
      let due = (this.#operators[i] as StreamOperator).advance(moved);
      for (let j = i + 1; j < this.#operators.length && due.rows.length > 0; j++)
        due = (this.#operators[j] as StreamOperator).process(due, watermark, side(j));
      for (const row of due.rows) out.push(row);
    }
    this.#recordsOut += out.length;
    meter.batchDone(out.length, highest.values(), moved);
    return out;
  }

  async checkpoint(writer: StreamWriter, reader: StreamReader): Promise<void> {
    const started = performance.now();
    try {
      const bytes = await this.#checkpoint(writer, reader);
      this.#meter.checkpointed((performance.now() - started) / 1000, bytes, this.#operators);
    } catch (error) {
      this.#meter.checkpointFailed((performance.now() - started) / 1000);
      throw error;
    }
  }

  /** Commits a checkpoint; answers its size when the checkpoint store tells it. */
  async #checkpoint(writer: StreamWriter, reader: StreamReader): Promise<number | undefined> {
    const id = this.#checkpointId + 1;
    const snapshot: StreamSnapshot = {
      positions: { ...this.positions },
      watermarks: this.#watermarks.snapshot(),
      operators: this.#operators.map((o) => o.snapshot()),
      recordsIn: this.#recordsIn,
      recordsOut: this.#recordsOut,
    };
    await this.#commitLate(id, this.#late.splice(0));
    await this.#options.quarantine.append('invalid', this.#invalid.splice(0));
    const committing = performance.now();
    await writer.commit({ checkpointId: id, snapshot });
    this.#meter.sinkCommitted((performance.now() - committing) / 1000);
    const lag = await reader.lag?.().catch(() => undefined);
    if (lag !== undefined) this.#meter.sourceLag(lag);
    const progress = { ...this.progress(), checkpointId: id, lag };
    const bytes = await this.#options.checkpoints.save({
      stream: this.#plan.name,
      checkpointId: id,
      snapshot,
      watermark: progress.watermark,
      recordsIn: progress.recordsIn,
      recordsOut: progress.recordsOut,
      stateSize: progress.stateSize,
      lag,
      createdAt: Date.now(),
    });
    this.#checkpointId = id;
    await reader.ack(snapshot.positions);
    this.#options.onCheckpoint?.(progress);
    return typeof bytes === 'number' ? bytes : undefined;
  }

  progress(): StreamProgress {
    const watermark = this.#watermarks.current();
    return {
      checkpointId: this.#checkpointId,
      recordsIn: this.#recordsIn,
      recordsOut: this.#recordsOut,
      recordsLate: this.#recordsLate,
      recordsInvalid: this.#recordsInvalid,
      watermark: Number.isFinite(watermark) ? watermark : undefined,
      stateSize: this.#operators.reduce((sum, o) => sum + o.stateSize(), 0),
    };
  }

  /**
   * Late records go to the quarantine store, or to the late-data sink, committed before the
   * stream's sink: a checkpoint replayed after a crash that sink already holds is not written
   * to it again.
   */
  async #commitLate(
    checkpointId: number,
    late: readonly { record: unknown; reason: string }[],
  ): Promise<void> {
    const output = this.#lateOutput;
    if (output === undefined) {
      await this.#options.quarantine.append('late', late);
      return;
    }
    if (checkpointId <= output.committed) return;
    if (late.length > 0)
      await output.writer.write(
        late.map(({ record, reason }) => ({ ...(record as StreamRow), [LATE_REASON]: reason })),
      );
    await output.writer.commit({ checkpointId });
  }

  /**
   * Stops the stream with a clear error before its state exhausts memory: more keyed state
   * entries than the plan allows, or a heap nearly full. The last checkpoint stays intact.
   */
  checkLimits(): void {
    const entries = this.#operators.reduce((sum, o) => sum + o.stateSize(), 0);
    if (entries > this.#plan.maxStateEntries)
      throw stateLimitError(
        this.#plan.name,
        `holds ${entries} state entries, more than its limit of ${this.#plan.maxStateEntries} (state.maxEntries)`,
      );
    const heap = getHeapStatistics();
    if (heap.used_heap_size > heap.heap_size_limit * HEAP_LIMIT_SHARE && entries > 0)
      throw stateLimitError(
        this.#plan.name,
        `uses ${mebibytes(heap.used_heap_size)} of its ${mebibytes(heap.heap_size_limit)} heap with ${entries} state entries`,
      );
  }

  /** Sets an invalid record aside; `step` is the operator that rejected it (or the source). */
  #reject(record: StreamRow, reason: string, step: number): void {
    this.#recordsInvalid++;
    this.#meter.invalid(step);
    this.#invalid.push({ record, reason });
  }
}

/** The column a late record's reason is written to in the late-data sink. */
export const LATE_REASON = '_sluice_late_reason';

/** Share of the heap limit past which a stream stops instead of running out of memory. */
const HEAP_LIMIT_SHARE = 0.85;

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

function stateLimitError(stream: string, what: string): SluiceError {
  return new SluiceError('STREAM_STATE_LIMIT', `stream "${stream}" ${what}`, {
    hint: 'keep less state: shorter windows, less allowedLateness, a shorter dedupe ttl, or fewer keys per process (scaleOut over partitions); or raise state.maxEntries and the heap (NODE_OPTIONS=--max-old-space-size=<MiB>). The stream stopped at its last checkpoint and resumes from it.',
  });
}
