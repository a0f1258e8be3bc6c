import { createHash } from 'node:crypto';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseDuration } from '../../core/duration.js';
import type { Logger } from '../../core/logger.js';
import { toJSONValue } from '../../contracts/json-values.js';
import type {
  StreamCommit,
  StreamRow,
  StreamSinkContext,
  StreamWriter,
} from '../../contracts/stream-connector.js';
import { defineStreamSink } from '../../contracts/stream-connector.js';
import type { NATSSinkConfig } from './nats-configs.js';
import { natsSinkConfig } from './nats-configs.js';
import type { NATSRole } from './nats-connection.js';
import {
  closeQuietly,
  connectNATS,
  describeServers,
  natsError,
  stepError,
} from './nats-connection.js';
import { compileSubject, parseSubjectTemplate } from './nats-subject.js';

/** A row ready to publish. */
interface Outgoing {
  readonly subject: string;
  readonly payload: Uint8Array;
}

/** JetStream API error code: the subject is stored by another stream than the expected one. */
const WRONG_STREAM = 10060;

const encoder = new TextEncoder();

/**
 * The message id of row `index` of checkpoint `checkpointId`: the same when a checkpoint is
 * replayed and makes the same row, so JetStream drops the copy within the stream's duplicate
 * window. The digest of the payload ends it, so a replay that makes a different row at the same
 * index (an operator that depends on the clock) publishes it rather than losing it.
 *
 * @example
 * ```ts
 * natsMessageId('clicks', 'sink', 7, 0, new TextEncoder().encode('{"n":1}')); // "clicks:sink:7:0:<digest>"
 * ```
 */
export function natsMessageId(
  streamName: string,
  stepId: string,
  checkpointId: number,
  index: number,
  payload: Uint8Array,
): string {
  const digest = createHash('sha256').update(payload).digest('base64url').slice(0, 16);
  return `${streamName}:${stepId}:${checkpointId}:${index}:${digest}`;
}

/**
 * An open JetStream sink. `write` turns rows into messages (subject and JSON payload) and keeps
 * them; `commit` publishes them with ids made from the checkpoint and awaits every
 * acknowledgement, so a commit that returns means JetStream stored every row.
 */
class JetStreamWriter implements StreamWriter {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #config: NATSSinkConfig;
  readonly #subjectOf: ReturnType<typeof compileSubject>;
  readonly #publishTimeoutMs: number;
  readonly #streamName: string;
  readonly #where: NATSRole;
  readonly #logger: Logger;
  #pending: Outgoing[] = [];

  private constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    config: NATSSinkConfig,
    context: StreamSinkContext,
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#config = config;
    this.#subjectOf = compileSubject(parseSubjectTemplate(config.subject));
    this.#publishTimeoutMs = parseDuration(config.publishTimeout);
    this.#streamName = context.streamName;
    this.#where = { role: 'sink', stepId: context.stepId };
    this.#logger = context.logger;
  }

  /** Connects, checks JetStream (and the expected stream) is there. */
  static async create(
    config: NATSSinkConfig,
    context: StreamSinkContext,
  ): Promise<JetStreamWriter> {
    const where: NATSRole = { role: 'sink', stepId: context.stepId };
    const { nc, drivers } = await connectNATS(config, where);
    try {
      const jsm = await drivers.jetstream.jetstreamManager(nc).catch((cause: unknown) => {
        throw natsError(where, `cannot use JetStream on ${describeServers(config.servers)}`, cause);
      });
      if (config.stream !== undefined) {
        const info = await jsm.streams.info(config.stream).catch((cause: unknown) => {
          if (cause instanceof Error && cause.name === 'StreamNotFoundError') {
            throw stepError(
              where,
              `stream ${config.stream} does not exist on ${describeServers(config.servers)}`,
              {
                hint: `create it (nats stream add ${config.stream} --subjects '...') or fix stream`,
              },
            );
          }
          throw natsError(where, `cannot read stream ${config.stream}`, cause);
        });
        context.logger.debug(
          { stream: config.stream, duplicateWindowMs: info.config.duplicate_window / 1_000_000 },
          'publishing to JetStream',
        );
      }
      return new JetStreamWriter(nc, drivers.jetstream.jetstream(nc), config, context);
    } catch (error) {
      await closeQuietly(nc);
      throw error;
    }
  }

  async write(rows: readonly StreamRow[]): Promise<void> {
    const outgoing: Outgoing[] = [];
    for (const [index, row] of rows.entries()) {
      const target = this.#subjectOf(row);
      if ('problem' in target) {
        throw stepError(this.#where, `row ${index + 1} of the batch: ${target.problem}`, {
          hint: 'every row needs a value for each {column} of subject; nothing of this batch was kept',
        });
      }
      let json: string;
      try {
        json = JSON.stringify(toJSONValue(row));
      } catch (cause) {
        throw stepError(this.#where, `row ${index + 1} of the batch cannot be written as JSON`, {
          cause,
        });
      }
      outgoing.push({ subject: target.subject, payload: encoder.encode(json) });
    }
    for (const message of outgoing) this.#pending.push(message);
  }

  async commit(commit: StreamCommit): Promise<void> {
    const messages = this.#pending;
    if (messages.length === 0) return;
    const acks = await this.#publishAll(messages, commit.checkpointId);
    this.#pending = [];
    const duplicates = acks.filter((ack) => ack.duplicate).length;
    if (duplicates > 0) {
      this.#logger.info(
        { checkpointId: commit.checkpointId, duplicates, rows: messages.length },
        'JetStream already held rows of this checkpoint (a replay); it kept one copy of each',
      );
    }
  }

  async close(): Promise<void> {
    await closeQuietly(this.#nc);
  }

  /** Publishes every message, at most `maxInFlight` at once; the first failure stops the rest. */
  async #publishAll(messages: readonly Outgoing[], checkpointId: number): Promise<PubAck[]> {
    const acks: PubAck[] = new Array<PubAck>(messages.length);
    let next = 0;
    let failure: unknown;
    let failedSubject = '';
    const expect = this.#config.stream === undefined ? {} : { streamName: this.#config.stream };
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < messages.length) {
        const index = next++;
        const message = messages[index] as Outgoing;
        try {
          acks[index] = await this.#js.publish(message.subject, message.payload, {
            msgID: natsMessageId(
              this.#streamName,
              this.#where.stepId,
              checkpointId,
              index,
              message.payload,
            ),
            timeout: this.#publishTimeoutMs,
            expect,
          });
        } catch (cause) {
          if (failure === undefined) {
            failure = cause;
            failedSubject = message.subject;
          }
        }
      }
    };
    const workers = Math.min(this.#config.maxInFlight, messages.length);
    await Promise.all(Array.from({ length: workers }, worker));
    if (failure !== undefined) throw this.#publishError(failedSubject, checkpointId, failure);
    return acks;
  }

  #publishError(subject: string, checkpointId: number, cause: unknown): Error {
    const what = `cannot publish checkpoint ${checkpointId} to ${subject}`;
    const name = cause instanceof Error ? cause.name : '';
    if (name === 'JetStreamNotEnabled' || name === 'NoResponders') {
      return stepError(this.#where, `${what}: no JetStream stream stores subject ${subject}`, {
        cause,
        hint: "add the subject to a stream's subjects (nats stream edit), or fix subject",
      });
    }
    if ((cause as { code?: unknown }).code === WRONG_STREAM) {
      return stepError(
        this.#where,
        `${what}: the subject is stored by another stream than ${this.#config.stream}`,
        { cause, hint: 'fix subject or stream so that stream stores the subject' },
      );
    }
    return natsError(this.#where, what, cause, {
      hint: 'the rows of this checkpoint are kept; committing it again publishes them with the same ids, and JetStream drops the copies it already stored',
    });
  }
}

/**
 * The `nats` stream sink: publishes each row as a JSON message to JetStream, on a fixed subject
 * or one filled from the row (`totals.{region}`). A commit publishes the checkpoint's rows with
 * `Nats-Msg-Id` = stream name, step id, checkpoint id, row index and a digest of the row, and
 * returns once JetStream acknowledged them all: at-least-once, and a replayed checkpoint is dropped by JetStream's
 * duplicate window. See `docs/connectors/nats.md` for the exact guarantee.
 *
 * @example
 * ```ts
 * const writer = await natsSink.open(
 *   natsSinkConfig.parse({ servers: 'nats://127.0.0.1:4222', subject: 'totals.{region}' }),
 *   { stepId: 'totals_out', streamName: 'clicks', logger, signal },
 * );
 * await writer.write([{ region: 'eu', total: 12 }]);
 * await writer.commit({ checkpointId: 7 });
 * ```
 */
export const natsSink = defineStreamSink<NATSSinkConfig>({
  name: 'nats',
  summary:
    'Publishes rows as JSON to NATS JetStream, with message ids that make a replayed checkpoint a no-op within the duplicate window.',
  delivery: 'at-least-once',
  config: natsSinkConfig,
  open: (config, context) => JetStreamWriter.create(config, context),
});
