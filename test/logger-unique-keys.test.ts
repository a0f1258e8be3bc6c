import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/observe/logger.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { FINISHED_STATES } from '../src/orchestrator/run-types.js';
import { runWorker, sleep } from '../src/orchestrator/worker.js';
import { tempDir } from './helpers.js';

/**
 * The keys of every object in a JSON text, as written (JSON.parse keeps only the last of
 * duplicated keys, so the raw text is scanned).
 */
function duplicatedKeys(text: string): string[] {
  const stack: Set<string>[] = [];
  const duplicates: string[] = [];
  let i = 0;
  const readString = (): string => {
    let out = '';
    i++; // opening quote
    while (text[i] !== '"') {
      if (text[i] === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
      } else out += text[i++];
    }
    i++;
    return out;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '{') {
      stack.push(new Set());
      i++;
    } else if (c === '}') {
      stack.pop();
      i++;
    } else if (c === '"') {
      const value = readString();
      let j = i;
      while (text[j] === ' ') j++;
      // A string followed by ':' inside an object is a key.
      if (text[j] === ':' && stack.length > 0) {
        const keys = stack[stack.length - 1] as Set<string>;
        if (keys.has(value)) duplicates.push(value);
        keys.add(value);
      }
    } else i++;
  }
  return duplicates;
}

function recorder(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const logger = createLogger({
    format: 'json',
    level: 'debug',
    write: (line) => lines.push(...line.split('\n').filter((l) => l !== '')),
  });
  return { lines, logger };
}

describe('log lines never repeat a key', () => {
  it('the scanner sees duplicated keys in raw JSON', () => {
    expect(duplicatedKeys('{"a":1,"b":{"a":2},"a":3}')).toEqual(['a']);
    expect(duplicatedKeys('{"a":"x\\":","b":{"c":1,"c":2}}')).toEqual(['c']);
    expect(duplicatedKeys('{"a":1,"b":{"a":2}}')).toEqual([]);
  });

  it('children binding the same keys again, and fields repeating a binding, write each key once', () => {
    const { lines, logger } = recorder();
    const worker = logger.child({ worker: 'w1' });
    const run = worker.child({ runId: 'run_1', pipeline: 'orders' });
    // What the executor does with the worker's run logger.
    const executor = run.child({ runId: 'run_1', pipeline: 'orders' });
    const step = executor.child({ stepId: 'load' });
    step.info({ rows: 3 }, 'step finished');
    executor.info({ pipeline: 'orders', steps: 2 }, 'run started');
    executor.warn({ runId: 'run_2' }, 'another run');
    executor.child({ pipeline: 'renamed' }).error({ msg: 'field', level: 'x', time: 1 }, 'changed');
    step.debug({ worker: 'w1', stepId: 'load', x: 1 }, 'repeated fields');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(duplicatedKeys(line), line).toEqual([]);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed[0]).toMatchObject({
      worker: 'w1',
      runId: 'run_1',
      pipeline: 'orders',
      stepId: 'load',
      rows: 3,
      msg: 'step finished',
    });
    expect(parsed[1]).toMatchObject({ pipeline: 'orders', steps: 2 });
    // A field with another value than a binding replaces it on that line.
    expect(parsed[2]).toMatchObject({ runId: 'run_2', pipeline: 'orders', msg: 'another run' });
    expect(parsed[3]).toMatchObject({
      pipeline: 'renamed',
      runId: 'run_1',
      msg: 'changed',
      _msg: 'field',
      _level: 'x',
      _time: 1,
    });
    expect(parsed[4]).toMatchObject({ worker: 'w1', stepId: 'load', x: 1 });
  });

  it('a worker running a pipeline writes no line with a repeated key', async () => {
    const dir = await tempDir('sluice-logkeys-');
    await mkdir(join(dir, 'pipelines'));
    await writeFile(
      join(dir, 'pipelines', 'logged.ts'),
      `import { pipeline, sql } from 'sluice';
export default pipeline('logged', { steps: { one: sql\`select 1 as x\` } });
`,
    );
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    const { lines, logger } = recorder();
    const stop = new AbortController();
    try {
      const [run] = await store.enqueueRuns([{ pipeline: 'logged', trigger: 'manual' }]);
      const worker = runWorker({
        store,
        project: await Project.open(dir),
        pollMs: 50,
        signal: stop.signal,
        logger,
      });
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const state = (await store.getRun(run?.id ?? ''))?.state;
        if (state !== undefined && FINISHED_STATES.includes(state)) break;
        await sleep(50);
      }
      stop.abort();
      await worker;
      expect((await store.getRun(run?.id ?? ''))?.state).toBe('success');
      const runLines = lines.filter((line) => line.includes(run?.id ?? '-'));
      expect(runLines.length).toBeGreaterThan(2);
      for (const line of lines) expect(duplicatedKeys(line), line).toEqual([]);
    } finally {
      stop.abort();
      await store.close();
    }
  }, 120_000);
});
