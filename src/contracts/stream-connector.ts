import type { z } from 'zod';
import type { Logger } from '../core/logger.js';

/** A record as stream operators see it: column name to JS value. */
export type StreamRow = Record<string, unknown>;

/**
 * Where a stream source starts reading.
 * - `checkpoint`: after the given position of each partition (records at or before it were
 *   processed and committed); partitions not listed start at the beginning.
 * - `beginning`: the oldest record the broker keeps; `latest`: only records arriving from now;
 * - `time`: the first record the broker received at or after `at`.
 *
 * @example
 * ```ts
 * const start: StreamStart = { kind: 'checkpoint', positions: { 'orders.eu': '1042' } };
 * ```
 */
export type StreamStart =
  | { readonly kind: 'checkpoint'; readonly positions: Readonly<Record<string, string>> }
  | { readonly kind: 'beginning' }
  | { readonly kind: 'latest' }
  | { readonly kind: 'time'; readonly at: Date };

/** One record a stream source read. */
export interface StreamRecord {
  /** The decoded record (a JSON object's fields). */
  readonly value: StreamRow;
  /** The partition it came from (a subject, a stream key, a topic); `''` when there is one. */
  readonly partition: string;
  /**
   * Its position within the partition, as text, increasing in the order records arrive
   * (a JetStream sequence, a Redis entry id). Compared with the connector's `comparePositions`.
   */
  readonly position: string;
  /** When the broker received it, in epoch milliseconds, when the broker says. */
  readonly brokerTime?: number;
}

/** What a stream source's `open` gets. */
export interface StreamSourceContext {
  readonly stepId: string;
  /** The stream's name (the pipeline's). */
  readonly streamName: string;
  /**
   * A durable name for this reader's subscription (a JetStream durable consumer, a Redis
   * consumer group), the same across restarts so the broker keeps its unacknowledged records.
   */
  readonly consumer: string;
  /** This process's name within the consumer (a Redis consumer name), unique per worker. */
  readonly worker: string;
  readonly start: StreamStart;
  /** The state folder of `sluice stream --state-dir`, where sources keep local state (inboxes). */
  readonly stateDir?: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * An open stream source. The runtime pulls records, processes them, and calls `ack` only after
 * the checkpoint covering them has committed, so a crash redelivers everything not yet covered.
 *
 * @example
 * ```ts
 * const records = await reader.pull(1000, 100);
 * // ... process, checkpoint ...
 * await reader.ack({ '': records.at(-1)!.position });
 * ```
 */
export interface StreamReader {
  /**
   * Up to `max` records, waiting at most `waitMs` when none is available (then `[]`). Records
   * of one partition come in position order. A record may come again after a restart or a
   * redelivery; the runtime drops those at or before the checkpoint's position.
   */
  pull(max: number, waitMs: number): Promise<readonly StreamRecord[]>;
  /** Tells the broker every record up to and including these positions is done with. */
  ack(positions: Readonly<Record<string, string>>): Promise<void>;
  /**
   * How many records the broker holds that this reader has not been given yet (its lag), when
   * the broker can tell; read at each checkpoint and shown by `sluice runs --streams`.
   */
  lag?(): Promise<number | undefined>;
  /** Stops reading; records pulled but not acknowledged are redelivered later. Never fails. */
  close(): Promise<void>;
}

/**
 * One part of a source that can be processed on its own (a subject, a stream key), with the
 * source config that reads only it. Several `sluice stream` processes share a stream by
 * holding leases on its partitions; each partition has its own checkpoints and watermark.
 *
 * @example
 * ```ts
 * const partition: StreamPartition<NATSSourceConfig> = { name: 'clicks.0', config: { ...config, subjects: ['clicks.0'] } };
 * ```
 */
export interface StreamPartition<Config = unknown> {
  /** Stable across restarts and processes: it names the partition's checkpoints and lease. */
  readonly name: string;
  readonly config: Config;
}

/**
 * A source of the stream runtime: a broker or log read continuously.
 *
 * @example
 * ```ts
 * export const natsSource = defineStreamSource({ name: 'nats', summary: '...', delivery: 'at-least-once',
 *   config, comparePositions: (a, b) => Number(a) - Number(b), open });
 * ```
 */
export interface StreamSourceConnector<Config = unknown> {
  readonly role: 'stream-source';
  readonly name: string;
  readonly summary: string;
  readonly config: z.ZodType<Config>;
  /**
   * What the source itself guarantees for each record: `at-least-once` when unacknowledged
   * records are redelivered after a failure (the runtime makes that exactly-once into
   * transactional sinks), `at-most-once` when the broker cannot redeliver.
   */
  readonly delivery: 'at-least-once' | 'at-most-once';
  /**
   * Where a stream with no checkpoint starts when not told (`beginning` by default); a broker
   * that cannot replay, such as MQTT, says `latest`.
   */
  readonly defaultStart?: 'beginning' | 'latest';
  /** Negative when position `a` comes before `b` in the same partition, 0 when equal. */
  comparePositions(a: string, b: string): number;
  /**
   * The partitions a config reads, for streams spread over several processes (`scaleOut`); a
   * source without it can run in one process only.
   */
  partitionsOf?(config: Config): readonly StreamPartition<Config>[];
  open(config: Config, context: StreamSourceContext): Promise<StreamReader>;
}

/** What a stream sink's `open` gets. */
export interface StreamSinkContext {
  readonly stepId: string;
  readonly streamName: string;
  /**
   * The source partition this sink instance writes for, when the stream is spread over several
   * processes (`scaleOut`): each partition commits its own checkpoints.
   */
  readonly partition?: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** A checkpoint being committed: its number, increasing by one per checkpoint of the stream. */
export interface StreamCommit {
  readonly checkpointId: number;
  /**
   * The stream's state at this checkpoint (source positions, watermark, operator state) as
   * JSON-able data. A transactional sink that implements `recover` stores it in the same
   * transaction as the rows, which makes the sink's copy the authoritative one after a crash.
   */
  readonly snapshot?: unknown;
}

/**
 * An open stream sink. `write` may buffer; `commit` makes every row written since the last
 * commit durable (a transactional sink atomically, recording `checkpointId` with the rows so a
 * replayed checkpoint is not written twice).
 *
 * @example
 * ```ts
 * await writer.write(rows);
 * await writer.commit({ checkpointId: 7 });
 * ```
 */
export interface StreamWriter {
  write(rows: readonly StreamRow[]): Promise<void>;
  commit(commit: StreamCommit): Promise<void>;
  /**
   * The last checkpoint this sink committed with its snapshot, for sinks that store it with
   * their rows (exactly-once): the runtime resumes from it when it is newer than the run
   * store's. Undefined when nothing was committed yet.
   */
  recover?(): Promise<{ readonly checkpointId: number; readonly snapshot: unknown } | undefined>;
  /** Closes the sink; rows written after the last commit are not guaranteed. Never fails. */
  close(): Promise<void>;
}

/**
 * A sink of the stream runtime.
 *
 * @example
 * ```ts
 * export const redisSink = defineStreamSink({ name: 'redis', summary: '...', delivery: 'at-least-once', config, open });
 * ```
 */
export interface StreamSinkConnector<Config = unknown> {
  readonly role: 'stream-sink';
  readonly name: string;
  readonly summary: string;
  readonly config: z.ZodType<Config>;
  /**
   * `exactly-once` when a checkpoint's rows are committed atomically and at most once (the
   * sink records checkpoint ids); `at-least-once` when a replay after a failure may write a
   * checkpoint's rows again (idempotent upserts make that harmless).
   */
  readonly delivery: 'exactly-once' | 'at-least-once';
  open(config: Config, context: StreamSinkContext): Promise<StreamWriter>;
}

/**
 * Declares a stream source connector (typed by its config schema).
 *
 * @example
 * ```ts
 * export const natsSource = defineStreamSource({ name: 'nats', summary, delivery: 'at-least-once', config, comparePositions, open });
 * ```
 */
export function defineStreamSource<Config>(
  definition: Omit<StreamSourceConnector<Config>, 'role'>,
): StreamSourceConnector<Config> {
  return { ...definition, role: 'stream-source' };
}

/**
 * Declares a stream sink connector (typed by its config schema).
 *
 * @example
 * ```ts
 * export const natsSink = defineStreamSink({ name: 'nats', summary, delivery: 'at-least-once', config, open });
 * ```
 */
export function defineStreamSink<Config>(
  definition: Omit<StreamSinkConnector<Config>, 'role'>,
): StreamSinkConnector<Config> {
  return { ...definition, role: 'stream-sink' };
}
