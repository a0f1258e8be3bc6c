import type { SeededRandom } from './random.js';

/** Person names are one of these first names, a space and one of the last names. */
const FIRST_NAMES = [
  'Peter',
  'Paul',
  'Luke',
  'John',
  'Saul',
  'Vicky',
  'Kate',
  'Julie',
  'Sarah',
  'Deiter',
  'Walter',
];
const LAST_NAMES = [
  'Shultz',
  'Abrams',
  'Spencer',
  'White',
  'Bartels',
  'Walton',
  'Smith',
  'Jones',
  'Noris',
];

/** Every first/last name pair, so picking a name is one draw and no concatenation. */
const PERSON_NAMES: readonly string[] = FIRST_NAMES.flatMap((first) =>
  LAST_NAMES.map((last) => `${first} ${last}`),
);

const CITIES: readonly string[] = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
];

const STATES: readonly string[] = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];

/** Half of all bids are on one of these channels, each with a fixed URL. */
const HOT_CHANNELS: readonly string[] = ['Google', 'Facebook', 'Baidu', 'Apple'];

/** The other bids pick one of this many `channel-<i>` channels. */
const CHANNEL_COUNT = 10_000;

/** Random strings are 3 + uniform[0, max - 3) characters long before trimming. */
const MIN_STRING_LENGTH = 3;
/** One character in this many of a random string is the special one (space, or `_` in URLs). */
const SPECIAL_CHAR_ODDS = 13;
const CHAR_SPACE = 0x20;
const CHAR_UNDERSCORE = 0x5f;
const CHAR_A = 0x61;

/** The smallest pool of random characters; bigger when the configured sizes need longer slices. */
const MIN_POOL_LENGTH = 1 << 18;

/** The special character with probability 1/13, else `a`..`z` uniformly: one draw of 13 x 26. */
function randomChar(random: SeededRandom, special: number): number {
  const draw = random.nextInt(SPECIAL_CHAR_ODDS * 26);
  return draw < 26 ? special : CHAR_A + (draw % 26);
}

/** A random string of up to `maxLength - 1` characters, built one character at a time. */
function buildString(random: SeededRandom, maxLength: number, special: number): string {
  const length = MIN_STRING_LENGTH + random.nextInt(maxLength - MIN_STRING_LENGTH);
  let text = '';
  for (let i = 0; i < length; i++) text += String.fromCharCode(randomChar(random, special));
  return text;
}

/** `https://www.nexmark.com/<a>/<b>/<c>/item.htm?query=1` with three random path parts. */
function randomURL(random: SeededRandom): string {
  const part = () => buildString(random, 5, CHAR_UNDERSCORE);
  return `https://www.nexmark.com/${part()}/${part()}/${part()}/item.htm?query=1`;
}

/** `table[i] = 10^(6 * i / denominator)` for i in [0, size). */
function priceTable(size: number, denominator: number): Float64Array {
  const table = new Float64Array(size);
  for (let i = 0; i < size; i++) table[i] = Math.pow(10, (6 * i) / denominator);
  return table;
}

/** Java's `Math.abs(Integer.reverse(i))`, including `abs(Integer.MIN_VALUE)` staying negative. */
function javaAbsReverse(i: number): number {
  let x = i | 0;
  let reversed = 0;
  for (let bit = 0; bit < 32; bit++) {
    reversed = (reversed << 1) | (x & 1);
    x >>>= 1;
  }
  return reversed === -2147483648 ? reversed : Math.abs(reversed);
}

/**
 * The random text and lookup tables one generator draws from, all derived from its seed: a pool
 * of random characters (a space one time in 13, else `a`..`z`) that strings are sliced from, the
 * channels with their URLs (the 4 hot ones first, then the 10,000 `channel-<i>`), and the fixed
 * lists of names, cities and states.
 *
 * Slicing the pool at a uniform offset gives strings with the same length and character
 * distribution as drawing each character, at the cost of one substring instead of one draw and
 * one concatenation per character.
 *
 * @example
 * ```ts
 * const random = new SeededRandom(1);
 * const values = new NexmarkValues(new SeededRandom(2), 500);
 * values.randomString(random, 20); // e.g. 'qjz kvw'
 * ```
 */
export class NexmarkValues {
  readonly #pool: string;
  readonly #poolLength: number;
  /** Channel names: `HOT_CHANNELS` at 0..3, then `channel-<i>` at 4 + i. */
  readonly channelNames: readonly string[];
  /** The URL of each channel in {@link channelNames}. */
  readonly channelURLs: readonly string[];
  readonly #hotChannelCount = HOT_CHANNELS.length;
  readonly #personNames = PERSON_NAMES;
  readonly #cities = CITIES;
  readonly #states = STATES;
  readonly #fourDigits: readonly string[];
  readonly #priceHigh = priceTable(2048, 2048);
  readonly #priceMiddle = priceTable(2048, 2048 * 2048);
  readonly #priceLow = priceTable(1024, 4294967296);

  /** `longestSlice` is the longest string that will be asked of {@link sliceExact}. */
  constructor(random: SeededRandom, longestSlice: number) {
    this.#poolLength = Math.max(MIN_POOL_LENGTH, 2 * longestSlice);
    const chars = new Uint8Array(this.#poolLength);
    for (let i = 0; i < chars.length; i++) chars[i] = randomChar(random, CHAR_SPACE);
    this.#pool = Buffer.from(chars.buffer).toString('latin1');
    const names = [...HOT_CHANNELS];
    const urls = HOT_CHANNELS.map(() => randomURL(random));
    for (let i = 0; i < CHANNEL_COUNT; i++) {
      names.push(`channel-${i}`);
      const url = randomURL(random);
      urls.push(random.nextInt(10) > 0 ? `${url}&channel_id=${javaAbsReverse(i)}` : url);
    }
    this.channelNames = names;
    this.channelURLs = urls;
    this.#fourDigits = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));
  }

  /**
   * The index of a bid's channel in {@link channelNames}: with probability 1/2 one of the hot
   * channels, else one of the 10,000 others.
   */
  channelIndex(random: SeededRandom): number {
    return random.nextInt(2) > 0
      ? random.nextInt(this.#hotChannelCount)
      : this.#hotChannelCount + random.nextInt(CHANNEL_COUNT);
  }

  /**
   * Log-uniform cents between 100 and 100,000,000: `round(10^(6u) * 100)` with u a uniform
   * 32-bit fraction, its power of ten looked up as the product of three small tables (by the
   * top 11, middle 11 and low 10 bits of u), which is twice as fast as `Math.exp`.
   */
  price(random: SeededRandom): number {
    const u = random.nextUint32();
    return Math.round(
      (this.#priceHigh[u >>> 21] as number) *
        (this.#priceMiddle[(u >>> 10) & 2047] as number) *
        (this.#priceLow[u & 1023] as number) *
        100,
    );
  }

  /** Exactly `length` random characters (spaces kept): the `extra` padding. */
  sliceExact(random: SeededRandom, length: number): string {
    const offset = random.nextInt(this.#poolLength - length + 1);
    return this.#pool.slice(offset, offset + length);
  }

  /** A random string of 3 + uniform[0, maxLength - 3) characters, trimmed of spaces. */
  randomString(random: SeededRandom, maxLength: number): string {
    return this.sliceExact(
      random,
      MIN_STRING_LENGTH + random.nextInt(maxLength - MIN_STRING_LENGTH),
    ).trim();
  }

  /** One of the 11 first names, a space and one of the 9 last names. */
  personName(random: SeededRandom): string {
    return this.#personNames[random.nextInt(this.#personNames.length)] as string;
  }

  /** `<random up to 7>@<random up to 5>.com`. */
  emailAddress(random: SeededRandom): string {
    return `${this.randomString(random, 7)}@${this.randomString(random, 5)}.com`;
  }

  /** Four groups of 4 digits separated by spaces. */
  creditCard(random: SeededRandom): string {
    const digits = this.#fourDigits;
    return `${digits[random.nextInt(10_000)]} ${digits[random.nextInt(10_000)]} ${digits[random.nextInt(10_000)]} ${digits[random.nextInt(10_000)]}`;
  }

  city(random: SeededRandom): string {
    return this.#cities[random.nextInt(this.#cities.length)] as string;
  }

  /** A US state, drawn independently of the city. */
  state(random: SeededRandom): string {
    return this.#states[random.nextInt(this.#states.length)] as string;
  }
}
