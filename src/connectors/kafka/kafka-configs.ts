import { z } from 'zod';
import { positiveDurationConfig } from '../../core/duration-config.js';
import { secretValue } from '../../contracts/secrets.js';
import { RowTemplate } from '../../contracts/row-template.js';

const broker = z
  .string()
  .regex(/^[^\s:/]+:\d{1,5}$/, 'a broker as host:port, such as 127.0.0.1:9092 (no scheme)');

const duration = positiveDurationConfig;

/** Kafka topic names: letters, digits, `.`, `_` and `-`, at most 249 characters. */
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

const topicName = z
  .string()
  .regex(TOPIC, 'a Kafka topic name: letters, digits, ".", "_" and "-" (at most 249)');

const connectionFields = {
  brokers: z
    .union([broker, z.array(broker).min(1)])
    .describe(
      'The bootstrap broker as `host:port`, or several of one cluster; the client finds the others from them.',
    ),
  clientId: z
    .string()
    .min(1)
    .optional()
    .describe('The client id the brokers see in their logs and quotas; default `sluice-<stream>`.'),
  sasl: z
    .strictObject({
      mechanism: z
        .enum(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'])
        .describe('The SASL mechanism the brokers expect.'),
      username: z.string().min(1).describe('The SASL user name.'),
      password: secretValue.describe(
        'The SASL password: inline, or `{ env: "NAME" }` to read it from the environment.',
      ),
    })
    .optional()
    .describe(
      'SASL authentication (PLAIN or SCRAM); use it with `tls: true` outside a trusted network.',
    ),
  tls: z
    .boolean()
    .default(false)
    .describe("Connect with TLS (the brokers' certificates are checked against the system's CAs)."),
  connectTimeout: duration
    .default('10s')
    .describe('How long to wait for a broker when connecting before failing with a clear error.'),
  requestTimeout: duration
    .default('30s')
    .describe('How long to wait for the answer to one request to a broker.'),
};

/**
 * Config of the `kafka` stream source: topics read through a consumer group.
 *
 * @example
 * ```ts
 * kafkaSourceConfig.parse({ brokers: '127.0.0.1:9092', topics: ['clicks'] });
 * ```
 */
export const kafkaSourceConfig = z
  .strictObject({
    ...connectionFields,
    topics: z
      .union([topicName, z.array(topicName).min(1)])
      .describe(
        'The topic to read, or several. Each partition of each topic is one stream partition, `<topic>/<partition>`, whose position is the offset.',
      ),
    groupId: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe(
        "The consumer group; default the stream's consumer name (`sluice-<stream>`). Offsets are committed to it after each checkpoint.",
      ),
    isolationLevel: z
      .enum(['read_committed', 'read_uncommitted'])
      .default('read_committed')
      .describe(
        '`read_committed` skips messages of aborted transactions and waits for open ones; `read_uncommitted` reads every message at once.',
      ),
    batchSize: z
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe(
        'Messages the reader buffers ahead of the stream; fetching pauses while that many wait.',
      ),
    maxWait: duration
      .default('500ms')
      .describe('How long a broker holds a fetch open when it has no new message for it.'),
    sessionTimeout: duration
      .default('30s')
      .describe(
        'How long the group coordinator waits for a sign of life before it gives the partitions of this reader to another member.',
      ),
    keyColumn: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Adds each message's key to its record under this column name (UTF-8 text; null when the message has no key).",
      ),
    timestampColumn: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Adds each message's Kafka timestamp (epoch milliseconds) to its record under this column name; usable as the event time.",
      ),
  })
  .refine(
    (config) =>
      config.keyColumn === undefined ||
      config.timestampColumn === undefined ||
      config.keyColumn !== config.timestampColumn,
    { message: 'keyColumn and timestampColumn must differ', path: ['timestampColumn'] },
  )
  .describe(
    'Reads Kafka topics through a consumer group; offsets are committed after checkpoints.',
  );

/**
 * The parsed config of the `kafka` stream source (defaults filled in).
 *
 * @example
 * ```ts
 * const config: KafkaSourceConfig = kafkaSourceConfig.parse({ brokers: '127.0.0.1:9092', topics: 'clicks' });
 * ```
 */
export type KafkaSourceConfig = z.output<typeof kafkaSourceConfig>;
/** Config of the `kafka` stream source as written (defaults optional). */
export type KafkaSourceInput = z.input<typeof kafkaSourceConfig>;

/**
 * Config of the `kafka` stream sink: rows produced as JSON messages.
 *
 * @example
 * ```ts
 * kafkaSinkConfig.parse({ brokers: '127.0.0.1:9092', topic: 'page_views', key: 'page' });
 * ```
 */
export const kafkaSinkConfig = z
  .strictObject({
    ...connectionFields,
    topic: z
      .string()
      .min(1)
      .describe(
        'The topic each row is produced to: fixed (`page_views`), or with `{column}` parts filled from the row (`views.{region}`). It must exist (topics are not created).',
      ),
    key: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The column whose value is each message's key (text; numbers and dates as text). Messages with the same key go to the same partition, the one Kafka's Java client would choose. A row without a value for it fails the write. Default: no key, messages spread over the partitions.",
      ),
    idempotent: z
      .boolean()
      .default(true)
      .describe(
        "Use Kafka's idempotent producer (acks from all in-sync replicas, no duplicates from the client's own retries). Needs the IDEMPOTENT_WRITE permission on clusters with ACLs.",
      ),
    compression: z
      .enum(['none', 'gzip', 'snappy', 'lz4', 'zstd'])
      .default('none')
      .describe('How message batches are compressed (`zstd` needs Node.js 22.15 or later).'),
    batchSize: z
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Messages sent per produce request during a commit.'),
    retries: z
      .int()
      .min(2)
      .max(1000)
      .default(10)
      .describe(
        'How often the client retries a failed request (a leader change, a broker restart) before the commit fails.',
      ),
  })
  .superRefine((config, context) => {
    const problem = topicTemplateProblem(config.topic);
    if (problem !== undefined)
      context.addIssue({ code: 'custom', path: ['topic'], message: problem });
  })
  .describe(
    'Produces rows as JSON messages to Kafka, keyed by a column, flushed at each checkpoint.',
  );

/**
 * The parsed config of the `kafka` stream sink (defaults filled in).
 *
 * @example
 * ```ts
 * const config: KafkaSinkConfig = kafkaSinkConfig.parse({ brokers: '127.0.0.1:9092', topic: 'totals' });
 * ```
 */
export type KafkaSinkConfig = z.output<typeof kafkaSinkConfig>;
/** Config of the `kafka` stream sink as written (defaults optional). */
export type KafkaSinkInput = z.input<typeof kafkaSinkConfig>;

/** What connecting needs, common to the source and the sink. */
export type KafkaConnectionConfig = Pick<
  KafkaSourceConfig,
  'brokers' | 'clientId' | 'sasl' | 'tls' | 'connectTimeout' | 'requestTimeout'
>;

/**
 * The topic template of the sink as a {@link RowTemplate} whose text and values may hold only
 * what a topic name may.
 *
 * @example
 * ```ts
 * topicTemplate('views.{region}').render({ region: 'eu' }); // "views.eu"
 * ```
 */
export function topicTemplate(text: string): RowTemplate {
  return RowTemplate.parse(text, {
    forbidden: (part) => !/^[A-Za-z0-9._-]*$/.test(part),
    what: 'topic',
  });
}

/**
 * Whether a string is a valid Kafka topic name.
 *
 * @example
 * ```ts
 * isTopicName('page_views'); // true
 * isTopicName('page views'); // false
 * ```
 */
export function isTopicName(text: string): boolean {
  return TOPIC.test(text);
}

function topicTemplateProblem(text: string): string | undefined {
  try {
    const template = topicTemplate(text);
    if (template.columns.length === 0 && !isTopicName(text))
      return `"${text}" is not a Kafka topic name: use letters, digits, ".", "_" and "-" (at most 249)`;
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
