import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../src/observe/metrics/prometheus-metrics.js';
import type { RunReport } from '../src/observe/run-report.js';
import { AdhocRunFigures, adhocExporter } from '../src/orchestrator/adhoc-run-figures.js';
import { silentLogger } from '../src/core/logger.js';
import type { AttemptFigures } from '../src/orchestrator/attempt-metrics.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { ROOT, tempDir } from './helpers.js';
import { samples, valueOf } from './support/exposition.js';
import { orchestratorProject } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';
import { sluiceEnv, startListener, stopListener } from './support/sluice-listener.js';

// Ad-hoc `sluice run` leaves its figures in the run store; exactly one serving process exports
// each run's, so processes sharing a store never count a run twice.

const postgresMissing = await postgresUnavailable();

function figures(runId: string, pipeline = 'orders'): AttemptFigures {
  return {
    pipeline,
    runId,
    status: 'success',
    attempt: { status: 'success', seconds: 1.5 },
    at: 1_700_000_000_000,
    steps: [
      {
        id: 'load',
        sink: true,
        status: 'success',
        seconds: 0.5,
        recordsIn: 10,
        recordsOut: 10,
        recordsQuarantined: 0,
      },
    ],
  };
}

const DIALECTS = [
  {
    name: 'sqlite',
    skip: undefined as string | undefined,
    open: async () => {
      const store = await RunStore.open(join(await tempDir(), 'sluice.db'));
      return { store, drop: async () => undefined };
    },
  },
  {
    name: 'postgres',
    skip: postgresMissing,
    open: async () => {
      const database = await createTestDatabase();
      return { store: await RunStore.open(database.url), drop: database.drop };
    },
  },
];

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip !== undefined)(`ad-hoc run figures (${dialect.name})`, () => {
    it('are exported once in all by exporters claiming at the same time', async () => {
      const { store, drop } = await dialect.open();
      const other = await RunStore.open(store.db.location);
      try {
        const outbox = new AdhocRunFigures(store);
        for (let i = 0; i < 200; i++) await outbox.record(figures(`run-${i}`));
        await outbox.record(figures('run-0')); // recorded twice: kept once
        const exporters = await Promise.all(
          [store, other, store, other].map(async () => createPrometheusMetrics()),
        );
        const results = await Promise.all(
          exporters.map((metrics, i) =>
            new AdhocRunFigures(i % 2 === 0 ? store : other).export(metrics, `exporter-${i}`),
          ),
        );
        expect(results.reduce((sum, r) => sum + r.recorded, 0)).toBe(200);
        let runs = 0;
        for (const metrics of exporters)
          runs +=
            valueOf(samples((await metrics.expose()).body), 'sluice_runs_total', {
              pipeline: 'orders',
              status: 'success',
            }) ?? 0;
        expect(runs).toBe(200);
        // Nothing is left: a later export, and one after a restart, add nothing.
        expect(await outbox.export(exporters[0]!, 'exporter-0')).toEqual({
          recorded: 0,
          unreadable: 0,
        });
      } finally {
        await other.close();
        await store.close();
        await drop();
      }
    });

    it('skips figures it cannot read and drops figures nobody exported for a week', async () => {
      const { store, drop } = await dialect.open();
      try {
        const outbox = new AdhocRunFigures(store);
        const now = Date.now();
        await outbox.record(figures('old'), now - 8 * 24 * 3600_000);
        await store.db.run(
          'INSERT INTO adhoc_run_figures (run_id, figures, recorded_at) VALUES (?, ?, ?)',
          ['garbled', '{"steps": 3', now],
        );
        await outbox.record(figures('new'), now);
        const metrics = await createPrometheusMetrics();
        expect(await outbox.export(metrics, 'me', now)).toEqual({ recorded: 1, unreadable: 1 });
        const all = samples((await metrics.expose()).body);
        expect(valueOf(all, 'sluice_runs_total', { pipeline: 'orders', status: 'success' })).toBe(
          1,
        );
      } finally {
        await store.close();
        await drop();
      }
    });
  });

describe('the export before a scrape', () => {
  it('logs a store it cannot read and lets the scrape answer', async () => {
    const store = await RunStore.open(join(await tempDir(), 'sluice.db'));
    await new AdhocRunFigures(store).record(figures('run-1'));
    await store.close();
    const warnings: string[] = [];
    const logger = {
      ...silentLogger,
      warn: (_fields: object, message: string) => void warnings.push(message),
    };
    const metrics = await createPrometheusMetrics();
    await adhocExporter(store, metrics, 'me', logger)();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not be read from the run store/);
    expect((await metrics.expose()).body).toContain('sluice_build_info');
  });
});

const children: ChildProcess[] = [];
// Stopped and gone before the test's folders are removed: a stopping serve still writes there.
afterEach(async () => {
  await Promise.all(children.splice(0).map((child) => stopListener(child)));
});

function serve(dir: string): Promise<string> {
  const { child, url } = startListener(
    ['serve', '--project', dir, '--workers', '0', '--http', '0'],
    {
      announces: 'api',
    },
  );
  children.push(child);
  return url;
}

describe('sluice run, then sluice serve --http', () => {
  it("exports the ad-hoc run's figures once, in the first scrape after the run", async () => {
    const dir = await orchestratorProject();
    const run = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'sluice.js'), 'run', 'pipelines/work.ts', '-p', 'n=4', '--json'],
      { cwd: dir, env: sluiceEnv(), encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as RunReport;
    const first = await serve(dir);
    const scrape = async (url: string) => samples(await (await fetch(`${url}/metrics`)).text());
    const once = await scrape(first);
    expect(valueOf(once, 'sluice_runs_total', { pipeline: 'work', status: 'success' })).toBe(1);
    for (const step of report.steps)
      if (step.rowsOut !== null)
        expect(
          valueOf(once, 'sluice_step_records_total', {
            pipeline: 'work',
            step: step.id,
            direction: 'out',
          }),
        ).toBe(step.rowsOut);
    const again = await scrape(first);
    expect(valueOf(again, 'sluice_runs_total', { pipeline: 'work', status: 'success' })).toBe(1);
    // A second process on the same store: the run is the first one's, not counted again.
    const second = await serve(dir);
    expect(
      valueOf(await scrape(second), 'sluice_runs_total', { pipeline: 'work', status: 'success' }),
    ).toBe(undefined);
  });
});
