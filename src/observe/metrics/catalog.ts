/** The kinds of metric family Sluice exports. */
export type MetricType = 'counter' | 'gauge' | 'histogram';

/**
 * The label names a family may carry. Every one is bounded by the project's definitions (its
 * pipelines, steps and datasets) or by a fixed list of values; run ids, row values and file
 * names never become labels (run ids travel as OpenMetrics exemplars instead).
 */
export type MetricLabel =
  | 'pipeline'
  | 'step'
  | 'dataset'
  | 'status'
  | 'severity'
  | 'direction'
  | 'version'
  | 'node_version'
  | 'channel';

/** What part of Sluice emits a family; the documentation groups families by it. */
export type MetricArea = 'batch' | 'orchestrator' | 'stream' | 'process';

/**
 * One metric family, described as data: the exposition, the recording facade and
 * `docs/observability.md` are all built from these.
 *
 * @example
 * ```ts
 * const family: MetricFamily = {
 *   name: 'sluice_runs_total', type: 'counter', area: 'orchestrator', unit: 'runs',
 *   help: 'Runs that ended, by final status.', labels: ['pipeline', 'status'],
 * };
 * ```
 */
export interface MetricFamily {
  /** `sluice_`-prefixed, in base units; counters end in `_total`. */
  readonly name: string;
  readonly type: MetricType;
  readonly area: MetricArea;
  /** One sentence: what a sample counts or measures. */
  readonly help: string;
  /** The base unit of a value (seconds, bytes, records, ...), as the name ends. */
  readonly unit: string;
  readonly labels: readonly MetricLabel[];
  /** The values a closed label takes (`status`, `direction`, `severity`). */
  readonly labelValues?: Readonly<Partial<Record<MetricLabel, readonly string[]>>>;
  /** Histogram bucket upper bounds, increasing. */
  readonly buckets?: readonly number[];
  /** Whether samples carry the run id as an OpenMetrics exemplar (`run_id`). */
  readonly exemplars?: boolean;
}

// Ten buckets each: a histogram series costs one per bucket, times pipelines and statuses.
const RUN_SECONDS = [0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 10800];
const STEP_SECONDS = [0.01, 0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600];
const LOOP_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_SECONDS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600];
const COMMIT_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const FINAL_RUN_STATUSES = ['success', 'failed', 'canceled', 'skipped'];
const ATTEMPT_STATUSES = ['success', 'failed', 'canceled'];

/**
 * Every metric family Sluice exports, keyed by the name the recording facade uses. The
 * `dataset` label is a dataset's name in its pipeline: the id of the step that produces it
 * (a check step carries the name of the dataset it checks; a sink step, of what it publishes).
 *
 * @example
 * ```ts
 * for (const family of Object.values(METRIC_FAMILIES)) console.log(family.name, family.type);
 * ```
 */
export const METRIC_FAMILIES = {
  runs: {
    name: 'sluice_runs_total',
    type: 'counter',
    area: 'orchestrator',
    unit: 'runs',
    help: 'Runs that ended, by final status (an attempt that will be retried is counted in sluice_run_retries_total instead).',
    labels: ['pipeline', 'status'],
    labelValues: { status: FINAL_RUN_STATUSES },
    exemplars: true,
  },
  runDuration: {
    name: 'sluice_run_duration_seconds',
    type: 'histogram',
    area: 'orchestrator',
    unit: 'seconds',
    help: 'Time from the start to the end of each attempt that ran, by how the attempt ended.',
    labels: ['pipeline', 'status'],
    labelValues: { status: ATTEMPT_STATUSES },
    buckets: RUN_SECONDS,
    exemplars: true,
  },
  stepDuration: {
    name: 'sluice_step_duration_seconds',
    type: 'histogram',
    area: 'batch',
    unit: 'seconds',
    help: "Time each step that ran (succeeded or failed) took, over all of a pipeline's steps (per step: sluice_step_seconds_total; failures: sluice_step_failures_total).",
    labels: ['pipeline'],
    buckets: STEP_SECONDS,
    exemplars: true,
  },
  stepSeconds: {
    name: 'sluice_step_seconds_total',
    type: 'counter',
    area: 'batch',
    unit: 'seconds',
    help: 'Time a step took, added up over the attempts that ran it (the share of each step in the time of its pipeline).',
    labels: ['pipeline', 'step'],
    exemplars: true,
  },
  stepFailures: {
    name: 'sluice_step_failures_total',
    type: 'counter',
    area: 'batch',
    unit: 'steps',
    help: 'Attempts in which the step failed (the step that broke a run, retried or not).',
    labels: ['pipeline', 'step'],
    exemplars: true,
  },
  stepRecords: {
    name: 'sluice_step_records_total',
    type: 'counter',
    area: 'batch',
    unit: 'records',
    help: 'Records a step read (in) and produced or wrote (out); steps whose counts are not known add nothing.',
    labels: ['pipeline', 'step', 'direction'],
    labelValues: { direction: ['in', 'out'] },
    exemplars: true,
  },
  stepQuarantined: {
    name: 'sluice_step_quarantined_records_total',
    type: 'counter',
    area: 'batch',
    unit: 'records',
    help: 'Records a step set aside in quarantine, with their reasons, instead of passing them on.',
    labels: ['pipeline', 'step'],
    exemplars: true,
  },
  sinkRowsWritten: {
    name: 'sluice_sink_rows_written_total',
    type: 'counter',
    area: 'batch',
    unit: 'rows',
    help: 'Rows a sink step wrote in attempts that succeeded (published to its target).',
    labels: ['pipeline', 'step'],
    exemplars: true,
  },
  expectations: {
    name: 'sluice_expectations_total',
    type: 'counter',
    area: 'batch',
    unit: 'expectations',
    help: 'Expectations evaluated on a dataset, by result (error: the expectation itself could not be evaluated) and severity.',
    labels: ['pipeline', 'dataset', 'status', 'severity'],
    labelValues: {
      status: ['passed', 'failed', 'error'],
      severity: ['error', 'quarantine', 'warn'],
    },
    exemplars: true,
  },
  qualityScore: {
    name: 'sluice_dataset_quality_score',
    type: 'gauge',
    area: 'batch',
    unit: 'ratio',
    help: "The latest quality score of a dataset, 0 to 1: its suite's passed expectations weighted by severity (error 3, quarantine 2, warn 1).",
    labels: ['pipeline', 'dataset'],
  },
  lastSuccess: {
    name: 'sluice_dataset_last_success_timestamp_seconds',
    type: 'gauge',
    area: 'orchestrator',
    unit: 'seconds',
    help: 'When a run that published the dataset last succeeded (Unix time); freshness is time() minus it.',
    labels: ['pipeline', 'dataset'],
  },
  retries: {
    name: 'sluice_run_retries_total',
    type: 'counter',
    area: 'orchestrator',
    unit: 'attempts',
    help: 'Attempts that failed and left the run up for retry.',
    labels: ['pipeline'],
    exemplars: true,
  },
  leaseTakeovers: {
    name: 'sluice_lease_takeovers_total',
    type: 'counter',
    area: 'orchestrator',
    unit: 'attempts',
    help: "Attempts this process stopped because another worker took the run's lease over (this one was presumed dead).",
    labels: ['pipeline'],
    exemplars: true,
  },
  queuedRuns: {
    name: 'sluice_queued_runs',
    type: 'gauge',
    area: 'orchestrator',
    unit: 'runs',
    help: 'Runs waiting in the run store for a worker (queued or up for retry), read from the store at scrape time.',
    labels: ['pipeline'],
  },
  runningRuns: {
    name: 'sluice_running_runs',
    type: 'gauge',
    area: 'orchestrator',
    unit: 'runs',
    help: 'Runs a worker holds a lease on, read from the run store at scrape time.',
    labels: ['pipeline'],
  },
  schedulerLoopDuration: {
    name: 'sluice_scheduler_loop_duration_seconds',
    type: 'histogram',
    area: 'orchestrator',
    unit: 'seconds',
    help: 'Time one pass of the scheduler over every pipeline took (loading, registering, scheduling, SLAs, sensors).',
    labels: [],
    buckets: LOOP_SECONDS,
  },
  schedulerLag: {
    name: 'sluice_scheduler_lag_seconds',
    type: 'histogram',
    area: 'orchestrator',
    unit: 'seconds',
    help: 'How long after its interval ended (it came due) the scheduler created each scheduled run.',
    labels: ['pipeline'],
    buckets: LAG_SECONDS,
  },
  alertNotifications: {
    name: 'sluice_alert_notifications_total',
    type: 'counter',
    area: 'orchestrator',
    unit: 'notifications',
    help: 'Deliveries of a notification group to an alert channel: sent, failed (retried later) or given_up (after the last attempt).',
    labels: ['channel', 'status'],
    labelValues: { status: ['sent', 'failed', 'given_up'] },
  },
  streamRecords: {
    name: 'sluice_stream_records_total',
    type: 'counter',
    area: 'stream',
    unit: 'records',
    help: 'Records a stream step read (in) or emitted (out).',
    labels: ['pipeline', 'step', 'direction'],
    labelValues: { direction: ['in', 'out'] },
  },
  streamInvalid: {
    name: 'sluice_stream_invalid_records_total',
    type: 'counter',
    area: 'stream',
    unit: 'records',
    help: 'Records a stream step found invalid (failed decoding, typing or a row expectation) and set aside.',
    labels: ['pipeline', 'step'],
  },
  streamLate: {
    name: 'sluice_stream_late_records_total',
    type: 'counter',
    area: 'stream',
    unit: 'records',
    help: 'Records that arrived behind the watermark, after their window closed.',
    labels: ['pipeline', 'step'],
  },
  streamSourceLagRecords: {
    name: 'sluice_stream_source_lag_records',
    type: 'gauge',
    area: 'stream',
    unit: 'records',
    help: "Records a stream source has not read yet (the broker's backlog for this consumer).",
    labels: ['pipeline', 'step'],
  },
  streamSourceLagSeconds: {
    name: 'sluice_stream_source_lag_seconds',
    type: 'gauge',
    area: 'stream',
    unit: 'seconds',
    help: 'How far the event time of the latest record a stream source read is behind the clock.',
    labels: ['pipeline', 'step'],
  },
  streamWatermark: {
    name: 'sluice_stream_watermark_timestamp_seconds',
    type: 'gauge',
    area: 'stream',
    unit: 'seconds',
    help: "A stream's watermark (Unix time): no record older than this is expected any more.",
    labels: ['pipeline'],
  },
  checkpointDuration: {
    name: 'sluice_stream_checkpoint_duration_seconds',
    type: 'histogram',
    area: 'stream',
    unit: 'seconds',
    help: 'Time a stream checkpoint took, successful or not.',
    labels: ['pipeline'],
    buckets: COMMIT_SECONDS,
  },
  checkpointSize: {
    name: 'sluice_stream_checkpoint_size_bytes',
    type: 'gauge',
    area: 'stream',
    unit: 'bytes',
    help: "Size of a stream's latest successful checkpoint.",
    labels: ['pipeline'],
  },
  checkpointFailures: {
    name: 'sluice_stream_checkpoint_failures_total',
    type: 'counter',
    area: 'stream',
    unit: 'checkpoints',
    help: 'Stream checkpoints that failed (the stream goes on from its previous checkpoint).',
    labels: ['pipeline'],
  },
  sinkCommitDuration: {
    name: 'sluice_stream_sink_commit_duration_seconds',
    type: 'histogram',
    area: 'stream',
    unit: 'seconds',
    help: 'Time a stream sink took to commit what a checkpoint covers.',
    labels: ['pipeline', 'step'],
    buckets: COMMIT_SECONDS,
  },
  stateEntries: {
    name: 'sluice_stream_state_entries',
    type: 'gauge',
    area: 'stream',
    unit: 'entries',
    help: 'Keys a stateful stream step holds (open windows, join buffers, deduplication keys).',
    labels: ['pipeline', 'step'],
  },
  lineageEventsDropped: {
    name: 'sluice_lineage_events_dropped_total',
    type: 'counter',
    area: 'process',
    unit: 'events',
    help: 'OpenLineage events this process dropped: a transport queue was full, or delivery failed after its retries.',
    labels: [],
  },
  buildInfo: {
    name: 'sluice_build_info',
    type: 'gauge',
    area: 'process',
    unit: 'info',
    help: 'Always 1; its labels say which Sluice version and Node.js runtime this process runs.',
    labels: ['version', 'node_version'],
  },
} as const satisfies Record<string, MetricFamily>;

/** The facade's name of a family. */
export type MetricKey = keyof typeof METRIC_FAMILIES;
