import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { fireSensors } from '../src/orchestrator/sensors.js';
import { tempDir } from './helpers.js';
import { workUntilFinished } from './support/orchestrator-project.js';

const PIPELINES: Record<string, string> = {
  upstream: `
import { pipeline, sql, ref, sink } from 'sluice';
export default pipeline('upstream', {
  steps: {
    rows: sql\`select range as id from range(3)\`,
    out: sink.delta({ input: ref('rows'), path: '../lake/up', mode: 'overwrite' }),
  },
});`,
  follower: `
import { pipeline, sql, param } from 'sluice';
export default pipeline('follower', {
  triggers: [{ afterPipeline: 'upstream' }],
  params: { upstream_run_id: '' },
  steps: { seen: sql\`select \${param('upstream_run_id')} as upstream\` },
});`,
  reader: `
import { pipeline, sql, param } from 'sluice';
export default pipeline('reader', {
  triggers: [{ afterDataset: '../lake/up' }],
  params: { trigger_dataset: '' },
  steps: { seen: sql\`select \${param('trigger_dataset')} as dataset\` },
});`,
  inbox: `
import { pipeline, sql, param } from 'sluice';
export default pipeline('inbox', {
  triggers: [{ fileArrives: '../inbox/*.csv' }],
  params: { trigger_file: '' },
  steps: { rows: sql\`select * from read_csv(\${param('trigger_file')})\` },
});`,
};

let dir: string;
let store: RunStore;
let project: Project;

beforeEach(async () => {
  dir = await tempDir('sluice-sensors-');
  await mkdir(join(dir, 'pipelines'));
  await mkdir(join(dir, 'inbox'));
  for (const [name, text] of Object.entries(PIPELINES))
    await writeFile(join(dir, 'pipelines', `${name}.ts`), text);
  project = await Project.open(dir);
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
});
afterEach(async () => {
  await store.close();
});

async function sense(name: string): Promise<RunRecord[]> {
  return fireSensors(store, await project.load(name));
}

describe('sensors', () => {
  it("start a run after another pipeline's success and after a dataset it follows is published", async () => {
    expect(await sense('follower')).toEqual([]);
    expect(await sense('reader')).toEqual([]);
    const [upstream] = await store.enqueueRuns([{ pipeline: 'upstream', trigger: 'manual' }]);
    expect((await workUntilFinished(store, project, [upstream as RunRecord]))[0]?.state).toBe(
      'success',
    );

    const [followed] = await sense('follower');
    expect(followed).toMatchObject({
      trigger: 'sensor',
      params: { upstream_run_id: upstream?.id },
    });
    const [read] = await sense('reader');
    expect(read?.params).toEqual({ trigger_dataset: join(dir, 'lake', 'up') });
    expect(await sense('follower')).toEqual([]);
    expect(await sense('reader')).toEqual([]);
    const done = await workUntilFinished(store, project, [
      followed as RunRecord,
      read as RunRecord,
    ]);
    expect(done.map((r) => r.state)).toEqual(['success', 'success']);
    // The followers' own successes publish nothing the reader follows.
    expect(await sense('reader')).toEqual([]);
  });

  it('start one run per new or changed file, with the file as a param', async () => {
    await writeFile(join(dir, 'inbox', 'a.csv'), 'id\n1\n');
    const [first] = await sense('inbox');
    expect(first?.params).toEqual({ trigger_file: join(dir, 'inbox', 'a.csv') });
    expect(await sense('inbox')).toEqual([]);
    await writeFile(join(dir, 'inbox', 'b.csv'), 'id\n2\n');
    await writeFile(join(dir, 'inbox', 'ignored.txt'), 'x');
    const [second] = await sense('inbox');
    expect(second?.params).toEqual({ trigger_file: join(dir, 'inbox', 'b.csv') });
    await writeFile(join(dir, 'inbox', 'a.csv'), 'id\n1\n3\n');
    const [changed] = await sense('inbox');
    expect(changed?.params).toEqual({ trigger_file: join(dir, 'inbox', 'a.csv') });
    const done = await workUntilFinished(store, project, [first, second, changed] as RunRecord[]);
    expect(done.map((r) => r.state)).toEqual(['success', 'success', 'success']);
  });
});
