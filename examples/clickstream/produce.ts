/**
 * Publishes synthetic clicks to NATS JetStream for the example (creating the stream when
 * missing): `npx jiti examples/clickstream/produce.ts [count]`.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const PAGES = ['/', '/pricing', '/docs', '/blog', '/signup'];

/**
 * The `i`-th synthetic click: pages and users in turn, one click every 100 ms of event time from
 * `start`; every 50th is a bot, every 40th is sent twice (a producer retry).
 *
 * @example
 * ```ts
 * const first = click(0, Date.parse('2026-11-01T09:00:00Z'));
 * ```
 */
export function click(i: number, start: number): Record<string, unknown> {
  return {
    click_id: `c${i}`,
    page: PAGES[i % PAGES.length],
    user_id: `u${i % 37}`,
    user_agent: i % 50 === 49 ? 'bot' : 'browser',
    ts: new Date(start + i * 100).toISOString(),
  };
}

/**
 * Publishes `count` clicks (and the retries) to `subject` on the stream, creating it.
 *
 * @example
 * ```ts
 * await produce({ servers: 'nats://127.0.0.1:4222', stream: 'CLICKS', subject: 'clicks.web', count: 1000 });
 * ```
 */
export async function produce(options: {
  readonly servers: string;
  readonly stream: string;
  readonly subject: string;
  readonly count: number;
  readonly start?: number;
}): Promise<number> {
  const nc = await connect({ servers: options.servers });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams
      .info(options.stream)
      .catch(() => jsm.streams.add({ name: options.stream, subjects: [options.subject] }));
    const js = jetstream(nc);
    const start = options.start ?? Date.parse('2026-11-01T09:00:00Z');
    let published = 0;
    for (let i = 0; i < options.count; i++) {
      const payload = JSON.stringify(click(i, start));
      await js.publish(options.subject, payload);
      published++;
      if (i % 40 === 39) {
        await js.publish(options.subject, payload);
        published++;
      }
    }
    return published;
  } finally {
    await nc.close();
  }
}

if (process.argv[1]?.endsWith('produce.ts')) {
  const published = await produce({
    servers: process.env['SLUICE_EXAMPLE_NATS'] ?? 'nats://127.0.0.1:4222',
    stream: process.env['SLUICE_EXAMPLE_STREAM'] ?? 'CLICKS',
    subject: 'clicks.web',
    count: Number(process.argv[2] ?? 10_000),
  });
  console.log(`published ${published} clicks`);
}
