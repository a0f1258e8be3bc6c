import type { NexmarkQuery } from './nexmark/queries.js';
import { NEXMARK_QUERIES } from './nexmark/queries.js';
import { runNexmarkQuery } from './nexmark/run-query.js';
import { runSluiceBatch } from './batch-variants.js';
import type { BenchResult } from './common.js';
import {
  alternate,
  assert,
  benchRounds,
  envInteger,
  fastest,
  log,
  removeRunDirs,
} from './common.js';
import { generateOrders, ordersRowCount } from './generate-orders.js';
import { join } from 'node:path';
import { createPrometheusMetrics } from '../src/observe/metrics/prometheus-metrics.js';
import { LineageEmitter } from '../src/observe/lineage/lineage-emitter.js';
import { fileTransport } from '../src/observe/lineage/transports/file-transport.js';
import { recordAttempt, singleAttempt } from '../src/orchestrator/attempt-metrics.js';
import { recordWideHistory, seriesCount } from '../test/support/metrics-history.js';

/**
 * The `observe` group: what metrics cost.
 *
 * - `observe.overhead_ratio`: the batch job of the `batch` group with metrics on (a Prometheus
 *   registry created, the run recorded from its report as the worker does, one scrape) and
 *   lineage on (every OpenLineage event appended to an NDJSON file and flushed) over the same
 *   job with both off, best of `BENCH_ROUNDS` alternating runs each;
 * - `observe.stream_overhead_ratio`: Nexmark q7 through `runStream` with the stream families
 *   recorded as it runs, over the same without (`BENCH_OBSERVE_EVENTS`, default 5M events);
 * - `observe.scrape_ms` and `observe.series`: a scrape of 1,000 runs of history of 20 pipelines
 *   of 50 steps (median of 11 scrapes after one warm-up, text 0.0.4), and its series.
 *
 * @example
 * ```ts
 * const results = await runObserveGroup();
 * ```
 */
export async function runObserveGroup(): Promise<BenchResult[]> {
  const rounds = benchRounds();
  const results: BenchResult[] = [];

  const csv = await generateOrders(ordersRowCount());
  const batch = await alternate('observe batch', rounds, {
    off: (dir) => runSluiceBatch(csv, dir),
    on: async (dir) => {
      // Lineage on: every event of the run appended to an NDJSON file, flushed before the end.
      const lineage = LineageEmitter.create({
        transports: [fileTransport({ path: join(dir, 'lineage.ndjson') })],
      });
      const outcome = await runSluiceBatch(
        csv,
        dir,
        async (report) => {
          const metrics = await createPrometheusMetrics();
          recordAttempt(metrics, singleAttempt(report, Date.now()));
          const { body } = await metrics.expose();
          assert(body.includes('sluice_runs_total{'), 'the run was not recorded');
        },
        { lineage },
      );
      await lineage.close(30_000);
      const sent = lineage.status()[0]?.sent ?? 0;
      assert(
        sent === 8 && lineage.dropped === 0,
        `lineage sent ${sent}, dropped ${lineage.dropped}`,
      );
      return outcome;
    },
  });
  try {
    const on = fastest(batch.on);
    const off = fastest(batch.off);
    assert(on.value.rowsRead === off.value.rowsRead, 'metrics on and off read different rows');
    results.push({
      id: 'observe.overhead_ratio',
      value: round(on.seconds / off.seconds),
      unit: 'ratio',
      note: `batch job (${off.value.rowsRead.toLocaleString('en')} rows) with metrics and lineage (8 OpenLineage events to an NDJSON file) on / off, best of ${rounds}: ${on.seconds.toFixed(2)} s / ${off.seconds.toFixed(2)} s`,
    });
  } finally {
    await removeRunDirs([...batch.on, ...batch.off]);
  }

  const events = envInteger('BENCH_OBSERVE_EVENTS', 5_000_000);
  const q7 = NEXMARK_QUERIES.find((query) => query.id === 'q7') as NexmarkQuery;
  const stream = await alternate('observe q7', rounds, {
    off: (dir) => runNexmarkQuery(q7, events, dir, { keepRows: false }),
    on: async (dir) =>
      runNexmarkQuery(q7, events, dir, {
        keepRows: false,
        metrics: await createPrometheusMetrics(),
      }),
  });
  try {
    const on = fastest(stream.on);
    const off = fastest(stream.off);
    assert(
      on.value.rowsWritten === off.value.rowsWritten,
      `q7 wrote ${on.value.rowsWritten} rows with metrics, ${off.value.rowsWritten} without`,
    );
    results.push({
      id: 'observe.stream_overhead_ratio',
      value: round(on.value.cpuSeconds / off.value.cpuSeconds),
      unit: 'ratio',
      note: `Nexmark q7, ${events.toLocaleString('en')} events, CPU-seconds of runStream with the stream families recorded / without, best of ${rounds}: ${on.value.cpuSeconds.toFixed(2)} / ${off.value.cpuSeconds.toFixed(2)} CPU-s (wall ${on.value.seconds.toFixed(2)} / ${off.value.seconds.toFixed(2)} s)`,
    });
  } finally {
    await removeRunDirs([...stream.on, ...stream.off]);
  }

  const metrics = await createPrometheusMetrics();
  recordWideHistory(metrics, { pipelines: 20, stepsPerPipeline: 50, runs: 1_000 });
  const first = await metrics.expose();
  const times: number[] = [];
  for (let i = 0; i < 11; i++) {
    const began = performance.now();
    await metrics.expose();
    times.push(performance.now() - began);
  }
  times.sort((a, b) => a - b);
  const open = performance.now();
  const openMetrics = await metrics.expose('application/openmetrics-text');
  const openMs = performance.now() - open;
  const series = seriesCount(first.body);
  log(`  observe: scrape of ${series} series in ${(times[5] as number).toFixed(1)} ms`);
  results.push(
    {
      id: 'observe.scrape_ms',
      value: round(times[5] as number),
      unit: 'ms',
      note: `median of 11 scrapes (text 0.0.4, ${Math.round(first.body.length / 1024)} KiB) of 1,000 runs of 20 pipelines x 50 steps; OpenMetrics with exemplars: ${openMs.toFixed(1)} ms, ${Math.round(openMetrics.body.length / 1024)} KiB`,
    },
    {
      id: 'observe.series',
      value: series,
      unit: 'series',
      note: 'samples in that scrape (20 pipelines x 50 steps, 1,000 runs of history)',
    },
  );
  return results;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
