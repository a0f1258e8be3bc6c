import { describe, expect, it } from 'vitest';
import { ConfigError, SluiceError, UsageError } from '../core/errors.js';
import {
  CONSTANT_HISTORY_EPSILON,
  DEFAULT_MIN_HISTORY,
  DEFAULT_ROBUST_Z_THRESHOLD,
  MAD_SCALE,
  median,
  relativeChangeCheck,
  robustZScoreCheck,
  toAnomalyExpectationResult,
} from './anomaly.js';

describe('robustZScoreCheck', () => {
  const history = [10, 11, 9, 10, 12]; // median 10, |dev| = [0,1,1,0,2], MAD 1

  it('computes median, scaled MAD and the robust z-score', () => {
    const result = robustZScoreCheck(history, 30);
    expect(result).toEqual({
      check: 'robust_z_score',
      status: 'fail',
      observed: 30,
      median: 10,
      mad: MAD_SCALE,
      scale: MAD_SCALE,
      scaleKind: 'mad',
      zScore: 20 / MAD_SCALE,
      threshold: DEFAULT_ROBUST_Z_THRESHOLD,
      historySize: 5,
      minHistory: DEFAULT_MIN_HISTORY,
    });
    expect(robustZScoreCheck(history, 11).status).toBe('pass');
    expect(robustZScoreCheck(history, 11).zScore).toBeCloseTo(1 / MAD_SCALE, 12);
    // Drops are as anomalous as spikes: the score is signed, the test two-sided.
    const drop = robustZScoreCheck(history, -10);
    expect(drop.status).toBe('fail');
    expect(drop.zScore).toBeCloseTo(-20 / MAD_SCALE, 12);
  });

  it('defaults: threshold 3.5 and a minimum history of 5', () => {
    expect(DEFAULT_ROBUST_Z_THRESHOLD).toBe(3.5);
    expect(DEFAULT_MIN_HISTORY).toBe(5);
    expect(robustZScoreCheck(history, 10 + 3.4 * MAD_SCALE).status).toBe('pass');
    expect(robustZScoreCheck(history, 10 + 3.6 * MAD_SCALE).status).toBe('fail');
  });

  it('reports insufficient history for empty and short histories, without statistics', () => {
    for (const short of [[], [1], [1, 2, 3, 4]]) {
      const result = robustZScoreCheck(short, 1000);
      expect(result).toMatchObject({
        status: 'insufficient_history',
        observed: 1000,
        median: null,
        mad: null,
        zScore: null,
        historySize: short.length,
        minHistory: 5,
      });
    }
    expect(robustZScoreCheck([1, 2], 1000, { minHistory: 2 }).status).toBe('fail');
    expect(robustZScoreCheck(history, 1000, { minHistory: 6 }).status).toBe('insufficient_history');
  });

  it('constant history: the same value passes, any other value fails', () => {
    const constant = [500, 500, 500, 500, 500, 500];
    expect(robustZScoreCheck(constant, 500)).toMatchObject({
      status: 'pass',
      zScore: 0,
      mad: 0,
      scale: 0,
      scaleKind: 'constant',
    });
    // Within the relative epsilon (floating-point noise) is still the same value.
    expect(robustZScoreCheck(constant, 500 * (1 + CONSTANT_HISTORY_EPSILON / 2)).status).toBe(
      'pass',
    );
    for (const other of [501, 499, 500.001, 0, -500]) {
      expect(robustZScoreCheck(constant, other)).toMatchObject({
        status: 'fail',
        zScore: null,
        scaleKind: 'constant',
      });
    }
    expect(robustZScoreCheck([0, 0, 0, 0, 0], 0).status).toBe('pass');
    expect(robustZScoreCheck([0, 0, 0, 0, 0], 1e-6).status).toBe('fail');
  });

  it('MAD of 0 with a varying history falls back to the mean absolute deviation', () => {
    // More than half the values equal the median, so the MAD is 0; one past outlier.
    const mostlyConstant = [100, 100, 100, 100, 100, 100, 130];
    const same = robustZScoreCheck(mostlyConstant, 100);
    expect(same).toMatchObject({ status: 'pass', mad: 0, scaleKind: 'mean_absolute_deviation' });
    const meanDeviation = 30 / 7;
    const result = robustZScoreCheck(mostlyConstant, 125);
    expect(result.scale).toBeCloseTo(1.2533 * meanDeviation, 12);
    expect(result.zScore).toBeCloseTo(25 / (1.2533 * meanDeviation), 12); // 4.65
    expect(result.status).toBe('fail');
    expect(robustZScoreCheck(mostlyConstant, 110).zScore).toBeCloseTo(1.86, 2);
    expect(robustZScoreCheck(mostlyConstant, 110).status).toBe('pass');
  });

  it('handles negative values and histories that cross zero', () => {
    const negative = [-100, -102, -98, -101, -99, -100];
    expect(robustZScoreCheck(negative, -100).status).toBe('pass');
    expect(robustZScoreCheck(negative, -150).status).toBe('fail');
    expect(robustZScoreCheck(negative, -50).status).toBe('fail');
    const crossing = [-2, -1, 0, 1, 2];
    expect(robustZScoreCheck(crossing, 0).zScore).toBe(0);
    expect(robustZScoreCheck(crossing, -6).status).toBe('fail');
  });

  it('is not fooled by past outliers in the history (a minority of them)', () => {
    const withSpikes = [100, 101, 99, 5000, 100, 102, 98, -3000, 100, 101];
    expect(robustZScoreCheck(withSpikes, 101).status).toBe('pass');
    expect(robustZScoreCheck(withSpikes, 130).status).toBe('fail');
  });

  it('passes at exactly the threshold and fails just above it', () => {
    const { zScore } = robustZScoreCheck(history, 14.2);
    const z = Math.abs(zScore ?? Number.NaN);
    expect(robustZScoreCheck(history, 14.2, { threshold: z }).status).toBe('pass');
    expect(robustZScoreCheck(history, 14.2, { threshold: z * (1 - 1e-12) }).status).toBe('fail');
    expect(robustZScoreCheck(history, 14.2, { threshold: 100 }).status).toBe('pass');
  });

  it('rejects NaN and Infinity inputs with a clear UsageError', () => {
    const bad = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    for (const value of bad) {
      expect(() => robustZScoreCheck(history, value)).toThrow(UsageError);
      expect(() => robustZScoreCheck(history, value)).toThrow(/value must be a finite number/);
      expect(() => robustZScoreCheck([...history, value], 10)).toThrow(
        /history\[5\] must be a finite number/,
      );
      // Even when the history is too short to judge: bad input is never silently accepted.
      expect(() => robustZScoreCheck([value], 10)).toThrow(UsageError);
    }
    expect(() => robustZScoreCheck(history, '10' as unknown as number)).toThrow(UsageError);
    expect(() => robustZScoreCheck(null as unknown as number[], 10)).toThrow(UsageError);
    try {
      robustZScoreCheck(history, Number.NaN);
    } catch (error) {
      expect(error).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).code).toBe('USAGE');
    }
  });

  it('rejects invalid options with a ConfigError', () => {
    for (const threshold of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => robustZScoreCheck(history, 10, { threshold })).toThrow(ConfigError);
    }
    for (const minHistory of [0, -1, 2.5, Number.NaN]) {
      expect(() => robustZScoreCheck(history, 10, { minHistory })).toThrow(ConfigError);
    }
    expect(() => robustZScoreCheck(history, 10, { threshold: -1 })).toThrow(
      /option "threshold" must be a positive finite number, got -1/,
    );
  });

  it('stays JSON-safe at the edges of double range', () => {
    const huge = robustZScoreCheck([1, 1, 1, 2, 2], Number.MAX_VALUE); // z overflows
    expect(huge).toMatchObject({ status: 'fail', zScore: null });
    expect(JSON.parse(JSON.stringify(huge))).toEqual(huge);
    expect(() => robustZScoreCheck([-Number.MAX_VALUE, Number.MAX_VALUE, 0, 1, -1, 2], 0)).toThrow(
      /too wide a range/,
    );
    const jump = relativeChangeCheck(-Number.MAX_VALUE, Number.MAX_VALUE, { maxChangePercent: 1 });
    expect(jump).toMatchObject({ status: 'fail', change: null });
    expect(JSON.parse(JSON.stringify(jump))).toEqual(jump);
  });

  it('does not modify the history it is given', () => {
    const values = [5, 3, 9, 1, 7];
    robustZScoreCheck(values, 4);
    expect(values).toEqual([5, 3, 9, 1, 7]);
  });
});

describe('relativeChangeCheck', () => {
  it('reports the signed change in percent of the previous value', () => {
    expect(relativeChangeCheck(1000, 1150, { maxChangePercent: 20 })).toEqual({
      check: 'relative_change',
      status: 'pass',
      observed: 1150,
      previous: 1000,
      change: 150,
      changePercent: 15,
      maxChangePercent: 20,
      direction: 'both',
    });
    expect(relativeChangeCheck(1000, 700, { maxChangePercent: 20 })).toMatchObject({
      status: 'fail',
      changePercent: -30,
    });
  });

  it('reports insufficient history without a previous value', () => {
    expect(relativeChangeCheck(undefined, 5, { maxChangePercent: 10 })).toEqual({
      check: 'relative_change',
      status: 'insufficient_history',
      observed: 5,
      previous: null,
      change: null,
      changePercent: null,
      maxChangePercent: 10,
      direction: 'both',
    });
  });

  it('from a previous value of 0: 0 passes, anything else is an infinite change', () => {
    expect(relativeChangeCheck(0, 0, { maxChangePercent: 0 })).toMatchObject({
      status: 'pass',
      changePercent: 0,
    });
    expect(relativeChangeCheck(0, 1, { maxChangePercent: 1e6 })).toMatchObject({
      status: 'fail',
      change: 1,
      changePercent: null,
    });
    expect(relativeChangeCheck(0, -1, { maxChangePercent: 50 }).status).toBe('fail');
    // A direction that is not judged still passes.
    expect(relativeChangeCheck(0, 5, { maxChangePercent: 50, direction: 'decrease' }).status).toBe(
      'pass',
    );
    expect(relativeChangeCheck(0, -5, { maxChangePercent: 50, direction: 'increase' }).status).toBe(
      'pass',
    );
  });

  it('keeps the sign meaningful for negative values', () => {
    // -100 -> -50 is a rise of 50% of the magnitude; -100 -> -150 a fall.
    expect(relativeChangeCheck(-100, -50, { maxChangePercent: 10 }).changePercent).toBe(50);
    expect(relativeChangeCheck(-100, -150, { maxChangePercent: 10 }).changePercent).toBe(-50);
    expect(
      relativeChangeCheck(-100, -150, { maxChangePercent: 10, direction: 'increase' }).status,
    ).toBe('pass');
    expect(relativeChangeCheck(-100, 100, { maxChangePercent: 150 })).toMatchObject({
      status: 'fail',
      changePercent: 200,
    });
  });

  it('judges only the requested direction', () => {
    const drop = { maxChangePercent: 20, direction: 'decrease' } as const;
    expect(relativeChangeCheck(1000, 700, drop).status).toBe('fail');
    expect(relativeChangeCheck(1000, 5000, drop).status).toBe('pass');
    const rise = { maxChangePercent: 20, direction: 'increase' } as const;
    expect(relativeChangeCheck(1000, 700, rise).status).toBe('pass');
    expect(relativeChangeCheck(1000, 5000, rise).status).toBe('fail');
  });

  it('passes at exactly the limit and fails just above it', () => {
    expect(relativeChangeCheck(200, 250, { maxChangePercent: 25 }).status).toBe('pass');
    expect(relativeChangeCheck(200, 150, { maxChangePercent: 25 }).status).toBe('pass');
    expect(relativeChangeCheck(200, 250.0001, { maxChangePercent: 25 }).status).toBe('fail');
    expect(relativeChangeCheck(7, 7, { maxChangePercent: 0 }).status).toBe('pass');
    expect(relativeChangeCheck(7, 7.0001, { maxChangePercent: 0 }).status).toBe('fail');
  });

  it('rejects NaN/Infinity inputs and invalid options', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => relativeChangeCheck(1, bad, { maxChangePercent: 10 })).toThrow(UsageError);
      expect(() => relativeChangeCheck(bad, 1, { maxChangePercent: 10 })).toThrow(
        /previous must be a finite number/,
      );
      expect(() => relativeChangeCheck(1, 1, { maxChangePercent: bad })).toThrow(ConfigError);
    }
    expect(() => relativeChangeCheck(1, 1, { maxChangePercent: -1 })).toThrow(ConfigError);
    expect(() =>
      relativeChangeCheck(1, 1, {
        maxChangePercent: 1,
        direction: 'up' as unknown as 'increase',
      }),
    ).toThrow(/direction/);
    expect(() => relativeChangeCheck(1, 1, undefined as never)).toThrow(ConfigError);
  });
});

describe('toAnomalyExpectationResult', () => {
  it('shapes a robust z-score result like a GX result, JSON-safe', () => {
    const shaped = toAnomalyExpectationResult(robustZScoreCheck([5, 5, 5, 5, 5], 9));
    expect(shaped).toEqual({
      success: false,
      result: {
        observed_value: 9,
        details: {
          check: 'robust_z_score',
          status: 'fail',
          median: 5,
          mad: 0,
          scale: 0,
          scale_kind: 'constant',
          z_score: null,
          threshold: 3.5,
          history_size: 5,
          min_history: 5,
        },
      },
    });
    expect(JSON.parse(JSON.stringify(shaped))).toEqual(shaped);
  });

  it('shapes a relative change result, and counts insufficient history as success', () => {
    expect(
      toAnomalyExpectationResult(relativeChangeCheck(10, 20, { maxChangePercent: 50 })),
    ).toEqual({
      success: false,
      result: {
        observed_value: 20,
        details: {
          check: 'relative_change',
          status: 'fail',
          previous_value: 10,
          change: 10,
          change_percent: 100,
          max_change_percent: 50,
          direction: 'both',
        },
      },
    });
    const notJudged = toAnomalyExpectationResult(robustZScoreCheck([1, 2], 100));
    expect(notJudged.success).toBe(true);
    expect(notJudged.result.details['status']).toBe('insufficient_history');
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle values', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([-5])).toBe(-5);
    expect(() => median([])).toThrow(UsageError);
  });
});

// ---------------------------------------------------------------------------------------------
// Detection quality on synthetic series with known injected anomalies.

/** mulberry32: a small deterministic PRNG, so the figures below are reproducible. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

type Label = 'normal' | 'spike' | 'shift' | 'ignore';

interface SyntheticSeries {
  readonly values: number[];
  readonly labels: Label[];
}

const SERIES = 1000;
const POINTS = 60;
const WINDOW = 20; // K: the check sees the previous 20 runs
const SEASON_SIGMAS = 1.5; // weekly seasonality amplitude, in noise sigmas
const SPIKE_SIGMAS = [6, 10] as const; // injected spike/drop size range, in noise sigmas
const SHIFT_SIGMAS = [8, 12] as const; // injected level shift size range

/**
 * A daily metric (think row count): level + weekly seasonality + Gaussian noise (sigma = 3% of
 * the level), with 2-3 spikes or drops of 6-10 sigma at known points, and in a third of the
 * series a lasting level shift of 8-12 sigma. The point where a shift starts is labelled
 * anomalous; the next K/2 points are `ignore`d (the window still mostly holds the old level, so
 * whether they are "anomalies" is a matter of definition) and count neither way.
 */
function syntheticSeries(random: () => number): SyntheticSeries {
  const level = 1_000 + random() * 99_000;
  const sigma = 0.03 * level;
  const phase = random() * 7;
  const labels: Label[] = Array.from({ length: POINTS }, () => 'normal');
  const offsets = Array.from({ length: POINTS }, () => 0);
  const between = (range: readonly [number, number]) => range[0] + random() * (range[1] - range[0]);

  if (random() < 1 / 3) {
    const at = 25 + Math.floor(random() * 21);
    const shift = (random() < 0.5 ? -1 : 1) * between(SHIFT_SIGMAS) * sigma;
    for (let t = at; t < POINTS; t++) offsets[t] = shift;
    labels[at] = 'shift';
    for (let t = at + 1; t <= Math.min(POINTS - 1, at + WINDOW / 2); t++) labels[t] = 'ignore';
  }
  const spikes = 2 + Math.floor(random() * 2);
  for (let placed = 0, tries = 0; placed < spikes && tries < 1000; tries++) {
    const at = 8 + Math.floor(random() * (POINTS - 8));
    const clear = [-3, -2, -1, 0, 1, 2, 3].every((d) => (labels[at + d] ?? 'normal') === 'normal');
    if (!clear) continue;
    labels[at] = 'spike';
    offsets[at] = (offsets[at] ?? 0) + (random() < 0.5 ? -1 : 1) * between(SPIKE_SIGMAS) * sigma;
    placed++;
  }
  const values = labels.map(
    (_, t) =>
      level +
      SEASON_SIGMAS * sigma * Math.sin((2 * Math.PI * (t + phase)) / 7) +
      sigma * gaussian(random) +
      (offsets[t] ?? 0),
  );
  return { values, labels };
}

interface Scores {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  detected: Record<'spike' | 'shift', number>;
  injected: Record<'spike' | 'shift', number>;
}

function score(
  series: readonly SyntheticSeries[],
  flag: (history: number[], value: number, previous: number | undefined) => boolean | undefined,
  minHistorySize = 0,
): Scores & { precision: number; recall: number } {
  const s: Scores = {
    truePositives: 0,
    falsePositives: 0,
    falseNegatives: 0,
    detected: { spike: 0, shift: 0 },
    injected: { spike: 0, shift: 0 },
  };
  for (const { values, labels } of series) {
    for (let t = minHistorySize; t < POINTS; t++) {
      const label = labels[t] ?? 'normal';
      const value = values[t] ?? Number.NaN;
      const flagged = flag(values.slice(Math.max(0, t - WINDOW), t), value, values[t - 1]);
      if (flagged === undefined || label === 'ignore') continue; // not judged / not scored
      if (label === 'normal') {
        if (flagged) s.falsePositives++;
        continue;
      }
      s.injected[label]++;
      if (flagged) {
        s.truePositives++;
        s.detected[label]++;
      } else {
        s.falseNegatives++;
      }
    }
  }
  return {
    ...s,
    precision: s.truePositives / (s.truePositives + s.falsePositives),
    recall: s.truePositives / (s.truePositives + s.falseNegatives),
  };
}

function describeScores(name: string, s: ReturnType<typeof score>): string {
  return (
    `${name}: precision ${s.precision.toFixed(3)}, recall ${s.recall.toFixed(3)} ` +
    `(TP ${s.truePositives}, FP ${s.falsePositives}, FN ${s.falseNegatives}; ` +
    `spikes/drops ${s.detected.spike}/${s.injected.spike}, shifts ${s.detected.shift}/${s.injected.shift})`
  );
}

describe('detection quality on synthetic series with injected anomalies', () => {
  const random = seededRandom(20261122);
  const series = Array.from({ length: SERIES }, () => syntheticSeries(random));
  const robustFlag = (history: number[], value: number) => {
    const result = robustZScoreCheck(history, value);
    return result.status === 'insufficient_history' ? undefined : result.status === 'fail';
  };

  it('robust z-score (K = 20, threshold 3.5, minHistory 5) finds spikes, drops and shifts', () => {
    // Every point from the 6th on is judged, including those with only 5-19 runs of history.
    const all = score(series, robustFlag);
    // Points with the full window of K = 20 previous runs.
    const full = score(series, robustFlag, WINDOW);
    console.log(describeScores('robust z-score, every judged point', all));
    console.log(describeScores('robust z-score, full 20-run window', full));
    expect(all.injected.spike).toBeGreaterThan(2000);
    // Floors: a 6-10 sigma spike lies 4.5-11.5 sigma from the median after the +-1.5 sigma
    // seasonality, whose spread (about 1.46 sigma) the MAD also absorbs, so spikes at a seasonal
    // trough can score under 3.5: recall sits near 0.86. False alarms come mostly from short
    // histories, where the MAD of 5-10 values is a noisy scale (see the false-alarm test below):
    // precision sits near 0.83 overall and above 0.9 with a full window. Six other seeds gave
    // precision 0.81-0.87 and recall 0.83-0.88 with 200 series each.
    expect(all.precision).toBeGreaterThanOrEqual(0.8);
    expect(all.recall).toBeGreaterThanOrEqual(0.8);
    expect(full.precision).toBeGreaterThanOrEqual(0.9);
    expect(full.recall).toBeGreaterThanOrEqual(0.8);
  });

  it('relative change vs the previous run (max 15%) catches jumps, including the way back', () => {
    const relative = score(series, (_history, value, previous) => {
      const result = relativeChangeCheck(previous, value, { maxChangePercent: 15 });
      return result.status === 'insufficient_history' ? undefined : result.status === 'fail';
    });
    console.log(describeScores('relative change, max 15%', relative));
    // A spike is two jumps: up into it and back down after it. The second is a real change
    // from the previous run but not an injected anomaly, so precision is near 0.5 by design.
    expect(relative.recall).toBeGreaterThanOrEqual(0.9);
    expect(relative.precision).toBeGreaterThanOrEqual(0.45);
  });

  it('false alarms on pure Gaussian noise, by history size (threshold 3.5)', () => {
    const noise = seededRandom(7);
    const sizes = [5, 10, 20] as const;
    const rates = sizes.map((size) => {
      let alarms = 0;
      const trials = 20_000;
      for (let i = 0; i < trials; i++) {
        const history = Array.from({ length: size }, () => gaussian(noise));
        if (robustZScoreCheck(history, gaussian(noise)).status === 'fail') alarms++;
      }
      return alarms / trials;
    });
    console.log(
      `robust z-score false alarms on noise: ${sizes.map((n, i) => `history ${n}: ${((rates[i] ?? 0) * 100).toFixed(1)}%`).join(', ')}`,
    );
    // With a known sigma, |z| > 3.5 happens 0.05% of the time; an estimated median and MAD
    // make the tails much heavier when the history is short.
    expect(rates[2]).toBeLessThan(0.02);
    expect(rates[0]).toBeGreaterThan(rates[2] ?? 1);
  });
});
