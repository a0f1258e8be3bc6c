import { describe, expect, it } from 'vitest';
import { BackoffError, PermanentError } from '../../../core/errors.js';
import { retryPolicy } from '../../../core/retry-policy.js';
import { SecretRedactor } from '../../../contracts/secrets.js';
import type { AlertChannel, AlertNotification } from '../notification.js';
import { AlertDeliveryError } from './delivery-error.js';
import type { ChannelFailure } from './send-with-retry.js';
import { sendWithRetry } from './send-with-retry.js';

const alert: AlertNotification = {
  fingerprint: 'f00d',
  rule: 'run_failed',
  state: 'firing',
  severity: 'critical',
  summary: 'failed',
  labels: {},
  startsAt: new Date('2026-12-07T06:00:00Z'),
  notification: 'first',
};

/** A channel of its own kind (as a plugin would write one) that fails with `errors`, then delivers. */
function scripted(errors: unknown[], extra: object = {}): AlertChannel & { tries: number } {
  const channel = {
    name: 'custom',
    type: 'custom',
    tries: 0,
    async send() {
      channel.tries += 1;
      const next = errors.shift();
      if (next !== undefined) throw next;
    },
    ...extra,
  };
  return channel;
}

const fast = retryPolicy({ retries: 4, delay: 1, maxDelay: 50, jitter: 0 });

describe('sendWithRetry', () => {
  it('waits with exponential backoff, capped, and jitter within its share', async () => {
    const failures: ChannelFailure[] = [];
    const channel = scripted([new Error('a'), new Error('b'), new Error('c'), new Error('d')]);
    const tries = await sendWithRetry(channel, [alert], {
      retry: retryPolicy({ retries: 4, delay: 4, maxDelay: 20, jitter: 0.5 }),
      onFailure: (f) => failures.push(f),
      random: () => 0,
    });
    expect(tries).toBe(5);
    // base 4, 8, 16, 20 (capped); random 0 takes half of each away.
    expect(failures.map((f) => f.retryInMs)).toEqual([2, 4, 8, 10]);
    const high = retryPolicy({ retries: 1, delay: 10, maxDelay: 1000, jitter: 0.5 });
    const waits: (number | undefined)[] = [];
    await sendWithRetry(scripted([new Error('x')]), [alert], {
      retry: high,
      random: () => 0.999_999,
      onFailure: (f) => waits.push(f.retryInMs),
    });
    expect(waits[0]).toBe(15);
  });

  it("takes a custom channel's typed errors at their word", async () => {
    const permanent = scripted([new PermanentError('bad key')]);
    const error = (await sendWithRetry(permanent, [alert], { retry: fast }).catch(
      (e: unknown) => e,
    )) as AlertDeliveryError;
    expect(error).toBeInstanceOf(AlertDeliveryError);
    expect(error.code).toBe('PERMANENT');
    expect(error.message).toBe('Alert channel "custom" (custom): bad key');
    expect(permanent.tries).toBe(1);

    const failures: ChannelFailure[] = [];
    await sendWithRetry(scripted([new BackoffError('rate limited', 30)]), [alert], {
      retry: fast,
      onFailure: (f) => failures.push(f),
    });
    expect(failures[0]?.error.code).toBe('BACKOFF');
    expect(failures[0]?.retryInMs).toBe(30);

    const thrown = scripted(['a bare string']);
    expect(await sendWithRetry(thrown, [alert], { retry: fast })).toBe(2);
  });

  it("uses the channel's own policy and masks its secrets in what it reports", async () => {
    const secrets = new SecretRedactor().add('sk-live-0123456789');
    const channel = scripted([new Error('refused key sk-live-0123456789'), new Error('again')], {
      retry: retryPolicy({ retries: 1, delay: 1, jitter: 0 }),
      secrets,
    });
    const failures: ChannelFailure[] = [];
    const error = (await sendWithRetry(channel, [alert], {
      onFailure: (f) => failures.push(f),
    }).catch((e: unknown) => e)) as AlertDeliveryError;
    expect(channel.tries).toBe(2);
    expect(failures[0]?.error.message).toBe('Alert channel "custom" (custom): refused key ***');
    expect(JSON.stringify(failures[0]?.error.stack)).not.toContain('sk-live');
    expect(error.message).toBe('Alert channel "custom" (custom): again');
  });

  it('tries once and stops when the caller has already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const channel = scripted([new Error('cancelled')]);
    const error = await sendWithRetry(channel, [alert], {
      retry: fast,
      signal: controller.signal,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlertDeliveryError);
    expect(channel.tries).toBe(1);
  });
});
