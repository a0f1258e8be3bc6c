import { SluiceError } from './errors.js';

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
} as const;

type DurationUnit = keyof typeof UNIT_MS;

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/**
 * Parses a duration such as `"5m"`, `"1h30m"`, `"250ms"` or `"1.5h"` into milliseconds.
 * A plain number is taken as milliseconds.
 *
 * @example
 * ```ts
 * parseDuration('1h30m'); // 5_400_000
 * ```
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (Number.isFinite(input) && input >= 0) return input;
    throw invalidDuration(String(input));
  }
  const text = input.trim();
  if (text === '') throw invalidDuration(input);
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = DURATION_PART.exec(text)) !== null) {
    const [whole, amount, unit] = match;
    total += Number(amount) * UNIT_MS[unit as DurationUnit];
    consumed += whole.length;
  }
  if (consumed !== text.length) throw invalidDuration(input);
  return Math.round(total);
}

/**
 * Formats milliseconds the way {@link parseDuration} reads them, largest units first.
 *
 * @example
 * ```ts
 * formatDuration(5_400_000); // "1h30m"
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      out += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return out;
}

function invalidDuration(input: string): SluiceError {
  return new SluiceError('CONFIG_INVALID', `"${input}" is not a duration`, {
    hint: 'write a number with a unit: 250ms, 30s, 5m, 1h30m, 2d, 1w',
  });
}
