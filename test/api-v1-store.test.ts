import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { runStoreDialects } from './support/run-store-dialects.js';

const { dialects, stores } = await runStoreDialects('sluice-api-v1-store-');

for (const dialect of dialects)
  describe.skipIf(dialect.skip !== undefined)(
    `RunStore reads of /api/v1 on ${dialect.name}`,
    () => {
      it('listRuns pages strictly before a (queuedAt, id) cursor, filtered by trigger', async () => {
        const store = await dialect.open();
        stores.push(store);
        // One batch: every run has the same queuedAt, so only the id orders them.
        const batch = await store.enqueueRuns(
          Array.from({ length: 12 }, (_, i) => ({
            pipeline: 'p',
            trigger: i % 3 === 0 ? ('sensor' as const) : ('manual' as const),
          })),
        );
        expect(new Set(batch.map((r) => r.queuedAt)).size).toBe(1);
        const all = await store.listRuns({ pipeline: 'p', limit: 100 });
        const pages: RunRecord[][] = [];
        let before: { queuedAt: number; id: string } | undefined;
        for (;;) {
          const page = await store.listRuns({
            pipeline: 'p',
            limit: 5,
            ...(before ? { before } : {}),
          });
          if (page.length === 0) break;
          pages.push(page);
          const last = page.at(-1) as RunRecord;
          before = { queuedAt: last.queuedAt, id: last.id };
        }
        expect(pages.flat().map((r) => r.id)).toEqual(all.map((r) => r.id));
        expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
        const sensors = await store.listRuns({ pipeline: 'p', trigger: 'sensor', limit: 100 });
        expect(sensors).toHaveLength(4);
        expect(sensors.every((r) => r.trigger === 'sensor')).toBe(true);
        const since = await store.listRuns({ queuedSince: (batch[0]?.queuedAt ?? 0) + 1 });
        expect(since).toEqual([]);
      });

      it('listTasksOf reads the tasks of many runs at once, in chunks past 500 runs', async () => {
        const store = await dialect.open();
        stores.push(store);
        const runs = await store.enqueueRuns(
          Array.from({ length: 620 }, () => ({ pipeline: 'p', trigger: 'manual' as const })),
        );
        await store.db.transaction(async (tx) => {
          for (const run of runs)
            for (const [attempt, step] of [
              [1, 'b'],
              [1, 'a'],
              [2, 'a'],
            ] as const)
              await tx.run(
                `INSERT INTO tasks (run_id, step, attempt, state, started_at, rows_out, cached)
               VALUES (?, ?, ?, 'success', ?, 1, ?)`,
                [run.id, step, attempt, attempt * 10, attempt === 2 ? 1 : 0],
              );
        });
        const ids = runs.map((r) => r.id);
        const tasks = await store.listTasksOf([...ids, ids[0] as string, 'run_unknown']);
        expect(tasks).toHaveLength(620 * 3);
        const first = tasks.filter((t) => t.runId === ids[0]);
        expect(first).toEqual(await store.listTasks(ids[0] as string));
        expect(first.map((t) => [t.attempt, t.step, t.cached === true])).toEqual([
          [1, 'a', false],
          [1, 'b', false],
          [2, 'a', true],
        ]);
        expect(await store.listTasksOf([])).toEqual([]);
      });

      it('allEventsAfter reads every kind after an id, oldest first', async () => {
        const store = await dialect.open();
        stores.push(store);
        const start = await store.lastEventId();
        await store.appendEvent('a.one', { pipeline: 'p' });
        await store.appendEvent('b.two', { runId: 'r' });
        await store.appendEvent('c.three', {});
        const events = await store.allEventsAfter(start);
        expect(events.map((e) => e.kind)).toEqual(['a.one', 'b.two', 'c.three']);
        expect(await store.allEventsAfter(start, 2)).toHaveLength(2);
        expect(await store.allEventsAfter(events[2]?.id ?? 0)).toEqual([]);
      });

      if (dialect.name === 'embedded SQLite')
        it('pages of runs are read through an index, not a scan and sort', async () => {
          const store = await dialect.open();
          stores.push(store);
          const plan = async (sql: string, params: unknown[]): Promise<string> =>
            (await store.db.all(`EXPLAIN QUERY PLAN ${sql}`, params as never))
              .map((row) => String(row['detail']))
              .join('\n');
          const newest = await plan(
            'SELECT * FROM runs WHERE (queued_at < ? OR (queued_at = ? AND id < ?)) ORDER BY queued_at DESC, id DESC LIMIT ?',
            [1, 1, 'x', 50],
          );
          expect(newest).toMatch(/runs_page/);
          expect(newest).not.toMatch(/TEMP B-TREE/);
          const ofPipeline = await plan(
            'SELECT * FROM runs WHERE pipeline = ? ORDER BY queued_at DESC, id DESC LIMIT ?',
            ['p', 50],
          );
          expect(ofPipeline).toMatch(/runs_pipeline_page/);
          expect(ofPipeline).not.toMatch(/TEMP B-TREE/);
          const jobEvents = await plan(
            `SELECT id FROM lineage_events WHERE job_namespace = ? AND job_name = ?
              ORDER BY event_time DESC, id DESC LIMIT ?`,
            ['ns', 'job', 200],
          );
          expect(jobEvents).toMatch(/lineage_events_job/);
          expect(jobEvents).not.toMatch(/TEMP B-TREE/);
        });
    },
  );
