import type { Consumer, Message, MessagesStream } from '@platformatic/kafka';
import { parseDuration } from '../../core/duration.js';
import { SluiceError, SourceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSourceContext,
} from '../../contracts/stream-connector.js';
import { defineStreamSource } from '../../contracts/stream-connector.js';
import type { KafkaSourceConfig } from './kafka-configs.js';
import { kafkaSourceConfig } from './kafka-configs.js';
import type { KafkaRole } from './kafka-connection.js';
import {
  clientOptions,
  closeClient,
  describeBrokers,
  importKafka,
  kafkaError,
  kafkaFailure,
} from './kafka-connection.js';
import { compareOffsets, isOffset, parsePartitionName, partitionName } from './kafka-positions.js';
import type { RecordColumns } from './kafka-records.js';
import { messageRecord } from './kafka-records.js';
import type { PartitionBounds } from './kafka-start.js';
import { resolveStart } from './kafka-start.js';

type BufferConsumer = Consumer<Buffer, Buffer, Buffer, Buffer>;
type BufferStream = MessagesStream<Buffer, Buffer, Buffer, Buffer>;

const EARLIEST = -2n;
const LATEST = -1n;
const READ_COMMITTED = 1;
const READ_UNCOMMITTED = 0;

/**
 * An open Kafka source: one consumer of the group, reading every partition the group assigns it
 * from the offsets the start resolved, with its own buffer of at most `batchSize` messages (the
 * client stops fetching while it is full). Offsets are committed to the group only when the
 * runtime acknowledges a checkpoint; where reading starts comes from the checkpoint, never from
 * the group's committed offsets.
 */
class KafkaReader implements StreamReader {
  readonly #consumer: BufferConsumer;
  readonly #stream: BufferStream;
  readonly #topics: ReadonlySet<string>;
  readonly #columns: RecordColumns;
  readonly #where: KafkaRole;
  readonly #logger: Logger;
  readonly #signal: AbortSignal;
  /** Per partition, the offset of the last record handed out. */
  readonly #handed = new Map<string, bigint>();
  /** Per partition, the offset last committed to the group (the next one to read). */
  readonly #committed = new Map<string, bigint>();
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(
    consumer: BufferConsumer,
    stream: BufferStream,
    config: KafkaSourceConfig,
    context: StreamSourceContext,
  ) {
    this.#consumer = consumer;
    this.#stream = stream;
    this.#topics = new Set(topicsOf(config));
    this.#columns = { keyColumn: config.keyColumn, timestampColumn: config.timestampColumn };
    this.#where = { role: 'source', stepId: context.stepId };
    this.#logger = context.logger;
    this.#signal = context.signal;
    stream.on('readable', () => this.#wake?.());
    stream.on('error', (cause: Error) => {
      if (this.#closed) return;
      this.#failure = kafkaError(this.#where, 'reading the topics failed', cause, {
        hint: 'the connection to the brokers was lost or the group was rebalanced away; a restart of the stream resumes from its last checkpoint',
      });
      this.#wake?.();
    });
    stream.on('close', () => {
      if (this.#closed || this.#failure !== undefined) return;
      this.#failure = kafkaError(this.#where, 'the consumer stopped', new Error('stream closed'), {
        hint: 'a restart of the stream resumes from its last checkpoint',
      });
      this.#wake?.();
    });
    consumer.on('consumer:group:join', (payload) => {
      const assigned = (payload.assignments ?? []).reduce((n, a) => n + a.partitions.length, 0);
      this.#logger.info(
        { group: payload.groupId, member: payload.memberId, partitions: assigned },
        'joined the Kafka consumer group',
      );
    });
  }

  /** Connects, checks the topics, resolves where each partition starts and joins the group. */
  static async create(
    config: KafkaSourceConfig,
    context: StreamSourceContext,
  ): Promise<KafkaReader> {
    const where: KafkaRole = { role: 'source', stepId: context.stepId };
    const driver = await importKafka(where);
    const groupId = config.groupId ?? context.consumer;
    const sessionTimeout = parseDuration(config.sessionTimeout);
    const connection = clientOptions(config, where, context.consumer);
    let consumer: BufferConsumer;
    try {
      consumer = new driver.Consumer({
        ...connection,
        groupId,
        autocommit: false,
        sessionTimeout,
        rebalanceTimeout: Math.max(sessionTimeout, 60_000),
        heartbeatInterval: Math.max(100, Math.min(3_000, Math.floor(sessionTimeout / 3))),
        maxWaitTime: parseDuration(config.maxWait),
        highWaterMark: config.batchSize,
        isolationLevel:
          config.isolationLevel === 'read_committed' ? READ_COMMITTED : READ_UNCOMMITTED,
      });
    } catch (cause) {
      throw kafkaError(where, 'cannot set up the Kafka consumer', cause);
    }
    consumer.on('error', () => undefined);
    try {
      const topics = topicsOf(config);
      const bounds = await readBounds(consumer, topics, context, config);
      const plan = resolveStart(context.start, bounds);
      for (const { partition, position } of plan.invalid)
        throw new SourceError(
          context.stepId,
          `the checkpoint position "${position}" of ${partition} is not an offset`,
          { hint: 'positions of the kafka source are offsets such as 1042' },
        );
      for (const { partition, position, latest } of plan.pastEnd)
        throw new SourceError(
          context.stepId,
          `the checkpoint is at offset ${position} of ${partition}, but the partition ends before offset ${latest}: the topic was deleted and created again since`,
          { hint: 'run the stream with --from-beginning or --from <time> to read the new topic' },
        );
      for (const { partition, from, to } of plan.removed)
        context.logger.warn(
          { partition, from: from.toString(), to: to.toString() },
          'the brokers deleted messages after the checkpoint before they were read (retention); reading goes on from the oldest message there is',
        );
      const stream = await consumer.consume({
        topics,
        autocommit: false,
        mode: 'manual',
        offsets: [...plan.offsets].map(([name, offset]) => {
          const { topic, partition } = parsePartitionName(name) as {
            topic: string;
            partition: number;
          };
          return { topic, partition, offset };
        }),
        // Partitions added to a topic after the start: read them whole, unless starting at latest.
        fallbackMode: context.start.kind === 'latest' ? 'latest' : 'earliest',
      });
      return new KafkaReader(consumer, stream, config, context);
    } catch (error) {
      await closeClient(consumer);
      if (error instanceof SluiceError) throw error;
      throw kafkaError(where, `cannot read from ${describeBrokers(config.brokers)}`, error);
    }
  }

  async pull(max: number, waitMs: number): Promise<readonly StreamRecord[]> {
    const records: StreamRecord[] = [];
    if (this.#closed || max <= 0) return records;
    const deadline = Date.now() + waitMs;
    for (;;) {
      while (records.length < max) {
        const message = this.#stream.read() as Message<Buffer, Buffer, Buffer, Buffer> | null;
        if (message === null) break;
        const record = this.#accept(message);
        if (record !== undefined) records.push(record);
      }
      if (records.length > 0) return records;
      if (this.#failure !== undefined) throw this.#failure;
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#signal.aborted || this.#closed) return records;
      await this.#waitForMessages(remaining);
    }
  }

  async ack(positions: Readonly<Record<string, string>>): Promise<void> {
    if (this.#closed) return;
    const assigned = new Set(
      (this.#consumer.assignments ?? []).flatMap((a) =>
        a.partitions.map((p) => partitionName(a.topic, p)),
      ),
    );
    const offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number }[] = [];
    for (const [name, position] of Object.entries(positions)) {
      const parsed = parsePartitionName(name);
      if (parsed === undefined || !isOffset(position)) continue;
      if (!this.#topics.has(parsed.topic) || !assigned.has(name)) continue;
      const next = BigInt(position) + 1n;
      const done = this.#committed.get(name);
      if (done !== undefined && done >= next) continue;
      offsets.push({ ...parsed, offset: next, leaderEpoch: -1 });
    }
    if (offsets.length === 0) return;
    try {
      await this.#consumer.commit({ offsets });
      for (const { topic, partition, offset } of offsets)
        this.#committed.set(partitionName(topic, partition), offset);
    } catch (error) {
      // The checkpoint, not the group's offsets, says where a restart begins; a failed commit
      // only leaves the group's lag (as tools show it) behind until the next one.
      const failure = kafkaFailure(error);
      this.#logger.warn(
        { group: this.#consumer.groupId, code: failure.code, error: failure.text },
        'Kafka did not take the offsets of a checkpoint; the next checkpoint commits them',
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    await this.#stream.close().catch(() => undefined);
    await closeClient(this.#consumer);
  }

  /** The record of a message, or undefined for one at or before the last handed out. */
  #accept(message: Message<Buffer, Buffer, Buffer, Buffer>): StreamRecord | undefined {
    const name = partitionName(message.topic, message.partition);
    const last = this.#handed.get(name);
    if (last !== undefined && message.offset <= last) return undefined;
    this.#handed.set(name, message.offset);
    return messageRecord(message, this.#columns);
  }

  async #waitForMessages(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }
}

function topicsOf(config: KafkaSourceConfig): string[] {
  return [...new Set(typeof config.topics === 'string' ? [config.topics] : config.topics)];
}

/** Each partition's oldest and next offset (and, for a time start, the offset at that time). */
async function readBounds(
  consumer: BufferConsumer,
  topics: readonly string[],
  context: StreamSourceContext,
  config: KafkaSourceConfig,
): Promise<PartitionBounds[]> {
  const where: KafkaRole = { role: 'source', stepId: context.stepId };
  let metadata: Awaited<ReturnType<BufferConsumer['metadata']>>;
  try {
    metadata = await consumer.metadata({ topics: [...topics], autocreateTopics: false });
  } catch (cause) {
    if (kafkaFailure(cause).code === 'UNKNOWN_TOPIC_OR_PARTITION')
      throw kafkaError(
        where,
        `a topic of ${topics.join(', ')} does not exist on ${describeBrokers(config.brokers)}`,
        cause,
      );
    throw kafkaError(where, `cannot connect to ${describeBrokers(config.brokers)}`, cause);
  }
  const missing = topics.filter((topic) => !metadata.topics.has(topic));
  if (missing.length > 0)
    throw new SourceError(
      context.stepId,
      `topic ${missing.join(', ')} does not exist on ${describeBrokers(config.brokers)}`,
      { hint: 'create it, or fix topics; the source does not create topics' },
    );
  const list = (timestamp: bigint) => consumer.listOffsets({ topics: [...topics], timestamp });
  const [earliest, latest, atTime] = await Promise.all([
    list(EARLIEST),
    list(LATEST),
    context.start.kind === 'time' ? list(BigInt(context.start.at.getTime())) : undefined,
  ]);
  const bounds: PartitionBounds[] = [];
  for (const topic of topics) {
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    for (let partition = 0; partition < count; partition++) {
      const found = atTime?.get(topic)?.[partition];
      bounds.push({
        topic,
        partition,
        earliest: earliest.get(topic)?.[partition] ?? 0n,
        latest: latest.get(topic)?.[partition] ?? 0n,
        atTime: found === undefined || found < 0n ? undefined : found,
      });
    }
  }
  return bounds;
}

/**
 * Orders two offsets of one partition (decimal text of any size).
 *
 * @example
 * ```ts
 * kafkaSource.comparePositions('9', '10'); // negative
 * ```
 */
const comparePositions = compareOffsets;

/**
 * The `kafka` stream source: reads topics through a consumer group (`groupId`, default the
 * stream's consumer name). Each partition of each topic is a stream partition
 * `<topic>/<partition>` whose position is the offset; a record is the message value's JSON object.
 * Offsets are committed to the group only after the checkpoint covering them; a restart seeks
 * every partition to its checkpoint offset + 1. At-least-once; see `docs/connectors/kafka.md`.
 *
 * @example
 * ```ts
 * const reader = await kafkaSource.open(
 *   kafkaSourceConfig.parse({ brokers: '127.0.0.1:9092', topics: 'clicks' }),
 *   { stepId: 'source', streamName: 'clicks', consumer: 'sluice-clicks', worker: 'w1', start: { kind: 'beginning' }, logger, signal },
 * );
 * const records = await reader.pull(1000, 100);
 * ```
 */
export const kafkaSource = defineStreamSource<KafkaSourceConfig>({
  name: 'kafka',
  summary:
    'Reads Kafka topics through a consumer group; partitions are `<topic>/<partition>`, positions offsets.',
  delivery: 'at-least-once',
  config: kafkaSourceConfig,
  comparePositions,
  open: (config, context) => KafkaReader.create(config, context),
});
