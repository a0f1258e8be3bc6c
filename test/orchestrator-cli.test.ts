import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep } from '../src/orchestrator/worker.js';
import { ROOT, sluice, tempDir, killChildren } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const postgresSkip = await postgresUnavailable();

const children: ChildProcess[] = [];
afterEach(() => killChildren(children));

/** A copy of examples/quickstart (pipeline, data and sluice.config.ts) to run in. */
async function quickstartCopy(): Promise<string> {
  const dir = await tempDir('sluice-serve-');
  await cp(join(ROOT, 'examples/quickstart'), dir, {
    recursive: true,
    filter: (source) => !source.includes('/out') && !source.includes('.sluice'),
  });
  return dir;
}

function runsJSON(dir: string): Record<string, unknown>[] {
  const listed = sluice(['runs', '--project', dir, '--json']);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as Record<string, unknown>[];
}

describe('sluice serve and the run commands', () => {
  it('serve runs the quickstart on its schedule with the embedded store; trigger, run-show, pause, cancel', async () => {
    const dir = await quickstartCopy();
    const serve = spawn(
      process.execPath,
      [join(ROOT, 'bin/sluice.js'), 'serve', '--project', dir],
      {
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(serve);
    let log = '';
    serve.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));

    const deadline = Date.now() + 60_000;
    let runs: Record<string, unknown>[] = [];
    while (Date.now() < deadline) {
      await sleep(300);
      runs = runsJSON(dir);
      if (runs.some((r) => r['state'] === 'success')) break;
    }
    const scheduled = runs.find((r) => r['trigger'] === 'schedule');
    expect(scheduled?.['state'], log).toBe('success');
    expect(scheduled?.['logicalDate']).toMatch(/T\d\d:00:00\.000Z$/);

    const shown = sluice(['run-show', String(scheduled?.['id']), '--project', dir]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/state\s+success/);
    expect(shown.stdout).toMatch(/orders_delta\s+1\s+success\s+40\s+40/);
    expect(shown.stdout).toMatch(/quality\.result\s+\{"step":"checked_orders","suite":"orders"/);

    const triggered = sluice(['trigger', 'quickstart', '--project', dir, '--wait', '--json']);
    expect(triggered.code, triggered.stderr).toBe(0);
    expect(JSON.parse(triggered.stdout)).toMatchObject({
      pipeline: 'quickstart',
      state: 'success',
    });

    expect(sluice(['pause', 'quickstart', '--project', dir]).stdout).toBe('quickstart paused\n');
    const queued = sluice(['trigger', 'quickstart', '--project', dir, '--json']);
    const queuedId = String(JSON.parse(queued.stdout).id);
    await sleep(1_000);
    expect(runsJSON(dir).find((r) => r['id'] === queuedId)?.['state']).toBe('queued');
    expect(sluice(['cancel', queuedId, '--project', dir]).stdout).toBe(`${queuedId} canceled\n`);
    expect(sluice(['unpause', 'quickstart', '--project', dir]).code).toBe(0);

    serve.kill('SIGTERM');
    const code = await new Promise((resolve) => serve.once('exit', resolve));
    expect(code, log).toBe(0);
  }, 120_000);

  it.skipIf(postgresSkip !== undefined)(
    'the quickstart runs with --store postgres://... and 2 worker processes, which share the runs',
    async () => {
      const dir = await quickstartCopy();
      // Runs of `held` wait for a release file, so a worker that claimed one stays busy and
      // the other worker must claim the next: the split does not depend on timing.
      const release = join(dir, 'release');
      await writeFile(
        join(dir, 'held.ts'),
        `import { existsSync } from 'node:fs';
import { pipeline, ref, sql, transform } from 'sluice';
const released = async () => { while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 50)); };
export default pipeline('held', { steps: {
  rows: sql\`select 1 as n\`,
  waited: transform({ input: ref('rows'), map: async (row) => { await released(); return row; } }),
} });
`,
      );
      await writeFile(
        join(dir, 'sluice.config.ts'),
        `import { defineProject } from 'sluice';
export default defineProject({ pipelines: { quickstart: './pipeline.ts', held: './held.ts' } });
`,
      );
      const database = await createTestDatabase();
      try {
        const store = ['--project', dir, '--store', database.url];
        const start = (args: string[]): ChildProcess => {
          const child = spawn(process.execPath, [join(ROOT, 'bin/sluice.js'), ...args, ...store], {
            cwd: dir,
            stdio: ['ignore', 'ignore', 'ignore'],
          });
          children.push(child);
          return child;
        };
        start(['serve', '--workers', '0']);
        start(['worker']);
        start(['worker']);
        for (let i = 0; i < 4; i++) {
          expect(sluice(['trigger', 'quickstart', ...store]).code).toBe(0);
          expect(sluice(['trigger', 'held', ...store]).code).toBe(0);
        }
        const listRuns = (): Record<string, unknown>[] =>
          JSON.parse(sluice(['runs', ...store, '--json']).stdout) as Record<string, unknown>[];
        const deadline = Date.now() + 90_000;
        let runs: Record<string, unknown>[] = [];
        while (Date.now() < deadline) {
          runs = listRuns();
          if (runs.filter((r) => r['pipeline'] === 'held' && r['state'] === 'running').length === 2)
            break;
          await sleep(250);
        }
        const held = runs.filter((r) => r['pipeline'] === 'held' && r['state'] === 'running');
        expect(held.length, JSON.stringify(runs)).toBe(2);
        const owners = new Set<unknown>();
        for (const run of held) {
          const shown = JSON.parse(
            sluice(['run-show', String(run['id']), ...store, '--json']).stdout,
          ) as { events: { kind: string; data: { worker?: string } }[] };
          for (const event of shown.events)
            if (event.kind === 'run.started') owners.add(event.data.worker);
        }
        // Each worker runs one run at a time, so the two held runs are one on each.
        expect(owners.size).toBe(2);

        await writeFile(release, '');
        while (Date.now() < deadline) {
          runs = listRuns();
          if (runs.length >= 9 && runs.every((r) => r['state'] === 'success')) break;
          await sleep(500);
        }
        expect(runs.map((r) => [r['state'], r['error']])).toEqual(
          runs.map(() => ['success', null]),
        );
        expect(runs.some((r) => r['trigger'] === 'schedule')).toBe(true);
        // The workers recorded their runs' lineage in the shared store, column lineage included.
        const revenue = sluice([
          'lineage',
          'quickstart.daily_revenue.revenue_eur',
          '--upstream',
          ...store,
        ]);
        expect(revenue.code, revenue.stderr).toBe(0);
        expect(revenue.stdout).toContain(
          'column "sluice:quickstart.orders_eur.amount_eur" -> column "sluice:quickstart.daily_revenue.revenue_eur"',
        );
      } finally {
        for (const child of children.splice(0)) child.kill('SIGTERM');
        await sleep(500);
        await database.drop();
      }
    },
    150_000,
  );

  it('backfill --dry-run prints the plan and submits nothing; bad usage exits 2', async () => {
    const dir = await quickstartCopy();
    const plan = sluice([
      'backfill',
      'quickstart',
      '--project',
      dir,
      '--from',
      '2024-01-01',
      '--to',
      '2024-01-02',
      '--dry-run',
      '--json',
    ]);
    expect(plan.code, plan.stderr).toBe(0);
    const parsed = JSON.parse(plan.stdout) as {
      intervals: number;
      create: number;
      dryRun: boolean;
      plan: { logicalDate: string }[];
    };
    expect(parsed).toMatchObject({ intervals: 24, create: 24, dryRun: true });
    expect(parsed.plan[0]?.logicalDate).toBe('2024-01-01T00:00:00.000Z');
    expect(runsJSON(dir)).toEqual([]);

    const submitted = sluice([
      'backfill',
      'quickstart',
      '--project',
      dir,
      '--from',
      '2024-01-01',
      '--to',
      '2024-01-01T06:00:00Z',
      '--reverse',
    ]);
    expect(submitted.code).toBe(0);
    expect(submitted.stdout).toMatch(/6 intervals, 6 to create/);
    expect(submitted.stdout).toMatch(/6 runs created/);
    expect(runsJSON(dir)).toHaveLength(6);

    expect(
      sluice([
        'backfill',
        'quickstart',
        '--project',
        dir,
        '--from',
        'yesterday',
        '--to',
        '2024-01-02',
      ]).code,
    ).toBe(2);
    expect(sluice(['trigger', 'nope', '--project', dir]).code).toBe(2);
    const unknown = sluice(['run-show', 'run_missing', '--project', dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no run "run_missing"/);
  });
});
