import type { ExpectationResult } from '../quality/expectation.js';
import type { MetricHistoryEntry } from '../quality/metric-history.js';
import type { ChartPoint } from './data-docs-chart.js';
import { formatTime, lineChartSVG } from './data-docs-chart.js';
import type { DatasetDocs, DatasetRun, DocsModel, DocsRun } from './data-docs-collect.js';
import { expectationIdentity } from './data-docs-collect.js';
import {
  displayValue,
  escapeHTML,
  formatCount,
  formatPercent,
  formatScore,
  pageHTML,
} from './data-docs-html.js';

/**
 * Where the index links to: the page of each dataset, relative to the index.
 *
 * @example
 * ```ts
 * const links: DatasetLinks = (name) => `datasets/${encodeURIComponent(name)}.html`;
 * ```
 */
export type DatasetLinks = (dataset: string) => string;

/**
 * Inputs of {@link renderIndexPage}.
 *
 * @example
 * ```ts
 * const html = renderIndexPage({ model, links, stateDir: '.sluice', generatedAt: new Date() });
 * ```
 */
export interface IndexPageInput {
  readonly model: DocsModel;
  readonly links: DatasetLinks;
  /** Shown in the page, so a reader knows which state folder the site describes. */
  readonly stateDir: string;
  readonly generatedAt: Date;
}

/** Points of the index's per-dataset trend sparklines. */
const SPARK_POINTS = 120;
/** Columns shown in a dataset page's null % table. */
const MAX_COLUMNS = 200;

/**
 * The site's `index.html`: every dataset, worst quality first, and the latest runs. With no run
 * report it says there is nothing to show yet and how to get something.
 *
 * @example
 * ```ts
 * await writeFile(join(dir, 'index.html'), renderIndexPage({ model, links, stateDir, generatedAt: new Date() }));
 * ```
 */
export function renderIndexPage(input: IndexPageInput): string {
  const { model, links } = input;
  const body: string[] = [];
  const failing = model.datasets.filter((d) => !d.latest.success).length;
  body.push(
    '<div class="summary">',
    card(formatCount(model.datasets.length), 'datasets checked'),
    card(
      formatCount(failing),
      'failing their latest validation',
      failing > 0 ? 'bad' : model.datasets.length > 0 ? 'ok' : undefined,
    ),
    card(formatCount(model.runsRead), 'run reports read'),
    '</div>',
    `<p class="note">Run reports from <code>${escapeHTML(input.stateDir)}</code>.</p>`,
  );

  if (model.runsRead === 0) {
    body.push(
      '<h2>Nothing to show yet</h2>',
      `<p>There are no run reports in <code>${escapeHTML(input.stateDir)}/runs</code>. Run a pipeline that has a <code>check</code> step (or <code>expect:</code> on a step), for example <code>sluice run pipeline.ts --state-dir ${escapeHTML(input.stateDir)}</code>, then run <code>sluice docs</code> again.</p>`,
    );
  } else {
    body.push('<h2>Datasets</h2>');
    if (model.datasets.length === 0) {
      body.push(
        `<p>None of the ${formatCount(model.runsRead)} run(s) checked a dataset: add a <code>check</code> step (or <code>expect:</code> on a step) to a pipeline to see its quality here.</p>`,
      );
    } else {
      body.push(
        '<p class="note">Worst first: lowest quality score of the latest validation, failing before passing.</p>',
        '<div class="scroll"><table><thead><tr><th>Dataset</th><th class="num">Quality score</th><th>Latest validation</th><th class="num">Failed expectations</th><th class="num">Runs</th><th>Last run</th><th>Score trend</th></tr></thead><tbody>',
      );
      for (const dataset of worstFirst(model.datasets)) {
        const { latest } = dataset;
        body.push(
          '<tr>',
          `<td><a href="${escapeHTML(links(dataset.name))}">${escapeHTML(dataset.name)}</a></td>`,
          `<td class="num">${scoreCell(latest.score)}</td>`,
          `<td>${suiteBadge(latest.success)}</td>`,
          `<td class="num">${formatCount(latest.failed.length)}</td>`,
          `<td class="num">${formatCount(dataset.runCount)}</td>`,
          `<td class="time">${escapeHTML(formatTime(latest.startedMs))}</td>`,
          `<td>${lineChartSVG(dataset.scoreHistory.slice(-SPARK_POINTS), { title: `quality score of ${dataset.name}, last runs`, sparkline: true, yMin: 0, yMax: 100 })}</td>`,
          '</tr>',
        );
      }
      body.push('</tbody></table></div>');
    }
    body.push(
      '<h2>Latest runs</h2>',
      model.runsRead > model.latestRuns.length
        ? `<p class="note">The newest ${formatCount(model.latestRuns.length)} of ${formatCount(model.runsRead)} runs.</p>`
        : '',
      runsTable(model.latestRuns, links),
    );
  }
  body.push(skippedNote(model));
  return pageHTML({ title: 'Data docs', body: body.join('\n'), generatedAt: input.generatedAt });
}

/**
 * Inputs of {@link renderDatasetPage}.
 *
 * @example
 * ```ts
 * const input: DatasetPageInput = { dataset, metrics: await store.entries(dataset.name),
 *   indexHref: '../index.html', generatedAt: new Date() };
 * ```
 */
export interface DatasetPageInput {
  readonly dataset: DatasetDocs;
  /** The dataset's metric history, oldest first (empty when it has none). */
  readonly metrics: readonly MetricHistoryEntry[];
  /** Link back to the index, relative to this page. */
  readonly indexHref: string;
  readonly generatedAt: Date;
}

/**
 * One dataset's page: the latest suite result with failed samples, charts of the quality score
 * and of the metric history (row count, freshness, null % per column) over every run, and a
 * table of the newest runs.
 *
 * @example
 * ```ts
 * const html = renderDatasetPage({ dataset, metrics, indexHref: '../index.html', generatedAt: new Date() });
 * ```
 */
export function renderDatasetPage(input: DatasetPageInput): string {
  const { dataset, metrics } = input;
  const { latest, latestSuite } = dataset;
  const body: string[] = [
    '<div class="summary">',
    card(
      formatScore(latest.score),
      'quality score',
      latest.score === null ? undefined : latest.score >= 100 ? 'ok' : 'bad',
    ),
    card(latest.success ? 'passed' : 'failed', 'latest validation', latest.success ? 'ok' : 'bad'),
    card(
      `${formatCount(latest.successful)} / ${formatCount(latest.evaluated)}`,
      'expectations passed',
    ),
    card(formatCount(latest.rowsIn), 'rows checked'),
    card(formatCount(latest.rowsQuarantined), 'rows quarantined'),
    card(formatCount(dataset.runCount), 'runs'),
    '</div>',
  ];

  body.push(
    '<h2>Latest validation</h2>',
    `<p class="note">Suite <code>${escapeHTML(displayValue(latestSuite.suite_name))}</code> on step <code>${escapeHTML(dataset.stepId)}</code> of pipeline <code>${escapeHTML(dataset.pipeline)}</code>, run <code>${escapeHTML(latest.runId)}</code> at ${escapeHTML(formatTime(latest.startedMs))} (run ${escapeHTML(latest.runStatus)}).</p>`,
    expectationsTable(latestSuite.results),
  );

  body.push(
    '<h2>Quality score history</h2>',
    figure(
      lineChartSVG(dataset.scoreHistory, {
        title: `quality score of ${dataset.name}`,
        yMin: 0,
        yMax: 100,
      }),
      `${formatCount(dataset.scoreHistory.length)} run(s)${spanOf(dataset.scoreHistory)}; red dots mark runs whose suite failed (when there are at most 120 of them). The score is the share of passed expectations weighted by severity (error 3, quarantine 2, warn 1).`,
    ),
  );

  body.push('<h2>Metrics</h2>');
  if (metrics.length === 0) {
    body.push(
      `<p class="note">No metric history for <code>${escapeHTML(dataset.name)}</code> yet: metrics are recorded when a run that checks it succeeds.</p>`,
    );
  } else {
    body.push(...metricSections(dataset.name, metrics));
  }

  body.push(
    '<h2>Runs</h2>',
    dataset.runCount > dataset.recentRuns.length
      ? `<p class="note">The newest ${formatCount(dataset.recentRuns.length)} of ${formatCount(dataset.runCount)} runs; the charts above cover all of them.</p>`
      : '',
    datasetRunsTable(dataset.recentRuns),
  );

  return pageHTML({
    title: dataset.name,
    nav: `<a href="${escapeHTML(input.indexHref)}">Data docs</a> / ${escapeHTML(dataset.pipeline)}`,
    body: body.join('\n'),
    generatedAt: input.generatedAt,
  });
}

function worstFirst(datasets: readonly DatasetDocs[]): DatasetDocs[] {
  const scoreOf = (d: DatasetDocs): number => d.latest.score ?? -1;
  return [...datasets].sort(
    (a, b) =>
      scoreOf(a) - scoreOf(b) ||
      Number(a.latest.success) - Number(b.latest.success) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

function card(value: string, label: string, tone?: 'ok' | 'bad'): string {
  return `<div class="card"><b${tone === undefined ? '' : ` class="${tone}"`}>${escapeHTML(value)}</b><span>${escapeHTML(label)}</span></div>`;
}

function scoreCell(score: number | null): string {
  if (score === null) return '<span class="muted">-</span>';
  const width = Math.max(0, Math.min(100, score));
  const tone = score >= 100 ? '' : score >= 80 ? ' class="mid"' : ' class="low"';
  return `${escapeHTML(formatScore(score))}<span class="bar" aria-hidden="true"><i${tone} style="width:${width.toFixed(1)}%"></i></span>`;
}

function suiteBadge(success: boolean): string {
  return success ? '<span class="badge ok">passed</span>' : '<span class="badge bad">failed</span>';
}

function runStatusBadge(status: string): string {
  const tone = status === 'success' ? 'ok' : status === 'failed' ? 'bad' : 'warn';
  return `<span class="badge ${tone}">${escapeHTML(status)}</span>`;
}

function runsTable(runs: readonly DocsRun[], links: DatasetLinks): string {
  const rows = runs.map((run) => {
    const checked = run.datasets
      .map((name) => `<a href="${escapeHTML(links(name))}">${escapeHTML(name)}</a>`)
      .join(', ');
    const error =
      run.error === undefined
        ? ''
        : `<div class="muted mono">${escapeHTML(`[${run.error.code}] ${displayValue(run.error.message, 240)}`)}</div>`;
    return [
      '<tr>',
      `<td class="time">${escapeHTML(formatTime(run.startedMs))}</td>`,
      `<td>${escapeHTML(run.pipeline)}</td>`,
      `<td><code>${escapeHTML(run.runId)}</code></td>`,
      `<td>${runStatusBadge(run.status)}${error}</td>`,
      `<td class="num">${run.durationMs === null ? '-' : escapeHTML(formatDuration(run.durationMs))}</td>`,
      `<td class="num">${formatCount(run.rowsQuarantined)}</td>`,
      `<td>${checked === '' ? '<span class="muted">-</span>' : checked}</td>`,
      '</tr>',
    ].join('');
  });
  return `<div class="scroll"><table><thead><tr><th>Started</th><th>Pipeline</th><th>Run id</th><th>Status</th><th class="num">Duration</th><th class="num">Rows quarantined</th><th>Datasets checked</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function expectationsTable(results: readonly ExpectationResult[]): string {
  if (results.length === 0) return '<p>The suite has no expectations.</p>';
  // Failed expectations first, each group in suite order.
  const ordered = [
    ...results.filter((r) => r.success !== true),
    ...results.filter((r) => r.success === true),
  ];
  const rows = ordered.map((result) => {
    const identity = expectationIdentity(result);
    const config = result.expectation_config as unknown as Readonly<Record<string, unknown>>;
    const kwargs = config?.['kwargs'];
    return [
      '<tr>',
      `<td>${result.success === true ? '<span class="badge ok">passed</span>' : '<span class="badge bad">failed</span>'}</td>`,
      `<td><code>${escapeHTML(identity.id)}</code></td>`,
      `<td><code>${escapeHTML(identity.type)}</code>${kwargsLine(kwargs)}</td>`,
      `<td><span class="${severityTone(identity.severity)}">${escapeHTML(identity.severity)}</span></td>`,
      `<td>${resultDetails(result)}</td>`,
      `<td>${samples(result)}</td>`,
      '</tr>',
    ].join('');
  });
  return `<div class="scroll"><table><thead><tr><th>Status</th><th>Expectation id</th><th>Type and arguments</th><th>Severity</th><th>Result</th><th>Failed samples</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function severityTone(severity: string): string {
  return severity === 'error'
    ? 'bad'
    : severity === 'quarantine' || severity === 'warn'
      ? 'warn'
      : 'muted';
}

function kwargsLine(kwargs: unknown): string {
  if (typeof kwargs !== 'object' || kwargs === null) return '';
  const entries = Object.entries(kwargs).filter(([, v]) => v !== null && v !== undefined);
  if (entries.length === 0) return '';
  const text = entries.map(([k, v]) => `${k}=${displayValue(JSON.stringify(v), 80)}`).join(', ');
  return `<div class="muted mono">${escapeHTML(displayValue(text, 300))}</div>`;
}

function resultDetails(result: ExpectationResult): string {
  const info = result.exception_info as ExpectationResult['exception_info'] | undefined;
  if (info?.raised_exception === true) {
    return `<span class="bad">error:</span> ${escapeHTML(displayValue(info.exception_message ?? 'unknown error', 400))}`;
  }
  const details = (result.result ?? {}) as ExpectationResult['result'];
  const parts: string[] = [];
  if (typeof details.unexpected_count === 'number') {
    const of =
      typeof details.element_count === 'number' ? ` of ${formatCount(details.element_count)}` : '';
    const percent =
      typeof details.unexpected_percent === 'number'
        ? ` (${formatPercent(details.unexpected_percent)})`
        : '';
    parts.push(`${formatCount(details.unexpected_count)} unexpected${of}${percent}`);
    if (typeof details.missing_count === 'number' && details.missing_count > 0) {
      parts.push(`${formatCount(details.missing_count)} missing`);
    }
  }
  if (details.observed_value !== undefined) {
    parts.push(`observed ${displayValue(details.observed_value, 200)}`);
  }
  let html = escapeHTML(parts.join('; '));
  if (details.details !== undefined && details.details !== null) {
    html += `<div class="muted mono">${escapeHTML(displayValue(details.details, 240))}</div>`;
  }
  return html === '' ? '<span class="muted">-</span>' : html;
}

function samples(result: ExpectationResult): string {
  const details = (result.result ?? {}) as ExpectationResult['result'];
  const list = Array.isArray(details.partial_unexpected_list)
    ? details.partial_unexpected_list.slice(0, 20).map((v) => displayValue(jsonOf(v), 120))
    : Array.isArray(details.partial_unexpected_counts)
      ? details.partial_unexpected_counts
          .slice(0, 20)
          .map((c) => `${displayValue(jsonOf(c?.value), 100)} ×${formatCount(c?.count)}`)
      : [];
  if (list.length === 0) return '<span class="muted">-</span>';
  return `<ul class="samples">${list.map((s) => `<li><code>${escapeHTML(s)}</code></li>`).join('')}</ul>`;
}

/** Samples shown as JSON, so `"1"` and `1` and `null` stay apart. */
function jsonOf(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function datasetRunsTable(runs: readonly DatasetRun[]): string {
  const rows = runs.map((run) => {
    const failed = run.failed
      .map((f) => `<code class="${severityTone(f.severity)}">${escapeHTML(f.id)}</code>`)
      .join(', ');
    return [
      '<tr>',
      `<td class="time">${escapeHTML(formatTime(run.startedMs))}</td>`,
      `<td><code>${escapeHTML(run.runId)}</code></td>`,
      `<td>${runStatusBadge(run.runStatus)}</td>`,
      `<td>${suiteBadge(run.success)}</td>`,
      `<td class="num">${escapeHTML(formatScore(run.score))}</td>`,
      `<td class="num">${formatCount(run.successful)} / ${formatCount(run.evaluated)}</td>`,
      `<td class="num">${formatCount(run.rowsIn)}</td>`,
      `<td class="num">${formatCount(run.rowsQuarantined)}</td>`,
      `<td>${failed === '' ? '<span class="muted">-</span>' : failed}</td>`,
      '</tr>',
    ].join('');
  });
  return `<div class="scroll"><table><thead><tr><th>Started</th><th>Run id</th><th>Run</th><th>Validation</th><th class="num">Score</th><th class="num">Passed</th><th class="num">Rows checked</th><th class="num">Quarantined</th><th>Failed expectations</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`;
}

function metricSections(name: string, metrics: readonly MetricHistoryEntry[]): string[] {
  const at = metrics.map((e) => Date.parse(e.at));
  const series = (pick: (e: MetricHistoryEntry) => unknown): ChartPoint[] => {
    const points: ChartPoint[] = [];
    metrics.forEach((entry, i) => {
      const y = pick(entry);
      const x = at[i] as number;
      if (typeof y === 'number' && Number.isFinite(y) && Number.isFinite(x)) points.push({ x, y });
    });
    return points;
  };
  const out: string[] = [];
  const rowCounts = series((e) => e.metrics.row_count);
  out.push(
    '<h3>Row count</h3>',
    figure(
      lineChartSVG(rowCounts, { title: `row count of ${name}` }),
      `${formatCount(rowCounts.length)} measurement(s)${spanOf(rowCounts)}; latest ${formatCount(rowCounts[rowCounts.length - 1]?.y)}.`,
    ),
  );
  const freshness = series((e) => e.metrics.freshness_seconds);
  if (freshness.length > 0) {
    out.push(
      '<h3>Freshness</h3>',
      figure(
        lineChartSVG(
          freshness.map((p) => ({ x: p.x, y: p.y / 3600 })),
          { title: `hours since the newest record of ${name}`, unit: 'h' },
        ),
        'Hours from the newest timestamp in the data to the time of the check.',
      ),
    );
  }

  const columns: string[] = [];
  const seen = new Set<string>();
  for (const entry of metrics) {
    const byColumn = entry.metrics.columns;
    if (typeof byColumn !== 'object' || byColumn === null) continue;
    for (const column of Object.keys(byColumn)) {
      if (!seen.has(column)) {
        seen.add(column);
        columns.push(column);
      }
    }
  }
  if (columns.length > 0) {
    const rows = columns.slice(0, MAX_COLUMNS).map((column) => {
      const points = series((e) =>
        Object.hasOwn(e.metrics.columns, column)
          ? e.metrics.columns[column]?.null_percent
          : undefined,
      );
      const latest = points[points.length - 1]?.y;
      const max = points.length === 0 ? undefined : Math.max(...points.map((p) => p.y));
      return [
        '<tr>',
        `<td><code>${escapeHTML(column)}</code></td>`,
        `<td class="num">${escapeHTML(formatPercent(latest))}</td>`,
        `<td class="num">${escapeHTML(formatPercent(max))}</td>`,
        `<td>${lineChartSVG(points, { title: `null % of column ${column}`, sparkline: true, width: 240, height: 36, yMin: 0, maxPoints: 240 })}</td>`,
        '</tr>',
      ].join('');
    });
    out.push(
      '<h3>Null % per column</h3>',
      columns.length > MAX_COLUMNS
        ? `<p class="note">The first ${MAX_COLUMNS} of ${formatCount(columns.length)} columns.</p>`
        : '',
      `<div class="scroll"><table><thead><tr><th>Column</th><th class="num">Latest null %</th><th class="num">Highest null %</th><th>History (every measurement, oldest left)</th></tr></thead><tbody>${rows.join('\n')}</tbody></table></div>`,
    );
  }
  return out;
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${escapeHTML(caption)}</figcaption></figure>`;
}

function spanOf(points: readonly ChartPoint[]): string {
  if (points.length < 2) return '';
  const first = points[0] as ChartPoint;
  const last = points[points.length - 1] as ChartPoint;
  return ` from ${formatTime(first.x)} to ${formatTime(last.x)}`;
}

function skippedNote(model: DocsModel): string {
  if (model.skippedCount === 0) return '';
  const items = model.skipped
    .map((s) => `<li><code>${escapeHTML(s.file)}</code>: ${escapeHTML(s.reason)}</li>`)
    .join('');
  const more =
    model.skippedCount > model.skipped.length
      ? `<li>and ${formatCount(model.skippedCount - model.skipped.length)} more</li>`
      : '';
  return `<h2>Skipped files</h2><p class="note">${formatCount(model.skippedCount)} file(s) in the runs folder could not be used as run reports:</p><ul>${items}${more}</ul>`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}
