import type { MessageToProduce, Producer } from '@platformatic/kafka';
import { SinkError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RowTemplate } from '../../contracts/row-template.js';
import type {
  StreamCommit,
  StreamRow,
  StreamSinkContext,
  StreamWriter,
} from '../../contracts/stream-connector.js';
import { defineStreamSink } from '../../contracts/stream-connector.js';
import type { KafkaSinkConfig } from './kafka-configs.js';
import { isTopicName, kafkaSinkConfig, topicTemplate } from './kafka-configs.js';
import type { KafkaRole } from './kafka-connection.js';
import {
  clientOptions,
  closeClient,
  describeBrokers,
  importKafka,
  kafkaError,
  kafkaFailure,
} from './kafka-connection.js';
import { encodeKey, encodeValue, kafkaMessageId } from './kafka-records.js';

type StringHeaderProducer = Producer<Buffer, Buffer, string, string>;

/** A row ready to produce. */
interface Outgoing {
  readonly topic: string;
  readonly key: Buffer | undefined;
  readonly value: Buffer;
}

/**
 * Turns rows into messages: the topic from the template, the key from the key column, the value
 * the row's JSON. Throws a {@link SinkError} naming the row when one cannot be made; nothing of
 * the batch is kept then.
 *
 * @example
 * ```ts
 * const encode = messageEncoder(kafkaSinkConfig.parse({ brokers: 'k:9092', topic: 'views.{region}', key: 'page' }), 'sink');
 * encode([{ region: 'eu', page: '/' }]); // [{ topic: 'views.eu', key: <Buffer 2f>, value: <Buffer ...> }]
 * ```
 */
export function messageEncoder(
  config: Pick<KafkaSinkConfig, 'topic' | 'key'>,
  stepId: string,
): (rows: readonly StreamRow[]) => Outgoing[] {
  const template: RowTemplate = topicTemplate(config.topic);
  const keyColumn = config.key;
  return (rows) =>
    rows.map((row, index) => {
      const topic = template.render(row);
      if (typeof topic !== 'string') {
        throw new SinkError(
          stepId,
          topic.kind === 'missing'
            ? `row ${index + 1} of the batch has no value for "${topic.column}", which the topic needs; nothing of the batch was kept`
            : `row ${index + 1} of the batch makes topic part "${topic.value}" from "${topic.column}", which a topic name cannot hold; nothing of the batch was kept`,
          {
            hint: 'topic names hold letters, digits, ".", "_" and "-": filter or map such rows before the sink',
          },
        );
      }
      if (!isTopicName(topic))
        throw new SinkError(
          stepId,
          `row ${index + 1} of the batch makes "${topic}", which is not a Kafka topic name; nothing of the batch was kept`,
          { hint: 'topic names hold 1 to 249 letters, digits, ".", "_" and "-"' },
        );
      let key: Buffer | undefined;
      if (keyColumn !== undefined) {
        key = encodeKey(row[keyColumn]);
        if (key === undefined)
          throw new SinkError(
            stepId,
            `row ${index + 1} of the batch has no value for the key column "${keyColumn}"; nothing of the batch was kept`,
            { hint: 'give every row a key, or filter such rows out before the sink' },
          );
      }
      let value: Buffer;
      try {
        value = encodeValue(row);
      } catch (cause) {
        throw new SinkError(stepId, `row ${index + 1} of the batch cannot be written as JSON`, {
          cause,
        });
      }
      return { topic, key, value };
    });
}

/**
 * An open Kafka sink. `write` turns rows into messages and keeps them; `commit` produces them
 * in requests of `batchSize` and returns once the brokers acknowledged every one.
 */
class KafkaWriter implements StreamWriter {
  readonly #producer: StringHeaderProducer;
  readonly #encode: (rows: readonly StreamRow[]) => Outgoing[];
  readonly #batchSize: number;
  readonly #streamName: string;
  readonly #where: KafkaRole;
  readonly #logger: Logger;
  #pending: Outgoing[] = [];

  private constructor(
    producer: StringHeaderProducer,
    config: KafkaSinkConfig,
    context: StreamSinkContext,
  ) {
    this.#producer = producer;
    this.#encode = messageEncoder(config, context.stepId);
    this.#batchSize = config.batchSize;
    this.#streamName = context.streamName;
    this.#where = { role: 'sink', stepId: context.stepId };
    this.#logger = context.logger;
  }

  /** Connects and checks a fixed topic exists. */
  static async create(config: KafkaSinkConfig, context: StreamSinkContext): Promise<KafkaWriter> {
    const where: KafkaRole = { role: 'sink', stepId: context.stepId };
    const driver = await importKafka(where);
    if (driver.compressionsAlgorithms[config.compression].available === false)
      throw new SinkError(
        context.stepId,
        `${config.compression} compression is not available in this Node.js (${process.version})`,
        { hint: 'zstd needs Node.js 22.15 or later; use gzip, snappy or lz4' },
      );
    const connection = clientOptions(config, where, `sluice-${context.streamName}`);
    let producer: StringHeaderProducer;
    try {
      producer = new driver.Producer({
        ...connection,
        idempotent: config.idempotent,
        retries: config.retries,
        compression: config.compression,
        serializers: { headerKey: driver.stringSerializer, headerValue: driver.stringSerializer },
        ...(config.key === undefined ? {} : { partitioner: driver.compatibilityPartitioner }),
      });
    } catch (cause) {
      throw kafkaError(where, 'cannot set up the Kafka producer', cause);
    }
    producer.on('error', () => undefined);
    const fixed = topicTemplate(config.topic).columns.length === 0 ? config.topic : undefined;
    try {
      const metadata = await producer.metadata({
        topics: fixed === undefined ? [] : [fixed],
        autocreateTopics: false,
      });
      if (fixed !== undefined && !metadata.topics.has(fixed))
        throw new SinkError(
          context.stepId,
          `topic ${fixed} does not exist on ${describeBrokers(config.brokers)}`,
          {
            hint: 'create it (kafka-topics.sh --create --topic ...); the sink does not create topics',
          },
        );
    } catch (error) {
      await closeClient(producer);
      if (error instanceof SinkError) throw error;
      if (kafkaFailure(error).code === 'UNKNOWN_TOPIC_OR_PARTITION')
        throw kafkaError(
          where,
          `topic ${fixed ?? config.topic} does not exist on ${describeBrokers(config.brokers)}`,
          error,
        );
      throw kafkaError(where, `cannot connect to ${describeBrokers(config.brokers)}`, error);
    }
    return new KafkaWriter(producer, config, context);
  }

  async write(rows: readonly StreamRow[]): Promise<void> {
    const outgoing = this.#encode(rows);
    for (const message of outgoing) this.#pending.push(message);
  }

  async commit(commit: StreamCommit): Promise<void> {
    const pending = this.#pending;
    for (let start = 0; start < pending.length; start += this.#batchSize) {
      const messages: MessageToProduce<Buffer, Buffer, string, string>[] = pending
        .slice(start, start + this.#batchSize)
        .map((message, offset) => ({
          topic: message.topic,
          value: message.value,
          ...(message.key === undefined ? {} : { key: message.key }),
          headers: {
            'sluice-id': kafkaMessageId(
              this.#streamName,
              commit.checkpointId,
              start + offset,
              message.value,
            ),
          },
        }));
      try {
        await this.#producer.send({ messages });
      } catch (cause) {
        throw kafkaError(
          this.#where,
          `cannot produce checkpoint ${commit.checkpointId} (messages ${start + 1} to ${start + messages.length} of ${pending.length})`,
          cause,
          {
            hint: 'the rows of this checkpoint are kept; a restart of the stream produces them again (at least once)',
          },
        );
      }
    }
    if (pending.length > 0)
      this.#logger.debug(
        { checkpointId: commit.checkpointId, messages: pending.length },
        'produced the checkpoint to Kafka',
      );
    this.#pending = [];
  }

  async close(): Promise<void> {
    await closeClient(this.#producer);
  }
}

/**
 * The `kafka` stream sink: produces each row as a JSON message to `topic` (fixed, or a
 * `{column}` template), keyed by the `key` column (partitioned as Kafka's Java client would),
 * with the idempotent producer unless told otherwise. A commit returns once the brokers
 * acknowledged every message of the checkpoint. Each message carries a `sluice-id` header
 * (stream, checkpoint, index, digest) that consumers may use to drop replayed copies.
 * At-least-once; see `docs/connectors/kafka.md`.
 *
 * @example
 * ```ts
 * const writer = await kafkaSink.open(
 *   kafkaSinkConfig.parse({ brokers: '127.0.0.1:9092', topic: 'page_views', key: 'page' }),
 *   { stepId: 'sink', streamName: 'clicks', logger, signal },
 * );
 * await writer.write([{ page: '/', views: 3 }]);
 * await writer.commit({ checkpointId: 1 });
 * ```
 */
export const kafkaSink = defineStreamSink<KafkaSinkConfig>({
  name: 'kafka',
  summary:
    'Produces rows as JSON messages to Kafka (idempotent producer, keyed by a column), at each checkpoint.',
  delivery: 'at-least-once',
  config: kafkaSinkConfig,
  open: (config, context) => KafkaWriter.create(config, context),
});
