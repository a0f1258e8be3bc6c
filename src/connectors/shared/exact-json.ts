import { randomBytes } from 'node:crypto';

/**
 * A JSON number that a double cannot hold exactly (an integer beyond 2^53, a fraction with more
 * digits than a double keeps, a literal beyond a double's range), kept as its text. `String()`
 * gives the digits; `Number()` the nearest double.
 *
 * @example
 * ```ts
 * const id = parseExactJSON('{"id": 9007199254740993}') as { id: ExactNumber };
 * String(id.id); // '9007199254740993'
 * ```
 */
export class ExactNumber {
  /** The number as the JSON text wrote it. */
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  /** Whether the text is an integer (no fraction, no exponent). */
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.text);
  }

  toString(): string {
    return this.text;
  }

  valueOf(): number {
    return Number(this.text);
  }

  /** A placeholder {@link stringifyExactJSON} replaces with the number's own text. */
  toJSON(): string {
    return `${MARK}${this.text}`;
  }
}

/** Marks a number's text inside a string, with a nonce so that no string of the data matches. */
const MARK = `\u0000sluice-exact-number:${randomBytes(8).toString('hex')}:`;
/** `MARK` as JSON text writes it (`JSON.stringify` escapes the NUL). */
const MARK_IN_JSON = JSON.stringify(MARK).slice(1, -1);
const MARKED_NUMBER = new RegExp(
  `"${MARK_IN_JSON.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(-?[0-9][0-9.eE+-]*)"`,
  'g',
);

/**
 * Whether the text may hold a number a double rounds: a run of 16 or more digits (a fraction's
 * digits counted with its integer part's) or a digit followed by an exponent. A loop over the
 * characters, about twice as fast as the equivalent regular expression.
 */
function mayRound(text: string): boolean {
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (++digits >= 16) return true;
    } else if (c === 101 || c === 69) {
      if (digits > 0) return true;
    } else if (c !== 46 || digits === 0) {
      digits = 0;
    }
  }
  return false;
}
/** A JSON string (skipped) or a JSON number. */
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/**
 * Parses JSON text like `JSON.parse`, except that numbers a double would round (integers beyond
 * 2^53 such as `9007199254740993`, fractions of more digits than a double keeps, `1e400`) become
 * {@link ExactNumber}s holding their text. Text without such numbers is parsed by `JSON.parse`
 * alone. Throws `JSON.parse`'s SyntaxError on invalid JSON.
 *
 * @example
 * ```ts
 * parseExactJSON('[{"id": 9007199254740993, "n": 1}]'); // [{ id: ExactNumber('9007199254740993'), n: 1 }]
 * ```
 */
export function parseExactJSON(text: string): unknown {
  if (!mayRound(text)) return JSON.parse(text) as unknown;
  let found = false;
  const marked = text.replace(STRING_OR_NUMBER, (token) => {
    if (token.startsWith('"') || exactInDouble(token)) return token;
    found = true;
    return `"${MARK_IN_JSON}${token}"`;
  });
  if (!found) return JSON.parse(text) as unknown;
  // Parse the original first, so invalid JSON fails with the parser's own message.
  JSON.parse(text);
  return JSON.parse(marked, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(MARK)
      ? new ExactNumber(value.slice(MARK.length))
      : value,
  ) as unknown;
}

/**
 * `JSON.stringify(value)`, writing each {@link ExactNumber} as its own text: integers as JSON
 * numbers; fractions as numbers too, or, with `fractionsAsText`, as JSON strings of their digits
 * (so that a reader whose JSON numbers are doubles, such as DuckDB's, can still cast the text
 * exactly to a decimal).
 *
 * @example
 * ```ts
 * stringifyExactJSON(parseExactJSON('{"id": 9007199254740993}')); // '{"id":9007199254740993}'
 * ```
 */
export function stringifyExactJSON(
  value: unknown,
  options: { readonly fractionsAsText?: boolean } = {},
): string | undefined {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined || !text.includes(MARK_IN_JSON)) return text;
  return text.replace(MARKED_NUMBER, (_match, digits: string) =>
    options.fractionsAsText === true && !/^-?\d+$/.test(digits) ? `"${digits}"` : digits,
  );
}

/** Whether the double nearest `token` has the same significant digits (so nothing is lost). */
function exactInDouble(token: string): boolean {
  const number = Number(token);
  if (!Number.isFinite(number)) return false;
  return significantDigits(token) === significantDigits(String(number));
}

function significantDigits(text: string): string {
  return text
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
}
