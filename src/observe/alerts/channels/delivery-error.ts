import type { SluiceErrorOptions } from '../../../core/errors.js';
import { SluiceError } from '../../../core/errors.js';

/** What a delivery failure means for the next try. */
export type DeliveryRetry =
  /** Sending the same notifications again cannot succeed: fix the channel's config. */
  | { readonly kind: 'permanent' }
  /** Sending again may succeed (a 5xx, a timeout, a dropped connection). */
  | { readonly kind: 'retryable' }
  /** Sending again may succeed after `waitMs` (a 429 or 503 with `Retry-After`). */
  | { readonly kind: 'backoff'; readonly waitMs: number };

/** Where a delivery failed and what the receiver said. */
export interface DeliveryFailureDetails extends SluiceErrorOptions {
  /** The channel's name in the configuration. */
  readonly channel: string;
  /** The channel's type (`slack`, `webhook`, `email`, `pagerduty`, `alertmanager`). */
  readonly channelType: string;
  readonly retry: DeliveryRetry;
  /** The receiver's status: an HTTP status, or an SMTP reply code. */
  readonly status?: number;
}

/**
 * A channel could not deliver a group of notifications. The message names the channel and what
 * the receiver said (its status and the first line of its answer, with the channel's secrets
 * masked); the code says whether trying again can help: `PERMANENT` (a 4xx other than 408, 425
 * and 429, a refused login, a refused address), `RETRYABLE` (5xx, timeouts, network errors) or
 * `BACKOFF` (a `Retry-After`, in {@link waitMs}).
 *
 * @example
 * ```ts
 * try {
 *   await channel.send(group, AbortSignal.timeout(30_000));
 * } catch (error) {
 *   if (error instanceof AlertDeliveryError && !error.retryable) disableChannel(error.channel);
 * }
 * ```
 */
export class AlertDeliveryError extends SluiceError {
  readonly channel: string;
  readonly channelType: string;
  /** The receiver's HTTP status or SMTP reply code, when it answered. */
  readonly status: number | undefined;
  /** How long the receiver asked to wait before the next try (`Retry-After`), when it did. */
  readonly waitMs: number | undefined;
  readonly #retryable: boolean;

  constructor(message: string, details: DeliveryFailureDetails) {
    const code =
      details.retry.kind === 'permanent'
        ? 'PERMANENT'
        : details.retry.kind === 'backoff'
          ? 'BACKOFF'
          : 'RETRYABLE';
    super(code, `Alert channel "${details.channel}" (${details.channelType}): ${message}`, {
      cause: details.cause,
      hint:
        details.hint ??
        (details.retry.kind === 'permanent'
          ? "the receiver refused the notifications (a wrong URL, key, address or payload); sending them again would not help: fix the channel's configuration"
          : 'the receiver failed or could not be reached; sending again may succeed'),
    });
    this.channel = details.channel;
    this.channelType = details.channelType;
    this.status = details.status;
    this.waitMs = details.retry.kind === 'backoff' ? details.retry.waitMs : undefined;
    this.#retryable = details.retry.kind !== 'permanent';
  }

  override get retryable(): boolean {
    return this.#retryable;
  }
}

/**
 * The first line of a receiver's answer for an error message: trimmed, at most 200 characters.
 * Empty text gives `''`; otherwise `': <line>'`.
 *
 * @example
 * ```ts
 * firstLine('invalid_payload\nmore'); // ': invalid_payload'
 * ```
 */
export function firstLine(text: string): string {
  const line = (text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '').trim();
  if (line === '') return '';
  return `: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`;
}
