import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../src/observe/run-report.js';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { METRIC_FAMILIES } from '../src/observe/metrics/catalog.js';
import { DASHBOARD_DIR, renderDashboards } from '../scripts/monitoring-dashboards.js';
import { ROOT } from './helpers.js';
import { orchestratorProject } from './support/orchestrator-project.js';
import type { TestPrometheus } from './support/prometheus.js';
import { startListener, stopListener } from './support/sluice-listener.js';
import { hasPrometheus, startPrometheus } from './support/prometheus.js';

// Debian's Prometheus scrapes a real `sluice serve --http` that runs pipelines; PromQL over what
// it stored must give the counts of the runs' reports.

const CI = process.env['CI'] === 'true';
const RULES = join(ROOT, 'deploy', 'monitoring', 'prometheus', 'sluice-rules.yml');
const available = hasPrometheus();
if (CI && !available) throw new Error('prometheus is missing (apt-get install prometheus)');

let serveProcess: ChildProcess | undefined;
let prometheus: TestPrometheus | undefined;
let api = '';
let dir = '';

function serve(project: string): Promise<string> {
  const { child, url } = startListener(
    ['serve', '--project', project, '--workers', '2', '--http', '0'],
    { announces: 'api' },
  );
  serveProcess = child;
  return url;
}

/** Queues a run ahead of the scheduled ones and waits until it succeeded. */
async function runToSuccess(name: string, params: Record<string, string> = {}): Promise<RunReport> {
  const response = await fetch(`${api}/api/pipelines/${name}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ params, priority: 100 }),
  });
  expect(response.status, await response.clone().text()).toBe(202);
  const { id } = (await response.json()) as { id: string };
  const deadline = Date.now() + 120_000;
  for (;;) {
    const run = (await (await fetch(`${api}/api/runs/${id}`)).json()) as { state: string };
    if (run.state === 'success') break;
    expect(['queued', 'running', 'up_for_retry'], `run ${id}`).toContain(run.state);
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run.state}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return JSON.parse(readFileSync(join(dir, '.sluice', 'runs', `${id}.json`), 'utf8')) as RunReport;
}

/** Sum of a step's records over reports, by step and direction. */
function stepTotals(reports: readonly RunReport[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const report of reports)
    for (const step of report.steps)
      for (const [direction, count] of [
        ['in', step.rowsIn],
        ['out', step.rowsOut],
      ] as const)
        if (count !== null && count > 0) {
          const key = `${step.id}/${direction}`;
          totals.set(key, (totals.get(key) ?? 0) + count);
        }
  return totals;
}

function byStep(samples: readonly { metric: Record<string, string>; value: number }[]) {
  return new Map(samples.map((s) => [`${s.metric['step']}/${s.metric['direction']}`, s.value]));
}

describe.skipIf(!available)('live Prometheus scraping sluice serve --http', () => {
  beforeAll(async () => {
    dir = await orchestratorProject();
    api = await serve(dir);
    prometheus = await startPrometheus({ targets: [new URL(api).host], ruleFiles: [RULES] });
    await prometheus.until('up{job="sluice"}', (s) => s[0]?.value === 1);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (serveProcess !== undefined) await stopListener(serveProcess);
  });

  it('stores counters equal to the run reports, and increases equal to the runs in between', async () => {
    const promql = prometheus as TestPrometheus;
    const first = [await runToSuccess('work', { n: '1' }), await runToSuccess('checked')];
    const runsOf = (pipeline: string) =>
      `sluice_runs_total{job="sluice",pipeline="${pipeline}",status="success"}`;
    await promql.until(runsOf('work'), (s) => s[0]?.value === 1);
    // A moment at which Prometheus holds the first runs: the baseline of the increases.
    const baseline = Date.now() / 1000;
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const later = [];
    for (let n = 2; n <= 4; n++) later.push(await runToSuccess('work', { n: String(n) }));
    await promql.until(runsOf('work'), (s) => s[0]?.value === 4);
    const now = Date.now() / 1000;

    const records = 'sluice_step_records_total{job="sluice",pipeline="work"}';
    const counters = byStep(await promql.query(records, now));
    const expected = stepTotals([first[0] as RunReport, ...later]);
    expect(counters).toEqual(expected);
    // The increase since the baseline, read exactly (increase() extrapolates to its window's
    // edges, so an exact comparison uses the same counter at both ends with @).
    const increase = byStep(await promql.query(`${records} - ${records} @ ${baseline}`, now));
    expect(increase).toEqual(stepTotals(later));
    // increase() itself extrapolates the three runs to its window's edges: a little more, never less.
    const window = Math.ceil(now - baseline);
    const [rough] = await promql.query(
      `increase(sluice_runs_total{job="sluice",pipeline="work",status="success"}[${window}s])`,
      now,
    );
    // The samples span at least the window less two scrape intervals (1 s each).
    expect(rough?.value).toBeGreaterThanOrEqual(3);
    expect(rough?.value).toBeLessThanOrEqual((3 * window) / (window - 2));

    const checked = first[1] as RunReport;
    const quality = checked.steps.find((step) => step.quality !== undefined);
    expect(quality).toBeDefined();
    const evaluated = await promql.query(
      `sum(sluice_expectations_total{job="sluice",pipeline="checked"})`,
      now,
    );
    expect(evaluated[0]?.value).toBe(quality?.quality?.results.length);
  }, 300_000);

  it('runs every expression of the shipped dashboards and rules without an error, every rule healthy', async () => {
    const promql = prometheus as TestPrometheus;
    await expect(promql.query('sum(rate(sluice_runs_total[5m])')).rejects.toThrow(/parse error/);
    const { exprs } = ruleExpressions();
    for (const expr of exprs) await promql.query(expr);
    for (const { where, expr } of dashboardExpressions())
      if (!expr.startsWith('label_values('))
        await expect(
          promql.query(expr).then(() => 'ok'),
          where,
        ).resolves.toBe('ok');
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = (await (await fetch(`${promql.url}/api/v1/rules`)).json()) as {
        data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      const rules = answer.data.groups.flatMap((group) => group.rules);
      expect(rules).toHaveLength(exprs.length);
      for (const rule of rules)
        expect(rule.health, `${rule.name}: ${rule.lastError}`).not.toBe('err');
      if (rules.every((rule) => rule.health === 'ok')) break;
      if (Date.now() > deadline) throw new Error(`rules not evaluated: ${JSON.stringify(rules)}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // Recording rules produce series from what serve exported.
    await promql.until('sluice:runs:rate1h', (samples) => samples.length > 0);
  }, 120_000);
});

/** The PromQL of the rules file: each rule's `expr`, and the names it records. */
function ruleExpressions(): { exprs: string[]; recorded: Set<string> } {
  const text = readFileSync(RULES, 'utf8');
  const exprs = [...text.matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1] as string);
  const recorded = new Set([...text.matchAll(/^\s+- record: (\S+)$/gm)].map((m) => m[1] as string));
  return { exprs, recorded };
}

interface DashboardJSON {
  readonly title: string;
  readonly panels: readonly { title: string; targets: readonly { expr: string }[] }[];
  readonly templating: { list: readonly { definition?: string }[] };
}

/** Every panel query of the shipped dashboards, with Grafana's variables filled in. */
function dashboardExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const file of readdirSync(join(ROOT, DASHBOARD_DIR)).filter((f) => f.endsWith('.json'))) {
    const dashboard = JSON.parse(
      readFileSync(join(ROOT, DASHBOARD_DIR, file), 'utf8'),
    ) as DashboardJSON;
    for (const panel of dashboard.panels)
      for (const target of panel.targets)
        out.push({
          where: `${dashboard.title} / ${panel.title}`,
          expr: target.expr
            .replaceAll('$__rate_interval', '1m')
            .replaceAll('=~"$pipeline"', '=~".*"')
            .replaceAll('="$pipeline"', '="work"'),
        });
    for (const variable of dashboard.templating.list)
      if (variable.definition !== undefined)
        out.push({ where: `${dashboard.title} / variable`, expr: variable.definition });
  }
  return out;
}

/**
 * The metric names an expression uses that neither the catalog nor the rules define (string
 * literals left out, so label values never count): `sluice_*` families (histograms also as
 * `_bucket`, `_sum`, `_count`) and `sluice:*` recorded series.
 */
function unknownNames(expr: string, recorded: ReadonlySet<string>): string[] {
  const known = new Set<string>();
  for (const family of Object.values(METRIC_FAMILIES)) {
    known.add(family.name);
    if (family.type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) known.add(family.name + suffix);
  }
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  return [...code.matchAll(/\bsluice[_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((name) => !known.has(name) && !recorded.has(name));
}

describe('the shipped dashboards and rules', () => {
  it('are what scripts/monitoring-dashboards.ts writes, and the rules pass promtool', async () => {
    for (const [file, json] of Object.entries(await renderDashboards()))
      expect(
        readFileSync(join(ROOT, DASHBOARD_DIR, file), 'utf8'),
        `${file} is stale: npm run deploy:dashboards`,
      ).toBe(json);
    if (!available) return;
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('name only metrics the catalog defines', () => {
    const { exprs, recorded } = ruleExpressions();
    expect(exprs.length).toBeGreaterThan(10);
    for (const expr of exprs) expect(unknownNames(expr, recorded), expr).toEqual([]);
    const panels = dashboardExpressions();
    expect(panels.length).toBeGreaterThan(30);
    for (const { where, expr } of panels) expect(unknownNames(expr, recorded), where).toEqual([]);
    // The check itself finds a family that does not exist, but not a label value naming one.
    expect(unknownNames('rate(sluice_rows_total{step="sluice_x"}[5m])', recorded)).toEqual([
      'sluice_rows_total',
    ]);
    expect(unknownNames('sluice:nope:rate5m', recorded)).toEqual(['sluice:nope:rate5m']);
  });
});
