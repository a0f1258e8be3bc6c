import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../src/observe/metrics/prometheus-metrics.js';
import { recordWideHistory, seriesCount } from './support/metrics-history.js';

// The budget of DESIGN.md and issue 17: a scrape of a wide project's history stays under 5,000
// series. The scrape time is a bench figure (npm run bench -- observe), not asserted here.

describe('series budget', () => {
  it('keeps 20 pipelines x 50 steps with 1,000 runs of history under 5,000 series', async () => {
    const metrics = await createPrometheusMetrics({ version: 'test' });
    recordWideHistory(metrics, { pipelines: 20, stepsPerPipeline: 50, runs: 1_000 });
    const { body } = await metrics.expose();
    const series = seriesCount(body);
    expect(series).toBeLessThan(5_000);
    // Every step still has its own records and time, so the budget was not met by losing them.
    for (const name of ['sluice_step_records_total', 'sluice_step_seconds_total']) {
      const steps = new Set(
        body
          .split('\n')
          .filter((line) => line.startsWith(`${name}{`))
          .map((line) => /pipeline="([^"]+)",step="([^"]+)"/.exec(line)?.slice(1).join('/')),
      );
      expect(steps.size, name).toBe(20 * 50);
    }
    expect(body).toContain('sluice_step_failures_total{pipeline="pipeline_');
  });

  it('adds no series per run: three times the history stays within the budget', async () => {
    const metrics = await createPrometheusMetrics({ version: 'test' });
    recordWideHistory(metrics, { pipelines: 20, stepsPerPipeline: 50, runs: 3_000 });
    const { body } = await metrics.expose();
    expect(seriesCount(body)).toBeLessThan(5_000);
    expect(body).not.toMatch(/run-\d/);
  });
});
