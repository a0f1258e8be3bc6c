import type { IConnackPacket, IPublishPacket, MqttClient } from 'mqtt';
import type { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { ConfigError, SourceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSourceContext,
} from '../../contracts/stream-connector.js';
import type { mqttSourceConfig } from './mqtt-configs.js';
import { closeMQTT, connectMQTT, describeBroker, mqttError } from './mqtt-connection.js';
import { decodePayload } from '../../contracts/payload.js';

type SourceConfig = z.output<typeof mqttSourceConfig>;

/** A QoS 1 message handed out or queued whose PUBACK waits for `ack`. */
interface HeldMessage {
  readonly topic: string;
  readonly position: number;
  readonly messageId: number;
  /** The connection it came on: a PUBACK can only answer a message of the current one. */
  readonly connection: number;
}

/** A record not handed out yet, and whether the broker redelivers it when the connection drops. */
interface QueuedRecord {
  readonly record: StreamRecord;
  readonly resentOnReconnect: boolean;
  readonly connection: number;
}

/** The largest session expiry MQTT 5 can say: the session never expires. */
const SESSION_NEVER_EXPIRES = 0xffffffff;
/** MQTT 5 DISCONNECT reason: another client connected with the same client id. */
const SESSION_TAKEN_OVER = 0x8e;
/** Connection losses within this window past which the reader stops reconnecting. */
const CLOSE_WINDOW_MS = 10_000;
const MAX_CLOSES_IN_WINDOW = 3;

type PacketSender = (packet: object, callback?: (error?: Error) => void) => void;

/**
 * An open `mqtt` source. It subscribes in a persistent session (MQTT 5 session expiry, or
 * MQTT 3.1.1 clean session off) and holds back the PUBACK of each QoS 1 message until `ack`
 * covers it. The broker keeps messages it has not had a PUBACK for, and sends them again, as
 * duplicates, when the session reconnects; MQTT does not resend them on a live connection.
 *
 * Positions: MQTT has no offsets, so a record's position is a counter of this reader, increasing
 * in arrival order, that continues after the highest position of the checkpoint it starts from.
 * So records redelivered after a restart are never mistaken for ones the checkpoint covers: they
 * come again, and the runtime processes them again (at-least-once).
 *
 * mqtt.js sends a PUBACK as soon as its handler returns and has no option to defer it without
 * also stopping every later packet, so the reader intercepts the client's packet writer to hold
 * back PUBACKs and sends them itself on `ack`.
 *
 * @example
 * ```ts
 * const reader = await MQTTStreamReader.open(config, context);
 * const records = await reader.pull(100, 500);
 * await reader.ack(Object.fromEntries(records.map((r) => [r.partition, r.position])));
 * ```
 */
export class MQTTStreamReader implements StreamReader {
  readonly #client: MqttClient;
  readonly #send: PacketSender;
  readonly #logger: Logger;
  readonly #stepId: string;
  readonly #queue: QueuedRecord[] = [];
  #held: HeldMessage[] = [];
  #nextPosition: number;
  #connection = 0;
  #wake: (() => void) | undefined;
  /** Lets the client read the next packet, held while the queue is full. */
  #resume: (() => void) | undefined;
  readonly #queueBound: number;
  #failure: Error | undefined;
  #closed = false;

  private constructor(
    client: MqttClient,
    send: PacketSender,
    context: StreamSourceContext,
    firstPosition: number,
    queueBound: number,
  ) {
    this.#queueBound = queueBound;
    this.#client = client;
    this.#send = send;
    this.#logger = context.logger;
    this.#stepId = context.stepId;
    this.#nextPosition = firstPosition;
  }

  /**
   * Connects, resuming the session for a `checkpoint` start or starting a new one for `latest`,
   * and subscribes. `beginning` and `time` are config errors: a broker keeps no history.
   */
  static async open(config: SourceConfig, context: StreamSourceContext): Promise<MQTTStreamReader> {
    const start = context.start;
    if (start.kind === 'beginning' || start.kind === 'time') {
      throw new ConfigError([
        {
          code: 'unsupported-start',
          stepId: context.stepId,
          message: `an mqtt source cannot start at "${start.kind}": an MQTT broker keeps no history to replay`,
          hint: 'start the stream at latest; later runs resume from their checkpoint, and the broker keeps what arrives meanwhile in the session',
        },
      ]);
    }
    const where = { role: 'source', stepId: context.stepId } as const;
    const clientId = config.clientId ?? context.consumer;
    const connectTimeoutMs = parseDuration(config.connectTimeout);
    const v5 = config.protocolVersion === 5;
    const clean = start.kind === 'latest';
    if (clean && !v5) {
      // MQTT 3.1.1 cannot start a new session that persists: end the old one first.
      const { client } = await connectMQTT(
        { ...config, connectTimeoutMs, clientId, clean: true },
        where,
      );
      await closeMQTT(client);
    }
    const firstPosition = start.kind === 'checkpoint' ? after(start.positions, context.stepId) : 1;
    const prepared: { reader?: MQTTStreamReader } = {};
    const { client, connack } = await connectMQTT(
      {
        ...config,
        connectTimeoutMs,
        clientId,
        clean: clean && v5,
        ...(v5
          ? {
              properties: {
                sessionExpiryInterval: sessionExpirySeconds(config.sessionExpiry),
                receiveMaximum: config.maxInflight,
              },
            }
          : {}),
        prepare: (client) => {
          const reader = new MQTTStreamReader(
            client,
            holdPubacks(client, where),
            context,
            firstPosition,
            config.maxInflight,
          );
          prepared.reader = reader;
          client.handleMessage = (packet, done) => reader.#receive(packet, done);
        },
      },
      where,
    );
    const opened = prepared.reader;
    if (opened === undefined) throw new SourceError(context.stepId, 'the client was not prepared');
    client.options.clean = false;
    opened.#watch(connack, start.kind === 'checkpoint', describeBroker(config.url), clientId);
    const topics = typeof config.topics === 'string' ? [config.topics] : config.topics;
    try {
      // Retain handling 1: retained messages only for a new subscription, not on every open.
      const granted = await client.subscribeAsync(
        Object.fromEntries(topics.map((topic) => [topic, { qos: config.qos, rh: 1 }])),
      );
      const refused = granted.filter((grant) => grant.qos >= 0x80);
      if (refused.length > 0) {
        throw Object.assign(
          new Error(`the broker refused ${refused.map((g) => `"${g.topic}"`).join(', ')}`),
          { code: refused[0]!.qos },
        );
      }
    } catch (error) {
      await closeMQTT(client);
      throw mqttError(where, `cannot subscribe to ${topics.join(', ')}`, error, {
        hint: 'check the topic filters and what the broker allows this user to subscribe to',
      });
    }
    context.signal.addEventListener('abort', () => void opened.close(), { once: true });
    return opened;
  }

  async pull(max: number, waitMs: number): Promise<readonly StreamRecord[]> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#closed || max <= 0) return [];
    if (this.#queue.length === 0 && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, waitMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
    if (this.#failure !== undefined) throw this.#failure;
    const records = this.#queue.splice(0, max).map((queued) => queued.record);
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
    return records;
  }

  async ack(positions: Readonly<Record<string, string>>): Promise<void> {
    const limits = new Map<string, number>();
    for (const [topic, position] of Object.entries(positions)) limits.set(topic, Number(position));
    const keep: HeldMessage[] = [];
    const written: Promise<void>[] = [];
    for (const held of this.#held) {
      const limit = limits.get(held.topic);
      if (limit === undefined || held.position > limit) {
        keep.push(held);
      } else if (held.connection === this.#connection && this.#client.connected) {
        written.push(
          new Promise((resolve) =>
            this.#send({ cmd: 'puback', messageId: held.messageId, reasonCode: 0 }, () =>
              resolve(),
            ),
          ),
        );
      }
      // A message of an earlier connection is being redelivered on this one: nothing to answer.
    }
    this.#held = keep;
    await Promise.all(written);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    await closeMQTT(this.#client);
  }

  #receive(packet: IPublishPacket, done: () => void): void {
    const position = this.#nextPosition;
    this.#nextPosition += 1;
    const resentOnReconnect = packet.qos > 0 && packet.messageId !== undefined;
    if (resentOnReconnect) {
      this.#held.push({
        topic: packet.topic,
        position,
        messageId: packet.messageId!,
        connection: this.#connection,
      });
    }
    const payload =
      typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    this.#queue.push({
      record: {
        value: decodePayload(payload),
        partition: packet.topic,
        position: String(position),
      },
      resentOnReconnect,
      connection: this.#connection,
    });
    this.#wake?.();
    // Past the bound the client stops reading the socket until a pull makes room.
    if (this.#queue.length < this.#queueBound) done();
    else this.#resume = done;
  }

  /** Follows the connection: warns about lost sessions, forgets what the broker will resend. */
  #watch(connack: IConnackPacket, resuming: boolean, broker: string, clientId: string): void {
    if (resuming && connack.sessionPresent !== true) {
      this.#logger.warn(
        { broker, clientId },
        'the broker had no session for this client id: messages published while the stream was stopped were not kept for it',
      );
    }
    const closes: number[] = [];
    this.#client.on('close', () => {
      if (this.#closed) return;
      this.#connection += 1;
      const now = Date.now();
      closes.push(now);
      while (closes[0]! < now - CLOSE_WINDOW_MS) closes.shift();
      if (closes.length >= MAX_CLOSES_IN_WINDOW) {
        this.#fail(
          `${broker} closed the connection ${closes.length} times within ${CLOSE_WINDOW_MS / 1000} s`,
          `another client may be using client id "${clientId}" (a broker closes the older connection of a client id): run one reader per client id; otherwise see the broker's log for why it refuses this client`,
        );
        return;
      }
      this.#logger.warn({ broker }, 'lost the connection to the MQTT broker; reconnecting');
    });
    this.#client.on('connect', (again: IConnackPacket) => {
      // The broker resends unacknowledged messages of a resumed session: drop the copies still
      // queued. Without the session nothing comes again, so they stay.
      if (again.sessionPresent === true) {
        const kept = this.#queue.filter(
          (queued) => !queued.resentOnReconnect || queued.connection === this.#connection,
        );
        this.#queue.splice(0, this.#queue.length, ...kept);
      } else {
        this.#logger.warn(
          { broker, clientId },
          'reconnected without the session: messages published while disconnected were not kept',
        );
      }
      this.#held = this.#held.filter((held) => held.connection === this.#connection);
    });
    this.#client.on('disconnect', (packet: { reasonCode?: number }) => {
      if (packet.reasonCode !== SESSION_TAKEN_OVER) return;
      this.#fail(
        `another client connected to ${broker} with client id "${clientId}" and took the session over`,
        'run one reader per client id: give each stream (or each copy of it) its own clientId',
      );
    });
  }

  /** Stops reconnecting; the next pull throws. */
  #fail(message: string, hint: string): void {
    const cause = Object.assign(new Error(message), { retryable: true });
    this.#failure ??= new SourceError(this.#stepId, message, { hint, cause });
    this.#client.options.reconnectPeriod = 0;
    this.#wake?.();
  }
}

/**
 * Makes the client hold back the PUBACKs it would send, and returns the function that sends
 * packets for real.
 */
function holdPubacks(
  client: MqttClient,
  where: { readonly role: 'source'; readonly stepId: string },
): PacketSender {
  const internals = client as unknown as { _sendPacket?: PacketSender };
  const original = internals._sendPacket;
  if (typeof original !== 'function') {
    throw mqttError(where, 'this version of the "mqtt" package cannot hold acknowledgements', '', {
      hint: 'install mqtt 5 (npm install mqtt@5)',
    });
  }
  const send = original.bind(client) as PacketSender;
  internals._sendPacket = (packet, callback, ...rest: unknown[]) => {
    if ((packet as { cmd?: unknown }).cmd === 'puback') {
      callback?.();
      return;
    }
    (original as (...args: unknown[]) => void).call(client, packet, callback, ...rest);
  };
  return send;
}

/** The first position after every position of a checkpoint. */
function after(positions: Readonly<Record<string, string>>, stepId: string): number {
  let highest = 0;
  for (const [topic, position] of Object.entries(positions)) {
    const value = Number(position);
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SourceError(
        stepId,
        `the checkpoint position "${position}" of topic ${topic} is not a counter of the mqtt source`,
      );
    }
    highest = Math.max(highest, value);
  }
  return highest + 1;
}

function sessionExpirySeconds(expiry: string | number): number {
  if (expiry === 'never') return SESSION_NEVER_EXPIRES;
  return Math.min(Math.ceil(parseDuration(expiry) / 1000), SESSION_NEVER_EXPIRES - 1);
}
