import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { writeDenied } from '../contracts/write-access.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import type { MetricHistoryEntry } from '../quality/metric-history.js';
import { MetricHistoryStore } from '../quality/metric-history.js';
import type { SkippedReport } from './data-docs-collect.js';
import { collectDocsModel } from './data-docs-collect.js';
import { renderDatasetPage, renderIndexPage } from './data-docs-pages.js';

/**
 * Options of {@link buildDataDocs}.
 *
 * @example
 * ```ts
 * const options: BuildDataDocsOptions = { stateDir: '.sluice', outDir: 'site/quality' };
 * ```
 */
export interface BuildDataDocsOptions {
  /** The state folder runs wrote to (`runs/*.json`, `metrics/*.ndjson`), usually `.sluice`. */
  readonly stateDir: string;
  /**
   * Where the site goes; `<stateDir>/docs` when absent. A previous site there is replaced as a
   * whole; any other non-empty folder is refused.
   */
  readonly outDir?: string;
  /** Newest runs listed in each dataset page's table (the charts cover every run). Default 200. */
  readonly runsPerDataset?: number;
  /** Newest runs listed on the index. Default 50. */
  readonly latestRuns?: number;
  /** Receives warnings about skipped reports and unreadable metric history lines. */
  readonly logger?: Logger;
  /** The time stamped into the pages; now when absent. */
  readonly generatedAt?: Date;
}

/**
 * One dataset page that {@link buildDataDocs} wrote.
 *
 * @example
 * ```ts
 * const page: DataDocsDataset = { name: 'quickstart.checked_orders',
 *   file: '.sluice/docs/datasets/quickstart.checked_orders.html', runs: 3, qualityScore: 66.7, success: false };
 * ```
 */
export interface DataDocsDataset {
  /** `<pipeline>.<step>` of the check step. */
  readonly name: string;
  /** The page's absolute path (inside the final `outDir`). */
  readonly file: string;
  readonly runs: number;
  /** Quality score of the latest validation, or null when it evaluated nothing. */
  readonly qualityScore: number | null;
  /** Whether the latest validation passed. */
  readonly success: boolean;
}

/**
 * What {@link buildDataDocs} wrote.
 *
 * @example
 * ```ts
 * const result = await buildDataDocs({ stateDir: '.sluice' });
 * console.log(`open ${result.indexFile}`);
 * ```
 */
export interface DataDocsResult {
  /** The site's folder (absolute). */
  readonly outDir: string;
  /** Its `index.html` (absolute). */
  readonly indexFile: string;
  /** One entry per dataset page, in name order. */
  readonly datasets: readonly DataDocsDataset[];
  /** Run reports read and used. */
  readonly runsRead: number;
  /** Files in the runs folder that were not usable run reports. */
  readonly reportsSkipped: number;
  /** The first skipped files, with the reason. */
  readonly skipped: readonly SkippedReport[];
  /** Every file written: the index, the dataset pages and the site marker. */
  readonly filesWritten: number;
  readonly durationMs: number;
}

/** Marks a folder as a site `buildDataDocs` wrote, so it may replace it next time. */
const SITE_MARKER = '.sluice-data-docs';

/**
 * Writes the data docs: a static HTML site with an `index.html` listing every checked dataset
 * (worst quality first) and the latest runs, and one page per dataset under `datasets/` with the
 * latest suite result, failed samples, charts of the quality score and metric history, and the
 * newest runs. Pages have inline CSS and inline SVG charts, no script and no external asset;
 * every value from the reports is HTML-escaped.
 *
 * Reports are read file by file and only what the pages need is kept; per-page tables are
 * capped, so thousands of runs stay fast. The site is built in a temporary sibling folder and
 * renamed into place, replacing the previous site as a whole: readers never see a half-written
 * site (between the two renames the folder is briefly absent).
 *
 * A missing state folder is a {@link ConfigError}; a state folder without runs gives an index
 * saying there is nothing to show yet. An `outDir` that holds anything but a previous site (or
 * the state folder itself) is refused with a {@link ConfigError}.
 *
 * @example
 * ```ts
 * const result = await buildDataDocs({ stateDir: '.sluice', outDir: 'public/data-docs' });
 * console.log(`${result.datasets.length} dataset page(s), open ${result.indexFile}`);
 * ```
 */
export async function buildDataDocs(options: BuildDataDocsOptions): Promise<DataDocsResult> {
  const started = performance.now();
  const logger = options.logger ?? silentLogger;
  const { stateDir, outDir } = await checkedPaths(options);
  const runsPerDataset = checkedLimit(options.runsPerDataset, 'runsPerDataset', 200);
  const latestRuns = checkedLimit(options.latestRuns, 'latestRuns', 50);
  const generatedAt = options.generatedAt ?? new Date();

  const model = await collectDocsModel({ stateDir, runsPerDataset, latestRuns, logger });
  const files = datasetFileNames(model.datasets.map((d) => d.name));
  const fileOf = (name: string): string => files.get(name) ?? `${hashOf(name)}.html`;
  const store = await MetricHistoryStore.open(stateDir, { logger });

  const written: DataDocsDataset[] = [];
  let filesWritten = 0;
  await replaceDirectory(outDir, async (staging) => {
    await mkdir(join(staging, 'datasets'));
    for (const dataset of model.datasets) {
      const file = fileOf(dataset.name);
      const metrics = await metricEntries(store, dataset.name, logger);
      const html = renderDatasetPage({ dataset, metrics, indexHref: '../index.html', generatedAt });
      await writeFile(join(staging, 'datasets', file), html);
      filesWritten++;
      written.push({
        name: dataset.name,
        file: join(outDir, 'datasets', file),
        runs: dataset.runCount,
        qualityScore: dataset.latest.score,
        success: dataset.latest.success,
      });
    }
    const index = renderIndexPage({
      model,
      links: (name) => `datasets/${encodeURIComponent(fileOf(name))}`,
      stateDir,
      generatedAt,
    });
    await writeFile(join(staging, 'index.html'), index);
    await writeFile(
      join(staging, SITE_MARKER),
      `${JSON.stringify({ generator: 'sluice docs', generatedAt: generatedAt.toISOString() })}\n`,
    );
    filesWritten += 2;
  });

  return {
    outDir,
    indexFile: join(outDir, 'index.html'),
    datasets: written,
    runsRead: model.runsRead,
    reportsSkipped: model.skippedCount,
    skipped: model.skipped,
    filesWritten,
    durationMs: performance.now() - started,
  };
}

async function checkedPaths(
  options: BuildDataDocsOptions,
): Promise<{ stateDir: string; outDir: string }> {
  if (typeof options.stateDir !== 'string' || options.stateDir === '') {
    throw new ConfigError([
      {
        code: 'invalid-state-dir',
        path: 'stateDir',
        message: 'data docs need the state folder runs wrote to, got an empty or non-string path',
        hint: 'pass the run state folder, e.g. ".sluice"',
      },
    ]);
  }
  const stateDir = resolve(options.stateDir);
  const stateStat = await stat(stateDir).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return undefined;
    throw cause;
  });
  if (stateStat === undefined || !stateStat.isDirectory()) {
    throw new ConfigError([
      {
        code: 'state-dir-not-found',
        path: 'stateDir',
        message: `there is no state folder at ${stateDir}${stateStat === undefined ? '' : ' (it is a file)'}: no run has been recorded there`,
        hint: 'run a pipeline first (sluice run pipeline.ts), or pass the folder it used with --state-dir',
      },
    ]);
  }
  const outDir = resolve(options.outDir ?? join(stateDir, 'docs'));
  if (outDir === stateDir || isInside(stateDir, outDir)) {
    throw new ConfigError([
      {
        code: 'docs-out-not-replaceable',
        path: 'outDir',
        message: `the docs folder ${outDir} would replace the state folder ${stateDir}`,
        hint: 'pick a folder of its own, e.g. the default <stateDir>/docs',
      },
    ]);
  }
  const existing = await readdir(outDir).catch((cause: NodeJS.ErrnoException) => {
    if (cause.code === 'ENOENT') return undefined;
    if (cause.code === 'ENOTDIR') return [''];
    throw cause;
  });
  if (existing !== undefined && existing.length > 0 && !existing.includes(SITE_MARKER)) {
    throw new ConfigError([
      {
        code: 'docs-out-not-replaceable',
        path: 'outDir',
        message: `${outDir} exists and is not a data docs site, so it will not be replaced`,
        hint: 'pick an empty or new folder; a site written by sluice docs (with its .sluice-data-docs marker) is replaced as a whole',
      },
    ]);
  }
  return { stateDir, outDir };
}

/** True when `child` is strictly inside `parent`. */
function isInside(child: string, parent: string): boolean {
  const path = relative(parent, child);
  return path !== '' && path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path);
}

function checkedLimit(value: number | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (Number.isInteger(value) && value > 0) return value;
  throw new ConfigError([
    {
      code: 'invalid-docs-option',
      path: name,
      message: `${name} must be a positive integer, got ${String(value)}`,
    },
  ]);
}

async function metricEntries(
  store: MetricHistoryStore,
  dataset: string,
  logger: Logger,
): Promise<readonly MetricHistoryEntry[]> {
  try {
    return await store.entries(dataset);
  } catch (cause) {
    // A dataset name that cannot name a history file has no history; anything else is logged
    // and the page is written without metrics rather than failing the whole site.
    if (!(cause instanceof ConfigError)) {
      logger.warn({ dataset, error: String(cause) }, 'cannot read the metric history');
    }
    return [];
  }
}

/**
 * A file name per dataset page: the name itself when it is a safe file name, otherwise a
 * sanitised name with a hash of the real one; names that differ only in case get a hash too, so
 * case-insensitive file systems never merge two pages.
 */
function datasetFileNames(names: readonly string[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const name of names) {
    let stem = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,150}$/.test(name)
      ? name
      : `${name
          .replace(/[^A-Za-z0-9_.-]/g, '_')
          .replace(/^[.-]/, '_')
          .slice(0, 100)}-${hashOf(name)}`;
    if (used.has(stem.toLowerCase())) stem = `${stem}-${hashOf(name)}`;
    used.add(stem.toLowerCase());
    out.set(name, `${stem}.html`);
  }
  return out;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

/**
 * Builds a folder's new content in a temporary sibling and renames it into place; the previous
 * folder is moved aside first and removed afterwards (or moved back when the swap fails).
 */
async function replaceDirectory(
  target: string,
  build: (staging: string) => Promise<void>,
): Promise<void> {
  const parent = dirname(target);
  const name = basename(target);
  const token = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const staging = join(parent, `.${name}.staging-${token}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(staging);
  } catch (cause) {
    const denied = await writeDenied(cause, parent);
    if (denied === undefined) throw cause;
    throw new ConfigError(
      [
        {
          code: 'docs-out-not-writable',
          path: 'outDir',
          message: denied.message,
          hint: denied.hint,
        },
      ],
      { cause },
    );
  }
  try {
    await build(staging);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  const previous = join(parent, `.${name}.previous-${token}`);
  let movedAside = false;
  try {
    await rename(target, previous);
    movedAside = true;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') {
      await rm(staging, { recursive: true, force: true });
      throw cause;
    }
  }
  try {
    await rename(staging, target);
  } catch (cause) {
    if (movedAside) await rename(previous, target).catch(() => undefined);
    await rm(staging, { recursive: true, force: true });
    throw cause;
  }
  if (movedAside) await rm(previous, { recursive: true, force: true });
}
