import type { StepStatus } from '../run-report.js';
import type { Severity } from '../../quality/expectation.js';

/** How a run ended for good (`skipped`: a cached success made running it unnecessary). */
export type FinalRunStatus = 'success' | 'failed' | 'canceled' | 'skipped';

/** One attempt that ended, for {@link SluiceMetrics.runFinished}. */
export interface RunFinished {
  readonly pipeline: string;
  /** Carried as an exemplar, never as a label. */
  readonly runId: string;
  /** The run's final status, or `up_for_retry` when the attempt failed and will be retried. */
  readonly status: FinalRunStatus | 'up_for_retry';
  /** How the attempt itself ended; absent when it did not run (a cached skip). */
  readonly attempt?: {
    readonly status: 'success' | 'failed' | 'canceled';
    readonly seconds: number;
  };
}

/** One step of an attempt that ended, for {@link SluiceMetrics.stepFinished}. */
export interface StepFinished {
  readonly pipeline: string;
  readonly runId: string;
  readonly step: string;
  /** Sinks also count their rows written when the attempt succeeded. */
  readonly sink: boolean;
  readonly status: StepStatus;
  readonly seconds: number;
  /** Null when the step's count is not known. */
  readonly recordsIn: number | null;
  readonly recordsOut: number | null;
  readonly recordsQuarantined: number;
  /** Whether the attempt succeeded, so that a sink's rows were published. */
  readonly published: boolean;
}

/** The expectations one suite evaluated on a dataset, for {@link SluiceMetrics.datasetChecked}. */
export interface DatasetChecked {
  readonly pipeline: string;
  readonly runId: string;
  readonly dataset: string;
  readonly results: readonly {
    readonly severity: Severity;
    readonly status: 'passed' | 'failed' | 'error';
  }[];
  /** The suite's quality score, 0 to 1 (absent when nothing was evaluated). */
  readonly score?: number;
}

/** Runs of one pipeline in the store, by state, for {@link SluiceMetrics.observeRunQueue}. */
export interface RunQueueCount {
  readonly pipeline: string;
  readonly queued: number;
  readonly running: number;
}

/** A stream checkpoint, for {@link SluiceMetrics.streamCheckpoint}. */
export interface StreamCheckpoint {
  readonly pipeline: string;
  readonly seconds: number;
  /** False when the checkpoint failed. */
  readonly ok: boolean;
  /** Size of the checkpoint written, when it succeeded and its size is known. */
  readonly bytes?: number;
}

/**
 * The recording facade: each place in the engine that has something to count makes one call.
 * Implementations must be cheap (a few label look-ups and additions) and never throw into the
 * caller; {@link noMetrics} records nothing, and `createPrometheusMetrics()` keeps the values
 * for `GET /metrics`.
 *
 * @example
 * ```ts
 * metrics.runFinished({ pipeline: 'orders', runId, status: 'success', attempt: { status: 'success', seconds: 4.2 } });
 * ```
 */
export interface SluiceMetrics {
  /** An attempt ended (and with it the run, unless it is up for retry). */
  runFinished(event: RunFinished): void;
  /** A step of an attempt ended. */
  stepFinished(event: StepFinished): void;
  /** A suite checked a dataset. */
  datasetChecked(event: DatasetChecked): void;
  /** A successful run published `dataset` at `at` (epoch milliseconds). */
  datasetPublished(event: { pipeline: string; dataset: string; at: number }): void;
  /** This process lost a run's lease to another worker. */
  leaseTakenOver(event: { pipeline: string; runId: string }): void;
  /** One scheduler pass over every pipeline took `seconds`. */
  schedulerLoop(event: { seconds: number }): void;
  /** The scheduler created a run `seconds` after its interval came due. */
  scheduleLag(event: { pipeline: string; seconds: number }): void;
  /** The alert engine delivered a notification group to a channel, or failed to. */
  alertDelivered(event: { channel: string; status: 'sent' | 'failed' | 'given_up' }): void;
  /** Reads the queue depth and running runs from the store each scrape (replaces an earlier reader). */
  observeRunQueue(read: () => Promise<readonly RunQueueCount[]>): void;
  /** A stream step read (`in`) or emitted (`out`) `count` records. */
  streamRecords(event: {
    pipeline: string;
    step: string;
    direction: 'in' | 'out';
    count: number;
  }): void;
  /** A stream step set aside `count` invalid records, or saw `count` late ones. */
  streamRejected(event: {
    pipeline: string;
    step: string;
    reason: 'invalid' | 'late';
    count: number;
  }): void;
  /** A stream source's backlog (records) and event-time lag (seconds), each when known. */
  streamSourceLag(event: {
    pipeline: string;
    step: string;
    records?: number;
    seconds?: number;
  }): void;
  /** A stream's watermark moved to `at` (epoch milliseconds). */
  streamWatermark(event: { pipeline: string; at: number }): void;
  /** A stream checkpoint ended. */
  streamCheckpoint(event: StreamCheckpoint): void;
  /** A stream sink committed in `seconds`. */
  streamSinkCommit(event: { pipeline: string; step: string; seconds: number }): void;
  /** A stateful stream step now holds `entries` keys. */
  streamStateEntries(event: { pipeline: string; step: string; entries: number }): void;
  /** `count` OpenLineage events were dropped (a full transport queue, a failed delivery). */
  lineageEventsDropped(event: { count: number }): void;
}

/**
 * Records nothing: what the engine uses when no one exports metrics (`sluice run`, tests).
 *
 * @example
 * ```ts
 * await runWorker({ store, project, metrics: noMetrics });
 * ```
 */
export const noMetrics: SluiceMetrics = Object.freeze({
  runFinished: () => undefined,
  stepFinished: () => undefined,
  datasetChecked: () => undefined,
  datasetPublished: () => undefined,
  leaseTakenOver: () => undefined,
  schedulerLoop: () => undefined,
  scheduleLag: () => undefined,
  alertDelivered: () => undefined,
  observeRunQueue: () => undefined,
  streamRecords: () => undefined,
  streamRejected: () => undefined,
  streamSourceLag: () => undefined,
  streamWatermark: () => undefined,
  streamCheckpoint: () => undefined,
  streamSinkCommit: () => undefined,
  streamStateEntries: () => undefined,
  lineageEventsDropped: () => undefined,
});
