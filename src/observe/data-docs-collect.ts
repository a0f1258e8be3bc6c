import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { ExpectationResult, Severity, SuiteResult } from '../quality/expectation.js';
import type { ChartPoint } from './data-docs-chart.js';

/**
 * One run as the index page lists it: a few fields of its run report.
 *
 * @example
 * ```ts
 * const run: DocsRun = { pipeline: 'quickstart', runId: 'run_20261122T171732Z_5588170e',
 *   status: 'success', startedAt: '2026-11-22T17:17:32.403Z', startedMs: 1795367852403,
 *   durationMs: 113, rowsQuarantined: 8, datasets: ['quickstart.checked_orders'] };
 * ```
 */
export interface DocsRun {
  readonly pipeline: string;
  readonly runId: string;
  readonly status: string;
  readonly startedAt: string;
  readonly startedMs: number;
  readonly durationMs: number | null;
  readonly rowsQuarantined: number | null;
  /** The datasets (`<pipeline>.<step>`) this run checked. */
  readonly datasets: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * One check of a dataset in one run: a line of the dataset page's run table.
 *
 * @example
 * ```ts
 * const line: DatasetRun = { runId, pipeline: 'quickstart', runStatus: 'success', startedAt,
 *   startedMs, success: false, score: 66.7, evaluated: 4, successful: 2, rowsIn: 43,
 *   rowsOut: 42, rowsQuarantined: 1, failed: [{ id: 'unique(order_id)', severity: 'warn' }] };
 * ```
 */
export interface DatasetRun {
  readonly runId: string;
  readonly pipeline: string;
  /** How the whole run ended (a suite can fail with `warn` expectations in a successful run). */
  readonly runStatus: string;
  readonly startedAt: string;
  readonly startedMs: number;
  /** Whether every expectation of the suite passed. */
  readonly success: boolean;
  readonly score: number | null;
  readonly evaluated: number | null;
  readonly successful: number | null;
  readonly rowsIn: number | null;
  readonly rowsOut: number | null;
  readonly rowsQuarantined: number | null;
  readonly failed: readonly { readonly id: string; readonly severity: string }[];
}

/**
 * What a dataset page needs, kept while the reports are read: counts, the whole quality score
 * series (small numbers), the newest runs only, and the full suite result of the latest run.
 *
 * @example
 * ```ts
 * for (const dataset of model.datasets) console.log(dataset.name, dataset.runCount, dataset.latest.score);
 * ```
 */
export interface DatasetDocs {
  /** `<pipeline>.<step>`, the name the metric history uses. */
  readonly name: string;
  readonly pipeline: string;
  readonly stepId: string;
  readonly runCount: number;
  /** Every run's quality score, oldest first (runs whose suite evaluated nothing are left out). */
  readonly scoreHistory: readonly ChartPoint[];
  /** The newest runs, newest first, at most `runsPerDataset`. */
  readonly recentRuns: readonly DatasetRun[];
  readonly latest: DatasetRun;
  readonly latestSuite: SuiteResult;
}

/**
 * A run report that could not be used, and why.
 *
 * @example
 * ```ts
 * const skipped: SkippedReport = { file: 'run_x.json', reason: 'not valid JSON' };
 * ```
 */
export interface SkippedReport {
  readonly file: string;
  readonly reason: string;
}

/**
 * Everything the site is rendered from.
 *
 * @example
 * ```ts
 * const model = await collectDocsModel({ stateDir: '.sluice' });
 * model.runsRead; // 3
 * ```
 */
export interface DocsModel {
  /** Run reports read and used. */
  readonly runsRead: number;
  /** How many report files could not be used (only the first ones are listed in `skipped`). */
  readonly skippedCount: number;
  readonly skipped: readonly SkippedReport[];
  /** The newest runs, newest first, at most `latestRuns`. */
  readonly latestRuns: readonly DocsRun[];
  /** Every checked dataset, in name order. */
  readonly datasets: readonly DatasetDocs[];
}

/**
 * Options of {@link collectDocsModel}.
 *
 * @example
 * ```ts
 * const options: CollectDocsOptions = { stateDir: '.sluice', runsPerDataset: 200, latestRuns: 50 };
 * ```
 */
export interface CollectDocsOptions {
  readonly stateDir: string;
  /** Runs kept per dataset for its page's table (the charts cover every run). Default 200. */
  readonly runsPerDataset?: number;
  /** Runs kept for the index's "latest runs" table. Default 50. */
  readonly latestRuns?: number;
  /** Receives a warning for each of the first unreadable reports. */
  readonly logger?: Logger;
  /** Report files read at the same time. Default 32. */
  readonly concurrency?: number;
}

const MAX_LISTED_SKIPS = 20;

/**
 * Reads every run report under `<stateDir>/runs/` file by file (a few at a time) and keeps only
 * what the pages need, so memory stays bounded by the number of datasets and the table caps, not
 * by the size of the reports. Unreadable or foreign JSON files are counted and skipped. A missing
 * `runs` folder gives an empty model.
 *
 * @example
 * ```ts
 * const model = await collectDocsModel({ stateDir: '.sluice', runsPerDataset: 200 });
 * for (const d of model.datasets) console.log(d.name, d.latest.score);
 * ```
 */
export async function collectDocsModel(options: CollectDocsOptions): Promise<DocsModel> {
  const runsDir = join(options.stateDir, 'runs');
  const runsPerDataset = positiveInteger(options.runsPerDataset, 200);
  const latestRuns = new Newest<DocsRun>(positiveInteger(options.latestRuns, 50));
  const datasets = new Map<string, DatasetAccumulator>();
  const skipped: SkippedReport[] = [];
  let skippedCount = 0;
  let runsRead = 0;
  const skip = (file: string, reason: string): void => {
    skippedCount++;
    if (skipped.length < MAX_LISTED_SKIPS) {
      skipped.push({ file, reason });
      options.logger?.warn({ file: join(runsDir, file), reason }, 'skipped a run report');
    }
  };

  let files: string[];
  try {
    const entries = await readdir(runsDir, { withFileTypes: true });
    files = entries.filter((e) => e.isFile() && e.name.endsWith('.json')).map((e) => e.name);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') files = [];
    else throw cause;
  }

  const ingest = (file: string, text: string): void => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      skip(file, 'not valid JSON (a report being written, or not a run report)');
      return;
    }
    const report = asReport(value);
    if (typeof report === 'string') {
      skip(file, report);
      return;
    }
    runsRead++;
    const checked: string[] = [];
    for (const step of report.steps) {
      if (!isRecord(step) || typeof step['id'] !== 'string') continue;
      const quality = asSuiteResult(step['quality']);
      if (quality === undefined) continue;
      const name = `${report.pipeline}.${step['id']}`;
      checked.push(name);
      const line = datasetRun(report, step, quality);
      let dataset = datasets.get(name);
      if (dataset === undefined) {
        dataset = {
          name,
          pipeline: report.pipeline,
          stepId: step['id'],
          runCount: 0,
          scoreHistory: [],
          recent: new Newest<DatasetRun>(runsPerDataset),
          latest: line,
          latestSuite: quality,
        };
        datasets.set(name, dataset);
      }
      dataset.runCount++;
      if (line.score !== null) {
        dataset.scoreHistory.push({ x: line.startedMs, y: line.score, bad: !line.success });
      }
      dataset.recent.push(line);
      if (isNewer(line, dataset.latest)) {
        dataset.latest = line;
        dataset.latestSuite = quality;
      }
    }
    latestRuns.push({
      pipeline: report.pipeline,
      runId: report.runId,
      status: report.status,
      startedAt: report.startedAt,
      startedMs: report.startedMs,
      durationMs: finiteOrNull(report.durationMs),
      rowsQuarantined: finiteOrNull(report.rowsQuarantined),
      datasets: checked,
      ...(report.error === undefined ? {} : { error: report.error }),
    });
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++] as string;
      let text: string;
      try {
        text = await readFile(join(runsDir, file), 'utf8');
      } catch (cause) {
        // Deleted between the listing and the read (a cleanup), or unreadable.
        skip(file, `cannot be read: ${(cause as Error).message}`);
        continue;
      }
      ingest(file, text);
    }
  };
  const concurrency = positiveInteger(options.concurrency, 32);
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

  return {
    runsRead,
    skippedCount,
    skipped,
    latestRuns: latestRuns.values(),
    datasets: [...datasets.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((d) => ({
        name: d.name,
        pipeline: d.pipeline,
        stepId: d.stepId,
        runCount: d.runCount,
        scoreHistory: d.scoreHistory.sort((a, b) => a.x - b.x),
        recentRuns: d.recent.values(),
        latest: d.latest,
        latestSuite: d.latestSuite,
      })),
  };
}

interface DatasetAccumulator {
  readonly name: string;
  readonly pipeline: string;
  readonly stepId: string;
  runCount: number;
  readonly scoreHistory: ChartPoint[];
  readonly recent: Newest<DatasetRun>;
  latest: DatasetRun;
  latestSuite: SuiteResult;
}

/** The fields of a run report the docs rely on, checked. */
interface CheckedReport {
  readonly pipeline: string;
  readonly runId: string;
  readonly status: string;
  readonly startedAt: string;
  readonly startedMs: number;
  readonly durationMs: unknown;
  readonly rowsQuarantined: unknown;
  readonly steps: readonly unknown[];
  readonly error?: { readonly code: string; readonly message: string };
}

function asReport(value: unknown): CheckedReport | string {
  if (!isRecord(value)) return 'not a run report (not a JSON object)';
  const { pipeline, runId, status, startedAt, steps } = value;
  if (typeof pipeline !== 'string' || typeof runId !== 'string') {
    return 'not a run report (no "pipeline" and "runId")';
  }
  if (!Array.isArray(steps)) return 'not a run report (no "steps" list)';
  const startedMs = typeof startedAt === 'string' ? Date.parse(startedAt) : Number.NaN;
  if (!Number.isFinite(startedMs)) return 'run report without a valid "startedAt" time';
  const error = value['error'];
  return {
    pipeline,
    runId,
    status: typeof status === 'string' ? status : 'unknown',
    startedAt: startedAt as string,
    startedMs,
    durationMs: value['durationMs'],
    rowsQuarantined: value['rowsQuarantined'],
    steps,
    ...(isRecord(error)
      ? { error: { code: String(error['code'] ?? 'UNKNOWN'), message: String(error['message']) } }
      : {}),
  };
}

function asSuiteResult(value: unknown): SuiteResult | undefined {
  if (!isRecord(value) || !Array.isArray(value['results']) || !isRecord(value['statistics'])) {
    return undefined;
  }
  return value as unknown as SuiteResult;
}

function datasetRun(
  report: CheckedReport,
  step: Readonly<Record<string, unknown>>,
  quality: SuiteResult,
): DatasetRun {
  const statistics = quality.statistics as unknown as Readonly<Record<string, unknown>>;
  const failed: { id: string; severity: string }[] = [];
  for (const result of quality.results) {
    if (!isRecord(result) || result['success'] === true) continue;
    failed.push(expectationIdentity(result as unknown as ExpectationResult));
  }
  return {
    runId: report.runId,
    pipeline: report.pipeline,
    runStatus: report.status,
    startedAt: report.startedAt,
    startedMs: report.startedMs,
    success: quality.success === true,
    score: finiteOrNull(quality.quality_score),
    evaluated: finiteOrNull(statistics['evaluated_expectations']),
    successful: finiteOrNull(statistics['successful_expectations']),
    rowsIn: finiteOrNull(step['rowsIn']),
    rowsOut: finiteOrNull(step['rowsOut']),
    rowsQuarantined: finiteOrNull(step['rowsQuarantined']),
    failed,
  };
}

/**
 * The id, type and severity of an expectation result, with fallbacks for results written by
 * other tools (a GX result has no `id` or `severity`).
 *
 * @example
 * ```ts
 * expectationIdentity(result); // { id: 'unique(order_id)', type: 'expect_column_values_to_be_unique', severity: 'warn' }
 * ```
 */
export function expectationIdentity(result: ExpectationResult): {
  id: string;
  type: string;
  severity: Severity | string;
} {
  const config: Readonly<Record<string, unknown>> = isRecord(result.expectation_config)
    ? result.expectation_config
    : {};
  const type =
    typeof config['expectation_type'] === 'string'
      ? config['expectation_type']
      : typeof config['type'] === 'string'
        ? config['type']
        : 'unknown';
  return {
    id: typeof config['id'] === 'string' ? config['id'] : type,
    type,
    severity: typeof config['severity'] === 'string' ? config['severity'] : 'error',
  };
}

function isNewer(a: DatasetRun, b: DatasetRun): boolean {
  return a.startedMs !== b.startedMs ? a.startedMs > b.startedMs : a.runId > b.runId;
}

/**
 * Keeps the newest `limit` items pushed, by `startedMs` then `runId`: pushes are O(1) amortised
 * (the buffer is trimmed when it doubles), so thousands of runs cost little.
 */
class Newest<T extends { readonly startedMs: number; readonly runId: string }> {
  readonly #limit: number;
  #items: T[] = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.#limit * 2 + 16) this.#trim();
  }

  values(): T[] {
    this.#trim();
    return [...this.#items];
  }

  #trim(): void {
    this.#items.sort((a, b) =>
      a.startedMs !== b.startedMs
        ? b.startedMs - a.startedMs
        : a.runId < b.runId
          ? 1
          : a.runId > b.runId
            ? -1
            : 0,
    );
    this.#items.length = Math.min(this.#items.length, this.#limit);
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finiteOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function positiveInteger(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : fallback;
}
