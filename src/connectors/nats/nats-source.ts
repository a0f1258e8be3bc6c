import type {
  ConsumerMessages,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  StreamInfo,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseDuration } from '../../core/duration.js';
import type { Logger } from '../../core/logger.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSourceContext,
} from '../../contracts/stream-connector.js';
import { defineStreamSource } from '../../contracts/stream-connector.js';
import type { NATSSourceConfig } from './nats-configs.js';
import { natsSourceConfig } from './nats-configs.js';
import type { NATSRole } from './nats-connection.js';
import {
  closeQuietly,
  connectNATS,
  describeServers,
  natsError,
  stepError,
} from './nats-connection.js';
import type { ConsumerSettings, DeliverFrom } from './nats-consumer.js';
import { deliverFrom, durableName, placeConsumer } from './nats-consumer.js';
import { decodePayload } from '../../contracts/payload.js';
import { compareSequences, isSequence } from './nats-records.js';

/** A message handed out and not yet acknowledged: what acknowledging it needs. */
interface HeldMessage {
  readonly sequence: number;
  /** The message's reply subject, where JetStream takes its acknowledgement. */
  reply: string;
}

const ACK_PAYLOAD = new TextEncoder().encode('+ACK');
const ACK_TIMEOUT_MS = 5_000;
const PULL_EXPIRES_MS = 10_000;
/** Longest a pull that has records waits for more already on their way (see `pull`). */
const LINGER_MS = 10;

/**
 * An open JetStream source: a durable pull consumer read in the background into a buffer of at
 * most `batchSize` messages, so a slow runtime slows the pulls from the server.
 *
 * Records come in stream-sequence order. A message the server redelivers (its `ackWait` passed
 * before the checkpoint covering it acknowledged it) was already handed out and is not handed
 * out again; a delivery lost on the way (a reconnect) makes the reader place the consumer again
 * right after the last record it handed out, so no record is skipped and none comes out of order.
 */
class JetStreamReader implements StreamReader {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #settings: ConsumerSettings;
  readonly #initialFrom: DeliverFrom;
  readonly #batchSize: number;
  readonly #subjectColumn: string | undefined;
  readonly #where: NATSRole;
  readonly #logger: Logger;
  readonly #signal: AbortSignal;

  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> = Promise.resolve();
  #buffer: JsMsg[] = [];
  #bufferHead = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #resume: (() => void) | undefined;
  #held: HeldMessage[] = [];
  #heldHead = 0;
  /** Stream sequence of the last record handed out (0: none yet). */
  #lastHanded = 0;
  /** Consumer delivery sequence of the last message received from the consumer. */
  #lastDelivery = 0;
  #closed = false;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    js: JetStreamClient,
    config: NATSSourceConfig,
    settings: ConsumerSettings,
    initialFrom: DeliverFrom,
    context: StreamSourceContext,
  ) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = js;
    this.#stream = config.stream;
    this.#settings = settings;
    this.#initialFrom = initialFrom;
    this.#batchSize = config.batchSize;
    this.#subjectColumn = config.subjectColumn;
    this.#where = { role: 'source', stepId: context.stepId };
    this.#logger = context.logger;
    this.#signal = context.signal;
  }

  /** Connects, checks the stream and places the durable consumer at `context.start`. */
  static async create(
    config: NATSSourceConfig,
    context: StreamSourceContext,
  ): Promise<JetStreamReader> {
    const where: NATSRole = { role: 'source', stepId: context.stepId };
    const { nc, drivers } = await connectNATS(config, where);
    try {
      const jsm = await drivers.jetstream.jetstreamManager(nc).catch((cause: unknown) => {
        throw natsError(where, `cannot use JetStream on ${describeServers(config.servers)}`, cause);
      });
      const stream = await readStream(jsm, config, where);
      const settings = consumerSettings(config, context, nc, where);
      const from = deliverFrom(context.start, stream, where, context.logger);
      const reader = new JetStreamReader(
        nc,
        jsm,
        drivers.jetstream.jetstream(nc),
        config,
        settings,
        from,
        context,
      );
      const resumeAfter =
        from.policy === 'by_start_sequence' && context.start.kind === 'checkpoint'
          ? from.sequence - 1
          : undefined;
      await reader.#consumeFrom(from, resumeAfter);
      return reader;
    } catch (error) {
      await closeQuietly(nc);
      throw error;
    }
  }

  async pull(max: number, waitMs: number): Promise<readonly StreamRecord[]> {
    const records: StreamRecord[] = [];
    if (this.#closed || max <= 0) return records;
    const deadline = Date.now() + waitMs;
    let lingerUntil = 0;
    for (;;) {
      while (records.length < max && this.#bufferHead < this.#buffer.length) {
        const message = this.#takeBuffered();
        const delivery = message.info.deliverySequence;
        if (delivery !== this.#lastDelivery + 1) {
          try {
            await this.#recoverFromGap(delivery);
          } catch (error) {
            this.#failure = error as Error;
            throw error;
          }
          break;
        }
        this.#lastDelivery = delivery;
        const record = this.#accept(message);
        if (record !== undefined) records.push(record);
      }
      this.#resume?.();
      if (records.length > 0) {
        // Messages that reached the client come into the buffer one iterator step at a time:
        // give those already received a moment to arrive, so a busy stream gets batches of
        // hundreds rather than a handful (each pull has a fixed cost in the runtime).
        lingerUntil ||= Date.now() + LINGER_MS;
        if (records.length >= max || Date.now() >= lingerUntil || !(await this.#moreArrived()))
          return records;
        continue;
      }
      if (this.#failure !== undefined && this.#bufferHead >= this.#buffer.length) {
        throw this.#failure;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#signal.aborted || this.#closed) return records;
      await this.#waitForMessages(remaining);
    }
  }

  async ack(positions: Readonly<Record<string, string>>): Promise<void> {
    const position = positions[''];
    if (this.#closed || position === undefined || !isSequence(position)) return;
    const last = this.#lastHeldAtOrBefore(Number(position));
    if (last === -1) return;
    const target = this.#held[last] as HeldMessage;
    this.#heldHead = last + 1;
    if (this.#heldHead === this.#held.length) {
      this.#held = [];
      this.#heldHead = 0;
    } else if (this.#heldHead > 4096 && this.#heldHead * 2 > this.#held.length) {
      this.#held = this.#held.slice(this.#heldHead);
      this.#heldHead = 0;
    }
    try {
      await this.#nc.request(target.reply, ACK_PAYLOAD, { timeout: ACK_TIMEOUT_MS });
    } catch (error) {
      // The checkpoint, not the consumer's ack floor, says where a restart begins; a lost
      // acknowledgement only lets the server redeliver messages this reader skips.
      this.#logger.warn(
        { stream: this.#stream, consumer: this.#settings.name, sequence: target.sequence, error },
        'JetStream did not confirm an acknowledgement; the next one covers it',
      );
    }
  }

  /** Messages the consumer has not delivered yet, plus those delivered and not yet pulled. */
  async lag(): Promise<number | undefined> {
    if (this.#closed) return undefined;
    const info = await this.#jsm.consumers.info(this.#stream, this.#settings.name);
    return info.num_pending + (this.#buffer.length - this.#bufferHead);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#stopConsuming();
    } finally {
      await closeQuietly(this.#nc);
    }
  }

  /** The record of a message, or undefined for a redelivery of one already handed out. */
  #accept(message: JsMsg): StreamRecord | undefined {
    const sequence = message.info.streamSequence;
    const reply = replyOf(message);
    if (sequence <= this.#lastHanded) {
      this.#refreshHeld(sequence, reply);
      return undefined;
    }
    this.#lastHanded = sequence;
    this.#held.push({ sequence, reply });
    const value = decodePayload(message.data);
    if (this.#subjectColumn !== undefined) value[this.#subjectColumn] = message.subject;
    return {
      value,
      partition: '',
      position: String(sequence),
      brokerTime: Math.floor(message.info.timestampNanos / 1_000_000),
    };
  }

  /** A redelivered message's newest reply subject acknowledges it best (its delivery is newest). */
  #refreshHeld(sequence: number, reply: string): void {
    const index = this.#lastHeldAtOrBefore(sequence);
    const held = this.#held[index];
    if (held !== undefined && held.sequence === sequence) held.reply = reply;
  }

  /** Index of the last held message with a sequence at or before `sequence`, or -1. */
  #lastHeldAtOrBefore(sequence: number): number {
    let low = this.#heldHead;
    let high = this.#held.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if ((this.#held[middle] as HeldMessage).sequence <= sequence) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return found;
  }

  async #recoverFromGap(delivery: number): Promise<void> {
    const from: DeliverFrom =
      this.#lastHanded === 0
        ? this.#initialFrom
        : { policy: 'by_start_sequence', sequence: this.#lastHanded + 1 };
    this.#logger.warn(
      {
        stream: this.#stream,
        consumer: this.#settings.name,
        expectedDelivery: this.#lastDelivery + 1,
        delivery,
        lastSequence: this.#lastHanded,
      },
      'a JetStream delivery was lost on the way (a reconnect?); placing the consumer right after the last record read',
    );
    await this.#stopConsuming();
    this.#held = [];
    this.#heldHead = 0;
    await this.#consumeFrom(from, undefined);
  }

  async #consumeFrom(from: DeliverFrom, resumeAfter: number | undefined): Promise<void> {
    const info = await placeConsumer(
      this.#jsm,
      this.#stream,
      this.#settings,
      from,
      resumeAfter,
      this.#where,
      this.#logger,
    );
    this.#lastDelivery = info.delivered.consumer_seq;
    const consumer = this.#js.consumers.getConsumerFromInfo(info);
    let messages: ConsumerMessages;
    try {
      messages = await consumer.consume({
        max_messages: this.#batchSize,
        // Pull requests last 10 s with heartbeats every 5 s: a deleted consumer or a silent
        // server shows within about 10 s.
        expires: PULL_EXPIRES_MS,
        abort_on_missing_resource: true,
      });
    } catch (cause) {
      throw natsError(this.#where, `cannot read consumer ${this.#settings.name}`, cause);
    }
    this.#messages = messages;
    this.#failure = undefined;
    this.#loop = this.#fill(messages);
  }

  /** Moves messages from the consumer into the buffer, pausing while the buffer is full. */
  async #fill(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const message of messages) {
        this.#buffer.push(message);
        this.#wake?.();
        if (this.#buffer.length - this.#bufferHead >= this.#batchSize) {
          await new Promise<void>((resolve) => (this.#resume = resolve));
          this.#resume = undefined;
        }
        if (this.#messages !== messages) return;
      }
      if (this.#messages === messages && !this.#closed) {
        const closed = new Error('the connection to the server closed');
        closed.name = 'ClosedConnectionError';
        throw closed;
      }
    } catch (cause) {
      if (this.#messages !== messages || this.#closed) return;
      this.#failure = natsError(
        this.#where,
        `reading consumer ${this.#settings.name} of stream ${this.#stream} failed`,
        cause,
        {
          hint: 'the consumer or stream was deleted, or the connection was lost; a restart of the stream resumes from its last checkpoint',
        },
      );
    } finally {
      this.#wake?.();
    }
  }

  async #stopConsuming(): Promise<void> {
    const messages = this.#messages;
    this.#messages = undefined;
    if (messages !== undefined) {
      messages.stop();
      this.#resume?.();
      await this.#loop.catch(() => undefined);
    }
    this.#buffer = [];
    this.#bufferHead = 0;
  }

  #takeBuffered(): JsMsg {
    const message = this.#buffer[this.#bufferHead] as JsMsg;
    this.#bufferHead++;
    if (this.#bufferHead === this.#buffer.length) {
      this.#buffer = [];
      this.#bufferHead = 0;
    }
    return message;
  }

  /** Yields to the event loop once; true when messages reached the buffer meanwhile. */
  async #moreArrived(): Promise<boolean> {
    const before = this.#buffer.length - this.#bufferHead;
    await new Promise<void>((resolve) => setImmediate(resolve));
    return this.#buffer.length - this.#bufferHead > before;
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
      // Woken by the first message: let the rest of what arrived with it reach the buffer too.
      this.#wake = () => {
        this.#wake = undefined;
        setImmediate(done);
      };
    });
  }
}

async function readStream(
  jsm: JetStreamManager,
  config: NATSSourceConfig,
  where: NATSRole,
): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(config.stream);
  } catch (cause) {
    if (cause instanceof Error && cause.name === 'StreamNotFoundError') {
      throw stepError(
        where,
        `stream ${config.stream} does not exist on ${describeServers(config.servers)}`,
        { hint: await streamHint(jsm, config.stream) },
      );
    }
    throw natsError(where, `cannot read stream ${config.stream}`, cause);
  }
  if (info.config.retention !== 'limits') {
    throw stepError(
      where,
      `stream ${config.stream} keeps messages by ${info.config.retention} retention, which deletes them once acknowledged; the nats source replays from checkpoints and needs limits retention`,
      {
        hint: 'read a stream with retention "limits" (a stream can source from a work-queue stream)',
      },
    );
  }
  return info;
}

async function streamHint(jsm: JetStreamManager, missing: string): Promise<string> {
  const names: string[] = [];
  try {
    for await (const name of jsm.streams.names()) {
      names.push(name);
      if (names.length > 20) break;
    }
  } catch {
    // Listing is only for the hint.
  }
  const create = `create it (nats stream add ${missing} --subjects '...') or fix stream`;
  if (names.length === 0) return `${create}; the server has no streams`;
  const close = names.find((name) => name.toLowerCase() === missing.toLowerCase());
  if (close !== undefined) return `did you mean ${close}? (stream names are case-sensitive)`;
  return `${create}; streams there: ${names.slice(0, 20).join(', ')}`;
}

function consumerSettings(
  config: NATSSourceConfig,
  context: StreamSourceContext,
  nc: NatsConnection,
  where: NATSRole,
): ConsumerSettings {
  const filterSubjects =
    config.subjects === undefined
      ? []
      : typeof config.subjects === 'string'
        ? [config.subjects]
        : [...config.subjects];
  const version = nc.info?.version ?? 'unknown';
  if (filterSubjects.length > 1 && !serverAtLeast(version, 2, 10)) {
    throw stepError(
      where,
      `subjects lists ${filterSubjects.length} subjects, but NATS server ${version} filters a consumer by one subject (several need 2.10 or later)`,
      {
        hint: 'use one subject with wildcards (orders.*.created, orders.>), or upgrade the server',
      },
    );
  }
  return {
    name: durableName(context.consumer),
    filterSubjects,
    ackWaitMs: parseDuration(config.ackWait),
    maxDeliver: config.maxDeliver ?? -1,
    maxAckPending: config.maxAckPending ?? -1,
    description: `sluice stream ${context.streamName}, step ${context.stepId}`,
  };
}

function serverAtLeast(version: string, major: number, minor: number): boolean {
  const [x = 0, y = 0] = version.split('.').map((part) => Number.parseInt(part, 10));
  return x > major || (x === major && y >= minor);
}

function replyOf(message: JsMsg): string {
  const reply = (message as JsMsg & { readonly reply?: unknown }).reply;
  return typeof reply === 'string' ? reply : '';
}

/**
 * The `nats` stream source: reads a JetStream stream through a durable pull consumer named from
 * the runtime's consumer name. One reader is one partition (`''`); a record's position is its
 * stream sequence. At-least-once: the runtime acknowledges after the covering checkpoint
 * commits, and a restart places the consumer right after the checkpoint. Spread over several
 * processes (`scaleOut`), each subject is a partition. See
 * `docs/connectors/nats.md` for the full guarantee.
 *
 * @example
 * ```ts
 * const reader = await natsSource.open(
 *   natsSourceConfig.parse({ servers: 'nats://127.0.0.1:4222', stream: 'ORDERS' }),
 *   { stepId: 'orders', streamName: 'clicks', consumer: 'clicks_orders', worker: 'w1', start: { kind: 'beginning' }, logger, signal },
 * );
 * const records = await reader.pull(1000, 100);
 * await reader.ack({ '': records.at(-1)!.position });
 * ```
 */
export const natsSource = defineStreamSource<NATSSourceConfig>({
  name: 'nats',
  summary:
    'Reads a NATS JetStream stream through a durable pull consumer; positions are stream sequences.',
  delivery: 'at-least-once',
  config: natsSourceConfig,
  comparePositions: compareSequences,
  partitionsOf: (config) =>
    typeof config.subjects === 'string' || config.subjects === undefined
      ? [{ name: config.subjects ?? config.stream, config }]
      : config.subjects.map((subject) => ({
          name: subject,
          config: { ...config, subjects: [subject] },
        })),
  open: (config, context) => JetStreamReader.create(config, context),
});
