/**
 * Generates the Grafana dashboards of `deploy/monitoring/grafana/` (the monitoring-mixin
 * pattern: dashboards as code, shipped as JSON). Each panel's PromQL uses only families of
 * `src/observe/metrics/catalog.ts` and the recording rules of
 * `deploy/monitoring/prometheus/sluice-rules.yml`; a test evaluates every expression against a
 * live Prometheus and compares these files with what this script writes.
 *
 * Run: `npm run deploy:dashboards`
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'prettier';
import { isMainModule } from './markdown.js';

/** The folder the dashboards are written to, from the repository's root. */
export const DASHBOARD_DIR = 'deploy/monitoring/grafana';

/** The command that regenerates them. */
export const REGENERATE_DASHBOARDS = 'npm run deploy:dashboards';

interface Target {
  readonly expr: string;
  readonly legend: string;
}

interface Panel {
  readonly title: string;
  readonly description: string;
  readonly type: 'timeseries' | 'stat' | 'table';
  readonly unit: string;
  readonly targets: readonly Target[];
}

const PIPELINES = 'pipeline=~"$pipeline"';
const RATE = '$__rate_interval';

const panel = (
  title: string,
  description: string,
  unit: string,
  targets: readonly Target[],
  type: Panel['type'] = 'timeseries',
): Panel => ({ title, description, type, unit, targets });
const target = (expr: string, legend: string): Target => ({ expr, legend });

/** The dashboards, by file name: title, description, whether `pipeline` is one value, panels. */
const DASHBOARDS: Readonly<
  Record<
    string,
    {
      title: string;
      description: string;
      single: boolean;
      /** The family whose `pipeline` values fill the pipeline picker. */
      pipelines: string;
      panels: readonly Panel[];
    }
  >
> = {
  'sluice-overview': {
    title: 'Sluice / Overview',
    description: 'Runs, failures, durations and freshness of every pipeline.',
    single: false,
    pipelines: 'sluice_runs_total',
    panels: [
      panel('Runs per hour', 'Runs that ended, by final status.', 'short', [
        target(`sum by (status) (increase(sluice_runs_total{${PIPELINES}}[1h]))`, '{{status}}'),
      ]),
      panel('Failure ratio (1 h)', 'Share of runs that ended failed.', 'percentunit', [
        target(`sluice:run_failure_ratio:rate1h{${PIPELINES}}`, '{{pipeline}}'),
      ]),
      panel('Run duration p95', 'Duration of attempts, 95th percentile.', 's', [
        target(
          `histogram_quantile(0.95, sum by (pipeline, le) (rate(sluice_run_duration_seconds_bucket{${PIPELINES}}[${RATE}])))`,
          '{{pipeline}}',
        ),
      ]),
      panel(
        'Freshness',
        'Time since each dataset was last published by a successful run.',
        's',
        [target(`sluice:dataset_freshness_seconds{${PIPELINES}}`, '{{pipeline}} / {{dataset}}')],
        'table',
      ),
      panel('Retries per hour', 'Attempts that failed and were retried.', 'short', [
        target(
          `sum by (pipeline) (increase(sluice_run_retries_total{${PIPELINES}}[1h]))`,
          '{{pipeline}}',
        ),
      ]),
      panel(
        'Queued and running runs',
        'Read from the run store (same on every process: max).',
        'short',
        [
          target(`max by (pipeline) (sluice_queued_runs{${PIPELINES}})`, 'queued {{pipeline}}'),
          target(`max by (pipeline) (sluice_running_runs{${PIPELINES}})`, 'running {{pipeline}}'),
        ],
      ),
      panel('Scheduler', 'One scheduler pass (p99) and how late runs are created (p95).', 's', [
        target(
          `histogram_quantile(0.99, sum by (le) (rate(sluice_scheduler_loop_duration_seconds_bucket[${RATE}])))`,
          'loop p99',
        ),
        target(
          `histogram_quantile(0.95, sum by (le) (rate(sluice_scheduler_lag_seconds_bucket{${PIPELINES}}[${RATE}])))`,
          'lag p95',
        ),
      ]),
      panel(
        'Lease takeovers per hour',
        'Attempts another worker took over (presumed dead).',
        'short',
        [
          target(
            `sum by (pipeline) (increase(sluice_lease_takeovers_total{${PIPELINES}}[1h]))`,
            '{{pipeline}}',
          ),
        ],
      ),
      panel(
        'Versions',
        'Sluice and Node.js versions of the scraped processes.',
        'short',
        [
          target(
            'count by (version, node_version) (sluice_build_info)',
            '{{version}} on {{node_version}}',
          ),
        ],
        'table',
      ),
    ],
  },
  'sluice-pipeline': {
    title: 'Sluice / Pipeline',
    description: 'One pipeline: its runs and each of its steps.',
    single: true,
    pipelines: 'sluice_runs_total',
    panels: [
      panel('Runs per hour', 'Runs of the pipeline that ended, by status.', 'short', [
        target(
          'sum by (status) (increase(sluice_runs_total{pipeline="$pipeline"}[1h]))',
          '{{status}}',
        ),
      ]),
      panel('Run duration', 'Attempts: median and 95th percentile.', 's', [
        target(
          `histogram_quantile(0.5, sum by (le) (rate(sluice_run_duration_seconds_bucket{pipeline="$pipeline"}[${RATE}])))`,
          'p50',
        ),
        target(
          `histogram_quantile(0.95, sum by (le) (rate(sluice_run_duration_seconds_bucket{pipeline="$pipeline"}[${RATE}])))`,
          'p95',
        ),
      ]),
      panel(
        'Time per step',
        'Seconds spent in each step per second: its share of the pipeline.',
        's',
        [
          target(
            `sum by (step) (rate(sluice_step_seconds_total{pipeline="$pipeline"}[${RATE}]))`,
            '{{step}}',
          ),
        ],
      ),
      panel('Step duration p95', "Over all of the pipeline's steps that ran.", 's', [
        target(
          `histogram_quantile(0.95, sum by (le) (rate(sluice_step_duration_seconds_bucket{pipeline="$pipeline"}[${RATE}])))`,
          'p95',
        ),
      ]),
      panel('Records per second by step', 'Records read (in) and produced (out).', 'short', [
        target(
          `sum by (step, direction) (rate(sluice_step_records_total{pipeline="$pipeline"}[${RATE}]))`,
          '{{step}} {{direction}}',
        ),
      ]),
      panel('Quarantined records per hour', 'Records set aside with their reasons.', 'short', [
        target(
          `sum by (step) (increase(sluice_step_quarantined_records_total{pipeline="$pipeline"}[1h]))`,
          '{{step}}',
        ),
      ]),
      panel('Rows written per hour', 'Rows each sink published.', 'short', [
        target(
          `sum by (step) (increase(sluice_sink_rows_written_total{pipeline="$pipeline"}[1h]))`,
          '{{step}}',
        ),
      ]),
      panel('Step failures per hour', 'Attempts in which the step failed.', 'short', [
        target(
          `sum by (step) (increase(sluice_step_failures_total{pipeline="$pipeline"}[1h]))`,
          '{{step}}',
        ),
      ]),
    ],
  },
  'sluice-quality': {
    title: 'Sluice / Data quality',
    description: 'Quality scores, expectations and quarantine of every dataset.',
    single: false,
    pipelines: 'sluice_runs_total',
    panels: [
      panel('Quality score', 'Latest score of each dataset, 0 to 1.', 'percentunit', [
        target(`sluice_dataset_quality_score{${PIPELINES}}`, '{{pipeline}} / {{dataset}}'),
      ]),
      panel('Expectation pass ratio (1 h)', 'Share of expectations that passed.', 'percentunit', [
        target(`sluice:expectation_pass_ratio:rate1h{${PIPELINES}}`, '{{pipeline}} / {{dataset}}'),
      ]),
      panel('Failed expectations per hour', 'By dataset and severity.', 'short', [
        target(
          `sum by (pipeline, dataset, severity) (increase(sluice_expectations_total{status=~"failed|error",${PIPELINES}}[1h]))`,
          '{{pipeline}} / {{dataset}} ({{severity}})',
        ),
      ]),
      panel('Quarantined records per hour', 'By pipeline.', 'short', [
        target(
          `sum by (pipeline) (increase(sluice_step_quarantined_records_total{${PIPELINES}}[1h]))`,
          '{{pipeline}}',
        ),
      ]),
      panel(
        'Freshness',
        'Time since each dataset was last published.',
        's',
        [target(`sluice:dataset_freshness_seconds{${PIPELINES}}`, '{{pipeline}} / {{dataset}}')],
        'table',
      ),
    ],
  },
  'sluice-streams': {
    title: 'Sluice / Streams',
    description: 'Lag, throughput and checkpoint health of every stream.',
    single: false,
    pipelines: 'sluice_stream_records_total',
    panels: [
      panel('Throughput', 'Records read and written per second.', 'short', [
        target(`sluice:stream_records:rate5m{${PIPELINES}}`, '{{pipeline}} {{direction}}'),
      ]),
      panel('Source lag (records)', "The broker's backlog for the stream.", 'short', [
        target(
          `max by (pipeline) (sluice_stream_source_lag_records{${PIPELINES}})`,
          '{{pipeline}}',
        ),
      ]),
      panel('Source lag (event time)', 'Age of the newest record read.', 's', [
        target(
          `max by (pipeline) (sluice_stream_source_lag_seconds{${PIPELINES}})`,
          '{{pipeline}}',
        ),
      ]),
      panel('Watermark delay', 'How far the watermark is behind the clock.', 's', [
        target(
          `time() - max by (pipeline) (sluice_stream_watermark_timestamp_seconds{${PIPELINES}})`,
          '{{pipeline}}',
        ),
      ]),
      panel('Invalid and late records per second', 'Set aside, by step.', 'short', [
        target(
          `sum by (pipeline, step) (rate(sluice_stream_invalid_records_total{${PIPELINES}}[${RATE}]))`,
          'invalid {{pipeline}} {{step}}',
        ),
        target(
          `sum by (pipeline, step) (rate(sluice_stream_late_records_total{${PIPELINES}}[${RATE}]))`,
          'late {{pipeline}} {{step}}',
        ),
      ]),
      panel('Checkpoint duration p95', 'Checkpoints and sink commits.', 's', [
        target(
          `histogram_quantile(0.95, sum by (pipeline, le) (rate(sluice_stream_checkpoint_duration_seconds_bucket{${PIPELINES}}[${RATE}])))`,
          'checkpoint {{pipeline}}',
        ),
        target(
          `histogram_quantile(0.95, sum by (pipeline, le) (rate(sluice_stream_sink_commit_duration_seconds_bucket{${PIPELINES}}[${RATE}])))`,
          'sink commit {{pipeline}}',
        ),
      ]),
      panel(
        'Checkpoint failures per hour',
        'Failed checkpoints (the stream goes on from the previous one).',
        'short',
        [
          target(
            `sum by (pipeline) (increase(sluice_stream_checkpoint_failures_total{${PIPELINES}}[1h]))`,
            '{{pipeline}}',
          ),
        ],
      ),
      panel('Checkpoint size', 'Size of the latest checkpoint.', 'bytes', [
        target(
          `max by (pipeline) (sluice_stream_checkpoint_size_bytes{${PIPELINES}})`,
          '{{pipeline}}',
        ),
      ]),
      panel('State entries', 'Keys held by stateful steps.', 'short', [
        target(
          `sum by (pipeline, step) (sluice_stream_state_entries{${PIPELINES}})`,
          '{{pipeline}} {{step}}',
        ),
      ]),
    ],
  },
};

/**
 * Every dashboard as Grafana JSON (schema 39), by file name.
 *
 * @example
 * ```ts
 * for (const [file, json] of Object.entries(await renderDashboards())) console.log(file, json.length);
 * ```
 */
export async function renderDashboards(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const [name, dashboard] of Object.entries(DASHBOARDS)) {
    const panels = dashboard.panels.map((p, i) => ({
      id: i + 1,
      title: p.title,
      description: p.description,
      type: p.type,
      datasource: { type: 'prometheus', uid: '${datasource}' },
      gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
      options:
        p.type === 'table'
          ? { showHeader: true }
          : { legend: { displayMode: 'list', placement: 'bottom' } },
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: { type: 'prometheus', uid: '${datasource}' },
        expr: t.expr,
        legendFormat: t.legend,
        ...(p.type === 'table' ? { instant: true, format: 'table' } : {}),
      })),
    }));
    const json = {
      uid: name,
      title: dashboard.title,
      description: dashboard.description,
      tags: ['sluice'],
      schemaVersion: 39,
      version: 1,
      editable: true,
      time: { from: 'now-6h', to: 'now' },
      refresh: '30s',
      templating: {
        list: [
          { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus' },
          {
            name: 'pipeline',
            label: 'Pipeline',
            type: 'query',
            datasource: { type: 'prometheus', uid: '${datasource}' },
            query: { query: `label_values(${dashboard.pipelines}, pipeline)`, refId: 'pipelines' },
            definition: `label_values(${dashboard.pipelines}, pipeline)`,
            refresh: 2,
            multi: !dashboard.single,
            includeAll: !dashboard.single,
            ...(dashboard.single ? {} : { allValue: '.*' }),
            sort: 1,
          },
        ],
      },
      panels,
    };
    files[`${name}.json`] = await format(JSON.stringify(json), { parser: 'json' });
  }
  return files;
}

if (isMainModule(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  for (const [file, json] of Object.entries(await renderDashboards()))
    writeFileSync(join(root, DASHBOARD_DIR, file), json);
  console.log(`wrote ${Object.keys(DASHBOARDS).length} dashboards to ${DASHBOARD_DIR}`);
}
