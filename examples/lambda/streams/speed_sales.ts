import {
  count,
  dedupe,
  stream,
  streamSink,
  streamSource,
  sum,
  tumbling,
  window,
} from 'sluice/stream';

/** The NATS server and JetStream stream holding the sales, and the serving database. */
const servers = process.env['SLUICE_EXAMPLE_NATS'] ?? 'nats://127.0.0.1:4222';
const sales = process.env['SLUICE_EXAMPLE_STREAM'] ?? 'SALES';
const url =
  process.env['SLUICE_EXAMPLE_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/sluice_example';

/**
 * The speed layer: sales and revenue per store and minute of event time, from the live sales,
 * upserted into the speed view after every batch that changes a window (so the newest minute
 * is visible while it fills). A retry of a sale within 10 minutes counts once; a sale arriving
 * more than 30 s after its minute closed goes to the late-data quarantine, and only the next
 * batch run counts it.
 */
export default stream('speed_sales', {
  description: 'Sales and revenue per store and minute, live, into the speed view.',
  source: streamSource.nats({ servers, stream: sales }),
  eventTime: 'ts',
  watermark: { maxOutOfOrderness: '5s' },
  steps: [
    dedupe({ key: 'event_id', ttl: '10m' }),
    window({
      key: 'store',
      window: tumbling('1m'),
      aggregate: { sales: count(), revenue_cents: sum('amount_cents') },
      allowedLateness: '30s',
      emit: 'update',
    }),
  ],
  sink: streamSink.postgres({
    url,
    table: 'serving.speed_sales',
    mode: 'upsert',
    keys: ['store', 'window_start'],
  }),
  checkpoint: { every: '1s' },
});
