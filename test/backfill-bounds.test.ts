import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRegistry, pipeline, sql } from '../src/index.js';
import { planPipeline } from '../src/plan/planner.js';
import { planBackfill } from '../src/orchestrator/backfill.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { Logger } from '../src/core/logger.js';
import { runScheduler, scheduleDueRuns } from '../src/orchestrator/scheduler.js';
import { sleep } from '../src/orchestrator/worker.js';
import { sluice, tempDir } from './helpers.js';

const DAY = 86_400_000;

async function projectWith(name: string, options: string): Promise<string> {
  const dir = await tempDir('sluice-bounds-');
  await mkdir(join(dir, 'pipelines'));
  await writeFile(
    join(dir, 'pipelines', `${name}.ts`),
    `import { pipeline, sql } from 'sluice';
export default pipeline('${name}', { ${options}, steps: { one: sql\`select 1 as x\` } });
`,
  );
  return dir;
}

const BOUNDED = `schedule: { cron: '0 0 * * *', timezone: 'UTC' }, start: '2024-01-10', end: '2024-01-20'`;

describe('backfill and catchup keep to the pipeline start and end', () => {
  it('planBackfill never plans an interval before start or after end and says what it cut', async () => {
    const dir = await projectWith('bounded', BOUNDED);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const loaded = await (await Project.open(dir)).load('bounded');
      const plan = await planBackfill(store, loaded, {
        from: Date.parse('2024-01-01'),
        to: Date.parse('2024-02-01'),
      });
      const starts = plan.intervals.map((p) => new Date(p.interval.start).toISOString());
      expect(starts[0]).toBe('2024-01-10T00:00:00.000Z');
      expect(starts.at(-1)).toBe('2024-01-19T00:00:00.000Z');
      expect(plan.intervals).toHaveLength(10);
      for (const p of plan.intervals) {
        expect(p.interval.start).toBeGreaterThanOrEqual(Date.parse('2024-01-10'));
        expect(p.interval.end).toBeLessThanOrEqual(Date.parse('2024-01-20'));
      }
      expect(plan.cuts.map((c) => [c.reason, c.from, c.to])).toEqual([
        ['before-start', Date.parse('2024-01-01'), Date.parse('2024-01-10')],
        ['after-end', Date.parse('2024-01-20'), Date.parse('2024-02-01')],
      ]);

      // A range wholly before start plans nothing and says why.
      const early = await planBackfill(store, loaded, {
        from: Date.parse('2023-12-01'),
        to: Date.parse('2023-12-05'),
      });
      expect(early.intervals).toEqual([]);
      expect(early.cuts).toHaveLength(1);
      expect(early.cuts[0]).toMatchObject({
        reason: 'before-start',
        from: Date.parse('2023-12-01'),
        to: Date.parse('2023-12-05'),
      });

      // A range inside the bounds is not cut.
      const inside = await planBackfill(store, loaded, {
        from: Date.parse('2024-01-12'),
        to: Date.parse('2024-01-14'),
      });
      expect(inside.intervals).toHaveLength(2);
      expect(inside.cuts).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('a start or end that is not a date is a config error naming it', async () => {
    const dir = await projectWith(
      'badend',
      `schedule: { cron: '0 0 * * *' }, start: '2024-01-10', end: 'next tuesday'`,
    );
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const loaded = await (await Project.open(dir)).load('badend');
      await expect(
        planBackfill(store, loaded, {
          from: Date.parse('2024-01-01'),
          to: Date.parse('2024-02-01'),
        }),
      ).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/end "next tuesday" is not a date/),
      });
    } finally {
      await store.close();
    }
  });

  it('sluice check reports a start or end that is not a date, and an end not after start', () => {
    const plan = (p: ReturnType<typeof pipeline>) =>
      planPipeline(p, { connectors: defaultRegistry.lookup });
    const steps = { one: sql`select 1 as x` };
    const bad = plan(pipeline('bad_bounds', { start: 'yesterday', end: 'soon', steps }));
    expect(bad.ok).toBe(false);
    expect(bad.diagnostics.map((d) => [d.code, d.path])).toEqual([
      ['invalid-start', 'start'],
      ['invalid-end', 'end'],
    ]);
    const reversed = plan(pipeline('reversed', { start: '2024-02-01', end: '2024-01-01', steps }));
    expect(reversed.diagnostics.map((d) => d.message)).toEqual([
      'end 2024-01-01 is not after start 2024-02-01',
    ]);
    expect(plan(pipeline('fine', { start: '2024-01-01', end: '2024-02-01', steps })).ok).toBe(true);
  });

  it('catchup creates the intervals between start and end only', async () => {
    const dir = await projectWith('caught', `${BOUNDED}, catchup: true`);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const loaded = await (await Project.open(dir)).load('caught');
      const now = Date.parse('2024-03-01T12:00:00Z');
      const created = await scheduleDueRuns(store, loaded, now);
      expect(
        created.map((r) => new Date(r.interval?.start ?? 0).toISOString().slice(0, 10)),
      ).toEqual(
        Array.from({ length: 10 }, (_, i) =>
          new Date(Date.parse('2024-01-10') + i * DAY).toISOString().slice(0, 10),
        ),
      );
      // Later ticks past the end create nothing more.
      expect(await scheduleDueRuns(store, loaded, now + 3 * DAY)).toEqual([]);
      expect(await store.listRuns({ pipeline: 'caught', limit: 1_000 })).toHaveLength(10);
    } finally {
      await store.close();
    }
  });

  it('without catchup, no run is scheduled once the end has passed', async () => {
    const dir = await projectWith('ended', BOUNDED);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const loaded = await (await Project.open(dir)).load('ended');
      expect(await scheduleDueRuns(store, loaded, Date.parse('2024-03-01T12:00:00Z'))).toEqual([]);
      const inside = await scheduleDueRuns(store, loaded, Date.parse('2024-01-15T12:00:00Z'));
      expect(inside.map((r) => r.interval?.start)).toEqual([Date.parse('2024-01-14')]);
    } finally {
      await store.close();
    }
  });

  it('a pipeline with an end that is not a date is reported once and the others are still scheduled', async () => {
    const dir = await projectWith('a_bad', `schedule: { every: '1m' }, end: 'soon'`);
    await writeFile(
      join(dir, 'pipelines', 'b_good.ts'),
      `import { pipeline, sql } from 'sluice';
export default pipeline('b_good', { schedule: { every: '1m' }, steps: { one: sql\`select 1 as x\` } });
`,
    );
    const errors: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (fields, message) => errors.push(`${message ?? ''} ${JSON.stringify(fields)}`),
      child: () => logger,
    };
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    const stop = new AbortController();
    try {
      const scheduler = runScheduler({
        store,
        project: await Project.open(dir),
        tickMs: 50,
        signal: stop.signal,
        logger,
      });
      const deadline = Date.now() + 60_000;
      let ticks = 0;
      while (Date.now() < deadline) {
        if ((await store.listRuns({ pipeline: 'b_good' })).length > 0 && ++ticks > 5) break;
        await sleep(50);
      }
      stop.abort();
      await scheduler;
      expect(await store.listRuns({ pipeline: 'b_good' })).toHaveLength(1);
      expect(await store.listRuns({ pipeline: 'a_bad' })).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/cannot schedule pipeline.*end \\"soon\\" is not a date/);
    } finally {
      stop.abort();
      await store.close();
    }
  }, 90_000);

  it('sluice backfill --dry-run says which part of the range was cut and why (text and --json)', async () => {
    const dir = await projectWith('bounded', BOUNDED);
    const args = [
      'backfill',
      'bounded',
      '--project',
      dir,
      '--from',
      '2024-01-01',
      '--to',
      '2024-02-01',
      '--dry-run',
    ];
    const json = sluice([...args, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      intervals: number;
      cut: { from: string; to: string; reason: string; message: string }[];
      plan: { logicalDate: string; intervalEnd: string }[];
    };
    expect(parsed.intervals).toBe(10);
    expect(parsed.plan[0]?.logicalDate).toBe('2024-01-10T00:00:00.000Z');
    expect(parsed.plan.at(-1)?.intervalEnd).toBe('2024-01-20T00:00:00.000Z');
    expect(parsed.cut).toEqual([
      expect.objectContaining({
        from: '2024-01-01T00:00:00.000Z',
        to: '2024-01-10T00:00:00.000Z',
        reason: 'before-start',
      }),
      expect.objectContaining({
        from: '2024-01-20T00:00:00.000Z',
        to: '2024-02-01T00:00:00.000Z',
        reason: 'after-end',
      }),
    ]);
    const text = sluice(args);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/10 intervals/);
    expect(text.stdout).toMatch(
      /cut 2024-01-01T00:00:00.000Z \.\. 2024-01-10T00:00:00.000Z: before the pipeline's start \(2024-01-10\)/,
    );
    expect(text.stdout).toMatch(
      /cut 2024-01-20T00:00:00.000Z \.\. 2024-02-01T00:00:00.000Z: after the pipeline's end \(2024-01-20\)/,
    );
  });
});
