import { readFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import { SourceError } from '../../core/errors.js';
import { parseJSONObject } from '../../contracts/payload.js';
import type {
  StreamReader,
  StreamRecord,
  StreamSourceContext,
  StreamStart,
} from '../../contracts/stream-connector.js';
import { defineStreamSource } from '../../contracts/stream-connector.js';
import { WebhookInbox } from './webhook-inbox.js';

/** How long `pull` sleeps between looks at an inbox with nothing new. */
const POLL_MS = 50;

/**
 * Config of the `webhook` stream source: the inbox `sluice serve --http` writes.
 *
 * @example
 * ```ts
 * webhookStreamSourceConfig.parse({ inbox: 'payments' });
 * ```
 */
export const webhookStreamSourceConfig = z
  .strictObject({
    inbox: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-", at most 64')
      .describe(
        'The inbox name: `sluice serve --http` accepts posts for it at `POST /hooks/<inbox>`. It is also the partition of every record.',
      ),
    stateDir: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The state folder the server writes inboxes under (its project's, `<state dir>/inbox/<inbox>/`), relative to the working directory; default: `sluice stream --state-dir` (`.sluice`).",
      ),
  })
  .describe('Records posted to a webhook inbox, tailed as batches arrive.');

/** Config of the `webhook` stream source as written (defaults optional). */
export type WebhookStreamSourceInput = z.input<typeof webhookStreamSourceConfig>;
type WebhookStreamSourceConfig = z.output<typeof webhookStreamSourceConfig>;

/** A batch position: the batch's number and the record's index in it (from 0). */
export interface BatchPosition {
  readonly sequence: string;
  readonly index: number;
}

/**
 * The position of record `index` (from 0) of batch `sequence`: `<sequence>:<index>`.
 *
 * @example
 * ```ts
 * batchPosition('1764000000000000', 2); // "1764000000000000:2"
 * ```
 */
export function batchPosition(sequence: string, index: number): string {
  return `${sequence}:${index}`;
}

/**
 * The batch and index of a position, or undefined when it is not one.
 *
 * @example
 * ```ts
 * parseBatchPosition('1764000000000000:2'); // { sequence: '1764000000000000', index: 2 }
 * ```
 */
export function parseBatchPosition(text: string): BatchPosition | undefined {
  const match = /^(\d{1,20}):(\d{1,9})$/.exec(text);
  if (match === null) return undefined;
  return { sequence: match[1] as string, index: Number(match[2]) };
}

/**
 * Orders two positions of one inbox: by batch number, then by record index.
 *
 * @example
 * ```ts
 * compareBatchPositions('1764000000000000:9', '1764000000000000:10'); // negative
 * compareBatchPositions('1764000000000001:0', '1764000000000000:10'); // positive
 * ```
 */
export function compareBatchPositions(a: string, b: string): number {
  const left = parseBatchPosition(a);
  const right = parseBatchPosition(b);
  if (left === undefined || right === undefined) return a < b ? -1 : a > b ? 1 : 0;
  return compareSequences(left.sequence, right.sequence) || left.index - right.index;
}

/** Orders batch numbers as integers (`'9' < '10'`, leading zeros ignored). */
function compareSequences(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, '');
  const y = b.replace(/^0+(?=\d)/, '');
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A batch the reader knows of: read (with its record count) or skipped by the start. */
interface KnownBatch {
  readonly sequence: string;
  readonly file: string;
  /** Records it holds; undefined for a batch the start skipped without reading. */
  readonly count: number | undefined;
}

/** The batch being handed out. */
interface CurrentBatch {
  readonly sequence: string;
  readonly lines: readonly string[];
  next: number;
}

/**
 * An open inbox: batches are read one at a time in number order, each record handed out with
 * position `<batch>:<index>`. `ack` deletes the batch files the acknowledged positions cover,
 * and only those this reader has seen, so a batch that appears out of order is never deleted
 * unread: the next look at the inbox finds it and fails the stream.
 */
class InboxReader implements StreamReader {
  readonly #inbox: WebhookInbox;
  readonly #name: string;
  readonly #stepId: string;
  readonly #signal: AbortSignal;
  /** Batches seen and not yet deleted, in number order. */
  readonly #known: KnownBatch[] = [];
  /** Batches listed and not yet read, in number order. */
  #queue: { sequence: string; file: string }[] = [];
  #current: CurrentBatch | undefined;
  /** The newest batch seen (read or skipped); later batches are new. */
  #after: string | undefined;
  /** Records of the first batch read at or before this index were processed before. */
  #skipThrough: BatchPosition | undefined;
  #closed = false;

  private constructor(inbox: WebhookInbox, name: string, context: StreamSourceContext) {
    this.#inbox = inbox;
    this.#name = name;
    this.#stepId = context.stepId;
    this.#signal = context.signal;
  }

  /** Opens the inbox and places the reader where `context.start` says. */
  static async open(
    config: WebhookStreamSourceConfig,
    context: StreamSourceContext,
  ): Promise<InboxReader> {
    const inbox = WebhookInbox.open(
      resolve(config.stateDir ?? context.stateDir ?? '.sluice'),
      config.inbox,
    );
    const reader = new InboxReader(inbox, config.inbox, context);
    const batches = await inbox.pending(undefined);
    const skipped = reader.#skippedBy(context.start, config.inbox);
    for (const batch of batches) {
      if (skipped(batch.sequence)) {
        reader.#known.push({ ...batch, count: undefined });
        reader.#after = batch.sequence;
      } else {
        reader.#queue.push(batch);
      }
    }
    // Batches before a committed checkpoint's batch are done with: delete them now.
    if (reader.#skipThrough !== undefined)
      await reader.#removeCovered(reader.#skipThrough.sequence, -1);
    return reader;
  }

  /**
   * Which batches present at open the start passes over: all of them for `latest`, those
   * received before the time for `time`, those before the checkpoint's batch for a checkpoint
   * (whose own batch is read from the record after the checkpoint's).
   */
  #skippedBy(start: StreamStart, inbox: string): (sequence: string) => boolean {
    switch (start.kind) {
      case 'beginning':
        return () => false;
      case 'latest':
        return () => true;
      case 'time': {
        const from = String(BigInt(Math.max(0, Math.floor(start.at.getTime()))) * 1000n);
        return (sequence) => compareSequences(sequence, from) < 0;
      }
      case 'checkpoint': {
        const position = start.positions[inbox];
        if (position === undefined) return () => false;
        const parsed = parseBatchPosition(position);
        if (parsed === undefined)
          throw new SourceError(
            this.#stepId,
            `the checkpoint position "${position}" of inbox ${inbox} is not a batch position`,
            {
              hint: 'positions of the webhook source are <batch>:<index>, such as 1764000000000000:0',
            },
          );
        this.#skipThrough = parsed;
        return (sequence) => compareSequences(sequence, parsed.sequence) < 0;
      }
    }
  }

  async pull(max: number, waitMs: number): Promise<readonly StreamRecord[]> {
    const records: StreamRecord[] = [];
    if (this.#closed || max <= 0) return records;
    const deadline = Date.now() + waitMs;
    for (;;) {
      while (records.length < max) {
        const current = this.#current;
        if (current !== undefined && current.next < current.lines.length) {
          const index = current.next++;
          records.push({
            value: parseJSONObject(current.lines[index] as string, 'the record'),
            partition: this.#name,
            position: batchPosition(current.sequence, index),
            brokerTime: Number(BigInt(current.sequence) / 1000n),
          });
          continue;
        }
        if (!(await this.#loadNext())) break;
      }
      if (records.length > 0 || this.#closed || this.#signal.aborted) return records;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return records;
      await new Promise((done) => setTimeout(done, Math.min(POLL_MS, remaining)));
    }
  }

  async ack(positions: Readonly<Record<string, string>>): Promise<void> {
    const position = positions[this.#name];
    if (this.#closed || position === undefined) return;
    const parsed = parseBatchPosition(position);
    if (parsed !== undefined) await this.#removeCovered(parsed.sequence, parsed.index);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Makes the next batch current; false when there is none yet. */
  async #loadNext(): Promise<boolean> {
    if (this.#queue.length === 0) await this.#lookForNew();
    const batch = this.#queue.shift();
    if (batch === undefined) return false;
    let text: string;
    try {
      text = await readFile(batch.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SourceError(
          this.#stepId,
          `batch ${batch.sequence} of inbox ${this.#name} disappeared before it was read`,
          {
            hint: 'another reader consumes this inbox (a pipeline with source.webhook, or another stream); give each reader its own inbox',
          },
        );
      throw new SourceError(
        this.#stepId,
        `cannot read batch ${batch.sequence} of inbox ${this.#name}`,
        {
          cause: error,
        },
      );
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    this.#known.push({ ...batch, count: lines.length });
    this.#after = batch.sequence;
    const current: CurrentBatch = { sequence: batch.sequence, lines, next: 0 };
    const skip = this.#skipThrough;
    if (skip !== undefined) {
      if (batch.sequence === skip.sequence) current.next = skip.index + 1;
      this.#skipThrough = undefined;
    }
    this.#current = current;
    return true;
  }

  /**
   * Lists the batches after the newest seen. A batch numbered at or before it that this reader
   * has not seen fails the stream: reading on would skip it.
   */
  async #lookForNew(): Promise<void> {
    const batches = await this.#inbox.pending(undefined);
    const seen = new Set(this.#known.map((b) => b.sequence));
    const fresh: { sequence: string; file: string }[] = [];
    for (const batch of batches) {
      if (this.#after === undefined || compareSequences(batch.sequence, this.#after) > 0) {
        fresh.push(batch);
      } else if (!seen.has(batch.sequence)) {
        throw new SourceError(
          this.#stepId,
          `batch ${batch.sequence} of inbox ${this.#name} appeared after batch ${this.#after} was read; reading on would skip it`,
          {
            hint: `the inbox's numbering went back (its server restarted with the clock behind, or two servers write it). Stop the stream, rename ${batch.file} to a number above ${this.#after} (16 digits, .ndjson), and start it again`,
          },
        );
      }
    }
    this.#queue = fresh;
  }

  /**
   * Deletes the known batches a position covers: every batch before batch `sequence`, and that
   * batch too when `index` is its last record.
   */
  async #removeCovered(sequence: string, index: number): Promise<void> {
    let covered = 0;
    for (const batch of this.#known) {
      const order = compareSequences(batch.sequence, sequence);
      const done =
        order < 0 || (order === 0 && batch.count !== undefined && index >= batch.count - 1);
      if (!done) break;
      covered++;
    }
    if (covered === 0) return;
    const removed = this.#known.splice(0, covered);
    await Promise.all(removed.map((batch) => rm(batch.file, { force: true })));
  }
}

/**
 * The `webhook` stream source: tails the inbox `sluice serve --http` writes (`POST
 * /hooks/<inbox>` lands each request as one numbered batch file, durably, before it answers
 * 202). Batches are read in number order; the partition is the inbox, a record's position
 * `<batch>:<index>`. Once a checkpoint covering a whole batch has committed, its file is
 * deleted; a restart resumes after the checkpoint's position. At-least-once (exactly-once into
 * transactional sinks); see `docs/connectors/webhook.md`.
 *
 * @example
 * ```ts
 * stream('payments', { source: streamSource.webhook({ inbox: 'payments' }), eventTime: 'at', sink: streamSink.files({ path: 'out/payments' }) });
 * ```
 */
export const webhookStreamSource = defineStreamSource<WebhookStreamSourceConfig>({
  name: 'webhook',
  summary:
    'Records posted to a webhook inbox of `sluice serve --http`, tailed as batches arrive; a batch is deleted once a checkpoint covers it.',
  delivery: 'at-least-once',
  defaultStart: 'beginning',
  config: webhookStreamSourceConfig,
  comparePositions: compareBatchPositions,
  open: (config, context) => InboxReader.open(config, context),
});
