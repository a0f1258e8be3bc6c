/**
 * The Nexmark event generator: a seeded, deterministic port of the reference generator described
 * in `fixtures/nexmark/GENERATOR_SPEC.md` (Apache Beam's Nexmark generator as ported to Flink by
 * nexmark/nexmark). It keeps the reference's id structure, event times, event mix, key skew and
 * value distributions; the random values themselves come from a seeded SFC32 generator, so the
 * same seed and config always give the same events (the reference is not seeded).
 *
 * Conventions chosen where the reference leaves a choice:
 * - Bidder ids: Beam's convention by default (1000 added once, so a bid's bidder is a person id
 *   and bids join persons); `bidderIdConvention: 'flink'` adds it twice as the Flink port does.
 * - One generator, one timeline (`numEventGenerators` = 1); `firstEventRate` is the only rate
 *   (the reference's default square rate shape has the same first and next rate).
 * - Event objects are flat (see {@link NexmarkEvent}); times are epoch milliseconds.
 * - Strings (`extra`, item names, descriptions, e-mail parts) are slices of a seeded pool of
 *   random characters, with the reference's length and character distributions.
 *
 * Run directly for a speed check:
 * `node --import jiti/register bench/nexmark/generator.ts --events 1000000`.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { SluiceError, UsageError } from '../../src/core/errors.js';
import { NEXMARK_DEFAULTS, OUT_OF_ORDER_MULTIPLIER, resolveNexmarkConfig } from './config.js';
import type { NexmarkConfig } from './config.js';
import type { NexmarkAuction, NexmarkBid, NexmarkEvent, NexmarkPerson } from './events.js';
import { SeededRandom } from './random.js';
import { NexmarkValues } from './values.js';

export { NEXMARK_DEFAULTS, nexmarkConfigSchema, resolveNexmarkConfig } from './config.js';
export type { NexmarkConfig } from './config.js';
export { nexmarkEventSize } from './events.js';
export type {
  NexmarkAuction,
  NexmarkBid,
  NexmarkEvent,
  NexmarkEventType,
  NexmarkPerson,
} from './events.js';

/**
 * Person ids start here and are dense: the k-th person (from 0) has id `FIRST_PERSON_ID + k`.
 *
 * @example
 * ```ts
 * const personIndex = (person: NexmarkPerson) => person.id - FIRST_PERSON_ID;
 * ```
 */
export const FIRST_PERSON_ID = 1000;
/**
 * Auction ids start here and are dense: the k-th auction (from 0) has id `FIRST_AUCTION_ID + k`.
 *
 * @example
 * ```ts
 * const auctionIndex = (auction: NexmarkAuction) => auction.id - FIRST_AUCTION_ID;
 * ```
 */
export const FIRST_AUCTION_ID = 1000;
/**
 * Categories are `FIRST_CATEGORY_ID` .. `FIRST_CATEGORY_ID + 4` (10..14).
 *
 * @example
 * ```ts
 * const inQ3 = (auction: NexmarkAuction) => auction.category === FIRST_CATEGORY_ID; // q3: category 10
 * ```
 */
export const FIRST_CATEGORY_ID = 10;
const CATEGORY_COUNT = 5;
/** Random people and auctions may be up to this many ids ahead of the last one generated. */
const PERSON_ID_LEAD = 10;
const AUCTION_ID_LEAD = 10;
/** The hot seller, bidder and auction are the first of the latest block of this many ids. */
const HOT_SELLER_BLOCK = 100;
const HOT_BIDDER_BLOCK = 100;
const HOT_AUCTION_BLOCK = 100;
/** The fixed part of a bid's size: four 8-byte numbers. */
const BID_FIXED_SIZE = 32;

/**
 * Generates the Nexmark event stream: persons, auctions and bids in the ratio 1:3:46 (by
 * default), person and auction ids dense from 1000, event times rising by `1e6 / firstEventRate`
 * microseconds per event, half of all bids on the latest hot auction.
 *
 * Deterministic: two generators with the same config (seed included) produce identical events.
 * Different seeds change the random values only; event kinds, person/auction ids and event times
 * depend on the event number alone.
 *
 * @example
 * ```ts
 * const generator = new NexmarkGenerator({ numEvents: 1_000_000, seed: 7 });
 * let turnover = 0;
 * while (!generator.done) {
 *   for (const event of generator.nextBatch(1024)) {
 *     if (event.type === 'bid') turnover += event.bid.price;
 *   }
 *   console.log('all events before', new Date(generator.watermark()), 'are out');
 * }
 * ```
 */
export class NexmarkGenerator {
  /** The resolved configuration (defaults filled in). */
  readonly config: NexmarkConfig;

  readonly #random: SeededRandom;
  readonly #values: NexmarkValues;
  readonly #limit: number;
  readonly #groupSize: number;
  readonly #baseTime: number;
  readonly #interEventDelayUs: number;
  readonly #persons: number;
  readonly #auctions: number;
  readonly #blockSize: number;
  readonly #horizonEvents: number;
  readonly #hotAuctionRatio: number;
  readonly #hotSellersRatio: number;
  readonly #hotBiddersRatio: number;
  readonly #inFlightAuctions: number;
  readonly #activePeople: number;
  readonly #bidderIdOffset: number;
  readonly #avgPersonSize: number;
  readonly #avgAuctionSize: number;
  readonly #bidExtraMin: number;
  readonly #bidExtraSpan: number;
  #count = 0;

  /**
   * Validates `config` (throws a ConfigError listing every problem) and prepares the seeded
   * tables: a pool of random characters and the 10,000 channel URLs (10-20 ms).
   */
  constructor(config: Partial<NexmarkConfig> = {}) {
    const c = resolveNexmarkConfig(config);
    this.config = Object.freeze(c);
    this.#random = new SeededRandom(c.seed);
    const longestSlice = Math.ceil(
      Math.max(c.avgPersonByteSize, c.avgAuctionByteSize, c.avgBidByteSize, 100) * 1.2 + 2,
    );
    this.#values = new NexmarkValues(this.#random, longestSlice);
    this.#limit = c.numEvents === 0 ? Infinity : c.numEvents;
    this.#groupSize = c.outOfOrderGroupSize;
    this.#baseTime = c.baseTime;
    this.#interEventDelayUs = 1_000_000 / c.firstEventRate;
    this.#persons = c.personProportion;
    this.#auctions = c.auctionProportion;
    this.#blockSize = c.personProportion + c.auctionProportion + c.bidProportion;
    this.#horizonEvents = Math.floor(
      (c.numInFlightAuctions * this.#blockSize) / c.auctionProportion,
    );
    this.#hotAuctionRatio = c.hotAuctionRatio;
    this.#hotSellersRatio = c.hotSellersRatio;
    this.#hotBiddersRatio = c.hotBiddersRatio;
    this.#inFlightAuctions = c.numInFlightAuctions;
    this.#activePeople = c.numActivePeople;
    this.#bidderIdOffset = c.bidderIdConvention === 'flink' ? 2 * FIRST_PERSON_ID : FIRST_PERSON_ID;
    this.#avgPersonSize = c.avgPersonByteSize;
    this.#avgAuctionSize = c.avgAuctionByteSize;
    const bidTarget = Math.max(c.avgBidByteSize - BID_FIXED_SIZE, 0);
    const bidDelta = Math.round(bidTarget * 0.2);
    this.#bidExtraMin = bidTarget - bidDelta;
    this.#bidExtraSpan = 2 * bidDelta;
  }

  /** How many events `next`/`nextBatch` have returned so far. */
  get eventsGenerated(): number {
    return this.#count;
  }

  /** Whether all `numEvents` events have been generated (never, when `numEvents` is 0). */
  get done(): boolean {
    return this.#count >= this.#limit;
  }

  /**
   * The event time of event number `eventNumber` (0-based, after the out-of-order shuffle):
   * `baseTime + floor(floor(eventNumber * 1e6 / firstEventRate) / 1000)` ms.
   *
   * @example
   * ```ts
   * new NexmarkGenerator().eventTimestamp(25) - NEXMARK_DEFAULTS.baseTime; // 2 (10 events per ms)
   * ```
   */
  eventTimestamp(eventNumber: number): number {
    return this.#baseTime + Math.floor(Math.floor(eventNumber * this.#interEventDelayUs) / 1000);
  }

  /**
   * The watermark after the events generated so far: no later event has an earlier `dateTime`.
   * With out-of-order groups of G events it is the time of the first event of the current group.
   *
   * @example
   * ```ts
   * const generator = new NexmarkGenerator();
   * generator.nextBatch(1000);
   * generator.watermark(); // baseTime + 100 ms: the time of event 1000, the next one
   * ```
   */
  watermark(): number {
    const n = this.#count;
    return this.eventTimestamp(n - (n % this.#groupSize));
  }

  /**
   * The next event. Throws a UsageError once `numEvents` events have been generated (check
   * `done`, or use `nextBatch`, which returns fewer events at the end).
   *
   * @example
   * ```ts
   * const first = new NexmarkGenerator().next(); // { type: 'person', person: { id: 1000, ... } }
   * ```
   */
  next(): NexmarkEvent {
    const n = this.#count;
    if (n >= this.#limit) {
      throw new UsageError(`the Nexmark generator has produced all ${this.#limit} events`, {
        hint: 'check generator.done before calling next(), or raise numEvents (0 = unbounded)',
      });
    }
    this.#count = n + 1;
    const g = this.#groupSize;
    const eventId = g === 1 ? n : n - (n % g) + ((n * OUT_OF_ORDER_MULTIPLIER) % g);
    const dateTime = this.eventTimestamp(eventId);
    const epoch = Math.floor(eventId / this.#blockSize);
    const offset = eventId - epoch * this.#blockSize;
    if (offset >= this.#persons + this.#auctions) {
      return {
        type: 'bid',
        dateTime,
        person: undefined,
        auction: undefined,
        bid: this.#bid(epoch, dateTime),
      };
    }
    if (offset >= this.#persons) {
      return {
        type: 'auction',
        dateTime,
        person: undefined,
        auction: this.#auction(epoch, offset, eventId, dateTime),
        bid: undefined,
      };
    }
    return {
      type: 'person',
      dateTime,
      person: this.#person(epoch, offset, dateTime),
      auction: undefined,
      bid: undefined,
    };
  }

  /**
   * The next `count` events, or fewer when `numEvents` runs out (an empty array once `done`).
   *
   * @example
   * ```ts
   * const batch = generator.nextBatch(4096);
   * ```
   */
  nextBatch(count: number): NexmarkEvent[] {
    const size = Math.min(count, this.#limit - this.#count);
    const events: NexmarkEvent[] = [];
    for (let i = 0; i < size; i++) events.push(this.next());
    return events;
  }

  #person(epoch: number, offset: number, dateTime: number): NexmarkPerson {
    const random = this.#random;
    const values = this.#values;
    const name = values.personName(random);
    const emailAddress = values.emailAddress(random);
    const creditCard = values.creditCard(random);
    const city = values.city(random);
    const state = values.state(random);
    const size =
      8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
    return {
      id: epoch * this.#persons + offset + FIRST_PERSON_ID,
      name,
      emailAddress,
      creditCard,
      city,
      state,
      dateTime,
      extra: this.#extra(size, this.#avgPersonSize),
    };
  }

  #auction(epoch: number, offset: number, eventId: number, dateTime: number): NexmarkAuction {
    const random = this.#random;
    const values = this.#values;
    const lastPerson = epoch * this.#persons + this.#persons - 1;
    const seller =
      (random.nextInt(this.#hotSellersRatio) > 0
        ? Math.floor(lastPerson / HOT_SELLER_BLOCK) * HOT_SELLER_BLOCK
        : this.#randomPerson(lastPerson)) + FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + random.nextInt(CATEGORY_COUNT);
    const initialBid = values.price(random);
    const horizon = this.eventTimestamp(eventId + this.#horizonEvents) - dateTime;
    const expires = dateTime + 1 + random.nextInt(Math.max(horizon * 2, 1));
    const itemName = values.randomString(random, 20);
    const description = values.randomString(random, 100);
    const reserve = initialBid + values.price(random);
    const size = 8 + itemName.length + description.length + 40;
    return {
      id: epoch * this.#auctions + (offset - this.#persons) + FIRST_AUCTION_ID,
      itemName,
      description,
      initialBid,
      reserve,
      dateTime,
      expires,
      seller,
      category,
      extra: this.#extra(size, this.#avgAuctionSize),
    };
  }

  #bid(epoch: number, dateTime: number): NexmarkBid {
    const random = this.#random;
    const lastAuction = epoch * this.#auctions + this.#auctions - 1;
    const lastPerson = epoch * this.#persons + this.#persons - 1;
    const auction =
      (random.nextInt(this.#hotAuctionRatio) > 0
        ? Math.floor(lastAuction / HOT_AUCTION_BLOCK) * HOT_AUCTION_BLOCK
        : this.#randomAuction(lastAuction)) + FIRST_AUCTION_ID;
    const bidder =
      (random.nextInt(this.#hotBiddersRatio) > 0
        ? Math.floor(lastPerson / HOT_BIDDER_BLOCK) * HOT_BIDDER_BLOCK + 1
        : this.#randomPerson(lastPerson)) + this.#bidderIdOffset;
    const values = this.#values;
    const bidPrice = values.price(random);
    const channel = values.channelIndex(random);
    const span = this.#bidExtraSpan;
    const extraLength = this.#bidExtraMin + (span === 0 ? 0 : random.nextInt(span));
    return {
      auction,
      bidder,
      price: bidPrice,
      channel: values.channelNames[channel] as string,
      url: values.channelURLs[channel] as string,
      dateTime,
      extra: values.sliceExact(random, extraLength),
    };
  }

  /** A random active person (0-based id), up to PERSON_ID_LEAD ids past the latest one. */
  #randomPerson(lastPerson: number): number {
    const people = lastPerson + 1;
    const active = Math.min(people, this.#activePeople);
    return people - active + this.#random.nextInt(active + PERSON_ID_LEAD);
  }

  /** A random in-flight auction (0-based id), up to AUCTION_ID_LEAD ids past the latest one. */
  #randomAuction(lastAuction: number): number {
    const min = Math.max(lastAuction - this.#inFlightAuctions, 0);
    return min + this.#random.nextInt(lastAuction - min + 1 + AUCTION_ID_LEAD);
  }

  /** Padding so that `size` plus its length averages `average` (empty when already larger). */
  #extra(size: number, average: number): string {
    if (size > average) return '';
    const target = average - size;
    const delta = Math.round(target * 0.2);
    const random = this.#random;
    return this.#values.sliceExact(
      random,
      target - delta + (delta === 0 ? 0 : random.nextInt(2 * delta)),
    );
  }
}

const CLI_USAGE =
  'usage: node --import jiti/register bench/nexmark/generator.ts [--events N] [--seed S] [--out-of-order G] [--json]';

/** Reads a non-negative integer option (`1000000` or `1_000_000`), or `fallback` when absent. */
function integerOption(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = /^\d[\d_]*$/.test(text) ? Number(text.replaceAll('_', '')) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`--${name} expects a non-negative integer, got "${text}"`, {
      hint: CLI_USAGE,
    });
  }
  return value;
}

/**
 * The speed check: generates `--events` events (default 10,000,000) in batches of 1024 and
 * prints events/s and the count of each kind. Returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = runNexmarkGeneratorCLI(['--events', '1000000']);
 * ```
 */
export function runNexmarkGeneratorCLI(args: readonly string[]): number {
  try {
    const options = parseCLIOptions(args);
    const numEvents = integerOption('events', options.events, 10_000_000);
    if (numEvents === 0) throw new UsageError('--events must be at least 1', { hint: CLI_USAGE });
    const generator = new NexmarkGenerator({
      numEvents,
      seed: integerOption('seed', options.seed, NEXMARK_DEFAULTS.seed),
      outOfOrderGroupSize: integerOption('out-of-order', options.outOfOrder, 1),
    });
    const counts = { person: 0, auction: 0, bid: 0 };
    const began = performance.now();
    while (!generator.done) {
      for (const event of generator.nextBatch(1024)) counts[event.type]++;
    }
    const seconds = (performance.now() - began) / 1000;
    const eventsPerSecond = Math.round(numEvents / seconds);
    const watermark = new Date(generator.watermark()).toISOString();
    const format = (n: number) => n.toLocaleString('en-US');
    const report = options.json
      ? JSON.stringify({ events: numEvents, seconds, eventsPerSecond, counts, watermark })
      : [
          `${format(numEvents)} events in ${seconds.toFixed(2)} s: ${format(eventsPerSecond)} events/s`,
          ...Object.entries(counts).map(
            ([kind, n]) => `  ${kind.padEnd(9)} ${format(n).padStart(12)}`,
          ),
          `  watermark ${watermark}`,
        ].join('\n');
    process.stdout.write(`${report}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    process.stderr.write(
      `error: ${error.message}\n${error.hint === undefined ? '' : `hint: ${error.hint}\n`}`,
    );
    return 2;
  }
}

interface CLIOptions {
  readonly events: string | undefined;
  readonly seed: string | undefined;
  readonly outOfOrder: string | undefined;
  readonly json: boolean;
}

function parseCLIOptions(args: readonly string[]): CLIOptions {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: {
        events: { type: 'string' },
        seed: { type: 'string' },
        'out-of-order': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    return {
      events: values.events,
      seed: values.seed,
      outOfOrder: values['out-of-order'],
      json: values.json,
    };
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), {
      hint: CLI_USAGE,
      cause: error,
    });
  }
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  process.exitCode = runNexmarkGeneratorCLI(process.argv.slice(2));
}
