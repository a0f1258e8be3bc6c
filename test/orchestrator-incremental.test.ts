import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { FINISHED_STATES } from '../src/orchestrator/run-types.js';
import { runWorker, sleep } from '../src/orchestrator/worker.js';
import { tempDir } from './helpers.js';

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
  const stop = new AbortController();
  const worker = runWorker({ store, project, pollMs: 20, signal: stop.signal });
  let current = run as RunRecord;
  while (!FINISHED_STATES.includes(current.state)) {
    await sleep(20);
    current = (await store.getRun(current.id)) as RunRecord;
  }
  stop.abort();
  await worker;
  return current;
}

async function tableIds(): Promise<number[]> {
  let out = '';
  await main(['table', 'read', join(dir, 'lake', 'events')], {
    stdout: (text) => (out += text),
    stderr: () => undefined,
    stderrIsTTY: false,
    cwd: dir,
  });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Number((JSON.parse(line) as { id: number }).id))
    .sort((a, b) => a - b);
}

describe('incremental sources', () => {
  it('read only rows past the watermark, which moves only when a run succeeds', async () => {
    expect((await runOnce()).state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3]);
    expect(await store.getCursor('events', 'watermark:events')).toBe('2024-01-01 12:00:00');

    await appendFile(join(dir, 'data', 'events.csv'), '4,2024-01-02 09:00:00\n');
    expect((await runOnce({ fail: 'yes' })).state).toBe('failed');
    expect(await store.getCursor('events', 'watermark:events')).toBe('2024-01-01 12:00:00');

    const next = await runOnce();
    expect(next.state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3, 4]);
    const source = (await store.listTasks(next.id)).find((t) => t.step === 'events');
    expect(source?.rowsOut).toBe(1);

    const idle = await runOnce();
    expect(idle.state).toBe('success');
    expect(await tableIds()).toEqual([1, 2, 3, 4]);
    expect(await store.getCursor('events', 'watermark:events')).toBe('2024-01-02 09:00:00');
  });
});
