import { z } from 'zod';
import { positiveDurationConfig } from '../../../core/duration-config.js';
import { parseDuration } from '../../../core/duration.js';
import { retryPolicyConfig } from '../../../core/retry-config.js';
import type { ResolvedRetryPolicy } from '../../../core/retry-policy.js';
import { retryPolicy } from '../../../core/retry-policy.js';
import type { SecretRedactor } from '../../../contracts/secrets.js';
import type { AlertChannel } from '../notification.js';

/**
 * The fields every channel's config has: its name (what routes refer to), how long one
 * delivery may take, and how often a failed delivery is tried again.
 *
 * @example
 * ```ts
 * const slackConfig = z.strictObject({ ...channelBaseFields, type: z.literal('slack'), url: secretValue });
 * ```
 */
export const channelBaseFields = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, `_`, `.` and `-`, at most 64')
    .describe("The channel's name, as routes refer to it (for example `ops-slack`)."),
  timeout: positiveDurationConfig
    .default('10s')
    .describe('How long one delivery may take, answer included, before it counts as failed.'),
  retries: retryPolicyConfig
    .default(5)
    .describe(
      "How often a failed delivery is tried again (after a 5xx, 408, 425 or 429 answer, a timeout or a network error; never after another 4xx): a count, or `{ retries, delay, maxDelay, jitter }` (defaults `delay: '1s'`, `maxDelay: '5m'`, `jitter: 0.2`; the wait doubles with each retry, and a `Retry-After` is honoured up to `maxDelay`).",
    ),
};

/** The retry defaults of every channel where its config gives none. */
const CHANNEL_RETRY_DEFAULTS = { delay: '1s', maxDelay: '5m', jitter: 0.2 } as const;

/**
 * A channel built from its config: an {@link AlertChannel}, with the retry policy of its config
 * (for `sendWithRetry`) and the redactor that knows its credentials (to mask them in anything
 * the caller logs about it).
 *
 * @example
 * ```ts
 * const channel = createAlertChannel({ type: 'slack', name: 'ops', url: { env: 'SLACK_URL' } });
 * await sendWithRetry(channel, group, { policy: channel.retry });
 * ```
 */
export interface ConfiguredAlertChannel extends AlertChannel {
  readonly retry: ResolvedRetryPolicy;
  readonly secrets: SecretRedactor;
}

/** The parsed base fields of a channel's config. */
export interface ChannelBase {
  readonly name: string;
  readonly timeout: string | number;
  readonly retries: z.output<typeof retryPolicyConfig>;
}

/**
 * The timeout in milliseconds and the retry policy of a channel's config (the channel defaults
 * `delay: '1s'`, `maxDelay: '5m'`, `jitter: 0.2` filled in).
 *
 * @example
 * ```ts
 * channelLimits({ name: 'ops', timeout: '10s', retries: 3 });
 * // { timeoutMs: 10_000, retry: { retries: 3, delayMs: 1_000, maxDelayMs: 300_000, jitter: 0.2 } }
 * ```
 */
export function channelLimits(config: ChannelBase): {
  timeoutMs: number;
  retry: ResolvedRetryPolicy;
} {
  return {
    timeoutMs: parseDuration(config.timeout),
    retry: retryPolicy(config.retries, CHANNEL_RETRY_DEFAULTS),
  };
}

/** Options of every channel factory. */
export interface ChannelOptions {
  /** Where `{ env: 'NAME' }` secrets are read (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}
