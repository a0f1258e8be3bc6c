import { z } from 'zod';
import { ConfigError } from '../../src/core/errors.js';
import type { Diagnostic } from '../../src/core/errors.js';

/**
 * The out-of-order shuffle sends event n of a group of G to `floor(n / G) * G + (n * 953) mod G`.
 * 953 is prime, so this permutes each group unless G is a multiple of it.
 *
 * @example
 * ```ts
 * const shuffled = (n: number, g: number) => n - (n % g) + ((n * OUT_OF_ORDER_MULTIPLIER) % g);
 * ```
 */
export const OUT_OF_ORDER_MULTIPLIER = 953;

const count = (fallback: number, description: string) =>
  z.int().min(1).default(fallback).describe(description);

/**
 * Configuration of the Nexmark generator, with the defaults of the reference
 * (`NexmarkConfiguration`). Unknown keys are errors.
 *
 * @example
 * ```ts
 * const config = nexmarkConfigSchema.parse({ numEvents: 1_000_000, seed: 7 });
 * config.firstEventRate; // 10000
 * ```
 */
export const nexmarkConfigSchema = z.strictObject({
  numEvents: z
    .int()
    .min(0)
    .default(0)
    .describe('Events to generate; 0 means unbounded (`next()` never runs out).'),
  firstEventRate: z
    .number()
    .positive()
    .finite()
    .default(10_000)
    .describe(
      'Events per second of event time: event n is stamped baseTime + floor(floor(n * 1e6 / rate) / 1000) ms.',
    ),
  personProportion: count(
    1,
    'Persons out of every personProportion + auctionProportion + bidProportion events.',
  ),
  auctionProportion: count(3, 'Auctions out of every block of events (see personProportion).'),
  bidProportion: count(46, 'Bids out of every block of events (see personProportion).'),
  hotAuctionRatio: count(
    2,
    'A bid goes to the hot auction with probability 1 - 1/hotAuctionRatio, else to a random open auction.',
  ),
  hotSellersRatio: count(
    4,
    'An auction is by the hot seller with probability 1 - 1/hotSellersRatio, else by a random active person.',
  ),
  hotBiddersRatio: count(
    4,
    'A bid is by the hot bidder with probability 1 - 1/hotBiddersRatio, else by a random active person.',
  ),
  numInFlightAuctions: count(
    100,
    'Auctions open at any time: random bids go to the last numInFlightAuctions auctions (plus 10 ahead).',
  ),
  numActivePeople: count(
    1000,
    'People eligible to sell and bid: random picks come from the last numActivePeople persons (plus 10 ahead).',
  ),
  avgPersonByteSize: z
    .int()
    .min(0)
    .max(1_000_000)
    .default(200)
    .describe('Average person size in bytes, reached by padding `extra`.'),
  avgAuctionByteSize: z
    .int()
    .min(0)
    .max(1_000_000)
    .default(500)
    .describe('Average auction size in bytes, reached by padding `extra`.'),
  avgBidByteSize: z
    .int()
    .min(0)
    .max(1_000_000)
    .default(100)
    .describe('Average bid size in bytes, reached by padding `extra`.'),
  outOfOrderGroupSize: z
    .int()
    .min(1)
    .refine((size) => size % OUT_OF_ORDER_MULTIPLIER !== 0, {
      message: `must not be a multiple of ${OUT_OF_ORDER_MULTIPLIER} (the shuffle would repeat event ids)`,
    })
    .default(1)
    .describe(
      'Each group of this many consecutive events is emitted in a fixed shuffled order; 1 keeps event time in order.',
    ),
  baseTime: z
    .int()
    .min(0)
    .default(Date.UTC(2024, 0, 1))
    .describe('Event time of the first event, epoch milliseconds (default 2024-01-01T00:00:00Z).'),
  seed: z
    .int()
    .default(42)
    .describe('Seed of the random values; the same seed and config give the same events.'),
  bidderIdConvention: z
    .enum(['beam', 'flink'])
    .default('beam')
    .describe(
      "'beam' adds 1000 to bidder ids once, so bidders join persons by id; 'flink' adds it twice, as the Flink port does (bidder ids offset by 2000).",
    ),
});

/**
 * A complete generator configuration (every field set). Pass a partial one to
 * `new NexmarkGenerator(...)`; missing fields take the defaults in {@link NEXMARK_DEFAULTS}.
 *
 * @example
 * ```ts
 * const config: NexmarkConfig = { ...NEXMARK_DEFAULTS, numEvents: 1000 };
 * ```
 */
export type NexmarkConfig = z.output<typeof nexmarkConfigSchema>;

/**
 * The reference defaults: 10,000 events/s, 1/3/46 persons/auctions/bids, hot ratios 2/4/4,
 * 100 auctions in flight, 1000 active people, 200/500/100 bytes, in order, seed 42, unbounded.
 *
 * @example
 * ```ts
 * NEXMARK_DEFAULTS.bidProportion; // 46
 * ```
 */
export const NEXMARK_DEFAULTS: Readonly<NexmarkConfig> = Object.freeze(
  nexmarkConfigSchema.parse({}),
);

/**
 * Validates a partial configuration and fills in the defaults. Throws a {@link ConfigError} that
 * lists every problem at once.
 *
 * @example
 * ```ts
 * resolveNexmarkConfig({ numEvents: 50 }).personProportion; // 1
 * resolveNexmarkConfig({ firstEventRate: 0 }); // throws ConfigError: firstEventRate ...
 * ```
 */
export function resolveNexmarkConfig(input: Partial<NexmarkConfig> = {}): NexmarkConfig {
  const parsed = nexmarkConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const known = Object.keys(nexmarkConfigSchema.shape).join(', ');
  throw new ConfigError(
    parsed.error.issues.flatMap((issue): Diagnostic[] =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({
            code: 'invalid-config',
            message: `unknown Nexmark option "${key}"`,
            hint: `known options: ${known}`,
          }))
        : [
            {
              code: 'invalid-config',
              path: issue.path.map(String).join('.'),
              message: issue.message,
            },
          ],
    ),
    { hint: 'fix the Nexmark generator options listed above' },
  );
}
