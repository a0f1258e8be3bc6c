import { describe, expect, it } from 'vitest';
import { METRIC_FAMILIES } from './catalog.js';
import { negotiateExposition } from './exposition-format.js';
import { createPrometheusMetrics } from './prometheus-metrics.js';

const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('metric catalog', () => {
  const families = Object.values(METRIC_FAMILIES);

  it('names every family sluice_*, in snake case, once, counters ending in _total', () => {
    const names = families.map((family) => family.name);
    expect(new Set(names).size).toBe(names.length);
    for (const family of families) {
      expect(family.name).toMatch(/^sluice_[a-z0-9_]+$/);
      expect(family.name.endsWith('_total')).toBe(family.type === 'counter');
    }
  });

  it('states seconds and bytes in the name, and keeps histogram buckets increasing', () => {
    for (const family of families) {
      if (family.unit === 'seconds' || family.unit === 'bytes')
        expect(family.name).toMatch(new RegExp(`_${family.unit}(_total)?$`));
      if (family.type === 'histogram') {
        const buckets = family.buckets ?? [];
        expect(buckets.length, family.name).toBeGreaterThan(0);
        expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
      }
    }
  });

  it('never labels by run, value or file', () => {
    for (const family of families)
      for (const label of family.labels)
        expect(['run_id', 'run', 'file', 'path', 'value']).not.toContain(label);
  });
});

describe('exposition format negotiation', () => {
  it('serves OpenMetrics to Prometheus and to clients asking for it, text 0.0.4 otherwise', () => {
    expect(negotiateExposition(PROMETHEUS_ACCEPT)).toBe('openmetrics');
    expect(negotiateExposition('application/openmetrics-text')).toBe('openmetrics');
    expect(negotiateExposition(undefined)).toBe('prometheus');
    expect(negotiateExposition('*/*')).toBe('prometheus');
    expect(negotiateExposition('text/plain;version=0.0.4')).toBe('prometheus');
    expect(negotiateExposition('text/plain, application/openmetrics-text;q=0.3')).toBe(
      'prometheus',
    );
    expect(negotiateExposition('application/openmetrics-text;q=0')).toBe('prometheus');
  });
});

describe('createPrometheusMetrics', () => {
  it('writes both formats from one recording, exemplars (run ids) in OpenMetrics only', async () => {
    const metrics = await createPrometheusMetrics({ version: '1.2.3' });
    metrics.runFinished({
      pipeline: 'orders',
      runId: 'run-1',
      status: 'success',
      attempt: { status: 'success', seconds: 2 },
    });
    metrics.stepFinished({
      pipeline: 'orders',
      runId: 'run-1',
      step: 'load',
      sink: true,
      status: 'success',
      seconds: 0.5,
      recordsIn: 10,
      recordsOut: 8,
      recordsQuarantined: 2,
      published: true,
    });
    metrics.observeRunQueue(async () => [{ pipeline: 'orders', queued: 3, running: 1 }]);

    // OpenMetrics first: prom-client renames counters while writing it, which must not leak.
    const open = await metrics.expose('application/openmetrics-text');
    expect(open.contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(open.body).toContain('# TYPE sluice_runs counter');
    expect(open.body).toMatch(
      /sluice_runs_total\{pipeline="orders",status="success"\} 1 # \{run_id="run-1"\} 1 /,
    );
    expect(open.body.endsWith('# EOF\n')).toBe(true);

    const text = await metrics.expose(undefined);
    expect(text.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.body).toContain('# TYPE sluice_runs_total counter');
    expect(text.body).toContain('sluice_runs_total{pipeline="orders",status="success"} 1\n');
    expect(text.body).not.toContain('run-1');
    expect(text.body).toContain(
      'sluice_step_records_total{pipeline="orders",step="load",direction="in"} 10',
    );
    expect(text.body).toContain(
      'sluice_step_records_total{pipeline="orders",step="load",direction="out"} 8',
    );
    expect(text.body).toContain(
      'sluice_step_quarantined_records_total{pipeline="orders",step="load"} 2',
    );
    expect(text.body).toContain('sluice_sink_rows_written_total{pipeline="orders",step="load"} 8');
    expect(text.body).toContain('sluice_queued_runs{pipeline="orders"} 3');
    expect(text.body).toContain('sluice_running_runs{pipeline="orders"} 1');
    expect(text.body).toContain(
      `sluice_build_info{version="1.2.3",node_version="${process.version}"} 1`,
    );
    expect((await metrics.expose(PROMETHEUS_ACCEPT)).body).toBe(
      (await metrics.expose('application/openmetrics-text')).body,
    );
  });

  it('never throws into the caller on a value it cannot record', async () => {
    const metrics = await createPrometheusMetrics();
    expect(() =>
      metrics.runFinished({ pipeline: 'p', runId: 'x'.repeat(200), status: 'failed' }),
    ).not.toThrow();
    metrics.observeRunQueue(() => Promise.reject(new Error('store down')));
    expect((await metrics.expose()).body).toContain('# TYPE sluice_queued_runs gauge');
  });
});
