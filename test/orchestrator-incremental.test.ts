import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { incrementalWatermark } from '../src/engine/incremental.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { tempDir } from './helpers.js';
import { readDeltaTable, workUntilFinished } from './support/orchestrator-project.js';

const PIPELINE = `
import { PermanentError, pipeline, param, ref, schema, sink, source, t, transform } from 'sluice';
export default pipeline('events', {
  params: { fail: 'no' },
  steps: {
    events: source.csv({
      path: '../data/events.csv',
      schema: schema({ id: t.int64().notNull(), updated_at: t.timestamp().notNull() }),
      incremental: { cursor: 'updated_at' },
    }),
    gate: transform({
      input: ref('events'),
      map: (row, context) => {
        if (context.params.fail === 'yes') throw new PermanentError('asked to fail');
        return row;
      },
    }),
    out: sink.delta({ input: ref('gate'), path: '../lake/events', mode: 'append' }),
  },
});`;

let dir: string;
let store: RunStore;
let project: Project;

beforeEach(async () => {
  dir = await tempDir('sluice-incremental-');
  await mkdir(join(dir, 'pipelines'));
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'pipelines', 'events.ts'), PIPELINE);
  await writeFile(
    join(dir, 'data', 'events.csv'),
    'id,updated_at\n1,2024-01-01 10:00:00\n2,2024-01-01 11:00:00\n3,2024-01-01 12:00:00\n',
  );
  project = await Project.open(dir);
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
});
afterEach(async () => {
  await store.close();
});

async function runOnce(params: Record<string, string> = {}): Promise<RunRecord> {
  const [run] = await store.enqueueRuns([{ pipeline: 'events', trigger: 'manual', params }]);
  const [done] = await workUntilFinished(store, project, [run as RunRecord]);
  return done as RunRecord;
}

async function watermark(): Promise<string | undefined> {
  return incrementalWatermark(await store.getCursor('events', 'watermark:events'));
}

async function tableIds(): Promise<number[]> {
  const rows = await readDeltaTable(dir, join(dir, 'lake', 'events'));
  return rows.map((row) => Number(row['id'])).sort((a, b) => a - b);
}

describe('incremental sources', () => {
  it('read only rows past the watermark, which moves only when a run succeeds', async () => {
    expect((await runOnce()).state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3]);
    expect(await watermark()).toBe('2024-01-01 12:00:00');

    await appendFile(join(dir, 'data', 'events.csv'), '4,2024-01-02 09:00:00\n');
    expect((await runOnce({ fail: 'yes' })).state).toBe('failed');
    expect(await watermark()).toBe('2024-01-01 12:00:00');

    const next = await runOnce();
    expect(next.state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3, 4]);
    const source = (await store.listTasks(next.id)).find((t) => t.step === 'events');
    expect(source?.rowsOut).toBe(1);

    const idle = await runOnce();
    expect(idle.state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3, 4]);
    expect(await watermark()).toBe('2024-01-02 09:00:00');
  });
});
