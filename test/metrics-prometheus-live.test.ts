import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../src/observe/run-report.js';
import { ROOT } from './helpers.js';
import { orchestratorProject } from './support/orchestrator-project.js';
import type { TestPrometheus } from './support/prometheus.js';
import { hasPrometheus, startPrometheus } from './support/prometheus.js';

// Debian's Prometheus scrapes a real `sluice serve --http` that runs pipelines; PromQL over what
// it stored must give the counts of the runs' reports.

const CI = process.env['CI'] === 'true';
const available = hasPrometheus();
if (CI && !available) throw new Error('prometheus is missing (apt-get install prometheus)');

function env(): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { ...process.env, SLUICE_DEBUG: '' };
  for (const name of Object.keys(clean))
    if (name === 'SLUICE_API_TOKEN' || name.startsWith('SLUICE_WEBHOOK_SECRET_'))
      delete clean[name];
  return clean;
}

let serveProcess: ChildProcess | undefined;
let prometheus: TestPrometheus | undefined;
let api = '';
let dir = '';

async function serve(project: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'bin', 'sluice.js'),
      'serve',
      '--project',
      project,
      '--workers',
      '2',
      '--http',
      '0',
    ],
    { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  serveProcess = child;
  let stderr = '';
  return new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`not serving in 60 s: ${stderr}`)), 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /"api":"(http:\/\/[^"]+)"/.exec(stderr);
      if (found !== null) {
        clearTimeout(deadline);
        resolve(found[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
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
    prometheus = await startPrometheus({ targets: [new URL(api).host] });
    await prometheus.until('up{job="sluice"}', (s) => s[0]?.value === 1);
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (serveProcess !== undefined && serveProcess.exitCode === null) serveProcess.kill('SIGKILL');
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
    expect(rough?.value).toBeGreaterThanOrEqual(3);
    expect(rough?.value).toBeLessThan(4);

    const checked = first[1] as RunReport;
    const quality = checked.steps.find((step) => step.quality !== undefined);
    expect(quality).toBeDefined();
    const evaluated = await promql.query(
      `sum(sluice_expectations_total{job="sluice",pipeline="checked"})`,
      now,
    );
    expect(evaluated[0]?.value).toBe(quality?.quality?.results.length);
  }, 300_000);
});
