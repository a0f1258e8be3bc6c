import { escapeHTML } from './data-docs-html.js';

/**
 * One point of a chart: `x` is a time in epoch milliseconds, `y` the value. A `bad` point (a run
 * whose suite failed) is drawn as a red dot, unless there are more than 120 of them.
 *
 * @example
 * ```ts
 * const point: ChartPoint = { x: Date.parse('2026-11-22T17:17:32Z'), y: 66.7, bad: true };
 * ```
 */
export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  readonly bad?: boolean;
}

/**
 * Options of {@link lineChartSVG}.
 *
 * @example
 * ```ts
 * const options: LineChartOptions = { title: 'quality score', yMin: 0, yMax: 100, unit: '%' };
 * ```
 */
export interface LineChartOptions {
  /** Names the chart for screen readers (`aria-label`) and in its tooltip. */
  readonly title: string;
  readonly width?: number;
  readonly height?: number;
  /** Fixed bottom of the y axis (the data's minimum, rounded down to a tick, when absent). */
  readonly yMin?: number;
  /** Fixed top of the y axis (the data's maximum, rounded up to a tick, when absent). */
  readonly yMax?: number;
  /** Appended to tick labels, e.g. `%`. */
  readonly unit?: string;
  /**
   * Draw at most about this many points: longer series are reduced to the lowest and highest
   * point of each of `maxPoints / 2` buckets, so spikes and dips stay visible. Default 600.
   */
  readonly maxPoints?: number;
  /** A sparkline: no axes, no labels, only the line and its last point. */
  readonly sparkline?: boolean;
}

/** Dots are drawn on every point up to this many points; beyond, on failed runs up to as many. */
const MAX_DOTS = 120;

/**
 * Renders a series as a self-contained inline SVG line chart (no script, no external asset).
 * Times run left to right; an empty series gives a small "no data yet" box. Every text that
 * reaches the SVG is escaped.
 *
 * @example
 * ```ts
 * const svg = lineChartSVG(
 *   [{ x: Date.parse('2026-11-20'), y: 90 }, { x: Date.parse('2026-11-21'), y: 66.7, bad: true }],
 *   { title: 'quality score', yMin: 0, yMax: 100 },
 * );
 * html += `<figure>${svg}</figure>`;
 * ```
 */
export function lineChartSVG(points: readonly ChartPoint[], options: LineChartOptions): string {
  const sparkline = options.sparkline === true;
  const width = options.width ?? (sparkline ? 160 : 640);
  const height = options.height ?? (sparkline ? 32 : 180);
  const title = escapeHTML(options.title);
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const open = `<svg class="chart${sparkline ? ' spark' : ''}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}"><title>${title}</title>`;
  if (finite.length === 0) {
    return `${open}<text class="empty" x="${width / 2}" y="${height / 2}" text-anchor="middle" dominant-baseline="middle">no data yet</text></svg>`;
  }
  const sorted = [...finite].sort((a, b) => a.x - b.x);
  const shown = downsample(sorted, options.maxPoints ?? 600);
  const margin = sparkline
    ? { left: 2, right: 4, top: 4, bottom: 4 }
    : { left: 56, right: 14, top: 12, bottom: 26 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;

  const ys = sorted.map((p) => p.y);
  const axis = niceAxis(
    options.yMin ?? Math.min(...ys),
    options.yMax ?? Math.max(...ys),
    options.yMin !== undefined,
    options.yMax !== undefined,
  );
  const firstX = sorted[0]?.x ?? 0;
  const lastX = sorted[sorted.length - 1]?.x ?? 0;
  const xRange = lastX - firstX;
  const xOf = (p: ChartPoint, index: number): number =>
    margin.left +
    (xRange > 0
      ? ((p.x - firstX) / xRange) * plotWidth
      : shown.length > 1
        ? (index / (shown.length - 1)) * plotWidth
        : plotWidth / 2);
  const yOf = (y: number): number =>
    margin.top + plotHeight - ((y - axis.min) / (axis.max - axis.min)) * plotHeight;

  const parts: string[] = [open];
  if (!sparkline) {
    for (const tick of axis.ticks) {
      const y = round(yOf(tick));
      parts.push(
        `<line class="grid" x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}"/>`,
        `<text class="tick" x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeHTML(formatTick(tick, axis.step) + (options.unit ?? ''))}</text>`,
      );
    }
    const [from, to] = timeLabels(firstX, lastX);
    const baseline = height - 8;
    parts.push(
      `<text class="tick" x="${margin.left}" y="${baseline}" text-anchor="start">${escapeHTML(from)}</text>`,
    );
    if (to !== undefined) {
      parts.push(
        `<text class="tick" x="${width - margin.right}" y="${baseline}" text-anchor="end">${escapeHTML(to)}</text>`,
      );
    }
  }
  const coordinates = shown.map((p, i) => `${round(xOf(p, i))},${round(yOf(p.y))}`);
  parts.push(`<polyline class="line" points="${coordinates.join(' ')}"/>`);
  const dotAll = !sparkline && shown.length <= MAX_DOTS;
  // When most runs failed, a dot on each would hide the line; the dips already show them.
  const dotBad = shown.filter((p) => p.bad === true).length <= MAX_DOTS;
  shown.forEach((p, i) => {
    const last = i === shown.length - 1;
    if (!(dotAll || (dotBad && p.bad === true) || (sparkline && last))) return;
    const label = `${formatTime(p.x)}: ${formatValue(p.y)}${options.unit ?? ''}`;
    parts.push(
      `<circle class="${p.bad === true ? 'dot bad' : 'dot'}" cx="${round(xOf(p, i))}" cy="${round(yOf(p.y))}" r="${sparkline ? 2 : 3}"><title>${escapeHTML(label)}</title></circle>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Keeps the lowest and highest point of each bucket, in time order. */
function downsample(points: readonly ChartPoint[], maxPoints: number): readonly ChartPoint[] {
  if (points.length <= maxPoints || maxPoints < 4) return points;
  const buckets = Math.floor(maxPoints / 2);
  const out: ChartPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * points.length) / buckets);
    const end = Math.floor(((b + 1) * points.length) / buckets);
    let low: ChartPoint | undefined;
    let high: ChartPoint | undefined;
    let lowIndex = 0;
    let highIndex = 0;
    for (let i = start; i < end; i++) {
      const p = points[i] as ChartPoint;
      // A failed run wins ties, so its dot survives the reduction.
      if (low === undefined || p.y < low.y || (p.y === low.y && p.bad === true)) {
        low = p;
        lowIndex = i;
      }
      if (high === undefined || p.y > high.y) {
        high = p;
        highIndex = i;
      }
    }
    if (low === undefined || high === undefined) continue;
    if (low === high) out.push(low);
    else if (lowIndex < highIndex) out.push(low, high);
    else out.push(high, low);
  }
  return out;
}

interface Axis {
  readonly min: number;
  readonly max: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

function niceAxis(low: number, high: number, fixedLow: boolean, fixedHigh: boolean): Axis {
  let min = low;
  let max = high;
  if (max < min) [min, max] = [max, min];
  if (max === min) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    if (!fixedLow) min -= pad;
    if (!fixedHigh || max === min) max += pad;
    if (min >= 0 && low >= 0 && !fixedLow) min = Math.max(0, min);
  }
  const raw = (max - min) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ??
    10 * magnitude) as number;
  if (!fixedLow) min = Math.floor(min / step) * step;
  if (!fixedHigh) max = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) {
    ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    if (ticks.length > 12) break;
  }
  return { min, max, step, ticks };
}

function formatTick(value: number, step: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${trim(value / 1e9)}G`;
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3)}k`;
  const decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
  return value.toFixed(decimals);
}

function trim(n: number): string {
  return Number(n.toFixed(2)).toString();
}

function formatValue(value: number): string {
  return Number.isInteger(value)
    ? value.toLocaleString('en-US')
    : Number(value.toFixed(3)).toString();
}

/** The first and last time, as dates (or times when both fall on one day). */
function timeLabels(first: number, last: number): [string, string | undefined] {
  const a = formatTime(first);
  const b = formatTime(last);
  if (first === last) return [a, undefined];
  return a.slice(0, 10) === b.slice(0, 10) ? [a, b.slice(11)] : [a.slice(0, 10), b.slice(0, 10)];
}

/**
 * An epoch-milliseconds time as `YYYY-MM-DD HH:MM:SSZ` (UTC, so pages do not depend on the
 * machine that built them).
 *
 * @example
 * ```ts
 * formatTime(Date.parse('2026-11-22T17:17:32.403Z')); // "2026-11-22 17:17:32Z"
 * ```
 */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function round(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}
