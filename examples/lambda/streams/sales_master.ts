import { map, stream, streamSink, streamSource } from 'sluice/stream';

/** The NATS server and the JetStream stream the sales are published to. */
const servers = process.env['SLUICE_EXAMPLE_NATS'] ?? 'nats://127.0.0.1:4222';
const sales = process.env['SLUICE_EXAMPLE_STREAM'] ?? 'SALES';

/**
 * The master dataset: every sale as it arrived (producer retries included), appended to a Delta
 * table, exactly once (one commit per checkpoint with txn(appId, version)). The batch layer
 * recomputes its totals from here. A sale without a valid time goes to the stream's quarantine.
 */
export default stream('sales_master', {
  description: 'Every sale from NATS into the master dataset, a Delta table.',
  source: streamSource.nats({ servers, stream: sales }),
  eventTime: 'ts',
  steps: [map((sale) => ({ ...sale, ts: new Date(String(sale['ts'])) }))],
  sink: streamSink.delta({ path: 'out/lake/sales' }),
  checkpoint: { every: '1s' },
});
