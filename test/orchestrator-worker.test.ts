import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { MetricHistoryStore } from '../src/quality/metric-history.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import {
  orchestratorProject,
  readDeltaTable,
  workUntilFinished,
} from './support/orchestrator-project.js';

let dir: string;
let store: RunStore;
let project: Project;

beforeEach(async () => {
  dir = await orchestratorProject();
  project = await Project.open(dir);
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
});
afterEach(async () => {
  await store.close();
});

describe('worker', () => {
  it('executes queued runs with their params, records tasks and writes idempotently', async () => {
    const runs = await store.enqueueRuns(
      [1, 2, 3].map((n) => ({
        pipeline: 'work',
        trigger: 'manual' as const,
        params: { n: String(n) },
        maxAttempts: 6,
      })),
    );
    const done = await workUntilFinished(store, project, runs);
    expect(done.map((r) => r.state)).toEqual(['success', 'success', 'success']);
    const rows = await readDeltaTable(dir, join(dir, 'out', 'work'));
    expect(rows.map((r) => [r['run_id'], r['n']]).sort()).toEqual(
      runs.map((r, i) => [r.id, i + 1]).sort(),
    );
    // Two runs may race to create the table; the loser's attempt is retried (a new attempt).
    const last = done[0]?.attempt ?? 1;
    const tasks = (await store.listTasks(runs[0]?.id ?? '')).filter((t) => t.attempt === last);
    // Steps that start within the same millisecond are listed by name, so the order is checked
    // by start time, not by position.
    const byStep = new Map(tasks.map((t) => [t.step, t]));
    expect([...byStep.keys()].sort()).toEqual(['item', 'out', 'slow']);
    expect(tasks.every((t) => t.state === 'success')).toBe(true);
    const started = (step: string): number => byStep.get(step)?.startedAt ?? Number.NaN;
    expect(started('item')).toBeLessThanOrEqual(started('slow'));
    expect(started('slow')).toBeLessThanOrEqual(started('out'));
    expect(byStep.get('out')?.rowsOut).toBe(1);
  });

  it('retries a retryable failure and succeeds on the next attempt', async () => {
    const [run] = await store.enqueueRuns([
      { pipeline: 'flaky', trigger: 'manual', maxAttempts: 3 },
    ]);
    const [done] = await workUntilFinished(store, project, [run as RunRecord]);
    expect(done?.state).toBe('success');
    expect(done?.attempt).toBe(2);
    const tasks = await store.listTasks(run?.id ?? '');
    expect(tasks.filter((t) => t.step === 'gate').map((t) => [t.attempt, t.state])).toEqual([
      [1, 'failed'],
      [2, 'success'],
    ]);
  });

  it('resumes a --use-cache run on its next attempt from the step that failed', async () => {
    const [run] = await store.enqueueRuns([
      { pipeline: 'flaky', trigger: 'manual', maxAttempts: 3, useCache: true },
    ]);
    const [done] = await workUntilFinished(store, project, [run as RunRecord]);
    expect(done?.state).toBe('success');
    expect(done?.attempt).toBe(2);
    const tasks = await store.listTasks(run?.id ?? '');
    expect(tasks.map((t) => [t.attempt, t.step, t.cached === true ? 'cached' : t.state])).toEqual(
      expect.arrayContaining([
        [1, 'one', 'success'],
        [1, 'gate', 'failed'],
        [2, 'one', 'cached'],
        [2, 'gate', 'success'],
      ]),
    );
  });

  it('skips a --use-cache run whose code, params and inputs match a successful run', async () => {
    const enqueue = async (useCache: boolean): Promise<RunRecord> =>
      (
        await store.enqueueRuns([{ pipeline: 'cached', trigger: 'manual', useCache }])
      )[0] as RunRecord;
    const [first] = await workUntilFinished(store, project, [await enqueue(true)]);
    expect(first?.state).toBe('success');
    expect(first?.cacheKey).toMatch(/^[0-9a-f]{64}$/);
    const [second] = await workUntilFinished(store, project, [await enqueue(true)]);
    expect(second?.state).toBe('skipped');
    const skippedEvent = (await store.listEvents({ runId: second?.id ?? '' })).find(
      (e) => e.kind === 'run.skipped',
    );
    expect(skippedEvent?.data['cachedFrom']).toBe(first?.id);
    const [forced] = await workUntilFinished(store, project, [await enqueue(false)]);
    expect(forced?.state).toBe('success');
    await writeFile(join(dir, 'data', 'cached.csv'), 'id\n1\n2\n3\n');
    const [changed] = await workUntilFinished(store, project, [await enqueue(true)]);
    expect(changed?.state).toBe('success');
    expect(changed?.cacheKey).not.toBe(first?.cacheKey);
  });

  it('keeps the metric history of checked datasets in the run store, shared by all workers', async () => {
    const runs = await store.enqueueRuns([
      { pipeline: 'checked', trigger: 'manual' },
      { pipeline: 'checked', trigger: 'manual' },
    ]);
    const done = await workUntilFinished(store, project, runs, { concurrency: 1 });
    expect(done.map((r) => r.state)).toEqual(['success', 'success']);
    const shared = await MetricHistoryStore.onLog(store.metricHistoryLog()).entries('checked.gate');
    expect(shared.map((e) => [e.runId, e.metrics.row_count])).toEqual([
      [runs[0]?.id, 5],
      [runs[1]?.id, 5],
    ]);
    const local = await MetricHistoryStore.open(project.stateDir);
    expect(await local.entries('checked.gate')).toEqual([]);
  });

  it('stops a run at its timeout and one canceled while running', async () => {
    const [timed, canceled] = await store.enqueueRuns([
      { pipeline: 'slow', trigger: 'manual' },
      { pipeline: 'hang', trigger: 'manual' },
    ]);
    let asked = false;
    const done = await workUntilFinished(
      store,
      project,
      [timed as RunRecord, canceled as RunRecord],
      {
        whileRunning: async (r) => {
          if (r.id === canceled?.id && !asked) {
            asked = true;
            await store.requestCancel(r.id);
          }
        },
      },
    );
    const byId = new Map(done.map((r) => [r.id, r]));
    expect(byId.get(timed?.id ?? '')?.state).toBe('failed');
    expect(byId.get(timed?.id ?? '')?.error?.code).toBe('RUN_TIMEOUT');
    expect(byId.get(canceled?.id ?? '')?.state).toBe('canceled');
  });
});
