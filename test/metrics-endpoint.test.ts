import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunReport } from '../src/observe/run-report.js';
import { ROOT } from './helpers.js';
import {
  hasOpenMetricsParser,
  hasPromtool,
  openMetricsProblem,
  promtoolCheckMetrics,
  samples,
  valueOf,
} from './support/exposition.js';
import { orchestratorProject } from './support/orchestrator-project.js';
import { sluiceEnv, startListener, stopListener } from './support/sluice-listener.js';

// A real `sluice serve --http` runs pipelines; its /metrics is checked by Debian's promtool and
// its counts against the runs' reports.

const CI = process.env['CI'] === 'true';
const promtool = hasPromtool();
if (CI && !promtool) throw new Error('promtool is missing (apt-get install prometheus)');

const children: ChildProcess[] = [];
// Stopped and gone before the test's folders are removed: a stopping serve still writes there.
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => stopListener(child)));
});

function serve(dir: string): Promise<string> {
  const { child, url } = startListener(
    ['serve', '--project', dir, '--workers', '2', '--http', '127.0.0.1:0'],
    { announces: 'api' },
  );
  children.push(child);
  return url;
}

describe.skipIf(!promtool)('GET /metrics of sluice serve --http', () => {
  it('passes promtool check metrics and counts what the run reports say', async () => {
    const dir = await orchestratorProject();
    const created = spawnSync(
      process.execPath,
      [
        join(ROOT, 'bin', 'sluice.js'),
        'tokens',
        'create',
        'bot',
        '--role',
        'trigger',
        '--project',
        dir,
        '--json',
      ],
      { cwd: ROOT, env: sluiceEnv(), encoding: 'utf8' },
    );
    expect(created.status, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    const url = await serve(dir);

    expect((await fetch(`${url}/metrics`)).status).toBe(401);

    const trigger = async (name: string, params: Record<string, string> = {}): Promise<string> => {
      const response = await fetch(`${url}/api/pipelines/${name}/runs`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ params, priority: 100 }), // ahead of the scheduled hourly runs
      });
      expect(response.status, await response.clone().text()).toBe(202);
      return ((await response.json()) as { id: string }).id;
    };
    const ids = {
      work: await trigger('work', { n: '7' }),
      flaky: await trigger('flaky'),
      checked: await trigger('checked'),
    };
    for (const id of Object.values(ids)) {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const run = (await (await fetch(`${url}/api/runs/${id}`, { headers: auth })).json()) as {
          state: string;
        };
        if (run.state === 'success') break;
        expect(['queued', 'running', 'up_for_retry'], `run ${id}`).toContain(run.state);
        if (Date.now() > deadline) throw new Error(`run ${id} still ${run.state}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }

    const scrape = await fetch(`${url}/metrics`, { headers: auth });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await scrape.text();
    const check = promtoolCheckMetrics(text);
    expect(check, text).toEqual({ code: 0, output: '' });

    const all = samples(text);
    const report = (id: string): RunReport =>
      JSON.parse(readFileSync(join(dir, '.sluice', 'runs', `${id}.json`), 'utf8')) as RunReport;
    for (const pipeline of ['work', 'checked'] as const) {
      const { steps } = report(ids[pipeline]);
      expect(valueOf(all, 'sluice_runs_total', { pipeline, status: 'success' })).toBe(1);
      expect(
        valueOf(all, 'sluice_run_duration_seconds_count', { pipeline, status: 'success' }),
      ).toBe(1);
      expect(valueOf(all, 'sluice_step_duration_seconds_count', { pipeline })).toBe(
        steps.filter((step) => step.status === 'success' || step.status === 'failed').length,
      );
      for (const step of steps) {
        const labels = { pipeline, step: step.id };
        if (step.durationMs > 0)
          expect(valueOf(all, 'sluice_step_seconds_total', labels)).toBeCloseTo(
            step.durationMs / 1000,
            6,
          );
        for (const [direction, count] of [
          ['in', step.rowsIn],
          ['out', step.rowsOut],
        ] as const)
          expect(
            valueOf(all, 'sluice_step_records_total', { ...labels, direction }),
            `${step.id} ${direction}`,
          ).toBe(count === null || count === 0 ? undefined : count);
        if (step.kind === 'sink') {
          expect(valueOf(all, 'sluice_sink_rows_written_total', labels)).toBe(step.rowsOut);
          const at = valueOf(all, 'sluice_dataset_last_success_timestamp_seconds', {
            pipeline,
            dataset: step.id,
          });
          expect(Math.abs((at ?? 0) - Date.now() / 1000)).toBeLessThan(120);
        }
        if (step.quality !== undefined) {
          const passed = step.quality.results.filter((r) => r.success).length;
          const severity = step.quality.results[0]?.expectation_config.severity ?? 'error';
          expect(
            valueOf(all, 'sluice_expectations_total', {
              pipeline,
              dataset: step.id,
              status: 'passed',
              severity,
            }),
          ).toBe(passed);
          expect(valueOf(all, 'sluice_dataset_quality_score', { pipeline, dataset: step.id })).toBe(
            (step.quality.quality_score ?? 0) / 100,
          );
        }
      }
    }
    expect(report(ids.work).steps.some((s) => s.kind === 'sink')).toBe(true);
    expect(report(ids.checked).steps.some((s) => s.quality !== undefined)).toBe(true);
    // flaky fails once with a retryable error, then succeeds.
    expect(valueOf(all, 'sluice_run_retries_total', { pipeline: 'flaky' })).toBe(1);
    expect(valueOf(all, 'sluice_runs_total', { pipeline: 'flaky', status: 'success' })).toBe(1);
    expect(
      valueOf(all, 'sluice_run_duration_seconds_count', { pipeline: 'flaky', status: 'failed' }),
    ).toBe(1);
    expect(valueOf(all, 'sluice_queued_runs', { pipeline: 'work' })).toBeUndefined();
    expect(
      all.some((s) => s.name === 'sluice_scheduler_loop_duration_seconds_count' && s.value > 0),
    ).toBe(true);
    expect(text).not.toContain(ids.work);

    const open = await fetch(`${url}/metrics`, {
      headers: { ...auth, accept: 'application/openmetrics-text; version=1.0.0' },
    });
    expect(open.headers.get('content-type')).toBe(
      'application/openmetrics-text; version=1.0.0; charset=utf-8',
    );
    const body = await open.text();
    expect(body).toContain(`# {run_id="${ids.work}"}`);
    if (hasOpenMetricsParser()) expect(openMetricsProblem(body)).toBeUndefined();
  }, 180_000);
});
