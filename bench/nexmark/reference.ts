import { NexmarkGenerator } from './generator.js';
import type { NexmarkQueryId } from './queries.js';
import { dollarsToEuros, NEXMARK_MAX_OUT_OF_ORDERNESS_MS } from './queries.js';

/**
 * A query's expected output: its row count, and the rows themselves when asked for.
 *
 * @example
 * ```ts
 * const q7: ExpectedOutput = { count: 1, rows: [{ window_start, window_end, maxprice: 99_986_843 }] };
 * ```
 */
export interface ExpectedOutput {
  readonly count: number;
  readonly rows?: readonly Record<string, unknown>[];
}

/**
 * What every query must produce from the same events, and the stream's final watermark.
 *
 * @example
 * ```ts
 * const { watermark, outputs } = computeNexmarkReference({ numEvents: 1000, seed: 42, keepRows: false });
 * ```
 */
export interface NexmarkReference {
  readonly events: number;
  /** The highest event time minus the out-of-orderness: windows ending by then are closed. */
  readonly watermark: number;
  readonly outputs: Readonly<Record<NexmarkQueryId, ExpectedOutput>>;
}

const SECOND = 1000;
const Q5_SIZE = 10 * SECOND;
const Q5_SLIDE = 2 * SECOND;
const TUMBLE = 10 * SECOND;

/**
 * Computes every query's output directly over the generated events, in plain JS with no stream
 * machinery: what a stream run over the same events must write. Window queries count only the
 * windows the final watermark has closed (a stream keeps the last ones open, waiting for later
 * events). `keepRows` keeps the rows for an exact comparison; else only counts are kept.
 *
 * @example
 * ```ts
 * const expected = computeNexmarkReference({ numEvents: 200_000, seed: 42, keepRows: true });
 * expected.outputs.q7.rows; // [{ window_start, window_end, maxprice }, ...]
 * ```
 */
export function computeNexmarkReference(options: {
  readonly numEvents: number;
  readonly seed: number;
  readonly keepRows: boolean;
}): NexmarkReference {
  const keep = options.keepRows;
  const generator = new NexmarkGenerator({ numEvents: options.numEvents, seed: options.seed });
  const q0: Record<string, unknown>[] = [];
  const q1: Record<string, unknown>[] = [];
  const q2: Record<string, unknown>[] = [];
  let bids = 0;
  let q2Count = 0;
  let highest = -Infinity;
  const bidsPerSlide = new Map<number, Map<number, number>>();
  const maxPerWindow = new Map<number, number>();
  const maxPerAuctionWindow = new Map<number, Map<number, number>>();
  const personsPerWindow = new Map<number, Map<number, string>>();
  const sellersPerWindow = new Map<number, Set<number>>();
  const inner = <K, V>(outer: Map<number, Map<K, V>>, key: number): Map<K, V> => {
    let map = outer.get(key);
    if (map === undefined) outer.set(key, (map = new Map()));
    return map;
  };

  while (!generator.done) {
    for (const event of generator.nextBatch(4096)) {
      const time = event.dateTime;
      if (time > highest) highest = time;
      const tumble = Math.floor(time / TUMBLE) * TUMBLE;
      if (event.type === 'person') {
        inner(personsPerWindow, tumble).set(event.person.id, event.person.name);
        continue;
      }
      if (event.type === 'auction') {
        let sellers = sellersPerWindow.get(tumble);
        if (sellers === undefined) sellersPerWindow.set(tumble, (sellers = new Set()));
        sellers.add(event.auction.seller);
        continue;
      }
      const bid = event.bid;
      bids++;
      if (keep) {
        q0.push({
          auction: bid.auction,
          bidder: bid.bidder,
          price: bid.price,
          dateTime: bid.dateTime,
          extra: bid.extra,
        });
        q1.push({
          auction: bid.auction,
          bidder: bid.bidder,
          price: dollarsToEuros(bid.price),
          dateTime: bid.dateTime,
          extra: bid.extra,
        });
      }
      if (bid.auction % 123 === 0) {
        q2Count++;
        if (keep) q2.push({ auction: bid.auction, price: bid.price });
      }
      for (let start = Math.floor(time / Q5_SLIDE) * Q5_SLIDE; start > time - Q5_SIZE;) {
        const counts = inner(bidsPerSlide, start);
        counts.set(bid.auction, (counts.get(bid.auction) ?? 0) + 1);
        start -= Q5_SLIDE;
      }
      maxPerWindow.set(tumble, Math.max(maxPerWindow.get(tumble) ?? -Infinity, bid.price));
      const perAuction = inner(maxPerAuctionWindow, tumble);
      perAuction.set(bid.auction, Math.max(perAuction.get(bid.auction) ?? -Infinity, bid.price));
    }
  }

  const watermark = highest - NEXMARK_MAX_OUT_OF_ORDERNESS_MS;
  const closed = (start: number, size: number): boolean => start + size <= watermark;

  const q5: Record<string, unknown>[] = [];
  let q5Count = 0;
  for (const [start, counts] of bidsPerSlide) {
    if (!closed(start, Q5_SIZE)) continue;
    const most = Math.max(...counts.values());
    for (const [auction, num] of counts) {
      if (num !== most) continue;
      q5Count++;
      if (keep) q5.push({ auction, num, starttime: start, endtime: start + Q5_SIZE });
    }
  }

  const window = (start: number) => ({
    window_start: new Date(start),
    window_end: new Date(start + TUMBLE),
  });
  const q7: Record<string, unknown>[] = [];
  let q7Count = 0;
  for (const [start, maxprice] of maxPerWindow) {
    if (!closed(start, TUMBLE)) continue;
    q7Count++;
    if (keep) q7.push({ ...window(start), maxprice });
  }
  const q7Keyed: Record<string, unknown>[] = [];
  let q7KeyedCount = 0;
  for (const [start, perAuction] of maxPerAuctionWindow) {
    if (!closed(start, TUMBLE)) continue;
    q7KeyedCount += perAuction.size;
    if (keep)
      for (const [auction, maxprice] of perAuction)
        q7Keyed.push({ auction, ...window(start), maxprice });
  }

  const q8: Record<string, unknown>[] = [];
  let q8Count = 0;
  for (const [start, persons] of personsPerWindow) {
    if (!closed(start, TUMBLE)) continue;
    const sellers = sellersPerWindow.get(start);
    if (sellers === undefined) continue;
    for (const [id, name] of persons) {
      if (!sellers.has(id)) continue;
      q8Count++;
      if (keep) q8.push({ id, name, starttime: new Date(start) });
    }
  }

  const output = (count: number, rows: Record<string, unknown>[]): ExpectedOutput =>
    keep ? { count, rows } : { count };
  return {
    events: generator.eventsGenerated,
    watermark,
    outputs: {
      q0: output(bids, q0),
      q1: output(bids, q1),
      q2: output(q2Count, q2),
      q5: output(q5Count, q5),
      q7: output(q7Count, q7),
      q7_keyed: output(q7KeyedCount, q7Keyed),
      q8: output(q8Count, q8),
    },
  };
}

/**
 * The first difference between a query's rows and the expected ones, or undefined when they are
 * equal. Rows compare by value (Dates as times, column order ignored); `ordered` also compares
 * their order, else both sides are sorted first.
 *
 * @example
 * ```ts
 * const problem = firstDifference(seen.kept, expected.rows!, { ordered: true });
 * if (problem !== undefined) throw new Error(`q0: ${problem}`);
 * ```
 */
export function firstDifference(
  actual: readonly Record<string, unknown>[],
  expected: readonly Record<string, unknown>[],
  options: { readonly ordered: boolean },
): string | undefined {
  const a = actual.map(canonicalRow);
  const e = expected.map(canonicalRow);
  if (!options.ordered) {
    a.sort();
    e.sort();
  }
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i])
      return `row ${i} of ${a.length} is ${a[i] ?? '(missing)'}, expected ${e[i] ?? '(missing)'} (of ${e.length})`;
  }
  return undefined;
}

function canonicalRow(row: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(row)
      .sort()
      .map((key) => [key, row[key]]),
  );
}
