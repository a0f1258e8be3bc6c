import { SluiceError } from '../../core/errors.js';

const SEQUENCE = /^\d+$/;

/**
 * Orders two JetStream stream sequences given as decimal text, exactly for any size (sequences
 * are unsigned 64-bit integers): negative when `a` comes first, 0 when equal.
 *
 * @example
 * ```ts
 * compareSequences('9', '10'); // < 0
 * compareSequences('18446744073709551615', '18446744073709551614'); // > 0
 * ```
 */
export function compareSequences(a: string, b: string): number {
  if (!SEQUENCE.test(a) || !SEQUENCE.test(b)) {
    const bad = SEQUENCE.test(a) ? b : a;
    throw new SluiceError('SOURCE_FAILED', `"${bad}" is not a JetStream stream sequence`, {
      hint: 'positions of the nats source are decimal stream sequences such as "1042"',
    });
  }
  const x = stripZeros(a);
  const y = stripZeros(b);
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Whether `text` is a stream sequence (decimal digits).
 *
 * @example
 * ```ts
 * isSequence('1042'); // true
 * ```
 */
export function isSequence(text: string): boolean {
  return SEQUENCE.test(text);
}

function stripZeros(digits: string): string {
  let i = 0;
  while (i < digits.length - 1 && digits[i] === '0') i++;
  return i === 0 ? digits : digits.slice(i);
}
