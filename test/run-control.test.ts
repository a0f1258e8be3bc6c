import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { FINISHED_STATES } from '../src/orchestrator/run-types.js';
import { runWorker, sleep } from '../src/orchestrator/worker.js';
import { tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';
import type { SluiceProcess } from './support/sluice-process.js';
import { runSluice, startSluice, waitFor } from './support/sluice-process.js';

const postgresSkip = await postgresUnavailable();
if (postgresSkip !== undefined) console.warn(`run control on PostgreSQL skipped: ${postgresSkip}`);

const TIMEOUT_MS = 3_000;

/** Transforms that never give control back in time, each in a pipeline with a 3 s timeout. */
const STUCK: Record<string, string> = {
  // A promise that never settles.
  never: `async () => { await new Promise(() => undefined); }`,
  // CPU-bound: once it spins, nothing can run beside it in its thread. (It yields once first,
  // so that the step's start reaches the run store and the test can time the stop from it.)
  spin: `async (row) => { await new Promise((resolve) => setTimeout(resolve, 50)); for (;;) { if (row === null) return row; } }`,
  // Ignores its signal and waits 20 s.
  deaf: `async (row) => { await new Promise((resolve) => setTimeout(resolve, 20_000)); return row; }`,
};

/** A project whose pipelines run the {@link STUCK} transforms with a timeout of `timeoutMs`. */
async function stuckProject(timeoutMs = TIMEOUT_MS): Promise<string> {
  const dir = await tempDir('sluice-run-control-');
  await mkdir(join(dir, 'pipelines'), { recursive: true });
  await writeFile(join(dir, 'sluice.config.ts'), `export default { pipelines: 'pipelines' };\n`);
  for (const [name, map] of Object.entries(STUCK))
    await writeFile(
      join(dir, 'pipelines', `${name}.ts`),
      `import { pipeline, ref, sink, sql, transform } from 'sluice';
export default pipeline('${name}', {
  timeout: '${timeoutMs}ms',
  steps: {
    one: sql\`select 1 as x\`,
    stuck: transform({ input: ref('one'), map: ${map} }),
    out: sink.parquet({ input: ref('stuck'), path: '../out/${name}.parquet' }),
  },
});
`,
    );
  return dir;
}

const serves: SluiceProcess[] = [];
afterAll(async () => {
  for (const serve of serves) await serve.stop('SIGKILL');
});

describe('sluice run: a timeout always wins', () => {
  for (const name of Object.keys(STUCK))
    it(`fails a run whose transform is stuck (${name}) at its timeout, publishing nothing`, async () => {
      const dir = await stuckProject();
      const began = Date.now();
      const run = await runSluice(['run', `pipelines/${name}.ts`, '--json'], { cwd: dir });
      const tookMs = Date.now() - began;
      expect(run.code, run.stderr.slice(-2000)).toBe(1);
      const report = JSON.parse(run.stdout) as {
        runId: string;
        status: string;
        durationMs: number;
        error: { code: string };
        steps: { id: string; status: string }[];
      };
      expect(report.status).toBe('failed');
      expect(report.error.code).toBe('RUN_TIMEOUT');
      // The run's own clock: from the start of its process to its end.
      expect(report.durationMs).toBeLessThanOrEqual(TIMEOUT_MS + 1_000);
      // The whole command, with Node's start and the pipeline's load, is far from the 20 s.
      expect(tookMs).toBeLessThan(TIMEOUT_MS + 12_000);
      expect(existsSync(join(dir, 'out', `${name}.parquet`))).toBe(false);
      expect(existsSync(join(dir, '.sluice', 'tmp', report.runId))).toBe(false);
      const written = JSON.parse(
        await readFile(join(dir, '.sluice', 'runs', `${report.runId}.json`), 'utf8'),
      ) as { status: string };
      expect(written.status).toBe('failed');
    }, 60_000);
});

/** Runs an in-process worker on `store` until the runs finished, or a minute passed. */
async function workOn(
  store: RunStore,
  dir: string,
  runs: readonly RunRecord[],
  whileRunning?: (run: RunRecord) => Promise<void>,
): Promise<RunRecord[]> {
  const project = await Project.open(dir);
  // Loaded once before: a first load from source blocks the test's event loop for seconds,
  // which would hold back the timers of runs already going.
  for (const name of new Set(runs.map((run) => run.pipeline))) await project.load(name);
  const stop = new AbortController();
  const worker = runWorker({
    store,
    project,
    concurrency: runs.length,
    leaseMs: 30_000,
    pollMs: 50,
    signal: stop.signal,
  });
  const deadline = Date.now() + 90_000;
  let current: RunRecord[] = [];
  while (Date.now() < deadline) {
    current = await Promise.all(runs.map(async (r) => (await store.getRun(r.id)) as RunRecord));
    if (current.every((r) => FINISHED_STATES.includes(r.state))) break;
    if (whileRunning !== undefined)
      for (const r of current) if (r.state === 'running') await whileRunning(r);
    await sleep(50);
  }
  stop.abort();
  await worker;
  return current;
}

/** How long after its stuck step started the run was finished. */
async function stopDelayMs(store: RunStore, run: RunRecord, from?: number): Promise<number> {
  const tasks = await store.listTasks(run.id);
  const stuck = tasks.find((task) => task.step === 'stuck');
  expect(stuck, `the stuck step of ${run.pipeline} was recorded`).toBeDefined();
  return (run.finishedAt ?? 0) - (from ?? stuck?.startedAt ?? 0);
}

describe.skipIf(postgresSkip !== undefined)('a worker on a PostgreSQL store', () => {
  it('fails stuck runs at their timeout and cancels a stuck run within a second; neither comes back', async () => {
    // Long enough for each run's process to reach its stuck step on a busy machine.
    const timeoutMs = 8_000;
    const dir = await stuckProject(timeoutMs);
    const database = await createTestDatabase();
    const store = await RunStore.open(database.url);
    try {
      const timed = await store.enqueueRuns(
        Object.keys(STUCK).map((pipeline) => ({
          pipeline,
          trigger: 'manual' as const,
          maxAttempts: 1,
        })),
      );
      const [toCancel] = await store.enqueueRuns([
        { pipeline: 'never', trigger: 'manual', maxAttempts: 3 },
      ]);
      let canceledAt: number | undefined;
      const done = await workOn(store, dir, [...timed, toCancel as RunRecord], async (run) => {
        if (run.id !== toCancel?.id || canceledAt !== undefined) return;
        const started = (await store.listTasks(run.id)).some((task) => task.step === 'stuck');
        if (!started) return;
        canceledAt = Date.now();
        await store.requestCancel(run.id);
      });
      for (const run of done.slice(0, timed.length)) {
        expect(run.state, run.pipeline).toBe('failed');
        expect(run.error?.code).toBe('RUN_TIMEOUT');
        // The timer starts before the run's process does, so this is an upper bound.
        expect(await stopDelayMs(store, run)).toBeLessThanOrEqual(timeoutMs + 1_000);
      }
      const canceled = done.at(-1) as RunRecord;
      expect(canceled.state).toBe('canceled');
      expect(canceled.attempt).toBe(1);
      expect(await stopDelayMs(store, canceled, canceledAt)).toBeLessThanOrEqual(1_000);
      const events = await store.listEvents({ runId: canceled.id });
      expect(events.map((event) => event.kind)).not.toContain('run.up_for_retry');
    } finally {
      await store.close();
      await database.drop();
    }
  }, 180_000);
});

describe('a cancel is final', () => {
  it('a canceled run whose worker stopped heartbeating is canceled when its lease expires, not retried', async () => {
    const dir = await tempDir('sluice-cancel-final-');
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      const [run] = await store.enqueueRuns([{ pipeline: 'p', trigger: 'manual', maxAttempts: 3 }]);
      const claim = await store.claimRun('gone-worker', 1);
      expect(claim?.run.id).toBe(run?.id);
      expect(await store.requestCancel(run?.id ?? '')).toBe('running');
      // Another worker's claim settles expired leases first.
      await waitFor(
        () => 'the expired lease to be settled',
        async () =>
          (await store.claimRun('other-worker', 30_000)) === undefined &&
          (await store.getRun(run?.id ?? ''))?.state !== 'running',
        10_000,
      );
      const after = await store.getRun(run?.id ?? '');
      expect(after?.state).toBe('canceled');
      expect(after?.attempt).toBe(1);
      const kinds = (await store.listEvents({ runId: run?.id ?? '' })).map((e) => e.kind);
      expect(kinds).toContain('run.canceled');
      expect(kinds).not.toContain('run.lease_expired');
    } finally {
      await store.close();
    }
  });

  it('an attempt that fails retryably after a cancel was asked for ends canceled', async () => {
    const dir = await tempDir('sluice-cancel-final-');
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      await store.enqueueRuns([{ pipeline: 'p', trigger: 'manual', maxAttempts: 3 }]);
      const claim = await store.claimRun('w', 30_000);
      await store.requestCancel(claim?.run.id ?? '');
      const finished = await store.finishAttempt(claim?.run.id ?? '', claim?.fencingToken ?? 0, {
        state: 'failed',
        retryable: true,
        error: { code: 'RETRYABLE', message: 'connection reset' },
      });
      expect(finished).toEqual({ recorded: true, state: 'canceled' });
      expect(await store.claimRun('w', 30_000)).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe('sluice serve', () => {
  it('fails a spinning run at its timeout, cancels a deaf one within a second, and on SIGTERM hands a stuck run back after the grace period', async () => {
    const timeoutMs = 8_000;
    const dir = await stuckProject(timeoutMs);
    // Without a timeout, the stuck run would hold its worker forever.
    const file = join(dir, 'pipelines', 'never.ts');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/ {2}timeout: .*\n/, ''));
    const serve = startSluice(['serve', '--project', dir, '--workers', '3', '--grace', '1s'], {
      cwd: dir,
    });
    serves.push(serve);
    const trigger = async (pipeline: string): Promise<string> => {
      const queued = await runSluice(['trigger', pipeline, '--project', dir, '--json'], {
        cwd: dir,
      });
      expect(queued.code, queued.stderr).toBe(0);
      return (JSON.parse(queued.stdout) as { id: string }).id;
    };
    const [spin, deaf, never] = [
      await trigger('spin'),
      await trigger('deaf'),
      await trigger('never'),
    ];
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const stuckStarted = (runId: string) => async () =>
        (await store.listTasks(runId)).some((task) => task.step === 'stuck');
      await waitFor(
        () => `deaf's stuck step to start (${serve.stderr().slice(-1000)})`,
        stuckStarted(deaf),
      );
      const cancelAt = Date.now();
      const cancel = await runSluice(['cancel', deaf, '--project', dir], { cwd: dir });
      expect(cancel.code, cancel.stderr).toBe(0);
      await waitFor(
        () => `the spinning run to time out (${serve.stderr().slice(-1000)})`,
        async () => (await store.getRun(spin))?.state === 'failed',
      );
      const spun = await store.getRun(spin);
      expect(spun?.error?.code).toBe('RUN_TIMEOUT');
      expect(await stopDelayMs(store, spun as RunRecord)).toBeLessThanOrEqual(timeoutMs + 1_000);
      await waitFor(
        () => 'the deaf run to end',
        async () => FINISHED_STATES.includes((await store.getRun(deaf))?.state ?? 'running'),
      );
      const canceled = await store.getRun(deaf);
      expect(canceled?.state, serve.stderr().slice(-3000)).toBe('canceled');
      // From the cancel's record in the store (the cancel command's own start, seconds on a
      // busy machine, is not the run's to answer for).
      const asked = (await store.listEvents({ runId: deaf })).find(
        (event) => event.kind === 'run.cancel_requested',
      )?.at;
      expect(asked).toBeGreaterThanOrEqual(cancelAt);
      expect((canceled?.finishedAt ?? 0) - (asked ?? 0)).toBeLessThanOrEqual(1_000 + 1_000);

      await waitFor(() => `never's stuck step to start`, stuckStarted(never));
      const stopping = Date.now();
      const exit = await serve.stop('SIGTERM');
      expect(exit.code, exit.stderr.slice(-2000)).toBe(0);
      // One second of grace, then the run is stopped and handed back.
      expect(Date.now() - stopping).toBeLessThan(10_000);
      const run = await store.getRun(never);
      expect(run?.state).toBe('up_for_retry');
      expect(run?.leaseOwner).toBeUndefined();
      const kinds = (await store.listEvents({ runId: never })).map((e) => e.kind);
      expect(kinds).toContain('run.released');
      // Another worker can take it at once.
      const claim = await store.claimRun('next-worker', 30_000);
      expect(claim?.run.id).toBe(never);
    } finally {
      await store.close();
    }
  }, 180_000);
});
