import { map, stream, streamSink, streamSource } from 'sluice/stream';

/** The NATS server and the JetStream stream the orders are published to. */
const servers = process.env['SLUICE_EXAMPLE_NATS'] ?? 'nats://127.0.0.1:4222';
const orders = process.env['SLUICE_EXAMPLE_STREAM'] ?? 'ORDERS';

/**
 * Bronze: every order message as it arrived, into a Delta table, exactly once (one commit per
 * checkpoint with txn(appId, version)). Nothing is judged here: the message stays as it was sent
 * (`payload`, its JSON text), with where and when it came in (`_subject`, `_ingested_at`).
 * Messages that are not JSON objects go to the stream's quarantine with the reason.
 */
export default stream('bronze_orders', {
  description: 'Order messages from NATS, as received, into the bronze Delta table.',
  source: streamSource.nats({ servers, stream: orders, subjectColumn: '_subject' }),
  // Bronze keeps whatever arrives, so its time is the arrival; the order's own time is read
  // (and checked) in silver.
  eventTime: () => Date.now(),
  steps: [
    map(({ _subject, ...order }) => ({
      payload: JSON.stringify(order),
      _subject,
      _ingested_at: new Date(),
    })),
  ],
  sink: streamSink.delta({ path: 'out/lake/bronze/orders' }),
  checkpoint: { every: '2s' },
});
