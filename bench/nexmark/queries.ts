import type { OperatorSpec, StreamRow } from '../../src/stream/index.js';
import {
  count,
  filter,
  flatMap,
  map,
  max,
  reduce,
  sliding,
  tumbling,
  window,
} from '../../src/stream/index.js';

/**
 * The Nexmark queries run on the stream runtime.
 *
 * @example
 * ```ts
 * const id: NexmarkQueryId = 'q7';
 * ```
 */
export type NexmarkQueryId = 'q0' | 'q1' | 'q2' | 'q5' | 'q7' | 'q7_keyed' | 'q8';

/**
 * A Nexmark query as stream steps over `nexmarkRow` rows (event time `dateTime`).
 *
 * @example
 * ```ts
 * const q2: NexmarkQuery = { id: 'q2', summary: 'filter', steps: [filter((r) => r['type'] === 'bid')] };
 * ```
 */
export interface NexmarkQuery {
  readonly id: NexmarkQueryId;
  /** What the query computes here, in one line. */
  readonly summary: string;
  readonly steps: readonly OperatorSpec[];
}

/**
 * The reference DDL's watermark: `dateTime - INTERVAL '4' SECOND`.
 *
 * @example
 * ```ts
 * stream('q7', { ..., watermark: { maxOutOfOrderness: NEXMARK_MAX_OUT_OF_ORDERNESS_MS } });
 * ```
 */
export const NEXMARK_MAX_OUT_OF_ORDERNESS_MS = 4_000;

const isBid = (row: StreamRow): boolean => row['type'] === 'bid';

/**
 * q1's conversion, exact to the reference's DECIMAL(23, 3): `price * 908` is an exact integer,
 * divided once (the nearest double to the decimal result).
 *
 * @example
 * ```ts
 * dollarsToEuros(1000); // 908
 * ```
 */
export function dollarsToEuros(price: number): number {
  return (price * 908) / 1000;
}

/** The auctions with the most bids in one sliding window, and that count. */
interface HotItems {
  num: number;
  auctions: unknown[];
}

/**
 * q5's second stage: over the per-auction counts of one window, the highest count and every
 * auction that has it (`num >= max(num)` in the reference's join).
 */
const hotItems = reduce<HotItems, HotItems>({
  name: 'hot_items',
  create: () => ({ num: -1, auctions: [] }),
  add: (acc, row) => {
    const num = row['num'] as number;
    if (num > acc.num) {
      acc.num = num;
      acc.auctions = [row['auction']];
    } else if (num === acc.num) acc.auctions.push(row['auction']);
  },
  result: (acc) => acc,
});

/**
 * The queries, in the order they run. q0-q2 are stateless; q5, q7 and q8 use windows.
 *
 * @example
 * ```ts
 * const q7 = NEXMARK_QUERIES.find((q) => q.id === 'q7');
 * ```
 */
export const NEXMARK_QUERIES: readonly NexmarkQuery[] = [
  {
    id: 'q0',
    summary: 'pass-through: bids projected to auction, bidder, price, dateTime, extra',
    steps: [
      filter(isBid),
      map((r) => ({
        auction: r['auction'],
        bidder: r['bidder'],
        price: r['price'],
        dateTime: r['dateTime'],
        extra: r['extra'],
      })),
    ],
  },
  {
    id: 'q1',
    summary: 'map: bids with price * 0.908 (euros)',
    steps: [
      filter(isBid),
      map((r) => ({
        auction: r['auction'],
        bidder: r['bidder'],
        price: dollarsToEuros(r['price'] as number),
        dateTime: r['dateTime'],
        extra: r['extra'],
      })),
    ],
  },
  {
    id: 'q2',
    summary: 'filter: auction and price of bids whose auction % 123 == 0',
    steps: [
      filter((r) => r['type'] === 'bid' && (r['auction'] as number) % 123 === 0),
      map((r) => ({ auction: r['auction'], price: r['price'] })),
    ],
  },
  {
    id: 'q5',
    summary:
      'hot items: bids per auction per sliding 10 s / 2 s window, then per window the auctions with the most bids',
    steps: [
      filter(isBid),
      window({ key: 'auction', window: sliding('10s', '2s'), aggregate: { num: count() } }),
      map((r) => ({
        auction: r['auction'],
        num: r['num'],
        starttime: (r['window_start'] as Date).getTime(),
        endtime: (r['window_end'] as Date).getTime(),
      })),
      // A window's counts come out together, stamped end - 1; this window takes them and closes
      // in the same batch.
      window({
        key: ['starttime', 'endtime'],
        window: tumbling('2s'),
        aggregate: { hot: hotItems },
      }),
      flatMap((r) => {
        const hot = r['hot'] as HotItems;
        return hot.auctions.map((auction) => ({
          auction,
          num: hot.num,
          starttime: r['starttime'],
          endtime: r['endtime'],
        }));
      }),
    ],
  },
  {
    id: 'q7',
    summary: 'highest bid: max(price) of the bids of each tumbling 10 s window',
    steps: [
      filter(isBid),
      window({ window: tumbling('10s'), aggregate: { maxprice: max('price') } }),
    ],
  },
  {
    id: 'q7_keyed',
    summary: 'q7 keyed by auction: max(price) per auction and tumbling 10 s window',
    steps: [
      filter(isBid),
      window({ key: 'auction', window: tumbling('10s'), aggregate: { maxprice: max('price') } }),
    ],
  },
  {
    id: 'q8',
    summary:
      'new users: persons who opened an auction in the tumbling 10 s window they registered in (a co-grouping window keyed by person id)',
    steps: [
      filter((r) => r['type'] !== 'bid'),
      map((r) =>
        r['type'] === 'person'
          ? { id: r['id'], name: r['name'], seller: null }
          : { id: r['seller'], name: null, seller: r['seller'] },
      ),
      window({
        key: 'id',
        window: tumbling('10s'),
        aggregate: { name: max('name'), auctions: count('seller') },
      }),
      filter((r) => r['name'] !== null && (r['auctions'] as number) > 0),
      map((r) => ({ id: r['id'], name: r['name'], starttime: r['window_start'] })),
    ],
  },
];
