import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { tempDir } from './helpers.js';

const HANGS = `import { pipeline, sql } from 'sluice';
await new Promise(() => undefined);
export default pipeline('hangs', { steps: { rows: sql\`select 1 as n\` } });
`;

async function projectWith(files: Record<string, string>): Promise<Project> {
  const dir = await tempDir();
  await mkdir(join(dir, 'pipelines'));
  for (const [name, code] of Object.entries(files))
    await writeFile(join(dir, 'pipelines', `${name}.ts`), code);
  return Project.open(dir);
}

describe('loading a pipeline file whose top level never finishes', () => {
  it('fails at its deadline with what to do, then at once while that load is pending', async () => {
    const project = await projectWith({ hangs: HANGS });
    const began = Date.now();
    await expect(project.load('hangs', { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'PIPELINE_LOAD_FAILED',
      message: expect.stringContaining('its top level did not finish within 300ms') as unknown,
      hint: expect.stringContaining('move waiting and network calls into its steps') as unknown,
    });
    expect(Date.now() - began).toBeGreaterThanOrEqual(290);
    const again = Date.now();
    await expect(project.load('hangs')).rejects.toMatchObject({ code: 'PIPELINE_LOAD_FAILED' });
    expect(Date.now() - again).toBeLessThan(250);
  });

  it('stops waiting when the signal aborts, with the signal reason', async () => {
    const project = await projectWith({ hangs: HANGS });
    const stop = new AbortController();
    const loading = project.load('hangs', { signal: stop.signal });
    const reason = new Error('canceled');
    setImmediate(() => stop.abort(reason));
    await expect(loading).rejects.toBe(reason);
  });

  it('loads a file again once its code changed, past a stuck earlier version', async () => {
    const project = await projectWith({ hangs: HANGS });
    await expect(project.load('hangs', { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'PIPELINE_LOAD_FAILED',
    });
    await writeFile(
      join(project.root, 'pipelines', 'hangs.ts'),
      HANGS.replace('await new Promise(() => undefined);\n', ''),
    );
    const loaded = await project.load('hangs');
    expect(loaded.pipeline.name).toBe('hangs');
  });
});
