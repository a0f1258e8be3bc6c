import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from './helpers.js';

/** A process that opens the store (creating it when it is the first), queues a run and closes, again and again. */
const OPENER = `
const { RunStore } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist', 'orchestrator', 'run-store.js')).href)});
const [location, who] = process.argv.slice(1);
for (let i = 0; i < 15; i++) {
  const store = await RunStore.open(location);
  await store.enqueueRuns([{ pipeline: 'p', trigger: 'manual', params: { who, i: String(i) }, maxAttempts: 1, priority: 0 }]);
  await store.close();
}
`;

function opener(location: string, who: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', OPENER, location, who], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('embedded run store shared by processes', () => {
  it('lets several processes create and open one new store at once: none fails on a lock', async () => {
    const location = join(await tempDir('sluice-store-race-'), '.sluice', 'sluice.db');
    const results = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map((who) => opener(location, who)),
    );
    for (const result of results)
      expect(result, result.stderr.slice(-1000)).toMatchObject({ code: 0 });
    const { RunStore } = await import('../src/orchestrator/run-store.js');
    const store = await RunStore.open(location);
    try {
      expect(await store.listRuns({ pipeline: 'p', limit: 1000 })).toHaveLength(6 * 15);
    } finally {
      await store.close();
    }
  }, 120_000);
});
