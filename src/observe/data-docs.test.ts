import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { ConfigError } from '../core/errors.js';
import type { ExpectationResult, SuiteResult } from '../quality/expectation.js';
import type { MetricHistoryEntry } from '../quality/metric-history.js';
import { MetricHistoryStore } from '../quality/metric-history.js';
import { lineChartSVG } from './data-docs-chart.js';
import { escapeHTML } from './data-docs-html.js';
import { buildDataDocs } from './data-docs.js';
import type { RunReport, StepReport } from './run-report.js';
import { writeRunReport } from './run-report.js';

const T0 = Date.parse('2026-11-01T08:00:00.000Z');
const HOUR = 3_600_000;

function result(
  id: string,
  success: boolean,
  details: ExpectationResult['result'],
  severity: 'error' | 'warn' | 'quarantine' = 'error',
  kwargs: Record<string, unknown> = { column: 'customer_id' },
): ExpectationResult {
  return {
    success,
    expectation_config: {
      expectation_type: `expect_${id}`,
      kwargs,
      meta: {},
      id,
      severity,
    },
    result: details,
    exception_info: { raised_exception: false, exception_message: null, exception_traceback: null },
  };
}

function suiteResult(results: readonly ExpectationResult[], score: number | null): SuiteResult {
  const passed = results.filter((r) => r.success).length;
  return {
    success: passed === results.length,
    suite_name: 'orders',
    statistics: {
      evaluated_expectations: results.length,
      successful_expectations: passed,
      unsuccessful_expectations: results.length - passed,
      success_percent: results.length === 0 ? null : (passed / results.length) * 100,
    },
    quality_score: score,
    results,
  };
}

function checkStep(id: string, quality: SuiteResult, rowsQuarantined = 0): StepReport {
  return {
    id,
    kind: 'check',
    status: 'success',
    rowsIn: 43,
    rowsOut: 43 - rowsQuarantined,
    rowsQuarantined,
    durationMs: 5,
    inputs: [],
    outputs: [],
    quality,
  };
}

function report(
  pipeline: string,
  runId: string,
  startedMs: number,
  steps: readonly StepReport[],
  status: RunReport['status'] = 'success',
): RunReport {
  return {
    pipeline,
    runId,
    status,
    startedAt: new Date(startedMs).toISOString(),
    endedAt: new Date(startedMs + 120).toISOString(),
    durationMs: 120,
    params: {},
    steps: [
      {
        id: 'orders',
        kind: 'source',
        connector: 'csv',
        status: 'success',
        rowsIn: 45,
        rowsOut: 43,
        rowsQuarantined: 2,
        durationMs: 10,
        inputs: ['data/orders.csv'],
        outputs: [],
      },
      ...steps,
    ],
    rowsQuarantined: steps.reduce((n, s) => n + s.rowsQuarantined, 2),
    quarantineDir: `/tmp/runs/${runId}/quarantine`,
  };
}

const passingSuite = suiteResult(
  [
    result('not_null(order_id)', true, { element_count: 43, unexpected_count: 0 }),
    result('row_count', true, { observed_value: 43 }),
  ],
  100,
);

const failingSuite = suiteResult(
  [
    result(
      'regex(customer_id)',
      false,
      {
        element_count: 43,
        missing_count: 0,
        unexpected_count: 1,
        unexpected_percent: 2.3255813953488373,
        partial_unexpected_list: ['C 011'],
      },
      'quarantine',
    ),
    result(
      'unique(order_id)',
      false,
      {
        element_count: 43,
        unexpected_count: 2,
        unexpected_percent: 4.651162790697675,
        partial_unexpected_list: [1002, 1002],
      },
      'warn',
    ),
    result('mean(amount)', false, { observed_value: 182.55 }, 'error', {
      column: 'amount',
      min_value: 200,
    }),
    result('row_count', true, { observed_value: 43 }),
  ],
  40,
);

function metricEntry(
  dataset: string,
  runId: string,
  at: number,
  rowCount: number,
  columns: MetricHistoryEntry['metrics']['columns'],
): MetricHistoryEntry {
  return {
    runId,
    dataset,
    at: new Date(at).toISOString(),
    metrics: { row_count: rowCount, columns },
  };
}

async function read(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** The rows of the table that follows a heading. */
function tableRowsAfter(html: string, heading: string): string[] {
  const start = html.indexOf(`<h2>${heading}</h2>`);
  if (start < 0) throw new Error(`no section ${heading}`);
  const body = html.slice(start).split('<tbody>')[1]?.split('</tbody>')[0] ?? '';
  return body.split('<tr>').slice(1);
}

describe('buildDataDocs', () => {
  it('writes an index (worst first, latest runs) and one page per dataset from run reports', async () => {
    const state = await tempDir();
    await writeRunReport(
      report('shop', 'run_a1', T0, [checkStep('orders_checked', passingSuite)]),
      state,
    );
    await writeRunReport(
      report('shop', 'run_a2', T0 + HOUR, [checkStep('orders_checked', failingSuite, 1)]),
      state,
    );
    await writeRunReport(
      report('billing', 'run_b1', T0 + 2 * HOUR, [checkStep('invoices', passingSuite)]),
      state,
    );
    const store = await MetricHistoryStore.open(state);
    await store.append(
      metricEntry('shop.orders_checked', 'run_a1', T0, 43, {
        order_id: { null_percent: 0, distinct_count: 43 },
        email: { null_percent: 5, distinct_count: 40 },
      }),
    );
    await store.append(
      metricEntry('shop.orders_checked', 'run_a2', T0 + HOUR, 42, {
        order_id: { null_percent: 0, distinct_count: 41 },
        email: { null_percent: 12.5, distinct_count: 30 },
      }),
    );

    const docs = await buildDataDocs({ stateDir: state });
    expect(docs.outDir).toBe(join(state, 'docs'));
    expect(docs.runsRead).toBe(3);
    expect(docs.reportsSkipped).toBe(0);
    expect(docs.datasets.map((d) => [d.name, d.runs, d.qualityScore, d.success])).toEqual([
      ['billing.invoices', 1, 100, true],
      ['shop.orders_checked', 2, 40, false],
    ]);
    expect(docs.filesWritten).toBe(4);

    const index = await read(docs.indexFile);
    const datasetRows = tableRowsAfter(index, 'Datasets');
    expect(datasetRows).toHaveLength(2);
    // Worst first: the failing dataset (score 40) comes before the passing one.
    expect(datasetRows[0]).toContain('href="datasets/shop.orders_checked.html"');
    expect(datasetRows[0]).toContain('40.0');
    expect(datasetRows[0]).toContain('failed');
    expect(datasetRows[0]).toContain('2026-11-01 09:00:00Z');
    expect(datasetRows[0]).toMatch(/<td class="num">2<\/td>/);
    expect(datasetRows[1]).toContain('billing.invoices');
    expect(datasetRows[1]).toContain('100.0');
    expect(datasetRows[1]).toContain('passed');
    const runRows = tableRowsAfter(index, 'Latest runs');
    expect(runRows.map((r) => /<code>(run_\w+)<\/code>/.exec(r)?.[1])).toEqual([
      'run_b1',
      'run_a2',
      'run_a1',
    ]);
    expect(runRows[1]).toContain('<td class="num">3</td>'); // rows quarantined
    expect(runRows[1]).toContain('>shop<');

    const page = await read(join(docs.outDir, 'datasets', 'shop.orders_checked.html'));
    expect(page).toContain('<h1>shop.orders_checked</h1>');
    expect(page).toContain('href="../index.html"');
    const expectations = tableRowsAfter(page, 'Latest validation');
    expect(expectations).toHaveLength(4);
    // Failed first, in suite order; each with id, type, severity, detail and samples.
    expect(expectations[0]).toContain('regex(customer_id)');
    expect(expectations[0]).toContain('expect_regex(customer_id)');
    expect(expectations[0]).toContain('quarantine');
    expect(expectations[0]).toContain('1 unexpected of 43 (2.33%)');
    expect(expectations[0]).toContain('<li><code>&quot;C 011&quot;</code></li>');
    expect(expectations[1]).toContain('unique(order_id)');
    expect(expectations[1]).toContain('<li><code>1002</code></li><li><code>1002</code></li>');
    expect(expectations[2]).toContain('observed 182.55');
    expect(expectations[2]).toContain('min_value=200');
    expect(expectations[3]).toContain('passed');
    expect(page).toMatch(/<b class="bad">40\.0<\/b><span>quality score<\/span>/);
    // Charts: quality score history, row count and null % per column, as inline SVG.
    expect(page).toContain('aria-label="quality score of shop.orders_checked"');
    expect(page).toContain('aria-label="row count of shop.orders_checked"');
    expect(page).toContain('aria-label="null % of column email"');
    expect(page).toMatch(/<td><code>email<\/code><\/td><td class="num">12\.5%<\/td>/);
    expect(page).toContain('2 run(s) from 2026-11-01 08:00:00Z to 2026-11-01 09:00:00Z');
    const runs = tableRowsAfter(page, 'Runs');
    expect(runs).toHaveLength(2);
    expect(runs[0]).toContain('run_a2');
    expect(runs[0]).toContain('regex(customer_id)');
    // Self-contained: no script, no external resource.
    for (const html of [index, page]) {
      expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
      expect(html).toContain("default-src 'none'");
    }
    const billing = await read(join(docs.outDir, 'datasets', 'billing.invoices.html'));
    expect(billing).toContain('No metric history for <code>billing.invoices</code> yet');
  });

  it('escapes every value that reaches HTML: names, columns, samples, kwargs, errors', async () => {
    const state = await tempDir();
    const evil = `<script>alert("x")</script>`;
    const suite = suiteResult(
      [
        result(
          `id ${evil}`,
          false,
          {
            element_count: 3,
            unexpected_count: 2,
            unexpected_percent: 66.6,
            partial_unexpected_list: [evil, `"'><img src=x onerror=alert(1)>`],
          },
          'warn',
          { column: evil, regex: `'"</code>` },
        ),
        result('observed', false, { observed_value: { html: evil } }),
      ],
      10,
    );
    const steps = [checkStep(`step"'${evil}`, suite), checkStep('plain', suite)];
    await writeRunReport(
      {
        ...report(`pipe${evil}`, 'run_evil', T0, steps, 'failed'),
        error: { code: 'X', message: evil },
      },
      state,
    );
    await writeRunReport(report('fine', 'run_fine', T0, [checkStep('plain', suite)]), state);
    const store = await MetricHistoryStore.open(state);
    await store.append(
      metricEntry('fine.plain', 'run_fine', T0, 3, {
        [evil]: { null_percent: 50, distinct_count: 1 },
        [`a"b'c&d`]: { null_percent: 0, distinct_count: 1 },
      }),
    );

    const docs = await buildDataDocs({ stateDir: state });
    const files = [docs.indexFile, ...docs.datasets.map((d) => d.file)];
    expect(files).toHaveLength(4);
    for (const d of docs.datasets) {
      // Page files are safe names whatever the dataset is called.
      expect(d.file.slice(join(docs.outDir, 'datasets').length + 1)).toMatch(
        /^[A-Za-z0-9_][A-Za-z0-9_.-]*\.html$/,
      );
    }
    for (const file of files) {
      const html = await read(file);
      expect(html).not.toMatch(/<script|<img|onerror=alert\(1\)>|<\/code>'/i);
      expect(html.match(/<\/?[a-z][^>]*>/gi)?.every((tag) => !/["']\s*on\w+=/.test(tag))).toBe(
        true,
      );
    }
    const index = await read(docs.indexFile);
    expect(index).toContain(escapeHTML(`pipe${evil}.step"'${evil}`));
    expect(index).toContain(escapeHTML(`[X] ${evil}`));
    const evilPage = docs.datasets.find((d) => d.name.startsWith('pipe'));
    const page = await read(evilPage?.file ?? '');
    expect(page).toContain(`<code>${escapeHTML(`id ${evil}`)}</code>`);
    expect(page).toContain(escapeHTML(JSON.stringify(`"'><img src=x onerror=alert(1)>`)));
    expect(page).toContain(escapeHTML(`regex=${JSON.stringify(`'"</code>`)}`));
    expect(page).toContain(escapeHTML(`observed {"html":"${evil.replace(/"/g, '\\"')}"}`));
    const fine = await read(join(docs.outDir, 'datasets', 'fine.plain.html'));
    expect(fine).toContain(`<td><code>${escapeHTML(evil)}</code></td>`);
    expect(fine).toContain(`aria-label="${escapeHTML(`null % of column ${evil}`)}"`);
    expect(fine).toContain(`<code>a&quot;b&#39;c&amp;d</code>`);
  });

  it('says there is nothing yet for a state folder without runs, and refuses a missing one', async () => {
    const state = await tempDir();
    const docs = await buildDataDocs({ stateDir: state });
    expect(docs.runsRead).toBe(0);
    expect(docs.datasets).toEqual([]);
    const index = await read(docs.indexFile);
    expect(index).toContain('<h2>Nothing to show yet</h2>');
    expect(index).toContain(`no run reports in <code>${escapeHTML(state)}/runs</code>`);

    const missing = join(state, 'no-such-state');
    const error = await buildDataDocs({ stateDir: missing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).diagnostics[0]).toMatchObject({
      code: 'state-dir-not-found',
      message: expect.stringContaining(`there is no state folder at ${missing}`),
      hint: expect.stringContaining('run a pipeline first'),
    });
  });

  it('says no dataset was checked when runs have no check step', async () => {
    const state = await tempDir();
    await writeRunReport(report('plain', 'run_p1', T0, []), state);
    const index = await read((await buildDataDocs({ stateDir: state })).indexFile);
    expect(index).toContain('None of the 1 run(s) checked a dataset');
    expect(tableRowsAfter(index, 'Latest runs')).toHaveLength(1);
  });

  it('skips files that are not run reports, and says so', async () => {
    const state = await tempDir();
    await writeRunReport(report('shop', 'run_a1', T0, [checkStep('c', passingSuite)]), state);
    await writeFile(join(state, 'runs', 'torn.json'), '{"pipeline": "shop", "runI');
    await writeFile(join(state, 'runs', 'other.json'), '[1, 2, 3]');
    await writeFile(join(state, 'runs', 'run_x.json.123.tmp'), '{');
    const docs = await buildDataDocs({ stateDir: state });
    expect(docs.runsRead).toBe(1);
    expect(docs.reportsSkipped).toBe(2);
    expect(docs.skipped.map((s) => s.file).sort()).toEqual(['other.json', 'torn.json']);
    const index = await read(docs.indexFile);
    expect(index).toContain('<h2>Skipped files</h2>');
    expect(index).toContain('<code>torn.json</code>: not valid JSON');
  });

  it('replaces the previous site as a whole and leaves no temporary folder', async () => {
    const state = await tempDir();
    const out = join(await tempDir(), 'site');
    await writeRunReport(report('shop', 'run_a1', T0, [checkStep('c', passingSuite)]), state);
    await buildDataDocs({ stateDir: state, outDir: out });
    await writeFile(join(out, 'stale.html'), 'old');
    await writeRunReport(
      report('shop', 'run_a2', T0 + HOUR, [checkStep('d', failingSuite)]),
      state,
    );
    const docs = await buildDataDocs({ stateDir: state, outDir: out });
    expect(docs.outDir).toBe(out);
    expect((await readdir(out)).sort()).toEqual(['.sluice-data-docs', 'datasets', 'index.html']);
    expect((await readdir(join(out, 'datasets'))).sort()).toEqual(['shop.c.html', 'shop.d.html']);
    expect(await readdir(join(out, '..'))).toEqual(['site']);
  });

  it('refuses to replace a folder that is not a data docs site, or the state folder', async () => {
    const state = await tempDir();
    const precious = await tempDir();
    await writeFile(join(precious, 'notes.txt'), 'keep me');
    for (const outDir of [precious, state, join(state, '..')]) {
      const error = await buildDataDocs({ stateDir: state, outDir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).diagnostics[0]?.code).toBe('docs-out-not-replaceable');
    }
    expect(await read(join(precious, 'notes.txt'))).toBe('keep me');
    // An empty folder is fine.
    const empty = await tempDir();
    await mkdir(join(empty, 'site'));
    const docs = await buildDataDocs({ stateDir: state, outDir: join(empty, 'site') });
    expect(await readdir(docs.outDir)).toContain('index.html');
  });

  it('stays fast and bounded with 5,000 run reports: capped tables, charts over every run', async () => {
    const state = await tempDir();
    const runs = 5_000;
    const datasets = ['orders', 'customers', 'payments', 'refunds', 'events'];
    await mkdir(join(state, 'runs'), { recursive: true });
    const metricLines = new Map<string, string[]>();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < runs; i++) {
      const at = T0 + i * 60_000;
      const runId = `run_${String(i).padStart(5, '0')}`;
      const step = datasets[i % datasets.length] as string;
      const quality = i % 7 === 0 ? failingSuite : passingSuite;
      const r = report('shop', runId, at, [checkStep(step, quality, i % 7 === 0 ? 1 : 0)]);
      writes.push(
        writeFile(join(state, 'runs', `${runId}.json`), `${JSON.stringify(r, null, 2)}\n`),
      );
      const name = `shop.${step}`;
      const lines = metricLines.get(name) ?? [];
      lines.push(
        JSON.stringify(
          metricEntry(name, runId, at, 1000 + (i % 50), {
            id: { null_percent: 0, distinct_count: 1000 },
            email: { null_percent: (i % 13) / 2, distinct_count: 900 },
          }),
        ),
      );
      metricLines.set(name, lines);
      if (writes.length >= 200) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    await mkdir(join(state, 'metrics'));
    for (const [name, lines] of metricLines) {
      await writeFile(join(state, 'metrics', `${name}.ndjson`), `${lines.join('\n')}\n`);
    }

    const started = performance.now();
    const docs = await buildDataDocs({ stateDir: state });
    const seconds = (performance.now() - started) / 1000;
    // Not a benchmark: the figure is printed for the record (see the issue's report).
    console.info(`data docs over ${runs} run reports: ${seconds.toFixed(2)}s`);
    expect(docs.runsRead).toBe(runs);
    expect(docs.datasets).toHaveLength(datasets.length);
    expect(docs.datasets.every((d) => d.runs === runs / datasets.length)).toBe(true);

    const index = await read(docs.indexFile);
    expect(tableRowsAfter(index, 'Latest runs')).toHaveLength(50);
    expect(index).toContain('The newest 50 of 5,000 runs.');
    expect(index.length).toBeLessThan(200_000);
    for (const d of docs.datasets) {
      const page = await read(d.file);
      expect(tableRowsAfter(page, 'Runs')).toHaveLength(200);
      expect(page).toContain('The newest 200 of 1,000 runs; the charts above cover all of them.');
      expect(page).toContain('1,000 run(s) from');
      expect(page).toContain('1,000 measurement(s) from');
      expect(page.length).toBeLessThan(500_000);
    }
  });
});

describe('lineChartSVG', () => {
  const polyline = (svg: string): string[] =>
    (/<polyline class="line" points="([^"]*)"/.exec(svg)?.[1] ?? '').split(' ');

  it('draws an empty series as a "no data yet" box and one point in the middle', () => {
    expect(lineChartSVG([], { title: 'x' })).toContain('>no data yet</text>');
    const one = lineChartSVG([{ x: T0, y: 5 }], { title: 'x', width: 200, height: 100 });
    expect(polyline(one)).toHaveLength(1);
    expect(one).toContain('<title>2026-11-01 08:00:00Z: 5</title>');
  });

  it('reduces long series to about maxPoints, keeping dips and failed runs', () => {
    const points = Array.from({ length: 10_000 }, (_, i) => ({
      x: T0 + i * 1000,
      y: i === 7_777 ? 3 : 90 + (i % 10),
      bad: i === 7_777,
    }));
    const svg = lineChartSVG(points, { title: 'score', yMin: 0, yMax: 100, maxPoints: 400 });
    const coordinates = polyline(svg);
    expect(coordinates.length).toBeLessThanOrEqual(400);
    const ys = coordinates.map((c) => Number(c.split(',')[1]));
    // y = 3 on a 0..100 axis sits near the bottom of the plot (y grows downwards).
    expect(Math.max(...ys)).toBeGreaterThan(145);
    expect(svg.match(/class="dot bad"/g)).toHaveLength(1);
  });

  it('spreads points that share one time stamp and escapes its title', () => {
    const svg = lineChartSVG(
      [
        { x: T0, y: 1 },
        { x: T0, y: 2 },
      ],
      { title: '<b>"t"</b>' },
    );
    expect(new Set(polyline(svg).map((c) => c.split(',')[0])).size).toBe(2);
    expect(svg).toContain('aria-label="&lt;b&gt;&quot;t&quot;&lt;/b&gt;"');
    expect(svg).not.toContain('<b>');
  });
});
