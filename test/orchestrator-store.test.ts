import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from '../src/orchestrator/migrations.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { NewRun } from '../src/orchestrator/run-types.js';
import { openDatabase } from '../src/orchestrator/sql-database.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';
import { tempDir } from './helpers.js';

const postgresSkip = await postgresUnavailable();

interface Backend {
  readonly name: string;
  readonly skip: string | undefined;
  /** A fresh store location. */
  location(): Promise<string>;
  cleanup(): Promise<void>;
}

const dropPostgres: (() => Promise<void>)[] = [];
const backends: Backend[] = [
  {
    name: 'embedded',
    skip: undefined,
    location: async () => join(await tempDir(), '.sluice', 'sluice.db'),
    cleanup: async () => undefined,
  },
  {
    name: 'postgres',
    skip: postgresSkip,
    location: async () => {
      const db = await createTestDatabase();
      dropPostgres.push(db.drop);
      return db.url;
    },
    cleanup: async () => {
      await Promise.all(dropPostgres.splice(0).map((drop) => drop()));
    },
  },
];

const HOUR = 3_600_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');

for (const backend of backends) {
  describe.skipIf(backend.skip !== undefined)(`run store (${backend.name})`, () => {
    let store: RunStore;
    let location: string;

    beforeAll(async () => {
      location = await backend.location();
      store = await RunStore.open(location);
    });
    afterAll(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it('migrates once, also when opened again, and refuses a newer schema', async () => {
      const again = await RunStore.open(location);
      await again.close();
      const db = await openDatabase(location);
      try {
        expect((await migrate(db)).applied).toEqual([]);
        await db.run(
          'INSERT INTO sluice_migrations (version, description, applied_at) VALUES (?, ?, ?)',
          [999, 'from the future', 0],
        );
        await expect(migrate(db)).rejects.toThrow(/schema is version 999, newer/);
        await db.run('DELETE FROM sluice_migrations WHERE version = 999');
      } finally {
        await db.close();
      }
    });

    // Sessions of one PostgreSQL server stand for processes here; SQLite connections of one
    // process share its thread, so they cannot stand for SQLite processes.
    it.skipIf(backend.name !== 'postgres')(
      'migrates a new store once when several processes open it at the same moment',
      async () => {
        const fresh = await backend.location();
        const stores = await Promise.all(Array.from({ length: 6 }, () => RunStore.open(fresh)));
        await Promise.all(stores.map((s) => s.close()));
        const db = await openDatabase(fresh);
        try {
          const [row] = await db.all('SELECT count(*) AS n FROM sluice_migrations');
          expect(Number(row?.['n'])).toBe(MIGRATIONS.length);
        } finally {
          await db.close();
        }
      },
    );

    it('creates an interval run once, however often it is enqueued', async () => {
      const interval = { start: T0, end: T0 + HOUR };
      const first = await store.enqueueRuns([
        { pipeline: 'dedupe', trigger: 'schedule', interval },
      ]);
      const second = await store.enqueueRuns([
        { pipeline: 'dedupe', trigger: 'backfill', interval },
        {
          pipeline: 'dedupe',
          trigger: 'backfill',
          interval: { start: T0 + HOUR, end: T0 + 2 * HOUR },
        },
      ]);
      expect(first).toHaveLength(1);
      expect(second.map((r) => r.interval?.start)).toEqual([T0 + HOUR]);
      expect(await store.listRuns({ pipeline: 'dedupe' })).toHaveLength(2);
    });

    it('claims by priority then age, fences stale workers and records the outcome', async () => {
      const [low] = await store.enqueueRuns([{ pipeline: 'claims', trigger: 'manual' }]);
      const [high] = await store.enqueueRuns([
        { pipeline: 'claims', trigger: 'manual', priority: 5 },
      ]);
      const claim = await store.claimRun('w1', 60_000, ['claims']);
      expect(claim?.run.id).toBe(high?.id);
      expect(claim?.run.state).toBe('running');
      expect(claim?.run.attempt).toBe(1);
      const next = await store.claimRun('w2', 60_000, ['claims']);
      expect(next?.run.id).toBe(low?.id);
      expect(await store.claimRun('w3', 60_000, ['claims'])).toBeUndefined();

      const stale = (claim?.fencingToken ?? 0) - 1;
      expect(
        (await store.finishAttempt(high?.id ?? '', stale, { state: 'success' })).recorded,
      ).toBe(false);
      const done = await store.finishAttempt(high?.id ?? '', claim?.fencingToken ?? 0, {
        state: 'success',
        cursors: { orders: '2024-01-01T01:00:00Z' },
      });
      expect(done).toEqual({ recorded: true, state: 'success' });
      expect(await store.getCursor('claims', 'orders')).toBe('2024-01-01T01:00:00Z');
      const failed = await store.finishAttempt(low?.id ?? '', next?.fencingToken ?? 0, {
        state: 'failed',
        error: { code: 'X', message: 'no' },
        cursors: { orders: 'never' },
      });
      expect(failed.state).toBe('failed');
      expect(await store.getCursor('claims', 'orders')).toBe('2024-01-01T01:00:00Z');
    });

    it('retries retryable failures after the delay, while attempts remain', async () => {
      const [run] = await store.enqueueRuns([
        { pipeline: 'retry', trigger: 'manual', maxAttempts: 2 },
      ]);
      const first = await store.claimRun('w', 60_000, ['retry']);
      const outcome = {
        state: 'failed' as const,
        error: { code: 'RETRYABLE', message: 'reset' },
        retryable: true,
        retryDelayMs: 300,
      };
      expect(
        (await store.finishAttempt(run?.id ?? '', first?.fencingToken ?? 0, outcome)).state,
      ).toBe('up_for_retry');
      expect(await store.claimRun('w', 60_000, ['retry'])).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 350));
      const second = await store.claimRun('w', 60_000, ['retry']);
      expect(second?.run.attempt).toBe(2);
      expect(
        (await store.finishAttempt(run?.id ?? '', second?.fencingToken ?? 0, outcome)).state,
      ).toBe('failed');
    });

    it('gives a run whose lease expired to another worker with a new fencing token', async () => {
      const [run] = await store.enqueueRuns([{ pipeline: 'lease', trigger: 'manual' }]);
      const first = await store.claimRun('dead', 100, ['lease']);
      await store.recordTask(
        {
          runId: run?.id ?? '',
          step: 'a',
          attempt: 1,
          state: 'running',
          startedAt: Date.now(),
          finishedAt: undefined,
          rowsIn: undefined,
          rowsOut: undefined,
          error: undefined,
        },
        first?.fencingToken ?? 0,
      );
      expect(await store.claimRun('alive', 60_000, ['lease'])).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 150));
      const second = await store.claimRun('alive', 60_000, ['lease']);
      expect(second?.run.id).toBe(run?.id);
      expect(second?.fencingToken).toBeGreaterThan(first?.fencingToken ?? 0);
      expect((await store.heartbeat(run?.id ?? '', first?.fencingToken ?? 0, 100)).held).toBe(
        false,
      );
      expect((await store.heartbeat(run?.id ?? '', second?.fencingToken ?? 0, 60_000)).held).toBe(
        true,
      );
      const tasks = await store.listTasks(run?.id ?? '');
      expect(tasks.map((t) => [t.step, t.attempt, t.state])).toEqual([['a', 1, 'failed']]);
      expect((await store.listEvents({ runId: run?.id ?? '' })).map((e) => e.kind)).toContain(
        'run.lease_expired',
      );
    });

    it('honours pause, maxActiveRuns and cancellation', async () => {
      await store.registerPipeline({ name: 'limited', maxActiveRuns: 1 });
      const runs = await store.enqueueRuns([
        { pipeline: 'limited', trigger: 'manual' },
        { pipeline: 'limited', trigger: 'manual' },
        { pipeline: 'limited', trigger: 'manual' },
      ]);
      await store.setPaused('limited', true);
      expect(await store.claimRun('w', 60_000, ['limited'])).toBeUndefined();
      await store.setPaused('limited', false);
      const claim = await store.claimRun('w', 60_000, ['limited']);
      expect(claim).toBeDefined();
      expect(await store.claimRun('w', 60_000, ['limited'])).toBeUndefined();
      expect(await store.requestCancel(runs[2]?.id ?? '')).toBe('canceled');
      expect(await store.requestCancel(claim?.run.id ?? '')).toBe('running');
      expect(await store.heartbeat(claim?.run.id ?? '', claim?.fencingToken ?? 0, 60_000)).toEqual({
        held: true,
        cancelRequested: true,
      });
    });

    it('keeps runs of a concurrency pool within its size, across pipelines', async () => {
      const [a, b, free] = await store.enqueueRuns([
        { pipeline: 'pool_a', trigger: 'manual', pool: 'warehouse' },
        { pipeline: 'pool_b', trigger: 'manual', pool: 'warehouse' },
        { pipeline: 'pool_c', trigger: 'manual' },
      ]);
      const pools = { warehouse: 1 };
      const names = ['pool_a', 'pool_b', 'pool_c'];
      const first = await store.claimRun('w', 60_000, names, pools);
      const second = await store.claimRun('w', 60_000, names, pools);
      expect([first?.run.id, second?.run.id]).toEqual([a?.id, free?.id]);
      expect(await store.claimRun('w', 60_000, names, pools)).toBeUndefined();
      await store.finishAttempt(a?.id ?? '', first?.fencingToken ?? 0, { state: 'success' });
      expect((await store.claimRun('w', 60_000, names, pools))?.run.id).toBe(b?.id);
    });

    it('never leaves a runnable run queued while limits hold back many others', async () => {
      // 30 high-priority runs of a pipeline allowed one at a time, 30 of a pool of size 1 and a
      // 5-wide backfill of 30, then 5 plain low-priority runs: every claim must find a runnable
      // run while one exists, however many blocked ones rank above it.
      await store.registerPipeline({ name: 'inv_serial', maxActiveRuns: 1 });
      const many = (pipeline: string, extra: object): NewRun[] =>
        Array.from({ length: 30 }, () => ({ pipeline, trigger: 'manual' as const, ...extra }));
      await store.enqueueRuns([
        ...many('inv_serial', { priority: 9 }),
        ...many('inv_pooled', { priority: 8, pool: 'narrow' }),
      ]);
      await store.createBackfill(
        { id: 'inv_backfill', pipeline: 'inv_filled', range: { start: 0, end: 1 }, maxParallel: 5 },
        many('inv_filled', { priority: 7, backfillId: 'inv_backfill' }).map((run, i) => ({
          ...run,
          interval: { start: i * HOUR, end: (i + 1) * HOUR },
        })),
      );
      const plain = await store.enqueueRuns(
        Array.from({ length: 5 }, () => ({ pipeline: 'inv_plain', trigger: 'manual' as const })),
      );
      const names = ['inv_serial', 'inv_pooled', 'inv_filled', 'inv_plain'];
      const claimed: string[] = [];
      for (;;) {
        const claim = await store.claimRun('w', 60_000, names, { narrow: 1 });
        if (claim === undefined) break;
        claimed.push(claim.run.pipeline);
      }
      expect(claimed.filter((p) => p === 'inv_serial')).toHaveLength(1);
      expect(claimed.filter((p) => p === 'inv_pooled')).toHaveLength(1);
      expect(claimed.filter((p) => p === 'inv_filled')).toHaveLength(5);
      expect(claimed.filter((p) => p === 'inv_plain')).toHaveLength(5);
      const queued = await store.listRuns({ states: ['queued'], limit: 1_000 });
      expect(queued.filter((r) => plain.some((p) => p.id === r.id))).toEqual([]);
    });

    it('flags each run that missed its SLA once, with an event', async () => {
      const now = Date.now();
      const late = { start: now - 5 * HOUR, end: now - 4 * HOUR };
      const onTime = { start: now - HOUR - HOUR / 2, end: now - HOUR / 2 };
      const [lateRun, onTimeRun] = await store.enqueueRuns([
        { pipeline: 'sla', trigger: 'schedule', interval: late },
        { pipeline: 'sla', trigger: 'schedule', interval: onTime },
      ]);
      const claim = await store.claimRun('w', 60_000, ['sla']);
      const second = await store.claimRun('w', 60_000, ['sla']);
      expect(new Set([claim?.run.id, second?.run.id])).toEqual(
        new Set([lateRun?.id, onTimeRun?.id]),
      );
      const onTimeClaim = claim?.run.id === onTimeRun?.id ? claim : second;
      await store.finishAttempt(onTimeRun?.id ?? '', onTimeClaim?.fencingToken ?? 0, {
        state: 'success',
      });
      expect(await store.flagSlaMisses('sla', HOUR, now)).toEqual([lateRun?.id]);
      expect(await store.flagSlaMisses('sla', HOUR, now + HOUR)).toEqual([]);
      const events = await store.listEvents({ runId: lateRun?.id ?? '' });
      expect(events.filter((e) => e.kind === 'sla.missed')).toHaveLength(1);
    });

    it('moves a schedule only from where the caller read it', async () => {
      const interval = { start: T0, end: T0 + HOUR };
      const run = { pipeline: 'sched', trigger: 'schedule' as const, interval };
      expect(await store.advanceSchedule('sched', undefined, [run], interval.end)).toHaveLength(1);
      expect(await store.advanceSchedule('sched', undefined, [run], interval.end)).toBeUndefined();
      expect(await store.lastScheduled('sched')).toBe(interval.end);
    });
  });
}
