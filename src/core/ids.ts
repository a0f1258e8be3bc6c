/**
 * Creates a run id that sorts by start time and is safe in file names:
 * `run_20261122T160512Z_3f9a1c7e`.
 *
 * @example
 * ```ts
 * newRunId(new Date('2026-11-22T16:05:12Z')); // "run_20261122T160512Z_…"
 * ```
 */
export function newRunId(now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replaceAll(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `run_${stamp}_${randomHex(4)}`;
}

/**
 * Random lowercase hex of `bytes` bytes, from the platform's CSPRNG.
 *
 * @example
 * ```ts
 * randomHex(4).length; // 8
 * ```
 */
export function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, '0')).join('');
}

const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Whether `id` can name a step (and so a dataset): a letter or underscore, then letters,
 * digits or underscores.
 *
 * @example
 * ```ts
 * isValidStepId('daily_orders'); // true
 * isValidStepId('daily-orders'); // false
 * ```
 */
export function isValidStepId(id: string): boolean {
  return STEP_ID.test(id);
}
