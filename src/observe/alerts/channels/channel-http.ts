import type { SecretRedactor } from '../../../contracts/secrets.js';
import type { AlertNotification } from '../notification.js';
import type { ChannelBase, ConfiguredAlertChannel } from './channel-config.js';
import { channelLimits } from './channel-config.js';
import type { ChannelSecrets } from './channel-secrets.js';
import { AlertDeliveryError, firstLine } from './delivery-error.js';
import { retryAfterMs } from '../../../contracts/retry-after.js';

/** The most of a receiver's answer that is read; the rest is dropped unread. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** One HTTP receiver of a channel: where it is, how long it may take, what to mask. */
export interface HTTPReceiver {
  readonly channel: string;
  readonly channelType: string;
  readonly url: string;
  readonly timeoutMs: number;
  readonly redactor: SecretRedactor;
}

/** One HTTP request a channel makes of a group. */
export interface ChannelRequest {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A channel that posts each group to one HTTP receiver as the requests `requests` makes of it
 * (built again for every try, so signatures are fresh), one after another; an empty group sends
 * nothing. Timeout and retry policy come from the channel's config.
 *
 * @example
 * ```ts
 * return createHTTPChannel(config, 'slack', secrets, url, (group) => [
 *   { body: JSON.stringify({ text: groupTitle(group) }), headers: { 'content-type': 'application/json' } },
 * ]);
 * ```
 */
export function createHTTPChannel(
  config: ChannelBase,
  type: string,
  secrets: ChannelSecrets,
  url: string,
  requests: (group: readonly AlertNotification[]) => Iterable<ChannelRequest>,
): ConfiguredAlertChannel {
  const { timeoutMs, retry } = channelLimits(config);
  const { url: target, authorization } = splitCredentials(url, secrets);
  const receiver = {
    channel: config.name,
    channelType: type,
    url: target,
    timeoutMs,
    redactor: secrets.redactor,
  };
  return {
    name: config.name,
    type,
    retry,
    secrets: secrets.redactor,
    async send(group, signal) {
      if (group.length === 0) return;
      for (const request of requests(group)) {
        const headers =
          authorization === undefined || 'authorization' in request.headers
            ? request.headers
            : { ...request.headers, authorization };
        await postToReceiver(receiver, request.body, headers, signal);
      }
    },
  };
}

/**
 * A URL without `user:password@` (fetch refuses such URLs) and the Basic `Authorization` they
 * stand for, whose credential is masked from then on.
 */
function splitCredentials(
  url: string,
  secrets: ChannelSecrets,
): { url: string; authorization?: string } {
  if (!URL.canParse(url)) return { url };
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return { url };
  const credential = Buffer.from(
    `${safeDecode(parsed.username)}:${safeDecode(parsed.password)}`,
  ).toString('base64');
  secrets.redactor.add(credential);
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), authorization: `Basic ${credential}` };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Posts `body` to the receiver and resolves when it answers 2xx (without waiting for the rest
 * of that answer). Otherwise reads at most 64 KiB of the answer and throws an {@link AlertDeliveryError}: permanent for a 3xx (redirects
 * are not followed: a moved webhook must be configured anew) and for a 4xx other than 408, 425
 * and 429; retryable for those, for a 5xx, a timeout and a network error; `BACKOFF` when the
 * answer carries `Retry-After`. Every message is masked with the receiver's redactor and names
 * the receiver by scheme and host only, since a webhook's path is often its token.
 *
 * @example
 * ```ts
 * await postToReceiver(receiver, JSON.stringify({ text: 'hi' }), { 'content-type': 'application/json' }, signal);
 * ```
 */
export async function postToReceiver(
  receiver: HTTPReceiver,
  body: string,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<void> {
  const where = `POST ${originOf(receiver.url)}`;
  const timeout = AbortSignal.timeout(receiver.timeoutMs);
  const fail = (
    message: string,
    details: Omit<ConstructorParameters<typeof AlertDeliveryError>[1], 'channel' | 'channelType'>,
  ) =>
    receiver.redactor.redactError(
      new AlertDeliveryError(receiver.redactor.redact(message), {
        channel: receiver.channel,
        channelType: receiver.channelType,
        ...details,
      }),
    );
  let response: Response;
  let text = '';
  try {
    response = await fetch(receiver.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.any([signal, timeout]),
    });
    // A 2xx status means accepted: its body is not waited for (a receiver may trickle it).
    if (response.ok) await response.body?.cancel();
    else text = await readCapped(response);
  } catch (cause) {
    if (signal.aborted)
      throw fail(`${where} was cancelled`, {
        retry: { kind: 'retryable' },
        cause,
        hint: 'the sender stopped before the receiver answered; the notifications were perhaps not delivered',
      });
    if (timeout.aborted)
      throw fail(`${where}: no complete answer within ${receiver.timeoutMs} ms (timeout)`, {
        retry: { kind: 'retryable' },
        cause,
      });
    const network = cause instanceof Error && cause.message === 'fetch failed';
    throw fail(`${where}: ${network ? 'network error: ' : ''}${reasonOf(cause)}`, {
      retry: { kind: network ? 'retryable' : 'permanent' },
      cause,
      ...(network
        ? {}
        : {
            hint: "the request could not be built (a header value with a line break?); fix the channel's configuration",
          }),
    });
  }
  if (response.ok) return;
  const said = `${where} answered HTTP ${response.status}${firstLine(text)}`;
  if (response.status >= 300 && response.status < 400)
    throw fail(said, {
      status: response.status,
      retry: { kind: 'permanent' },
      hint: 'the receiver redirects, and notifications are not sent on to another address: configure the address it redirects to',
    });
  if (!isRetryableStatus(response.status))
    throw fail(said, { status: response.status, retry: { kind: 'permanent' } });
  const waitMs = retryAfterMs(response.headers.get('retry-after'));
  throw fail(said, {
    status: response.status,
    retry: waitMs === undefined ? { kind: 'retryable' } : { kind: 'backoff', waitMs },
  });
}

/**
 * Whether an HTTP status means the same request may succeed later: 408, 425, 429 and 5xx.
 *
 * @example
 * ```ts
 * isRetryableStatus(429); // true
 * isRetryableStatus(400); // false
 * ```
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 425 || status === 429;
}

/** The scheme and host of a URL, for messages. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the receiver';
  }
}

/** The innermost reason of a fetch error (`ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`). */
function reasonOf(cause: unknown): string {
  let reason = cause instanceof Error ? cause.message : String(cause);
  let inner: unknown = cause instanceof Error ? cause.cause : undefined;
  for (let depth = 0; inner instanceof Error && depth < 8; depth++) {
    const code = (inner as { code?: unknown }).code;
    reason =
      typeof code === 'string' && !inner.message.includes(code)
        ? `${code}: ${inner.message}`
        : inner.message;
    inner = inner.cause;
  }
  return reason;
}

/** The answer's text, at most {@link MAX_ANSWER_BYTES}; a longer answer is cut and dropped. */
async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size >= MAX_ANSWER_BYTES) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES));
}
