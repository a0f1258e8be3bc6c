import { z } from 'zod';
import { UsageError } from '../../src/core/errors.js';
import type {
  StreamReader,
  StreamRecord,
  StreamRow,
  StreamSinkConnector,
  StreamSourceConnector,
  StreamStart,
  StreamWriter,
} from '../../src/stream/index.js';
import { defineStreamSink, defineStreamSource } from '../../src/stream/index.js';
import type { NexmarkEvent } from './events.js';
import { NexmarkGenerator } from './generator.js';

/**
 * One Nexmark event as a flat stream row: `type`, `dateTime` (event time, epoch ms) and the
 * columns of its kind, as in the reference's `person`, `auction` and `bid` views.
 *
 * @example
 * ```ts
 * nexmarkRow(generator.next()); // { type: 'bid', dateTime: 1704067200000, auction: 1000, bidder: 1001, price: 4532, ... }
 * ```
 */
export function nexmarkRow(event: NexmarkEvent): StreamRow {
  if (event.type === 'bid') {
    const b = event.bid;
    return {
      type: 'bid',
      dateTime: b.dateTime,
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      channel: b.channel,
      url: b.url,
      extra: b.extra,
    };
  }
  if (event.type === 'auction') {
    const a = event.auction;
    return {
      type: 'auction',
      dateTime: a.dateTime,
      id: a.id,
      itemName: a.itemName,
      description: a.description,
      initialBid: a.initialBid,
      reserve: a.reserve,
      expires: a.expires,
      seller: a.seller,
      category: a.category,
      extra: a.extra,
    };
  }
  const p = event.person;
  return {
    type: 'person',
    dateTime: p.dateTime,
    id: p.id,
    name: p.name,
    emailAddress: p.emailAddress,
    creditCard: p.creditCard,
    city: p.city,
    state: p.state,
    extra: p.extra,
  };
}

const nexmarkSourceConfig = z.strictObject({
  numEvents: z.int().min(1).describe('Events to generate before the source is exhausted.'),
  seed: z.int().default(42).describe('Seed of the generator: the same seed gives the same events.'),
});

/**
 * The config of {@link nexmarkStreamSource}.
 *
 * @example
 * ```ts
 * const config: NexmarkSourceConfig = { numEvents: 1_000_000, seed: 42 };
 * ```
 */
export type NexmarkSourceConfig = z.output<typeof nexmarkSourceConfig>;

/**
 * Decimal event numbers compared without parsing: a longer one is larger (no leading zeros).
 *
 * @example
 * ```ts
 * compareEventNumbers('99', '100'); // negative
 * ```
 */
export function compareEventNumbers(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A stream source that generates Nexmark events (the default generator config, `numEvents` and
 * `seed` from its config) as fast as it is pulled: partition `''`, position = the event number
 * (0-based), value = {@link nexmarkRow}. `onExhausted` is called when the last event has been
 * handed out, with that batch still to be processed: a benchmark aborts the stream there, and
 * the runtime processes the batch and commits a final checkpoint. Resuming from a checkpoint
 * regenerates the events before it and skips them (the generator is deterministic).
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * const source = nexmarkStreamSource({ onExhausted: () => stop.abort() });
 * const registry = new StreamRegistry([source, blackholeStreamSink(new BlackholeCollector())]);
 * ```
 */
export function nexmarkStreamSource(options: {
  readonly onExhausted: () => void;
}): StreamSourceConnector<NexmarkSourceConfig> {
  return defineStreamSource({
    name: 'nexmark',
    summary: 'Generated Nexmark events (persons, auctions, bids), as fast as they are pulled',
    delivery: 'at-least-once',
    config: nexmarkSourceConfig,
    comparePositions: compareEventNumbers,
    open: async (config, context) =>
      new NexmarkReader(
        new NexmarkGenerator({ numEvents: config.numEvents, seed: config.seed }),
        firstEventAfter(context.start),
        options.onExhausted,
      ),
  });
}

function firstEventAfter(start: StreamStart): number {
  switch (start.kind) {
    case 'beginning':
      return 0;
    case 'checkpoint': {
      const done = start.positions[''];
      return done === undefined ? 0 : Number(done) + 1;
    }
    case 'latest':
    case 'time':
      throw new UsageError(`the nexmark source cannot start at "${start.kind}"`, {
        hint: 'start it from the beginning or from a checkpoint',
      });
  }
}

class NexmarkReader implements StreamReader {
  readonly #generator: NexmarkGenerator;
  readonly #onExhausted: () => void;
  #skip: number;
  #exhaustedCalled = false;

  constructor(generator: NexmarkGenerator, firstEvent: number, onExhausted: () => void) {
    this.#generator = generator;
    this.#skip = firstEvent;
    this.#onExhausted = onExhausted;
  }

  async pull(max: number): Promise<readonly StreamRecord[]> {
    const generator = this.#generator;
    while (this.#skip > 0 && !generator.done) {
      this.#skip -= generator.nextBatch(Math.min(this.#skip, 65_536)).length;
    }
    const records: StreamRecord[] = [];
    let position = generator.eventsGenerated;
    for (let i = 0; i < max && !generator.done; i++) {
      records.push({ value: nexmarkRow(generator.next()), partition: '', position: `${position}` });
      position++;
    }
    if (generator.done && !this.#exhaustedCalled) {
      this.#exhaustedCalled = true;
      this.#onExhausted();
    }
    return records;
  }

  async ack(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * What a {@link blackholeStreamSink} saw: rows written and committed, and the rows themselves
 * when its config says `keep: true` (for checking a small run's output).
 *
 * @example
 * ```ts
 * const seen = new BlackholeCollector();
 * // ... run a stream into blackholeStreamSink(seen) ...
 * seen.rowsWritten; // rows the stream produced
 * ```
 */
export class BlackholeCollector {
  rowsWritten = 0;
  commits = 0;
  readonly kept: StreamRow[] = [];
}

const blackholeSinkConfig = z.strictObject({
  keep: z
    .boolean()
    .default(false)
    .describe('Keep every row in the collector (for checks on small runs); else count them only.'),
});

/**
 * A stream sink that discards rows, counting them into `collector` (and keeping them with
 * `keep: true`): the benchmark's equivalent of Flink's `blackhole` connector.
 *
 * @example
 * ```ts
 * const seen = new BlackholeCollector();
 * const sink = blackholeStreamSink(seen); // streamSink.custom('blackhole', { keep: true })
 * ```
 */
export function blackholeStreamSink(
  collector: BlackholeCollector,
): StreamSinkConnector<z.output<typeof blackholeSinkConfig>> {
  return defineStreamSink({
    name: 'blackhole',
    summary: 'Discards rows, counting them',
    delivery: 'at-least-once',
    config: blackholeSinkConfig,
    open: async (config): Promise<StreamWriter> => ({
      write: async (rows) => {
        collector.rowsWritten += rows.length;
        if (config.keep) for (const row of rows) collector.kept.push(row);
      },
      commit: async () => {
        collector.commits++;
      },
      close: async () => undefined,
    }),
  });
}
