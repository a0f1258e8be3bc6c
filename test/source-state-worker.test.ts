import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runPipeline } from '../src/engine/executor.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import {
  readSourceState,
  sourceStateCursor,
  sourceStateHooks,
} from '../src/orchestrator/source-state.js';
import { tempDir } from './helpers.js';
import { readDeltaTable, workUntilFinished } from './support/orchestrator-project.js';

// Workers save a run's new source state as pending before its sinks publish and promote it with
// the run's success; a run whose worker died in between leaves it pending, and the next run
// settles it by asking the sinks (here a Delta table: its commits carry the run id as a txn).

const PIPELINE = `
import { pipeline, ref, schema, sink, source, t } from 'sluice';
export default pipeline('events', {
  steps: {
    events: source.csv({
      path: '../data/events.csv',
      schema: schema({ id: t.int64().notNull(), updated_at: t.timestamp().notNull() }),
      incremental: { cursor: 'updated_at' },
    }),
    out: sink.delta({ input: ref('events'), path: '../lake/events', mode: 'append' }),
  },
});`;

let dir: string;
let store: RunStore;
let project: Project;

beforeEach(async () => {
  dir = await tempDir('sluice-state-worker-');
  await mkdir(join(dir, 'pipelines'));
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'pipelines', 'events.ts'), PIPELINE);
  await writeFile(
    join(dir, 'data', 'events.csv'),
    'id,updated_at\n1,2024-01-01 10:00:00\n2,2024-01-01 11:00:00\n',
  );
  project = await Project.open(dir);
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
});
afterEach(async () => {
  await store.close();
});

async function runOnce(): Promise<RunRecord> {
  const [run] = await store.enqueueRuns([{ pipeline: 'events', trigger: 'manual' }]);
  const [done] = await workUntilFinished(store, project, [run as RunRecord]);
  return done as RunRecord;
}

async function tableIds(): Promise<number[]> {
  const rows = await readDeltaTable(dir, join(dir, 'lake', 'events'));
  return rows.map((row) => Number(row['id'])).sort((a, b) => a - b);
}

/** Runs the pipeline as a worker would, stopping where a killed worker stops: after publishing. */
async function publishWithoutRecording(): Promise<string> {
  const { pipeline, file } = await project.load('events');
  const report = await runPipeline(pipeline, {
    baseDir: join(file, '..'),
    stateDir: project.stateDir,
    watermarks: await readSourceState(store, pipeline),
    sourceState: sourceStateHooks(store, 'events', { commit: false }),
  });
  expect(report.status).toBe('success');
  return report.runId;
}

describe('workers and the pending source state', () => {
  it('a run that published but never recorded its success is settled by the next run, not loaded again', async () => {
    expect((await runOnce()).state).toBe('success');
    await appendFile(join(dir, 'data', 'events.csv'), '3,2024-01-02 09:00:00\n');
    const orphan = await publishWithoutRecording();
    expect((await store.pendingState('events'))?.runId).toBe(orphan);
    expect(await tableIds()).toEqual([1, 2, 3]);

    await appendFile(join(dir, 'data', 'events.csv'), '4,2024-01-03 09:00:00\n');
    const next = await runOnce();
    expect(next.state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3, 4]);
    expect(await store.pendingState('events')).toBeUndefined();
  });

  it('a pending state whose run published nothing is dropped, so its rows are read again', async () => {
    expect((await runOnce()).state).toBe('success');
    await appendFile(join(dir, 'data', 'events.csv'), '3,2024-01-02 09:00:00\n');
    // A run that saved its state and died before committing to the table; promoting this state
    // would skip row 3 for good.
    await store.savePendingState(
      'events',
      'run_20240102T090000Z_deadbeef',
      { [sourceStateCursor('events')]: '2030-01-01 00:00:00' },
      ['out'],
    );
    const next = await runOnce();
    expect(next.state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3]);
    expect(await store.pendingState('events')).toBeUndefined();
  });
});
