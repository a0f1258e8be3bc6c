import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Project } from '../../src/orchestrator/project.js';
import type { RunStore } from '../../src/orchestrator/run-store.js';
import type { RunRecord } from '../../src/orchestrator/run-types.js';
import { FINISHED_STATES } from '../../src/orchestrator/run-types.js';
import { runWorker, sleep } from '../../src/orchestrator/worker.js';
import { ROOT, tempDir } from '../helpers.js';

/**
 * Pipelines for orchestrator tests, as files of a project folder:
 *
 * - `work`: one row with its run id and `n`, a transform that waits `delay_ms`, merged by
 *   run id into the Delta table `out/work` (replaying a run adds nothing);
 * - `flaky`: fails with a retryable error on its first attempt (a marker file remembers it);
 * - `slow`: waits 30 s unless stopped, with a 300 ms timeout; `hang`: the same without one;
 * - `checked`: a check step (its metrics go to the metric history);
 * - `cached`: copies `data/cached.csv` to Parquet (run caching);
 * - `hourly`: scheduled every hour since 2024-01-01 with catchup, writing its interval.
 */
export async function orchestratorProject(): Promise<string> {
  const dir = await tempDir('sluice-orch-');
  await mkdir(join(dir, 'pipelines'), { recursive: true });
  const files: Record<string, string> = {
    work: `
import { pipeline, sql, param, ref, transform, sink } from 'sluice';
export default pipeline('work', {
  params: { run_id: 'none', n: '0', delay_ms: '0' },
  retries: { retries: 5, delay: '50ms', maxDelay: '200ms' },
  steps: {
    item: sql\`select \${param('run_id')} as run_id, cast(\${param('n')} as integer) as n, cast(\${param('delay_ms')} as integer) as delay_ms\`,
    slow: transform({
      input: ref('item'),
      map: async (row, context) => {
        await new Promise((resolve) => setTimeout(resolve, Number(row.delay_ms)));
        context.signal.throwIfAborted();
        return row;
      },
    }),
    out: sink.delta({ input: ref('slow'), path: '../out/work', mode: 'merge', keys: ['run_id'] }),
  },
});
`,
    flaky: `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, sql, ref, transform, RetryableError } from 'sluice';
const marker = join(import.meta.dirname, '..', 'flaky-attempted');
export default pipeline('flaky', {
  retries: { retries: 2, delay: '10ms' },
  steps: {
    one: sql\`select 1 as x\`,
    gate: transform({
      input: ref('one'),
      map: (row) => {
        if (!existsSync(marker)) {
          writeFileSync(marker, 'x');
          throw new RetryableError('the first attempt always fails');
        }
        return row;
      },
    }),
  },
});
`,
    slow: waitingPipeline('slow', '300ms'),
    hang: waitingPipeline('hang'),
    checked: `
import { check, expect, pipeline, ref, sql, suite } from 'sluice';
export default pipeline('checked', {
  steps: {
    rows: sql\`select range as id from range(5)\`,
    gate: check({ input: ref('rows'), suite: suite('rows', [expect.rowCountBetween({ min: 1 })]) }),
  },
});
`,
    cached: `
import { pipeline, ref, schema, sink, source, t } from 'sluice';
export default pipeline('cached', {
  steps: {
    rows: source.csv({ path: '../data/cached.csv', schema: schema({ id: t.int64() }) }),
    out: sink.parquet({ input: ref('rows'), path: '../out/cached.parquet' }),
  },
});
`,
    hourly: `
import { pipeline, sql, param } from 'sluice';
export default pipeline('hourly', {
  schedule: { every: '1h' },
  start: '2024-01-01T00:00:00Z',
  catchup: true,
  params: { interval_start: '', interval_end: '' },
  steps: {
    span: sql\`select \${param('interval_start')} as interval_start, \${param('interval_end')} as interval_end\`,
  },
});
`,
  };
  for (const [name, text] of Object.entries(files))
    await writeFile(join(dir, 'pipelines', `${name}.ts`), text);
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'cached.csv'), 'id\n1\n2\n');
  return dir;
}

/** A pipeline whose transform waits 30 s unless stopped, with a timeout when given. */
function waitingPipeline(name: string, timeout?: string): string {
  return `
import { pipeline, sql, ref, transform } from 'sluice';
export default pipeline('${name}', {
  ${timeout === undefined ? '' : `timeout: '${timeout}',`}
  steps: {
    one: sql\`select 1 as x\`,
    wait: transform({
      input: ref('one'),
      map: async (row, context) => {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          context.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(undefined); });
        });
        context.signal.throwIfAborted();
        return row;
      },
    }),
  },
});
`;
}

/**
 * Runs an in-process worker until every given run finished (or a minute passed), then stops it
 * and resolves to the runs as the store has them.
 */
export async function workUntilFinished(
  store: RunStore,
  project: Project,
  runs: readonly RunRecord[],
  options: {
    readonly concurrency?: number;
    readonly whileRunning?: (run: RunRecord) => Promise<void>;
  } = {},
): Promise<RunRecord[]> {
  const stop = new AbortController();
  const worker = runWorker({
    store,
    project,
    concurrency: options.concurrency ?? 2,
    // Loading a pipeline file blocks the event loop (and heartbeats) for a moment, for many
    // seconds on a loaded 2-core machine: a lost lease would start an attempt these tests do
    // not expect. No test here takes a run over from another worker.
    leaseMs: 30_000,
    pollMs: 20,
    signal: stop.signal,
  });
  const deadline = Date.now() + 60_000;
  let current: RunRecord[] = [];
  while (Date.now() < deadline) {
    current = await Promise.all(runs.map(async (r) => (await store.getRun(r.id)) as RunRecord));
    if (current.every((r) => FINISHED_STATES.includes(r.state))) break;
    if (options.whileRunning !== undefined)
      for (const r of current) if (r.state === 'running') await options.whileRunning(r);
    await sleep(20);
  }
  stop.abort();
  await worker;
  return current;
}

/** The rows of a Delta table, through `sluice table read`. */
export async function readDeltaTable(
  cwd: string,
  path: string,
): Promise<Record<string, unknown>[]> {
  let out = '';
  let err = '';
  const code = await main(['table', 'read', path], {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    stderrIsTTY: false,
    cwd,
  });
  if (code !== 0) throw new Error(`sluice table read ${path} exited ${code}: ${err}`);
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Starts `test/support/orchestrator-process.ts` (a scheduler or worker in its own process) and
 * resolves once it printed "ready"; `children` collects it so the test can kill it.
 */
export async function startOrchestratorProcess(
  mode: 'scheduler' | 'worker',
  dir: string,
  store: string,
  options: Readonly<Record<string, unknown>>,
  children: ChildProcess[],
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'jiti/register',
      join(ROOT, 'test/support/orchestrator-process.ts'),
      mode,
      dir,
      store,
      JSON.stringify(options),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${mode} exited with ${code ?? signal}: ${stderr}`)),
    );
  });
  return child;
}
