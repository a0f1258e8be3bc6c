import {
  approxDistinct,
  count,
  dedupe,
  filter,
  stream,
  streamSink,
  streamSource,
  tumbling,
  window,
} from 'sluice/stream';

/** The NATS server and JetStream stream holding the clicks, and the warehouse. */
const servers = process.env['SLUICE_EXAMPLE_NATS'] ?? 'nats://127.0.0.1:4222';
const clicks = process.env['SLUICE_EXAMPLE_STREAM'] ?? 'CLICKS';
const url =
  process.env['SLUICE_EXAMPLE_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/sluice_example';

/**
 * Page views and distinct visitors per page and minute, from the clicks on NATS into PostgreSQL.
 * A window is written when the watermark passes its end and written again (upserted) when a
 * click up to a minute late arrives; later clicks go to the late-data quarantine.
 */
export default stream('page_views', {
  description: 'Views and visitors per page and minute.',
  source: streamSource.nats({ servers, stream: clicks }),
  eventTime: 'ts',
  watermark: { maxOutOfOrderness: '5s', idleTimeout: '10s' },
  steps: [
    filter((click) => click['user_agent'] !== 'bot'),
    // Producers retry: the same click id within 10 minutes counts once.
    dedupe({ key: 'click_id', ttl: '10m' }),
    window({
      key: 'page',
      window: tumbling('1m'),
      aggregate: { views: count(), visitors: approxDistinct('user_id') },
      allowedLateness: '1m',
    }),
  ],
  sink: streamSink.postgres({
    url,
    table: 'analytics.page_views',
    mode: 'upsert',
    keys: ['page', 'window_start'],
  }),
  checkpoint: { every: '5s' },
});
