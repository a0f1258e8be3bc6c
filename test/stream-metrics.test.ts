import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { createPrometheusMetrics } from '../src/observe/metrics/prometheus-metrics.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import type { StreamProgress } from '../src/stream/index.js';
import {
  count,
  defaultStreamRegistry,
  map,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
  tumbling,
  window,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';
import { hasPromtool, promtoolCheckMetrics, samples, valueOf } from './support/exposition.js';

// The stream families are recorded from inside the stream runtime as it runs, and agree with
// the progress the stream reports.

const T0 = Date.parse('2024-01-01T00:00:00Z');
const CI = process.env['CI'] === 'true';

async function clicks(dir: string, lines: readonly string[]): Promise<void> {
  await mkdir(join(dir, 'in'), { recursive: true });
  await writeFile(join(dir, 'in', 'a.ndjson'), lines.join('\n') + '\n');
}

function plan(dir: string, stop: AbortController, lines: number) {
  let read = 0;
  return planStream(
    stream('clicks', {
      source: streamSource.files({ path: join(dir, 'in') }),
      eventTime: 'ts',
      steps: [
        map((row) => {
          if (++read === lines) stop.abort();
          return row;
        }),
        window({ key: 'page', window: tumbling('10s'), aggregate: { views: count() } }),
      ],
      sink: streamSink.files({ path: join(dir, 'out') }),
      maxInFlight: 1,
      checkpoint: { every: '1h' },
    }),
    defaultStreamRegistry,
  );
}

describe('stream metrics', () => {
  it('counts records in and out, invalid and late records, and times the checkpoint', async () => {
    const dir = await tempDir();
    const valid = [
      { page: 'home', ts: T0 + 1_000 },
      { page: 'home', ts: T0 + 12_000 }, // closes [0s, 10s)
      { page: 'home', ts: T0 + 3_000 }, // late
      { page: 'cart', ts: T0 + 25_000 }, // closes [10s, 20s)
    ];
    await clicks(dir, [
      '{"page": "broken', // not JSON: invalid at the source
      JSON.stringify({ page: 'cart' }), // no event time: invalid at the source
      ...valid.map((e) => JSON.stringify(e)),
    ]);
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const metrics = await createPrometheusMetrics({ version: 'test' });
    const stop = new AbortController();
    let progress: StreamProgress;
    try {
      progress = await runStream(plan(dir, stop, valid.length), {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'quarantine'), 'clicks'),
        signal: stop.signal,
        logger: silentLogger,
        metrics,
      });
    } finally {
      await store.close();
    }
    const { body } = await metrics.expose();
    const all = samples(body);
    const at = (name: string, labels: Record<string, string>): number | undefined =>
      valueOf(all, name, { pipeline: 'clicks', ...labels });

    expect(progress.recordsIn).toBe(6);
    expect(at('sluice_stream_records_total', { step: 'source', direction: 'in' })).toBe(6);
    expect(at('sluice_stream_records_total', { step: 'sink', direction: 'out' })).toBe(
      progress.recordsOut,
    );
    expect(progress.recordsOut).toBeGreaterThan(0);
    expect(at('sluice_stream_invalid_records_total', { step: 'source' })).toBe(2);
    expect(progress.recordsInvalid).toBe(2);
    expect(at('sluice_stream_late_records_total', { step: 'window_2' })).toBe(1);
    expect(progress.recordsLate).toBe(1);
    expect(at('sluice_stream_watermark_timestamp_seconds', {})).toBe(
      (progress.watermark as number) / 1000,
    );
    expect(at('sluice_stream_checkpoint_duration_seconds_count', {})).toBe(1);
    expect(at('sluice_stream_checkpoint_size_bytes', {})).toBeGreaterThan(10);
    expect(at('sluice_stream_checkpoint_failures_total', {})).toBeUndefined();
    expect(at('sluice_stream_sink_commit_duration_seconds_count', { step: 'sink' })).toBe(1);
    expect(at('sluice_stream_state_entries', { step: 'window_2' })).toBe(progress.stateSize);
    // Event time of 2024 read now: the lag is the age of the newest record read.
    const lag = at('sluice_stream_source_lag_seconds', { step: 'source' }) as number;
    expect(lag).toBeGreaterThan((Date.now() - T0) / 1000 - 3600);
    if (hasPromtool()) expect(promtoolCheckMetrics(body)).toEqual({ code: 0, output: '' });
    else if (CI) throw new Error('promtool is missing (apt-get install prometheus)');
  });

  it('counts a checkpoint that failed, and the stream stops with its error', async () => {
    const dir = await tempDir();
    await clicks(dir, [JSON.stringify({ page: 'home', ts: T0 })]);
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const metrics = await createPrometheusMetrics({ version: 'test' });
    const stop = new AbortController();
    const checkpoints = new StreamCheckpoints(store);
    try {
      await expect(
        runStream(plan(dir, stop, 1), {
          checkpoints: {
            last: (name) => checkpoints.last(name),
            save: () => Promise.reject(new Error('the run store is gone')),
          },
          quarantine: new QuarantineStore(join(dir, 'quarantine'), 'clicks'),
          signal: stop.signal,
          logger: silentLogger,
          metrics,
        }),
      ).rejects.toThrow(/the run store is gone/);
    } finally {
      await store.close();
    }
    const all = samples((await metrics.expose()).body);
    expect(valueOf(all, 'sluice_stream_checkpoint_failures_total', { pipeline: 'clicks' })).toBe(1);
    expect(
      valueOf(all, 'sluice_stream_checkpoint_duration_seconds_count', { pipeline: 'clicks' }),
    ).toBe(1);
    expect(valueOf(all, 'sluice_stream_checkpoint_size_bytes', { pipeline: 'clicks' })).toBe(
      undefined,
    );
  });
});
