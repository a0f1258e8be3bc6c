import type {
  ConsumerConfig,
  ConsumerInfo,
  JetStreamManager,
  StreamInfo,
} from '@nats-io/jetstream';
import type { Logger } from '../../core/logger.js';
import type { StreamStart } from '../../contracts/stream-connector.js';
import type { NATSRole } from './nats-connection.js';
import { natsError, stepError } from './nats-connection.js';
import { compareSequences, isSequence } from './nats-records.js';

/**
 * Where a consumer delivers from: every message, new ones only, from a stream sequence, or from
 * a time. `from-sequence` after a checkpoint also says the sequence it resumes after.
 */
export type DeliverFrom =
  | { readonly policy: 'all' }
  | { readonly policy: 'new' }
  | { readonly policy: 'by_start_sequence'; readonly sequence: number }
  | { readonly policy: 'by_start_time'; readonly time: string };

/** The consumer settings the source's config decides (everything but where it starts). */
export interface ConsumerSettings {
  readonly name: string;
  readonly filterSubjects: readonly string[];
  readonly ackWaitMs: number;
  readonly maxDeliver: number;
  readonly maxAckPending: number;
  readonly description: string;
}

const NANOS_PER_MS = 1_000_000;

/**
 * A durable consumer name made from the runtime's consumer name: JetStream names may not hold
 * whitespace, `.`, `*`, `>` or path separators, so any character but letters, digits, `_` and
 * `-` becomes `_`.
 *
 * @example
 * ```ts
 * durableName('clicks/orders.v2'); // "clicks_orders_v2"
 * ```
 */
export function durableName(consumer: string): string {
  const name = consumer.replaceAll(/[^A-Za-z0-9_-]/g, '_');
  return name === '' ? '_' : name;
}

/**
 * Where the consumer must start for a {@link StreamStart}, checked against the stream's state:
 * after a checkpoint it delivers from the next sequence. A checkpoint past the end of the stream
 * (the stream was deleted and made again) is an error; a checkpoint before the stream's first
 * message (older messages were removed by the stream's limits) is logged as a warning, and
 * reading goes on from the first message there is.
 *
 * @example
 * ```ts
 * deliverFrom({ kind: 'checkpoint', positions: { '': '41' } }, info, where, logger); // { policy: 'by_start_sequence', sequence: 42 }
 * ```
 */
export function deliverFrom(
  start: StreamStart,
  stream: StreamInfo,
  where: NATSRole,
  logger: Logger,
): DeliverFrom {
  switch (start.kind) {
    case 'beginning':
      return { policy: 'all' };
    case 'latest':
      return { policy: 'new' };
    case 'time':
      return { policy: 'by_start_time', time: start.at.toISOString() };
    case 'checkpoint':
      return afterCheckpoint(start.positions, stream, where, logger);
  }
}

function afterCheckpoint(
  positions: Readonly<Record<string, string>>,
  stream: StreamInfo,
  where: NATSRole,
  logger: Logger,
): DeliverFrom {
  const position = positions[''];
  const name = stream.config.name;
  if (position === undefined) {
    const others = Object.keys(positions);
    if (others.length > 0) {
      logger.warn(
        { stream: name, partitions: others },
        'the checkpoint has no position for partition "" (the only partition of the nats source); reading the stream from the beginning',
      );
    }
    return { policy: 'all' };
  }
  if (!isSequence(position) || compareSequences(position, String(Number.MAX_SAFE_INTEGER)) > 0) {
    throw stepError(
      where,
      `the checkpoint position "${position}" is not a stream sequence of stream ${name}`,
      { hint: 'start the stream from the beginning or from a time instead of this checkpoint' },
    );
  }
  const sequence = Number(position);
  const { first_seq: first, last_seq: last } = stream.state;
  if (sequence > last) {
    throw stepError(
      where,
      `the checkpoint is at sequence ${sequence} but stream ${name} ends at sequence ${last}: the stream was deleted and created again since the checkpoint`,
      { hint: 'start the stream from the beginning or from a time to read the new stream' },
    );
  }
  if (stream.state.messages > 0 && first > sequence + 1) {
    logger.warn(
      { stream: name, checkpoint: sequence, firstSequence: first },
      `messages ${sequence + 1} to ${first - 1} of stream ${name} were removed (by its limits or a purge) before they were read; reading goes on from sequence ${first}`,
    );
  }
  return { policy: 'by_start_sequence', sequence: sequence + 1 };
}

/**
 * The durable pull consumer config for `settings` starting at `from`. It acknowledges
 * cumulatively (`ack_policy: all`): acknowledging a message acknowledges every earlier one.
 *
 * @example
 * ```ts
 * const config = consumerConfig(settings, { policy: 'all' });
 * ```
 */
export function consumerConfig(settings: ConsumerSettings, from: DeliverFrom): ConsumerConfig {
  const filters = settings.filterSubjects;
  return {
    durable_name: settings.name,
    description: settings.description,
    ack_policy: 'all',
    ack_wait: settings.ackWaitMs * NANOS_PER_MS,
    max_deliver: settings.maxDeliver,
    max_ack_pending: settings.maxAckPending,
    replay_policy: 'instant',
    deliver_policy: from.policy,
    ...(from.policy === 'by_start_sequence' ? { opt_start_seq: from.sequence } : {}),
    ...(from.policy === 'by_start_time' ? { opt_start_time: from.time } : {}),
    ...(filters.length === 1 ? { filter_subject: filters[0] } : {}),
    ...(filters.length > 1 ? { filter_subjects: [...filters] } : {}),
  };
}

/**
 * Makes the durable consumer deliver exactly from `from`. An existing consumer is kept only
 * when it has the same settings, is idle (nothing delivered and unacknowledged, no waiting pull
 * requests) and has delivered everything up to `resumeAfter`; otherwise it is deleted and made
 * again. A kept consumer with pending messages would redeliver them only after `ack_wait`,
 * behind newer messages, out of order.
 *
 * @example
 * ```ts
 * const info = await placeConsumer(jsm, 'ORDERS', settings, { policy: 'by_start_sequence', sequence: 42 }, 41, where, logger);
 * ```
 */
export async function placeConsumer(
  jsm: JetStreamManager,
  stream: string,
  settings: ConsumerSettings,
  from: DeliverFrom,
  resumeAfter: number | undefined,
  where: NATSRole,
  logger: Logger,
): Promise<ConsumerInfo> {
  const existing = await consumerInfo(jsm, stream, settings.name, where);
  if (existing !== undefined) {
    const reason = whyNotReusable(existing, settings, resumeAfter);
    if (reason === undefined) return existing;
    logger.info(
      { stream, consumer: settings.name, reason },
      'making the durable consumer again at the start position',
    );
    await jsm.consumers.delete(stream, settings.name).catch((cause: unknown) => {
      if (!isNotFound(cause)) {
        throw natsError(
          where,
          `cannot delete consumer ${settings.name} of stream ${stream}`,
          cause,
        );
      }
    });
  }
  try {
    return await jsm.consumers.add(stream, consumerConfig(settings, from));
  } catch (cause) {
    throw natsError(
      where,
      `cannot create consumer ${settings.name} on stream ${stream}`,
      cause,
      consumerHint(cause),
    );
  }
}

/**
 * Why an existing consumer cannot serve as is, or undefined when it can.
 *
 * @example
 * ```ts
 * whyNotReusable(info, settings, 41); // "it has 12 messages delivered and not acknowledged"
 * ```
 */
export function whyNotReusable(
  info: ConsumerInfo,
  settings: ConsumerSettings,
  resumeAfter: number | undefined,
): string | undefined {
  const config = info.config;
  if (resumeAfter === undefined)
    return 'the reader starts anew (beginning, latest, a time, or after a lost delivery)';
  if (config.deliver_subject !== undefined && config.deliver_subject !== '') {
    return 'it is a push consumer';
  }
  if (config.ack_policy !== 'all') return `its ack policy is ${config.ack_policy}`;
  const filters = config.filter_subjects ?? (config.filter_subject ? [config.filter_subject] : []);
  if (filters.join('\u0000') !== settings.filterSubjects.join('\u0000')) {
    return 'its subject filter differs';
  }
  if (config.ack_wait !== settings.ackWaitMs * NANOS_PER_MS) return 'its ack wait differs';
  if ((config.max_deliver ?? -1) !== settings.maxDeliver) return 'its max deliver differs';
  if ((config.max_ack_pending ?? -1) !== settings.maxAckPending) {
    return 'its max ack pending differs';
  }
  if (info.num_ack_pending > 0) {
    return `it has ${info.num_ack_pending} messages delivered and not acknowledged`;
  }
  if (info.num_waiting > 0) return 'it has pull requests waiting (another reader?)';
  if (info.delivered.stream_seq !== resumeAfter) {
    return `it delivered up to sequence ${info.delivered.stream_seq}, the checkpoint is at ${resumeAfter}`;
  }
  return undefined;
}

async function consumerInfo(
  jsm: JetStreamManager,
  stream: string,
  name: string,
  where: NATSRole,
): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (cause) {
    if (isNotFound(cause)) return undefined;
    throw natsError(where, `cannot read consumer ${name} of stream ${stream}`, cause);
  }
}

function isNotFound(cause: unknown): boolean {
  return cause instanceof Error && cause.name === 'ConsumerNotFoundError';
}

/** JetStream API error code: a filter subject outside the stream's subjects. */
const FILTER_NOT_IN_STREAM = 10093;

function consumerHint(cause: unknown): { hint?: string } {
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (code === FILTER_NOT_IN_STREAM) {
    return { hint: "every entry of subjects must lie within the stream's subjects" };
  }
  return {};
}
