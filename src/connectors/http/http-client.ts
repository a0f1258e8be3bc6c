import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedRetryPolicy } from '../../core/retry-policy.js';
import { BackoffError, RetryableError, SourceError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { retryDelayMs } from '../../core/retry-policy.js';
import type { RateLimiter } from './rate-limiter.js';
import { retryAfterMs } from '../../contracts/retry-after.js';

/** One HTTP request as the client sends it. */
export interface HTTPRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Headers;
  readonly body?: string;
}

/** A response whose body arrived whole. */
export interface HTTPResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  readonly text: string;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

/** Settings of an {@link HTTPClient}. */
export interface HTTPClientOptions {
  readonly stepId: string;
  readonly retries: ResolvedRetryPolicy;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly limiter?: RateLimiter;
  /** The URL as it may be shown in messages and logs (secrets in the query masked). */
  readonly redact: (url: string) => string;
}

type Attempt =
  { readonly response: HTTPResponse } | { readonly failure: string; readonly cause: unknown };

/**
 * Sends requests with a per-request timeout, a client-side rate limit and retries: 429 and 5xx
 * answers, timeouts and dropped connections are retried with exponential backoff and jitter,
 * waiting at least what `Retry-After` asks; other answers (2xx, 3xx, 4xx) are returned to the
 * caller as they are.
 *
 * @example
 * ```ts
 * const client = new HTTPClient({ stepId: 'orders', retries: retryPolicy(3), timeoutMs: 30_000, signal, logger, redact: (u) => u });
 * const response = await client.send({ method: 'GET', url, headers: new Headers() }, 'page 1');
 * ```
 */
export class HTTPClient {
  readonly #options: HTTPClientOptions;

  constructor(options: HTTPClientOptions) {
    this.#options = options;
  }

  /**
   * Sends `request`, retrying what may succeed later. `what` names the request in messages
   * (`page 3`, `token request`). Throws a retryable {@link SourceError} once retries are spent.
   */
  async send(request: HTTPRequest, what: string): Promise<HTTPResponse> {
    const { retries, signal, logger, stepId } = this.#options;
    const label = `${request.method} ${this.#options.redact(request.url)} (${what})`;
    for (let attempt = 1; ; attempt++) {
      await this.#wait(() => this.#options.limiter?.acquire(signal), label);
      const outcome = await this.#attempt(request, label);
      let problem: string;
      let askedWaitMs: number | undefined;
      if ('response' in outcome) {
        const { status, statusText, headers } = outcome.response;
        if (status !== 429 && status < 500) return outcome.response;
        problem = `HTTP ${status}${statusText === '' ? '' : ` ${statusText}`}`;
        if (status === 429 || status === 503)
          askedWaitMs = retryAfterMs(headers.get('retry-after'));
      } else {
        problem = outcome.failure;
      }
      const tries = attempt;
      if (attempt > retries.retries) {
        throw new SourceError(
          stepId,
          `${label} failed after ${tries} tr${tries === 1 ? 'y' : 'ies'}; last: ${problem}`,
          {
            cause: new RetryableError(problem, 'cause' in outcome ? { cause: outcome.cause } : {}),
            hint: 'the API kept failing or was unreachable; check that it is up, then run again (raise requestRetries to try longer)',
          },
        );
      }
      if (askedWaitMs !== undefined && askedWaitMs > retries.maxDelayMs) {
        throw new SourceError(
          stepId,
          `${label} answered ${problem} asking to wait ${Math.ceil(askedWaitMs / 1000)} s, longer than requestRetries.maxDelay`,
          {
            cause: new BackoffError(problem, askedWaitMs),
            hint: 'run again later, or raise requestRetries.maxDelay to wait that long inside the run',
          },
        );
      }
      const waitMs = retryDelayMs(retries, attempt, askedWaitMs ?? 0);
      logger.warn(
        { step: stepId, request: label, attempt, problem, waitMs },
        'HTTP request failed; retrying',
      );
      await this.#wait(() => sleep(waitMs, undefined, { signal }), label);
    }
  }

  async #attempt(request: HTTPRequest, label: string): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const signal = AbortSignal.any([this.#options.signal, timeout]);
    let response: Response | undefined;
    try {
      const { url, headers } = withoutURLCredentials(request);
      response = await fetch(url, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        signal,
      });
      const text = await response.text();
      return {
        response: {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
          text,
          url: response.url === '' ? request.url : response.url,
        },
      };
    } catch (cause) {
      if (this.#options.signal.aborted) throw this.#cancelled(label);
      if (timeout.aborted) {
        return {
          failure: `no complete answer within ${this.#options.timeoutMs} ms (timeout)`,
          cause,
        };
      }
      const reason = networkReason(cause);
      return {
        failure:
          response === undefined
            ? `network error: ${reason}`
            : `HTTP ${response.status} body truncated: the connection closed before the body ended (${reason})`,
        cause,
      };
    }
  }

  async #wait(wait: () => Promise<void> | undefined, label: string): Promise<void> {
    try {
      await wait();
    } catch (cause) {
      if (this.#options.signal.aborted) throw this.#cancelled(label);
      throw cause;
    }
  }

  #cancelled(label: string): SourceError {
    return new SourceError(this.#options.stepId, `${label} cancelled`, {
      cause: this.#options.signal.reason,
      hint: 'the run was cancelled; nothing of this step was kept',
    });
  }
}

/**
 * The request with `user:password@` taken out of its URL (fetch refuses such URLs) and sent as
 * HTTP Basic auth instead, unless the request already carries an `Authorization` header.
 */
function withoutURLCredentials(request: HTTPRequest): { url: string; headers: Headers } {
  if (!request.url.includes('@')) return { url: request.url, headers: request.headers };
  const url = new URL(request.url);
  if (url.username === '' && url.password === '')
    return { url: request.url, headers: request.headers };
  const decode = (text: string): string => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const credentials = `${decode(url.username)}:${decode(url.password)}`;
  url.username = '';
  url.password = '';
  const headers = new Headers(request.headers);
  if (!headers.has('authorization'))
    headers.set('authorization', `Basic ${Buffer.from(credentials).toString('base64')}`);
  return { url: url.toString(), headers };
}

/**
 * The most specific reason undici gives for a failed fetch (e.g. `ECONNREFUSED`).
 *
 * @example
 * ```ts
 * await fetch(url).catch((error) => { throw new Error(`cannot reach ${url}: ${networkReason(error)}`); });
 * ```
 */
export function networkReason(cause: unknown): string {
  let reason = cause instanceof Error ? cause.message : String(cause);
  let inner: unknown = cause instanceof Error ? cause.cause : undefined;
  while (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    reason = typeof code === 'string' ? `${code}: ${inner.message}` : inner.message;
    inner = inner.cause;
  }
  return reason;
}
