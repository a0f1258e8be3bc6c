import { map, stream, streamSink, streamSource } from 'sluice/stream';

const servers = process.env['SLUICE_EXAMPLE_NATS'] ?? 'nats://127.0.0.1:4222';
const clicks = process.env['SLUICE_EXAMPLE_STREAM'] ?? 'CLICKS';

/**
 * Every click as it arrived, into a Delta table (the bronze layer): one commit per checkpoint,
 * exactly once, so the lake can be replayed and reprocessed.
 */
export default stream('clicks_lake', {
  description: 'Raw clicks into the lake.',
  source: streamSource.nats({ servers, stream: clicks }),
  eventTime: 'ts',
  steps: [map((click) => ({ ...click, ts: new Date(String(click['ts'])) }))],
  sink: streamSink.delta({ path: 'lake/clicks' }),
  checkpoint: { every: '5s' },
});
