import type { StepStatus } from '../observe/run-report.js';
import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import type { RunReport } from '../observe/run-report.js';
import type { Severity } from '../quality/expectation.js';
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
 * What an attempt adds to the metrics, and nothing more: small and JSON-safe, so that an ad-hoc
 * `sluice run` can leave it in the run store for a serving process to export.
 */
export interface AttemptFigures {
  readonly pipeline: string;
  readonly runId: string;
  /** The run's final status, or `up_for_retry`. */
  readonly status: 'success' | 'failed' | 'canceled' | 'skipped' | 'up_for_retry';
  /** How the attempt itself ended and its time; absent when it did not run (a cached skip). */
  readonly attempt?: {
    readonly status: 'success' | 'failed' | 'canceled';
    readonly seconds: number;
  };
  /** When it ended (epoch milliseconds): the publish time of its datasets. */
  readonly at: number;
  readonly steps: readonly StepFigures[];
}

/** One step's part of {@link AttemptFigures}. */
export interface StepFigures {
  readonly id: string;
  readonly sink: boolean;
  readonly status: StepStatus;
  readonly seconds: number;
  readonly recordsIn: number | null;
  readonly recordsOut: number | null;
  readonly recordsQuarantined: number;
  /** The suite the step evaluated: each expectation's severity and result, and the score (0-1). */
  readonly quality?: {
    readonly results: readonly {
      readonly severity: Severity;
      readonly status: 'passed' | 'failed' | 'error';
    }[];
    readonly score?: number;
  };
}

/**
 * The figures of a finished attempt, taken from its run report.
 *
 * @example
 * ```ts
 * const figures = attemptFigures({ pipeline, runId, outcome, state, report, seconds, at: Date.now() });
 * ```
 */
export function attemptFigures(attempt: RecordedAttempt): AttemptFigures {
  const { pipeline, runId, outcome, report, state } = attempt;
  return {
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
    at: attempt.at,
    steps: (report?.steps ?? []).map((step) => ({
      id: step.id,
      sink: step.kind === 'sink',
      status: step.status,
      seconds: step.durationMs / 1000,
      recordsIn: step.rowsIn,
      recordsOut: step.rowsOut,
      recordsQuarantined: step.rowsQuarantined,
      ...(step.quality === undefined
        ? {}
        : {
            quality: {
              results: step.quality.results.map((result) => ({
                severity: result.expectation_config.severity,
                status: result.exception_info.raised_exception
                  ? ('error' as const)
                  : result.success
                    ? ('passed' as const)
                    : ('failed' as const),
              })),
              ...(step.quality.quality_score === null
                ? {}
                : { score: step.quality.quality_score / 100 }),
            },
          }),
    })),
  };
}

/**
 * The attempt of a run that ran once, outside the orchestrator (`sluice run`): no retry, its
 * state is its report's status.
 *
 * @example
 * ```ts
 * recordAttempt(metrics, singleAttempt(report, Date.now()));
 * ```
 */
export function singleAttempt(report: RunReport, at: number): RecordedAttempt {
  return {
    pipeline: report.pipeline,
    runId: report.runId,
    outcome: { state: report.status },
    state: report.status,
    report,
    seconds: report.durationMs / 1000,
    at,
  };
}

/**
 * Records an attempt's figures: the run by status, its duration, each step's duration and
 * records, rows written per sink, expectations and quality score per checked dataset, and the
 * publish time of each dataset a successful run wrote.
 *
 * @example
 * ```ts
 * recordFigures(metrics, figures);
 * ```
 */
export function recordFigures(metrics: SluiceMetrics, figures: AttemptFigures): void {
  const { pipeline, runId } = figures;
  const published = figures.status === 'success';
  metrics.runFinished({
    pipeline,
    runId,
    status: figures.status,
    ...(figures.attempt === undefined ? {} : { attempt: figures.attempt }),
  });
  for (const step of figures.steps) {
    metrics.stepFinished({
      pipeline,
      runId,
      step: step.id,
      sink: step.sink,
      status: step.status,
      seconds: step.seconds,
      recordsIn: step.recordsIn,
      recordsOut: step.recordsOut,
      recordsQuarantined: step.recordsQuarantined,
      published,
    });
    if (step.quality !== undefined)
      metrics.datasetChecked({
        pipeline,
        runId,
        dataset: step.id,
        results: step.quality.results,
        ...(step.quality.score === undefined ? {} : { score: step.quality.score }),
      });
    if (published && step.sink && step.status === 'success')
      metrics.datasetPublished({ pipeline, dataset: step.id, at: figures.at });
  }
}

/**
 * Records a finished attempt's figures, taken from its run report (see {@link recordFigures}).
 *
 * @example
 * ```ts
 * recordAttempt(metrics, { pipeline: run.pipeline, runId: run.id, outcome, state, report, seconds, at: Date.now() });
 * ```
 */
export function recordAttempt(metrics: SluiceMetrics, attempt: RecordedAttempt): void {
  recordFigures(metrics, attemptFigures(attempt));
}

function finalStatus(
  state: RunState,
  outcome: AttemptOutcome,
): 'success' | 'failed' | 'canceled' | 'skipped' {
  return state === 'success' || state === 'failed' || state === 'canceled' || state === 'skipped'
    ? state
    : outcome.state;
}
