/**
 * Anomaly checks over a metric's history: pure functions, no I/O. Feed them values read with
 * `MetricHistoryStore.history()`; turn their results into an expectation result with
 * {@link toAnomalyExpectationResult}.
 *
 * @example
 * ```ts
 * const counts = await store.history('orders', 'row_count', { limit: 20, excludeRunId: runId });
 * const check = robustZScoreCheck(counts, metrics.row_count);
 * if (check.status === 'fail') logger.warn(check, 'row count is anomalous');
 * ```
 */
import { ConfigError, UsageError } from '../core/errors.js';

/**
 * How an anomaly check judged a value: `pass`, `fail`, or `insufficient_history` when there is
 * not enough history to judge (the check neither passes nor fails on its own; see
 * {@link toAnomalyExpectationResult}).
 *
 * @example
 * ```ts
 * const status: AnomalyStatus = robustZScoreCheck(history, value).status;
 * if (status === 'insufficient_history') logger.info({ dataset }, 'still learning a baseline');
 * ```
 */
export type AnomalyStatus = 'pass' | 'fail' | 'insufficient_history';

/**
 * Default {@link RobustZScoreOptions.threshold}: Iglewicz and Hoaglin's outlier cut-off.
 *
 * @example
 * ```ts
 * robustZScoreCheck(history, value, { threshold: DEFAULT_ROBUST_Z_THRESHOLD + 1 }); // laxer
 * ```
 */
export const DEFAULT_ROBUST_Z_THRESHOLD = 3.5;
/**
 * Default {@link RobustZScoreOptions.minHistory}.
 *
 * @example
 * ```ts
 * const history = await store.history('orders', 'row_count', { limit: 20 });
 * if (history.length < DEFAULT_MIN_HISTORY) console.log('not judged yet');
 * ```
 */
export const DEFAULT_MIN_HISTORY = 5;
/**
 * Scales the median absolute deviation to estimate the standard deviation of normal data.
 *
 * @example
 * ```ts
 * const mad = MAD_SCALE * median(history.map((x) => Math.abs(x - median(history))));
 * ```
 */
export const MAD_SCALE = 1.4826;
/**
 * Scales the mean absolute deviation likewise (√(π/2)); used when the MAD is 0.
 *
 * @example
 * ```ts
 * robustZScoreCheck([100, 100, 100, 100, 100, 100, 130], 125).scale; // 1.2533 × 30/7
 * ```
 */
export const MEAN_ABSOLUTE_DEVIATION_SCALE = 1.2533;
/**
 * Relative tolerance under which a value equals a constant history:
 * `|observed − median| <= CONSTANT_HISTORY_EPSILON × max(1, |median|)`.
 *
 * @example
 * ```ts
 * robustZScoreCheck([0.3, 0.3, 0.3, 0.3, 0.3], 0.1 + 0.2).status; // 'pass'
 * ```
 */
export const CONSTANT_HISTORY_EPSILON = 1e-9;

/**
 * Options of {@link robustZScoreCheck}.
 *
 * @example
 * ```ts
 * const strictAfterAWeek: RobustZScoreOptions = { threshold: 3, minHistory: 7 };
 * ```
 */
export interface RobustZScoreOptions {
  /**
   * Largest robust z-score (in absolute value) that still passes; a value fails when
   * `|zScore| > threshold`. Default {@link DEFAULT_ROBUST_Z_THRESHOLD} (3.5), the cut-off
   * Iglewicz and Hoaglin recommend for the modified z-score. Must be finite and positive.
   */
  readonly threshold?: number;
  /**
   * Fewest history values needed to judge; with fewer the status is `insufficient_history`.
   * Default {@link DEFAULT_MIN_HISTORY} (5). A positive integer.
   */
  readonly minHistory?: number;
}

/**
 * Which spread divided the deviation from the median: `mad` (the scaled median absolute
 * deviation), `mean_absolute_deviation` (scaled, used when more than half the history equals the
 * median so the MAD is 0), or `constant` (every history value equals the median).
 *
 * @example
 * ```ts
 * robustZScoreCheck([5, 5, 5, 5, 5], 5).scaleKind; // 'constant'
 * ```
 */
export type RobustScaleKind = 'mad' | 'mean_absolute_deviation' | 'constant';

/**
 * The result of {@link robustZScoreCheck}. Every field is JSON-safe (no NaN or Infinity); the
 * statistics are `null` when the status is `insufficient_history`.
 *
 * @example
 * ```ts
 * const r: RobustZScoreResult = robustZScoreCheck([10, 11, 9, 10, 12], 30);
 * // { check: 'robust_z_score', status: 'fail', observed: 30, median: 10, mad: 1.4826, scale: 1.4826,
 * //   scaleKind: 'mad', zScore: 13.49…, threshold: 3.5, historySize: 5, minHistory: 5 }
 * ```
 */
export interface RobustZScoreResult {
  readonly check: 'robust_z_score';
  readonly status: AnomalyStatus;
  /** The value judged (GX `observed_value`). */
  readonly observed: number;
  /** Median of the history. */
  readonly median: number | null;
  /** Scaled MAD: `1.4826 × median(|xᵢ − median|)`, a robust estimate of the standard deviation. */
  readonly mad: number | null;
  /** The spread the deviation was divided by: `mad`, or the fallback named by `scaleKind`. */
  readonly scale: number | null;
  readonly scaleKind: RobustScaleKind | null;
  /**
   * `(observed − median) / scale`. For a constant history: 0 when the value equals it (within
   * {@link CONSTANT_HISTORY_EPSILON}), and `null` (infinitely far, status `fail`) otherwise.
   */
  readonly zScore: number | null;
  readonly threshold: number;
  /** How many history values were given. */
  readonly historySize: number;
  readonly minHistory: number;
}

/**
 * Judges `value` against its history with a robust z-score: how many robust standard deviations
 * (scaled MAD) it lies from the history's median. Median and MAD ignore a minority of outliers,
 * so past anomalies in the history do not mask new ones.
 *
 * `zScore = (value − median) / (1.4826 × MAD)`; the check fails when `|zScore| > threshold`.
 * When the MAD is 0 but the history is not constant, the spread falls back to
 * `1.2533 × mean(|xᵢ − median|)`; when the history is constant, any value other than that
 * constant fails (beyond a relative epsilon of 1e-9) and the same value passes.
 *
 * Throws {@link UsageError} for NaN or infinite values and {@link ConfigError} for a threshold
 * that is not a positive finite number or a `minHistory` that is not a positive integer.
 *
 * @example
 * ```ts
 * robustZScoreCheck([100, 104, 98, 101, 99, 103], 180).status; // 'fail'
 * robustZScoreCheck([100, 104, 98, 101, 99, 103], 102).status; // 'pass'
 * robustZScoreCheck([100, 104], 180).status; // 'insufficient_history'
 * ```
 */
export function robustZScoreCheck(
  history: readonly number[],
  value: number,
  options: RobustZScoreOptions = {},
): RobustZScoreResult {
  const threshold = options.threshold ?? DEFAULT_ROBUST_Z_THRESHOLD;
  const minHistory = options.minHistory ?? DEFAULT_MIN_HISTORY;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0) {
    throw invalidOption('threshold', `must be a positive finite number, got ${show(threshold)}`);
  }
  if (!Number.isInteger(minHistory) || minHistory < 1) {
    throw invalidOption('minHistory', `must be a positive integer, got ${show(minHistory)}`);
  }
  assertFiniteValue('value', value);
  assertFiniteHistory(history);

  const base = {
    check: 'robust_z_score',
    observed: value,
    threshold,
    historySize: history.length,
    minHistory,
  } as const;
  if (history.length < minHistory) {
    return {
      ...base,
      status: 'insufficient_history',
      median: null,
      mad: null,
      scale: null,
      scaleKind: null,
      zScore: null,
    };
  }
  const center = median(history);
  const deviations = history.map((x) => Math.abs(x - center));
  const mad = MAD_SCALE * median(deviations);
  const meanDeviation = deviations.reduce((sum, d) => sum + d, 0) / deviations.length;
  if (!Number.isFinite(mad) || !Number.isFinite(meanDeviation)) {
    throw new UsageError('anomaly check: the history spans too wide a range to judge', {
      hint: 'values beyond about ±1e307 overflow double arithmetic; rescale the metric',
    });
  }
  const deviation = value - center;
  let scaleKind: RobustScaleKind;
  let scale: number;
  let zScore: number | null;
  if (mad > 0) {
    scaleKind = 'mad';
    scale = mad;
    zScore = deviation / mad;
  } else if (meanDeviation > 0) {
    scaleKind = 'mean_absolute_deviation';
    scale = MEAN_ABSOLUTE_DEVIATION_SCALE * meanDeviation;
    zScore = deviation / scale;
  } else {
    scaleKind = 'constant';
    scale = 0;
    const same = Math.abs(deviation) <= CONSTANT_HISTORY_EPSILON * Math.max(1, Math.abs(center));
    zScore = same ? 0 : null;
  }
  if (zScore !== null && !Number.isFinite(zScore)) zScore = null;
  const status = zScore !== null && Math.abs(zScore) <= threshold ? 'pass' : 'fail';
  return { ...base, status, median: center, mad, scale, scaleKind, zScore };
}

/**
 * Which changes {@link relativeChangeCheck} judges.
 *
 * @example
 * ```ts
 * const onlyDrops: ChangeDirection = 'decrease';
 * ```
 */
export type ChangeDirection = 'both' | 'increase' | 'decrease';

/**
 * Options of {@link relativeChangeCheck}.
 *
 * @example
 * ```ts
 * const noBigDrop: RelativeChangeOptions = { maxChangePercent: 20, direction: 'decrease' };
 * ```
 */
export interface RelativeChangeOptions {
  /**
   * Largest change that still passes, in percent of the previous value's magnitude; a value
   * fails when `|changePercent| > maxChangePercent` in a judged direction. Finite, >= 0.
   */
  readonly maxChangePercent: number;
  /**
   * `both` (default) judges rises and falls; `increase` only rises; `decrease` only falls
   * (e.g. "row count must not drop more than 20%").
   */
  readonly direction?: ChangeDirection;
}

/**
 * The result of {@link relativeChangeCheck}. JSON-safe; `previous`, `change` and
 * `changePercent` are `null` when there is no previous value.
 *
 * @example
 * ```ts
 * const r: RelativeChangeResult = relativeChangeCheck(1000, 700, { maxChangePercent: 20 });
 * // { check: 'relative_change', status: 'fail', observed: 700, previous: 1000, change: -300,
 * //   changePercent: -30, maxChangePercent: 20, direction: 'both' }
 * ```
 */
export interface RelativeChangeResult {
  readonly check: 'relative_change';
  readonly status: AnomalyStatus;
  /** The value judged (GX `observed_value`). */
  readonly observed: number;
  readonly previous: number | null;
  /** `observed − previous`. */
  readonly change: number | null;
  /**
   * `(observed − previous) / |previous| × 100`, signed (negative for a fall even when values are
   * negative). When the previous value is 0: 0 if the value is 0 too, otherwise `null`
   * (an infinite change, which fails in a judged direction).
   */
  readonly changePercent: number | null;
  readonly maxChangePercent: number;
  readonly direction: ChangeDirection;
}

/**
 * Judges the change of a metric from the previous run: fails when it moved by more than
 * `maxChangePercent` percent of the previous value (in a judged direction). Without a previous
 * value the status is `insufficient_history`. From a previous value of 0, staying at 0 passes
 * and any other value is an infinite change (fails, unless its direction is not judged).
 *
 * Throws {@link UsageError} for NaN or infinite values and {@link ConfigError} for a
 * `maxChangePercent` that is negative or not finite, or an unknown direction.
 *
 * @example
 * ```ts
 * relativeChangeCheck(1000, 1150, { maxChangePercent: 20 }).status; // 'pass' (+15%)
 * relativeChangeCheck(1000, 700, { maxChangePercent: 20, direction: 'decrease' }).status; // 'fail'
 * relativeChangeCheck(undefined, 700, { maxChangePercent: 20 }).status; // 'insufficient_history'
 * ```
 */
export function relativeChangeCheck(
  previous: number | undefined,
  value: number,
  options: RelativeChangeOptions,
): RelativeChangeResult {
  const maxChangePercent = options?.maxChangePercent;
  const direction = options?.direction ?? 'both';
  if (
    typeof maxChangePercent !== 'number' ||
    !Number.isFinite(maxChangePercent) ||
    maxChangePercent < 0
  ) {
    throw invalidOption(
      'maxChangePercent',
      `must be a finite number >= 0, got ${show(maxChangePercent)}`,
    );
  }
  if (direction !== 'both' && direction !== 'increase' && direction !== 'decrease') {
    throw invalidOption(
      'direction',
      `must be "both", "increase" or "decrease", got ${show(direction)}`,
    );
  }
  assertFiniteValue('value', value);
  if (previous !== undefined) assertFiniteValue('previous', previous);

  const base = { check: 'relative_change', observed: value, maxChangePercent, direction } as const;
  if (previous === undefined) {
    return {
      ...base,
      status: 'insufficient_history',
      previous: null,
      change: null,
      changePercent: null,
    };
  }
  const change = value - previous;
  const raw =
    previous === 0
      ? change === 0
        ? 0
        : Infinity * Math.sign(change)
      : (change / Math.abs(previous)) * 100;
  const judged = direction === 'both' || (direction === 'increase' ? raw > 0 : raw < 0);
  const status = judged && Math.abs(raw) > maxChangePercent ? 'fail' : 'pass';
  return {
    ...base,
    status,
    previous,
    change: Number.isFinite(change) ? change : null,
    changePercent: Number.isFinite(raw) ? raw : null,
  };
}

/**
 * Either anomaly check's result; `check` tells which.
 *
 * @example
 * ```ts
 * const results: AnomalyCheckResult[] = [robustZScoreCheck(h, v), relativeChangeCheck(p, v, { maxChangePercent: 10 })];
 * const failed = results.filter((r) => r.status === 'fail').map((r) => r.check);
 * ```
 */
export type AnomalyCheckResult = RobustZScoreResult | RelativeChangeResult;

/**
 * The `result` part of a Great-Expectations-style expectation result for an anomaly check:
 * `observed_value` is the value judged; `details` holds the check's statistics in snake_case
 * (`status`, and `median`, `mad`, `scale`, `scale_kind`, `z_score`, `threshold`,
 * `history_size`, `min_history` for the robust z-score, or `previous_value`, `change`,
 * `change_percent`, `max_change_percent`, `direction` for the relative change).
 *
 * @example
 * ```ts
 * const { success, result } = toAnomalyExpectationResult(check);
 * const gx = { success, expectation_config, result, exception_info };
 * ```
 */
export interface AnomalyExpectationResult {
  /** False only when the status is `fail`; `insufficient_history` does not fail a suite. */
  readonly success: boolean;
  readonly result: {
    readonly observed_value: number;
    readonly details: Readonly<Record<string, string | number | null>>;
  };
}

/**
 * Shapes an anomaly check's result like a GX expectation result (`success`, and `result` with
 * `observed_value` and `details`). An `insufficient_history` status counts as success, as
 * anomaly monitors do until they have learned a baseline; `details.status` says it was not
 * judged, so a caller that wants it to fail can check for it.
 *
 * @example
 * ```ts
 * toAnomalyExpectationResult(robustZScoreCheck([10, 11, 9, 10, 12], 30));
 * // { success: false, result: { observed_value: 30, details: { status: 'fail', median: 10, z_score: 13.49…, … } } }
 * ```
 */
export function toAnomalyExpectationResult(check: AnomalyCheckResult): AnomalyExpectationResult {
  const details: Record<string, string | number | null> =
    check.check === 'robust_z_score'
      ? {
          check: check.check,
          status: check.status,
          median: check.median,
          mad: check.mad,
          scale: check.scale,
          scale_kind: check.scaleKind,
          z_score: check.zScore,
          threshold: check.threshold,
          history_size: check.historySize,
          min_history: check.minHistory,
        }
      : {
          check: check.check,
          status: check.status,
          previous_value: check.previous,
          change: check.change,
          change_percent: check.changePercent,
          max_change_percent: check.maxChangePercent,
          direction: check.direction,
        };
  return {
    success: check.status !== 'fail',
    result: { observed_value: check.observed, details },
  };
}

/**
 * The median of a non-empty list (the mean of the two middle values for an even length).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * median([4, 1, 2, 3]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new UsageError('the median of an empty list is undefined');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2;
}

function assertFiniteValue(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new UsageError(`anomaly check: ${name} must be a finite number, got ${show(value)}`, {
      hint: 'a NaN or infinite metric cannot be judged; check how the metric was computed',
    });
  }
}

function assertFiniteHistory(history: readonly number[]): void {
  if (!Array.isArray(history)) {
    throw new UsageError(
      `anomaly check: history must be an array of numbers, got ${show(history)}`,
    );
  }
  const bad = history.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
  if (bad >= 0) {
    throw new UsageError(
      `anomaly check: history[${bad}] must be a finite number, got ${show(history[bad])}`,
      { hint: 'a NaN or infinite metric cannot be judged; check how the metric was computed' },
    );
  }
}

function invalidOption(path: string, message: string): ConfigError {
  return new ConfigError([
    { code: 'invalid-anomaly-option', path, message: `anomaly check option "${path}" ${message}` },
  ]);
}

function show(value: unknown): string {
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}
