import type { ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planBackfill, submitBackfill } from '../src/orchestrator/backfill.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore, intervalRunKey } from '../src/orchestrator/run-store.js';
import { scheduleDueRuns } from '../src/orchestrator/scheduler.js';
import { sleep } from '../src/orchestrator/worker.js';
import { tempDir, killChildren } from './helpers.js';
import { startOrchestratorProcess } from './support/orchestrator-project.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const children: ChildProcess[] = [];

afterEach(() => killChildren(children));

async function projectWith(name: string, options: string): Promise<string> {
  const dir = await tempDir('sluice-sched-');
  await mkdir(join(dir, 'pipelines'));
  await writeFile(
    join(dir, 'pipelines', `${name}.ts`),
    `import { pipeline, sql } from 'sluice';
export default pipeline('${name}', { ${options}, steps: { one: sql\`select 1 as x\` } });
`,
  );
  return dir;
}

describe('scheduler', () => {
  it('restarted (SIGKILL) in the middle of a catchup runs every interval exactly once', async () => {
    const start = Math.floor(Date.now() / MINUTE) * MINUTE - 1_500 * MINUTE;
    const dir = await projectWith(
      'minutely',
      `schedule: { every: '1m' }, catchup: true, start: '${new Date(start).toISOString()}'`,
    );
    const location = join(dir, '.sluice', 'sluice.db');
    const store = await RunStore.open(location);
    try {
      const count = async (): Promise<number> =>
        (await store.listRuns({ pipeline: 'minutely', limit: 100_000 })).length;
      const options = { tickMs: 100, maxIntervalsPerTick: 100 };
      const first = await startOrchestratorProcess('scheduler', dir, location, options, children);
      while ((await count()) < 300) await sleep(20);
      first.kill('SIGKILL');
      const killedAt = await count();
      expect(killedAt).toBeLessThan(1_500);
      // Two schedulers at once after the restart: still no interval twice.
      await startOrchestratorProcess('scheduler', dir, location, options, children);
      await startOrchestratorProcess('scheduler', dir, location, options, children);
      const deadline = Date.now() + 60_000;
      let last: number | undefined;
      while (Date.now() < deadline) {
        last = await store.lastScheduled('minutely');
        if (last !== undefined && last >= Math.floor(Date.now() / MINUTE) * MINUTE) break;
        await sleep(100);
      }
      const runs = await store.listRuns({ pipeline: 'minutely', limit: 100_000 });
      const starts = runs.map((r) => r.interval?.start ?? -1).sort((a, b) => a - b);
      expect(new Set(starts).size).toBe(starts.length);
      expect(starts[0]).toBe(start);
      expect(starts.length).toBe(((last ?? 0) - start) / MINUTE);
      starts.forEach((s, i) => expect(s).toBe(start + i * MINUTE));
    } finally {
      await store.close();
    }
  }, 90_000);

  it('without catchup creates only the latest due interval', async () => {
    const dir = await projectWith('latest', `schedule: { every: '1h' }`);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const loaded = await (await Project.open(dir)).load('latest');
      const now = Date.parse('2024-05-01T10:30:00Z');
      const [run] = await scheduleDueRuns(store, loaded, now);
      expect(run?.interval).toEqual({
        start: Date.parse('2024-05-01T09:00:00Z'),
        end: Date.parse('2024-05-01T10:00:00Z'),
      });
      expect(await scheduleDueRuns(store, loaded, now)).toEqual([]);
      const later = await scheduleDueRuns(store, loaded, now + 5 * HOUR);
      expect(later.map((r) => new Date(r.interval?.start ?? 0).toISOString())).toEqual([
        '2024-05-01T14:00:00.000Z',
      ]);
    } finally {
      await store.close();
    }
  });
});

describe('backfill', () => {
  it('plans, dry-runs, submits 5,000 intervals in bulk and reprocesses only failed ones', async () => {
    const dir = await projectWith('hourly', `schedule: { cron: '0 * * * *' }`);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const loaded = await (await Project.open(dir)).load('hourly');
      const from = Date.parse('2023-01-01T00:00:00Z');
      const range = { from, to: from + 5_000 * HOUR };
      const plan = await planBackfill(store, loaded, range);
      expect(plan.intervals).toHaveLength(5_000);
      expect(await store.listRuns({ pipeline: 'hourly' })).toHaveLength(0);
      const submitted = await submitBackfill(store, loaded, plan);
      expect(submitted.created).toBe(5_000);

      const runs = await store.listRuns({ pipeline: 'hourly', limit: 10_000 });
      const failed = runs.find((r) => r.interval?.start === from + 10 * HOUR);
      const claim = await store.claimRun('w', 60_000, ['hourly']);
      expect(claim?.run.interval?.start).toBe(from);
      await store.finishAttempt(claim?.run.id ?? '', claim?.fencingToken ?? 0, {
        state: 'success',
      });
      await store.requestCancel(failed?.id ?? '');

      const again = await planBackfill(store, loaded, { ...range, to: from + 20 * HOUR });
      expect(
        again.intervals.filter((p) => p.action === 'rerun').map((p) => intervalRunKey(p.interval)),
      ).toEqual([intervalRunKey({ start: from + 10 * HOUR, end: from + 11 * HOUR })]);
      const all = await planBackfill(store, loaded, {
        ...range,
        to: from + 20 * HOUR,
        reprocess: 'all',
      });
      expect(all.intervals.filter((p) => p.action === 'rerun')).toHaveLength(2);
      const rerun = await submitBackfill(store, loaded, again);
      expect(rerun).toMatchObject({ created: 0, rerun: 1 });
      expect((await store.getRun(failed?.id ?? ''))?.state).toBe('queued');
    } finally {
      await store.close();
    }
  });

  it('submits newest first with --reverse and keeps to --max-parallel', async () => {
    const dir = await projectWith('daily', `schedule: { cron: '0 0 * * *', timezone: 'UTC' }`);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const loaded = await (await Project.open(dir)).load('daily');
      const from = Date.parse('2024-01-01T00:00:00Z');
      const plan = await planBackfill(store, loaded, {
        from,
        to: Date.parse('2024-01-06T00:00:00Z'),
        reverse: true,
        maxParallel: 2,
      });
      await submitBackfill(store, loaded, plan);
      const claims = [
        await store.claimRun('w', 60_000),
        await store.claimRun('w', 60_000),
        await store.claimRun('w', 60_000),
      ];
      expect(
        claims.map((c) => c && new Date(c.run.interval?.start ?? 0).toISOString().slice(0, 10)),
      ).toEqual(['2024-01-05', '2024-01-04', undefined]);
    } finally {
      await store.close();
    }
  });
});
