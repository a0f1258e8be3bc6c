import { setTimeout as sleep } from 'node:timers/promises';
import { SluiceError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import type { ResolvedRetryPolicy } from '../../../core/retry-policy.js';
import { retryDelayMs, retryPolicy } from '../../../core/retry-policy.js';
import type { SecretRedactor } from '../../../contracts/secrets.js';
import type { AlertChannel, AlertNotification } from '../notification.js';
import { AlertDeliveryError } from './delivery-error.js';

/** One failed try at delivering a group, as {@link sendWithRetry} reports it. */
export interface ChannelFailure {
  readonly channel: string;
  readonly type: string;
  /** The try that failed, from 1. */
  readonly attempt: number;
  /** How many notifications the group held. */
  readonly notifications: number;
  /** What went wrong, with the channel's secrets masked. */
  readonly error: AlertDeliveryError;
  /** The wait before the next try, or undefined when this was the last one. */
  readonly retryInMs: number | undefined;
}

/** Options of {@link sendWithRetry}. */
export interface SendWithRetryOptions {
  /** Tries and waits; default the channel's own `retry` when it has one, else 3 retries from 1 s. */
  readonly retry?: ResolvedRetryPolicy;
  /** Stops waiting and sending (a shutdown); the group then fails as cancelled. */
  readonly signal?: AbortSignal;
  /** Called for every failed try, the last included: count it, log it (see {@link channelFailureLogger}). */
  readonly onFailure?: (failure: ChannelFailure) => void;
  /** Random numbers in [0, 1) for the jitter (tests pass a fixed one). */
  readonly random?: () => number;
}

/** The retry policy when neither the options nor the channel give one. */
const DEFAULT_RETRY = retryPolicy(3, { delay: '1s', maxDelay: '5m', jitter: 0.2 });

/**
 * Sends a group through a channel until it is delivered or retrying cannot help: a failure the
 * channel calls permanent (a 4xx other than 408, 425 and 429, a refused login) ends at once;
 * others are tried again after an exponential backoff with jitter, at least as long as a
 * `Retry-After` asked, up to the policy's retries. A `Retry-After` longer than the policy's
 * `maxDelay` ends the tries with that `BACKOFF` error, so the caller can come back later. Every
 * failed try is reported to `onFailure`; the last error is thrown. Resolves to the number of
 * tries it took.
 *
 * @example
 * ```ts
 * const tries = await sendWithRetry(channel, group, {
 *   signal: shutdown.signal,
 *   onFailure: (failure) => failures.inc({ channel: failure.channel, type: failure.type }),
 * });
 * ```
 */
export async function sendWithRetry(
  channel: AlertChannel & {
    readonly retry?: ResolvedRetryPolicy;
    readonly secrets?: SecretRedactor;
  },
  group: readonly AlertNotification[],
  options: SendWithRetryOptions = {},
): Promise<number> {
  const policy = options.retry ?? channel.retry ?? DEFAULT_RETRY;
  const signal = options.signal ?? new AbortController().signal;
  for (let attempt = 1; ; attempt++) {
    let error: AlertDeliveryError;
    try {
      await channel.send(group, signal);
      return attempt;
    } catch (thrown) {
      error = asDeliveryError(channel, thrown);
    }
    const last = !error.retryable || attempt > policy.retries || signal.aborted;
    const asked = error.waitMs ?? 0;
    const tooLong = asked > policy.maxDelayMs;
    const retryInMs =
      last || tooLong ? undefined : retryDelayMs(policy, attempt, asked, options.random);
    options.onFailure?.({
      channel: channel.name,
      type: channel.type,
      attempt,
      notifications: group.length,
      error,
      retryInMs,
    });
    if (retryInMs === undefined) throw error;
    try {
      await sleep(retryInMs, undefined, { signal });
    } catch {
      throw new AlertDeliveryError('cancelled while waiting to try again', {
        channel: channel.name,
        channelType: channel.type,
        retry: { kind: 'retryable' },
        cause: error,
        hint: 'the sender stopped; the notifications were not delivered',
      });
    }
  }
}

/** What a channel threw, as an {@link AlertDeliveryError} with its secrets masked. */
function asDeliveryError(
  channel: AlertChannel & { readonly secrets?: SecretRedactor },
  thrown: unknown,
): AlertDeliveryError {
  if (thrown instanceof AlertDeliveryError) return channel.secrets?.redactError(thrown) ?? thrown;
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  const error = new AlertDeliveryError(channel.secrets?.redact(message) ?? message, {
    channel: channel.name,
    channelType: channel.type,
    retry:
      thrown instanceof SluiceError && !thrown.retryable
        ? { kind: 'permanent' }
        : typeof (thrown as { waitMs?: unknown }).waitMs === 'number'
          ? { kind: 'backoff', waitMs: (thrown as { waitMs: number }).waitMs }
          : { kind: 'retryable' },
    cause: thrown,
  });
  return channel.secrets?.redactError(error) ?? error;
}

/**
 * An `onFailure` hook for {@link sendWithRetry} that logs each failed try: a warning when it
 * will be tried again, an error when it gave up. The fields are the channel, its type, the try,
 * the error's code, the receiver's status, the wait and the message (already masked).
 *
 * @example
 * ```ts
 * await sendWithRetry(channel, group, { onFailure: channelFailureLogger(logger) });
 * ```
 */
export function channelFailureLogger(logger: Logger): (failure: ChannelFailure) => void {
  return (failure) => {
    const fields = {
      channel: failure.channel,
      channelType: failure.type,
      attempt: failure.attempt,
      notifications: failure.notifications,
      code: failure.error.code,
      ...(failure.error.status === undefined ? {} : { status: failure.error.status }),
      ...(failure.retryInMs === undefined ? {} : { retryInMs: failure.retryInMs }),
      error: failure.error.message,
    };
    if (failure.retryInMs === undefined)
      logger.error(fields, 'alert channel gave up delivering notifications');
    else logger.warn(fields, 'alert channel failed; trying again');
  };
}
