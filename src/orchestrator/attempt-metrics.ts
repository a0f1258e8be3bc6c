import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import type { RunReport } from '../observe/run-report.js';
import type { AttemptOutcome, RunState } from './run-types.js';

/** One attempt the store recorded, as {@link recordAttempt} reads it. */
export interface RecordedAttempt {
  readonly pipeline: string;
  readonly runId: string;
  readonly outcome: AttemptOutcome;
  /** The run's state after the attempt (`up_for_retry` when it will be tried again). */
  readonly state: RunState;
  /** The attempt's run report; absent when it ended before running (a load error, a cached skip). */
  readonly report: RunReport | undefined;
  /** Time the attempt took, used when there is no report. */
  readonly seconds: number;
  /** When the store recorded it (epoch milliseconds). */
  readonly at: number;
}

/**
 * Records a finished attempt's figures, taken from its run report: the run by status, its
 * duration, each step's duration and records, rows written per sink, expectations and quality
 * score per checked dataset, and the publish time of each dataset a successful run wrote.
 *
 * @example
 * ```ts
 * recordAttempt(metrics, { pipeline: run.pipeline, runId: run.id, outcome, state, report, seconds, at: Date.now() });
 * ```
 */
export function recordAttempt(metrics: SluiceMetrics, attempt: RecordedAttempt): void {
  const { pipeline, runId, outcome, report, state } = attempt;
  const published = state === 'success';
  metrics.runFinished({
    pipeline,
    runId,
    status: state === 'up_for_retry' ? 'up_for_retry' : finalStatus(state, outcome),
    ...(outcome.state === 'skipped'
      ? {}
      : {
          attempt:
            report === undefined
              ? { status: outcome.state, seconds: attempt.seconds }
              : { status: report.status, seconds: report.durationMs / 1000 },
        }),
  });
  for (const step of report?.steps ?? []) {
    metrics.stepFinished({
      pipeline,
      runId,
      step: step.id,
      sink: step.kind === 'sink',
      status: step.status,
      seconds: step.durationMs / 1000,
      recordsIn: step.rowsIn,
      recordsOut: step.rowsOut,
      recordsQuarantined: step.rowsQuarantined,
      published,
    });
    if (step.quality !== undefined)
      metrics.datasetChecked({
        pipeline,
        runId,
        dataset: step.id,
        results: step.quality.results.map((result) => ({
          severity: result.expectation_config.severity,
          status: result.exception_info.raised_exception
            ? 'error'
            : result.success
              ? 'passed'
              : 'failed',
        })),
        ...(step.quality.quality_score === null ? {} : { score: step.quality.quality_score / 100 }),
      });
    if (published && step.kind === 'sink' && step.status === 'success')
      metrics.datasetPublished({ pipeline, dataset: step.id, at: attempt.at });
  }
}

function finalStatus(
  state: RunState,
  outcome: AttemptOutcome,
): 'success' | 'failed' | 'canceled' | 'skipped' {
  return state === 'success' || state === 'failed' || state === 'canceled' || state === 'skipped'
    ? state
    : outcome.state;
}
