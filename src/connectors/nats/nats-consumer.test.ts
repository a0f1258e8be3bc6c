import type { ConsumerInfo } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import type { ConsumerSettings } from './nats-consumer.js';
import { consumerConfig, durableName, whyNotReusable } from './nats-consumer.js';

const settings: ConsumerSettings = {
  name: 'sluice-clicks',
  filterSubjects: ['clicks.>'],
  ackWaitMs: 30_000,
  maxDeliver: -1,
  maxAckPending: -1,
  description: 'test',
};

/** Consumer info as the server reports it for an idle consumer that delivered up to `at`. */
function idleAt(
  at: number,
  overrides: { num_ack_pending?: number; num_waiting?: number } = {},
): ConsumerInfo {
  return {
    stream_name: 'CLICKS',
    name: settings.name,
    created: '2026-01-01T00:00:00Z',
    config: consumerConfig(settings, { policy: 'by_start_sequence', sequence: 1 }),
    delivered: { consumer_seq: at, stream_seq: at, last_active: 0 },
    ack_floor: { consumer_seq: at, stream_seq: at, last_active: 0 },
    num_ack_pending: overrides.num_ack_pending ?? 0,
    num_redelivered: 0,
    num_waiting: overrides.num_waiting ?? 0,
    num_pending: 0,
    push_bound: false,
    pause_remaining: 0,
  };
}

describe('the durable consumer', () => {
  it('is named from the runtime consumer with only safe characters', () => {
    expect(durableName('sluice-clicks')).toBe('sluice-clicks');
    expect(durableName('team/orders.v2 *')).toBe('team_orders_v2__');
  });

  it('starts where it is told and acknowledges cumulatively', () => {
    expect(consumerConfig(settings, { policy: 'by_start_sequence', sequence: 42 })).toMatchObject({
      durable_name: 'sluice-clicks',
      ack_policy: 'all',
      ack_wait: 30_000_000_000,
      deliver_policy: 'by_start_sequence',
      opt_start_seq: 42,
      filter_subject: 'clicks.>',
    });
    const config = consumerConfig(
      { ...settings, filterSubjects: ['a', 'b'] },
      { policy: 'by_start_time', time: '2026-01-01T00:00:00.000Z' },
    );
    expect(config).toMatchObject({
      filter_subjects: ['a', 'b'],
      opt_start_time: '2026-01-01T00:00:00.000Z',
    });
    expect(config).not.toHaveProperty('filter_subject');
  });

  it('is kept only when idle exactly at the checkpoint with the same settings', () => {
    expect(whyNotReusable(idleAt(41), settings, 41)).toBeUndefined();
    expect(whyNotReusable(idleAt(41), settings, undefined)).toMatch(/starts anew/);
    expect(whyNotReusable(idleAt(50), settings, 41)).toMatch(/delivered up to sequence 50/);
    expect(whyNotReusable(idleAt(41, { num_ack_pending: 3 }), settings, 41)).toMatch(
      /3 messages delivered and not acknowledged/,
    );
    expect(whyNotReusable(idleAt(41, { num_waiting: 1 }), settings, 41)).toMatch(/waiting/);
    expect(whyNotReusable(idleAt(41), { ...settings, ackWaitMs: 1_000 }, 41)).toMatch(/ack wait/);
    expect(whyNotReusable(idleAt(41), { ...settings, filterSubjects: [] }, 41)).toMatch(/filter/);
  });
});
