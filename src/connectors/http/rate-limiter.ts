import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A client-side rate limit: a token bucket holding one token, refilled `requestsPerSecond`
 * times a second, so requests start evenly spaced and never in bursts.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter(5);
 * await limiter.acquire(signal); // returns at once, then every 200 ms
 * ```
 */
export class RateLimiter {
  readonly #intervalMs: number;
  #nextAt = 0;

  constructor(requestsPerSecond: number) {
    this.#intervalMs = 1000 / requestsPerSecond;
  }

  /** Waits until a request may start; rejects when `signal` aborts first. */
  async acquire(signal: AbortSignal): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.#nextAt);
    this.#nextAt = at + this.#intervalMs;
    if (at > now) await sleep(at - now, undefined, { signal });
  }
}
