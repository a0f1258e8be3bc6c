import { parseDuration } from './duration.js';

/** How often and how soon failed work is tried again. */
export interface RetryPolicy {
  /** Attempts after the first (default 0). */
  readonly retries: number;
  /** Delay before the first retry (default `'10s'`); doubles each time. */
  readonly delay?: string | number;
  /** Upper bound of the delay (default `'10m'`). */
  readonly maxDelay?: string | number;
  /** Random share of the delay added or taken away, 0..1 (default 0.2). */
  readonly jitter?: number;
}

/**
 * A pipeline's retry policy with defaults filled in (`retries` may be a bare count).
 *
 * @example
 * ```ts
 * retryPolicy(3); // { retries: 3, delayMs: 10_000, maxDelayMs: 600_000, jitter: 0.2 }
 * ```
 */
export function retryPolicy(retries: number | RetryPolicy | undefined): {
  readonly retries: number;
  readonly delayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
} {
  const policy = typeof retries === 'object' ? retries : { retries: retries ?? 0 };
  return {
    retries: Math.max(0, Math.floor(policy.retries)),
    delayMs: parseDuration(policy.delay ?? '10s'),
    maxDelayMs: parseDuration(policy.maxDelay ?? '10m'),
    jitter: Math.min(1, Math.max(0, policy.jitter ?? 0.2)),
  };
}

/**
 * The wait before retrying after failed attempt `attempt` (1-based): exponential backoff,
 * capped, with jitter; at least `atLeastMs` (what a rate-limited source asked for).
 *
 * @example
 * ```ts
 * retryDelayMs(retryPolicy({ retries: 5, delay: '1s', jitter: 0 }), 3); // 4000
 * ```
 */
export function retryDelayMs(
  policy: ReturnType<typeof retryPolicy>,
  attempt: number,
  atLeastMs = 0,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.max(atLeastMs, Math.round(Math.min(policy.maxDelayMs, jittered)));
}
