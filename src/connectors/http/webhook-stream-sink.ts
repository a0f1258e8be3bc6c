import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { durationConfig } from '../../core/duration-config.js';
import { parseDuration } from '../../core/duration.js';
import { BackoffError, RetryableError, SinkError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { retryPolicyConfig } from '../../core/retry-config.js';
import type { ResolvedRetryPolicy } from '../../core/retry-policy.js';
import { retryDelayMs, retryPolicy } from '../../core/retry-policy.js';
import { toJSONValue } from '../../contracts/json-values.js';
import {
  SecretRedactor,
  addConfigSecrets,
  resolveSecret,
  secretValue,
} from '../../contracts/secrets.js';
import { WEBHOOK_SIGNATURE_HEADER, signWebhook } from './webhook-inbox.js';
import type {
  StreamCommit,
  StreamRow,
  StreamSinkContext,
  StreamWriter,
} from '../../contracts/stream-connector.js';
import { defineStreamSink } from '../../contracts/stream-connector.js';
import { retryAfterMs } from '../../contracts/retry-after.js';
import { networkReason } from './http-client.js';

const duration = durationConfig;

/** An HTTP header name (an RFC 9110 token). */
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name such as X-Api-Key');

/**
 * Config of the `webhook` stream sink: where rows are posted and how.
 *
 * @example
 * ```ts
 * webhookStreamSinkConfig.parse({ url: 'https://hooks.example.com/totals', headers: { Authorization: { env: 'HOOK_TOKEN' } } });
 * ```
 */
export const webhookStreamSinkConfig = z
  .strictObject({
    url: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'an http:// or https:// URL')
      .describe('The URL every request is posted to.'),
    headers: z
      .record(headerName, secretValue)
      .default({})
      .describe(
        'Headers sent with every request, such as `Authorization`; a value may be `{ env: "NAME" }` to read it from the environment.',
      ),
    format: z
      .enum(['json', 'ndjson'])
      .default('json')
      .describe(
        'The body of a request: a JSON array of rows (`application/json`), or one JSON row per line (`application/x-ndjson`).',
      ),
    batchSize: z
      .int()
      .min(1)
      .max(100_000)
      .default(500)
      .describe(
        'Most rows per request; a checkpoint with more rows is sent in several requests, in order.',
      ),
    retries: retryPolicyConfig
      .default(5)
      .describe(
        "How often a request is tried again after a 5xx, 408, 425 or 429 answer, a timeout or a network error, before the commit fails: a count, or `{ retries, delay, maxDelay, jitter }` (defaults `delay: '500ms'`, `maxDelay: '30s'`, `jitter: 0.2`; the wait doubles with each retry). A `Retry-After` asking for longer than `maxDelay` fails the commit instead.",
      ),
    retryDelay: duration
      .optional()
      .describe('Deprecated: `retries.delay` (the wait before the first retry) by its older name.'),
    maxRetryDelay: duration
      .optional()
      .describe(
        'Deprecated: `retries.maxDelay` (the longest wait between two tries) by its older name.',
      ),
    timeout: duration
      .default('30s')
      .describe('How long one request may take, answer included, before it counts as failed.'),
    idempotencyHeader: headerName
      .default('Idempotency-Key')
      .describe(
        "The header carrying each request's idempotency key, `<stream>:<checkpoint>:<request>:<digest>`: the same when a replayed checkpoint sends the same rows, so the receiver can drop the copy.",
      ),
    signingSecret: secretValue
      .optional()
      .describe(
        'Signs each request as an inbox of `sluice serve --http` checks it: `Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, with a fresh timestamp on every attempt.',
      ),
  })
  .superRefine((config, context) => {
    if (typeof config.retries !== 'object') return;
    for (const alias of ['retryDelay', 'maxRetryDelay'] as const)
      if (config[alias] !== undefined)
        context.addIssue({
          code: 'custom',
          path: [alias],
          message: `${alias} is the deprecated name of retries.${alias === 'retryDelay' ? 'delay' : 'maxDelay'}; with retries as an object, give it there`,
        });
  })
  .describe(
    'Posts rows to an HTTP endpoint at each checkpoint, with retries and idempotency keys.',
  );

/** The webhook sink's retry defaults where its config gives none. */
const SINK_RETRY_DEFAULTS = { delay: '500ms', maxDelay: '30s', jitter: 0.2 } as const;

/**
 * The retries of one request of the webhook sink: `retries` (a count or a `RetryPolicy`), the
 * deprecated `retryDelay` and `maxRetryDelay`, then the sink's defaults.
 */
function sinkRetryPolicy(config: WebhookStreamSinkConfig): ResolvedRetryPolicy {
  const aliases = {
    ...(config.retryDelay === undefined ? {} : { delay: config.retryDelay }),
    ...(config.maxRetryDelay === undefined ? {} : { maxDelay: config.maxRetryDelay }),
  };
  return retryPolicy(config.retries, { ...SINK_RETRY_DEFAULTS, ...aliases });
}

/** Config of the `webhook` stream sink as written (defaults optional). */
export type WebhookStreamSinkInput = z.input<typeof webhookStreamSinkConfig>;
type WebhookStreamSinkConfig = z.output<typeof webhookStreamSinkConfig>;

/** HTTP answers worth another try. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

/**
 * Whether an HTTP status means the request may succeed when sent again: 408, 425, 429 and
 * every 5xx.
 *
 * @example
 * ```ts
 * isRetryableStatus(503); // true
 * isRetryableStatus(400); // false
 * ```
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_STATUSES.has(status);
}

/**
 * The idempotency key of request `request` (from 0) of checkpoint `checkpointId`: stream name,
 * checkpoint, request index and a digest of the body. A replayed checkpoint that sends the same
 * body in the same place gets the same key; a different body gets another key, so a receiver
 * that drops repeated keys never drops rows it has not seen.
 *
 * @example
 * ```ts
 * webhookIdempotencyKey('payments', 7, 0, '[{"id":1}]'); // "payments:7:0:<digest>"
 * ```
 */
export function webhookIdempotencyKey(
  streamName: string,
  checkpointId: number,
  request: number,
  body: string,
): string {
  const digest = createHash('sha256').update(body).digest('base64url').slice(0, 16);
  return `${streamName}:${checkpointId}:${request}:${digest}`;
}

/** What one attempt at a request came to. */
type Attempt =
  | { readonly status: number; readonly retryAfter: string | null; readonly text: string }
  | { readonly failure: string; readonly cause: unknown };

/**
 * An open webhook sink: `write` turns rows into JSON text and keeps it; `commit` posts the
 * checkpoint's rows in requests of `batchSize`, one after another, each tried until it is
 * answered 2xx, and returns once all were.
 */
class WebhookWriter implements StreamWriter {
  readonly #config: WebhookStreamSinkConfig;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #secret: string | undefined;
  /** The sink's credentials, masked in answers before they are quoted. */
  readonly #secrets: SecretRedactor;
  readonly #policy: ResolvedRetryPolicy;
  readonly #timeoutMs: number;
  readonly #streamName: string;
  readonly #stepId: string;
  readonly #logger: Logger;
  readonly #signal: AbortSignal;
  readonly #target: string;
  /** The option that set the longest wait, as the user wrote it (for messages). */
  readonly #maxDelayName: string;
  #pending: string[] = [];

  constructor(config: WebhookStreamSinkConfig, context: StreamSinkContext) {
    this.#config = config;
    this.#headers = Object.fromEntries(
      Object.entries(config.headers).map(([name, value]) => [
        name,
        resolveSecret(value, context.stepId, `headers.${name}`),
      ]),
    );
    this.#secret =
      config.signingSecret === undefined
        ? undefined
        : resolveSecret(config.signingSecret, context.stepId, 'signingSecret');
    this.#secrets = addConfigSecrets(new SecretRedactor(), config);
    if (this.#secret !== undefined) this.#secrets.add(this.#secret);
    this.#policy = sinkRetryPolicy(config);
    this.#timeoutMs = parseDuration(config.timeout);
    this.#streamName = context.streamName;
    this.#stepId = context.stepId;
    this.#logger = context.logger;
    this.#signal = context.signal;
    this.#target = describeURL(config.url);
    this.#maxDelayName = config.maxRetryDelay === undefined ? 'retries.maxDelay' : 'maxRetryDelay';
  }

  async write(rows: readonly StreamRow[]): Promise<void> {
    const encoded: string[] = [];
    for (const [index, row] of rows.entries()) {
      try {
        encoded.push(JSON.stringify(toJSONValue(row)));
      } catch (cause) {
        throw new SinkError(
          this.#stepId,
          `row ${index + 1} of the batch cannot be written as JSON`,
          {
            cause,
            hint: 'nothing of this batch was kept',
          },
        );
      }
    }
    for (const text of encoded) this.#pending.push(text);
  }

  async commit(commit: StreamCommit): Promise<void> {
    const rows = this.#pending;
    const size = this.#config.batchSize;
    const requests = Math.ceil(rows.length / size);
    for (let request = 0; request < requests; request++) {
      const slice = rows.slice(request * size, (request + 1) * size);
      const body =
        this.#config.format === 'json' ? `[${slice.join(',')}]` : `${slice.join('\n')}\n`;
      const key = webhookIdempotencyKey(this.#streamName, commit.checkpointId, request, body);
      await this.#send(
        body,
        key,
        `request ${request + 1} of ${requests} of checkpoint ${commit.checkpointId}`,
      );
    }
    this.#pending = [];
  }

  async close(): Promise<void> {
    this.#pending = [];
  }

  /** Posts one body until it is answered 2xx; throws a {@link SinkError} when it cannot be. */
  async #send(body: string, key: string, what: string): Promise<void> {
    const label = `POST ${this.#target} (${what})`;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(body, key);
      let problem: string;
      let askedMs: number | undefined;
      if ('status' in outcome) {
        if (outcome.status >= 200 && outcome.status < 300) return;
        problem = `HTTP ${outcome.status}${excerpt(this.#secrets.redact(outcome.text))}`;
        if (!isRetryableStatus(outcome.status))
          throw new SinkError(this.#stepId, `${label} was refused: ${problem}`, {
            hint:
              outcome.status >= 300 && outcome.status < 400
                ? 'the receiver redirects; give the final URL as url'
                : 'the receiver refused the rows (a wrong url, headers or credentials, or rows it does not accept); retrying would not help. The rows of this checkpoint are sent again when the stream restarts from its last checkpoint',
          });
        askedMs = retryAfterMs(outcome.retryAfter);
      } else {
        problem = outcome.failure;
      }
      if (attempt > this.#policy.retries)
        throw new SinkError(
          this.#stepId,
          `${label} failed after ${attempt} tr${attempt === 1 ? 'y' : 'ies'}; last: ${problem}`,
          {
            cause: new RetryableError(problem, 'cause' in outcome ? { cause: outcome.cause } : {}),
            hint: 'the receiver kept failing or was unreachable; the rows of this checkpoint are sent again when the stream restarts (raise retries, or retries.maxDelay, to try longer)',
          },
        );
      if (askedMs !== undefined && askedMs > this.#policy.maxDelayMs)
        throw new SinkError(
          this.#stepId,
          `${label} answered ${problem} asking to wait ${Math.ceil(askedMs / 1000)} s, longer than ${this.#maxDelayName}`,
          {
            cause: new BackoffError(problem, askedMs),
            hint: `restart the stream later, or raise ${this.#maxDelayName} to wait that long within the commit`,
          },
        );
      const waitMs = retryDelayMs(this.#policy, attempt, askedMs ?? 0);
      this.#logger.warn(
        { request: label, attempt, problem, waitMs },
        'webhook request failed; retrying',
      );
      await sleep(waitMs, undefined, { signal: this.#signal }).catch(() => {
        throw new SinkError(this.#stepId, `${label} cancelled`, {
          hint: 'the stream stopped; the rows of this checkpoint are sent again when it restarts',
        });
      });
    }
  }

  async #attempt(body: string, key: string): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const headers: Record<string, string> = {
      ...this.#headers,
      'content-type': this.#config.format === 'json' ? 'application/json' : 'application/x-ndjson',
      [this.#config.idempotencyHeader]: key,
    };
    if (this.#secret !== undefined)
      headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()] = signWebhook(this.#secret, body);
    try {
      const response = await fetch(this.#config.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.#signal, timeout]),
      });
      const text = await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
    } catch (cause) {
      if (timeout.aborted && !this.#signal.aborted)
        return { failure: `no complete answer within ${this.#timeoutMs} ms (timeout)`, cause };
      return { failure: `network error: ${networkReason(cause)}`, cause };
    }
  }
}

/** The URL for messages: scheme, host and path, without credentials or query. */
function describeURL(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'the url';
  }
}

/** The start of a response body for an error message. */
function excerpt(text: string): string {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  if (trimmed === '') return '';
  return `: ${trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed}`;
}

/**
 * The `webhook` stream sink: at each checkpoint, posts the rows written since the last one to
 * `url`, `batchSize` rows per request (a JSON array, or NDJSON), in order. A request answered
 * 5xx, 408 or 429, or lost to a timeout or the network, is retried with exponential back-off
 * (honouring `Retry-After`); any other 4xx fails the commit at once. Each request carries an
 * idempotency key from the stream name, checkpoint, request index and a digest of the body, so
 * a receiver can drop a replayed checkpoint's requests. At-least-once.
 *
 * @example
 * ```ts
 * stream('alerts', { ..., sink: streamSink.webhook({ url: 'https://hooks.example.com/alerts', format: 'ndjson' }) });
 * ```
 */
export const webhookStreamSink = defineStreamSink<WebhookStreamSinkConfig>({
  name: 'webhook',
  summary:
    'Posts rows to an HTTP endpoint at each checkpoint (JSON or NDJSON), with retries and an idempotency key per request.',
  delivery: 'at-least-once',
  config: webhookStreamSinkConfig,
  open: async (config, context) => new WebhookWriter(config, context),
});
