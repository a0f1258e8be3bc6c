import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../src/observe/metrics/prometheus-metrics.js';
import { FIXTURES } from './fixtures.js';
import {
  hasOpenMetricsParser,
  hasPromtool,
  openMetricsParses,
  openMetricsProblem,
  promtoolCheckMetrics,
} from './support/exposition.js';

// Our exposition against the OpenMetrics parser suite (OpenObservability/OpenMetrics
// tests/testdata/parsers, in ../shared/fixtures): the reference parser is first shown to agree
// with every case, then given our output. And promtool against our text format.

const CI = process.env['CI'] === 'true';
const SUITE = join(FIXTURES, 'openlineage-prometheus', 'openmetrics', 'parsers');
const haveSuite = existsSync(SUITE);
const parser = hasOpenMetricsParser();
const promtool = hasPromtool();
if (CI && !haveSuite) throw new Error(`the OpenMetrics parser suite is missing: ${SUITE}`);
if (CI && !parser)
  throw new Error(
    'the reference OpenMetrics parser is missing (apt-get install python3-prometheus-client)',
  );
if (CI && !promtool) throw new Error('promtool is missing (apt-get install prometheus)');

/** Every family with samples: labels, exemplars, histograms, gauges read at scrape time. */
async function recordedExposition(accept?: string): Promise<string> {
  const metrics = await createPrometheusMetrics({ version: '0.1.0' });
  const runId = 'run_20261207T120000Z_ab12';
  metrics.runFinished({
    pipeline: 'orders',
    runId,
    status: 'success',
    attempt: { status: 'success', seconds: 3.5 },
  });
  metrics.runFinished({
    pipeline: 'orders',
    runId,
    status: 'up_for_retry',
    attempt: { status: 'failed', seconds: 0.2 },
  });
  metrics.stepFinished({
    pipeline: 'orders',
    runId,
    step: 'load',
    sink: true,
    status: 'success',
    seconds: 0.25,
    recordsIn: 1000,
    recordsOut: 990,
    recordsQuarantined: 10,
    published: true,
  });
  metrics.datasetChecked({
    pipeline: 'orders',
    runId,
    dataset: 'orders',
    results: [
      { severity: 'error', status: 'passed' },
      { severity: 'warn', status: 'failed' },
    ],
    score: 0.75,
  });
  metrics.datasetPublished({ pipeline: 'orders', dataset: 'load', at: Date.now() });
  metrics.leaseTakenOver({ pipeline: 'orders', runId });
  metrics.schedulerLoop({ seconds: 0.004 });
  metrics.scheduleLag({ pipeline: 'orders', seconds: 1.5 });
  metrics.observeRunQueue(async () => [{ pipeline: 'orders', queued: 2, running: 1 }]);
  metrics.streamRecords({ pipeline: 'clicks', step: 'source', direction: 'in', count: 500 });
  metrics.streamRecords({ pipeline: 'clicks', step: 'sink', direction: 'out', count: 480 });
  metrics.streamRejected({ pipeline: 'clicks', step: 'parse', reason: 'invalid', count: 15 });
  metrics.streamRejected({ pipeline: 'clicks', step: 'window', reason: 'late', count: 5 });
  metrics.streamSourceLag({ pipeline: 'clicks', step: 'source', records: 42, seconds: 1.25 });
  metrics.streamWatermark({ pipeline: 'clicks', at: Date.now() - 5_000 });
  metrics.streamCheckpoint({ pipeline: 'clicks', seconds: 0.03, ok: true, bytes: 4096 });
  metrics.streamCheckpoint({ pipeline: 'clicks', seconds: 1.2, ok: false });
  metrics.streamSinkCommit({ pipeline: 'clicks', step: 'sink', seconds: 0.01 });
  metrics.streamStateEntries({ pipeline: 'clicks', step: 'window', entries: 120 });
  return (await metrics.expose(accept)).body;
}

describe.skipIf(!haveSuite || !parser)('OpenMetrics exposition against the parser suite', () => {
  const cases = haveSuite ? readdirSync(SUITE).sort() : [];

  it('the reference parser agrees with every case of the suite', () => {
    expect(cases.length).toBeGreaterThan(200);
    const verdicts = openMetricsParses(cases.map((name) => join(SUITE, name, 'metrics')));
    const disagreements = cases.filter((name, i) => {
      const { shouldParse } = JSON.parse(readFileSync(join(SUITE, name, 'test.json'), 'utf8')) as {
        shouldParse: boolean;
      };
      return verdicts[i] !== shouldParse;
    });
    expect(disagreements).toEqual([]);
  });

  it('parses our OpenMetrics output, every family with samples and exemplars', async () => {
    const body = await recordedExposition('application/openmetrics-text; version=1.0.0');
    expect(body).toContain('# {run_id="run_20261207T120000Z_ab12"}');
    expect(openMetricsProblem(body)).toBeUndefined();
  });
});

describe.skipIf(!promtool)('Prometheus text exposition', () => {
  it('passes promtool check metrics with every family recorded', async () => {
    const text = await recordedExposition();
    expect(promtoolCheckMetrics(text)).toEqual({ code: 0, output: '' });
  });
});
