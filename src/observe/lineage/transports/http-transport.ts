import { retryAfterMs } from '../../../contracts/retry-after.js';
import type { LineageTransport } from '../lineage-transport.js';
import type { RunEvent } from '../openlineage-event.js';

/** Options of {@link httpTransport}. */
export interface HTTPTransportOptions {
  /** The server's base URL; events are POSTed to `{url}/api/v1/lineage` (Marquez). */
  readonly url: string;
  /** The path after `url` (default `/api/v1/lineage`). */
  readonly endpoint?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** Tries after the first on a 5xx, 429 or network error (default 5). */
  readonly retries?: number;
  /** First wait between tries, doubled each time (default 500 ms). */
  readonly backoffMs?: number;
  /** Longest wait between tries, Retry-After included (default 30 s). */
  readonly maxBackoffMs?: number;
  /** How long one request may take (default 10 s). */
  readonly timeoutMs?: number;
}

/**
 * POSTs each event as JSON to a Marquez-compatible endpoint, retrying with exponential backoff
 * on 5xx, 429 (waiting what `Retry-After` asks, up to `maxBackoffMs`) and network errors; other
 * 4xx answers are not retried.
 *
 * @example
 * ```ts
 * const http = httpTransport({ url: 'http://marquez:5000', token: process.env.OPENLINEAGE_API_KEY });
 * ```
 */
export function httpTransport(options: HTTPTransportOptions): LineageTransport {
  const target = `${options.url.replace(/\/+$/, '')}${options.endpoint ?? '/api/v1/lineage'}`;
  const retries = options.retries ?? 5;
  const backoffMs = options.backoffMs ?? 500;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token !== undefined && options.token !== '')
    headers['authorization'] = `Bearer ${options.token}`;
  return {
    name: `http ${new URL(target).origin}`,
    async send(event: RunEvent, signal: AbortSignal): Promise<void> {
      const body = JSON.stringify(event);
      for (let attempt = 0; ; attempt++) {
        let waitMs: number | undefined;
        let failure: string;
        try {
          const response = await fetch(target, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
          });
          await response.arrayBuffer().catch(() => undefined);
          if (response.ok) return;
          failure = `${target} answered ${response.status}`;
          if (response.status !== 429 && response.status < 500) throw new Error(failure);
          waitMs = retryAfterMs(response.headers.get('retry-after')) ?? undefined;
        } catch (error) {
          if (signal.aborted) throw error;
          if ((error as Error).message.startsWith(`${target} answered`)) throw error;
          failure = `${target}: ${(error as Error).message}`;
        }
        if (attempt >= retries) throw new Error(`${failure} (after ${attempt + 1} tries)`);
        const backoff = Math.min(maxBackoffMs, waitMs ?? backoffMs * 2 ** attempt);
        await sleep(backoff, signal);
      }
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
