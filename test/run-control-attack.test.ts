/**
 * Run control attacked from the outside: real `sluice run`, `serve` and `worker` processes whose
 * pipelines do what user code should not (start processes of their own, listen on sockets, spin,
 * exit, throw from timers, flood the console, never finish loading), and signals at bad moments.
 * Each test says what the operations guide promises (docs/operations.md, "Timeouts, cancels and
 * shutdown") and checks it from outside: exit codes, reports, the run store, /proc.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { triggerRun } from '../src/orchestrator/trigger.js';
import { ROOT, killChildren, query, sluice, tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';
import { waitFor } from './support/sluice-process.js';

const BIN = join(ROOT, 'bin', 'sluice.js');
const postgresSkip = await postgresUnavailable();

/** Processes a test started or whose pid user code wrote down: none may outlive the test. */
const leftovers: number[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await killChildren(children);
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, is not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pids user code wrote into `file` (one a line), waiting until there are `count`. */
async function pidsIn(file: string, count = 1): Promise<number[]> {
  let pids: number[] = [];
  await waitFor(
    () => `${count} pid(s) in ${file}`,
    async () => {
      pids = existsSync(file)
        ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number)
        : [];
      return pids.length >= count;
    },
  );
  leftovers.push(...pids);
  return pids;
}

/** Children of `pid`, from ps. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0 && running(n));
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** Resident memory of `pid` in MiB. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; stdout: string; log: string }>;
}

/**
 * Starts the built `sluice`; `group`: in a process group of its own, as a shell starts a
 * foreground job (so a test can send Ctrl-C's SIGINT to the whole group).
 */
function start(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  group = false,
): Started {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, SLUICE_DEBUG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: group,
  });
  children.push(child);
  let stdout = '';
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; log: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, log })),
  );
  return { child, pid: child.pid as number, exited };
}

/** A pipeline file of one SQL row and one transform whose `map` body is `body`. */
function transformPipeline(name: string, body: string, options = ''): string {
  return `import { pipeline, ref, sql, transform } from 'sluice';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
void spawn; void createServer; void appendFileSync;
export default pipeline('${name}', {
  ${options}
  steps: {
    rows: sql\`select 1 as n\`,
    user_code: transform({
      input: ref('rows'),
      map: async (row) => {
        ${body}
        return row;
      },
    }),
  },
});
`;
}

const WRITE_PID = `appendFileSync(process.env.PID_FILE, process.pid + '\\n');`;

function report(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('sluice run against user code that will not stop', () => {
  it('a transform that starts a process of its own and listens on a socket: at the timeout both are gone', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids');
    const portFile = join(dir, 'port');
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline(
        'spawner',
        `const child = spawn('sleep', ['300'], { stdio: 'ignore' });
        appendFileSync(process.env.PID_FILE, child.pid + '\\n');
        const server = createServer(() => undefined);
        server.listen(0, '127.0.0.1', () => appendFileSync(process.env.PORT_FILE, String(server.address().port)));
        await new Promise(() => undefined);`,
        `timeout: '2s',`,
      ),
    );
    const started = Date.now();
    const run = start(['run', 'p.ts', '--json'], dir, { PID_FILE: pidFile, PORT_FILE: portFile });
    const [grandchild] = await pidsIn(pidFile);
    const { code, stdout, log } = await run.exited;
    expect(code, log).toBe(1);
    const ended = report(stdout);
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'RUN_TIMEOUT' } });
    // Within a second of the 2 s timeout (counted from the attempt's start).
    expect(ended['durationMs']).toBeLessThan(3_000);
    expect(Date.now() - started).toBeLessThan(30_000);
    const port = Number(readFileSync(portFile, 'utf8'));
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    expect(refused, `port ${port} still accepts connections after the run`).toBe(true);
    // The process the transform started dies with the run's process, not 300 s later.
    await waitFor(
      () => `process ${grandchild} started by the transform to end`,
      async () => !running(grandchild as number),
      5_000,
    );
  }, 60_000);

  it('a run that succeeds but leaves a process of its own running: the process ends with `sluice run`', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids');
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline(
        'leaky',
        `const child = spawn('sleep', ['300'], { stdio: 'ignore' });
        appendFileSync(process.env.PID_FILE, child.pid + '\\n');`,
      ),
    );
    const { code, log } = await start(['run', 'p.ts'], dir, { PID_FILE: pidFile }).exited;
    expect(code, log).toBe(0);
    const [left] = await pidsIn(pidFile);
    await waitFor(
      () => `process ${left} left by the run to end`,
      async () => !running(left as number),
      5_000,
    );
  }, 60_000);

  it('the run process ends within seconds when `sluice run` is SIGKILLed while a transform spins', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids');
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline('spinner', `${WRITE_PID}\n        for (;;) {}`),
    );
    const run = start(['run', 'p.ts'], dir, { PID_FILE: pidFile });
    const [host] = await pidsIn(pidFile);
    run.child.kill('SIGKILL');
    // (Not `exited`: a run process left behind would hold the output pipe open.)
    // Its event loop never turns again, so it cannot hear that its channel closed.
    await waitFor(
      () => `run process ${host} (spinning) to end after its parent was killed`,
      async () => !running(host as number),
      5_000,
    );
  }, 60_000);

  it('SIGKILL of `sluice run` at several moments: no run process outlives it, the output stays whole', async () => {
    const dir = await tempDir();
    const pipeline = (
      tag: string,
    ): string => `import { pipeline, ref, sink, sql, transform } from 'sluice';
export default pipeline('killed', {
  steps: {
    rows: sql\`select range as n, '${tag}' as tag from range(1000)\`,
    slow: transform({
      input: ref('rows'),
      run: async function* (batches) {
        for await (const batch of batches) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          yield batch;
        }
      },
    }),
    a: sink.csv({ input: ref('slow'), path: 'out/a.csv' }),
    b: sink.parquet({ input: ref('slow'), path: 'out/b.parquet' }),
  },
});
`;
    await writeFile(join(dir, 'p.ts'), pipeline('old'));
    expect(sluice(['run', 'p.ts', '--log-level', 'silent'], dir).code).toBe(0);
    await writeFile(join(dir, 'p.ts'), pipeline('new'));
    for (const delay of [100, 500, 900, 1_300, 1_700]) {
      const run = start(['run', 'p.ts', '--log-level', 'silent'], dir);
      const hosts = new Set<number>();
      const until = Date.now() + delay;
      // Samples its run process until the moment of the kill (the moment is what varies).
      await waitFor(
        () => 'the moment to kill',
        async () => {
          for (const pid of childrenOf(run.pid)) hosts.add(pid);
          return Date.now() >= until || run.child.exitCode !== null;
        },
      );
      run.child.kill('SIGKILL');
      leftovers.push(...hosts);
      await waitFor(
        () =>
          `run process(es) ${[...hosts].filter(running).join(', ')} to end (kill at ${delay} ms)`,
        async () => [...hosts].every((pid) => !running(pid)),
        5_000,
      );
      const outputs = await tags(dir);
      expect(outputs.a.length, `a after a kill at ${delay} ms`).toBe(1);
      expect(outputs.b.length, `b after a kill at ${delay} ms`).toBe(1);
    }
  }, 90_000);

  it('SIGKILL of `sluice run` paused before its sinks publish: nothing is published afterwards', async () => {
    const dir = await tempDir();
    const pause = join(dir, 'paused');
    const pipeline = (tag: string): string => `import { pipeline, ref, sink, sql } from 'sluice';
export default pipeline('publisher', {
  steps: {
    rows: sql\`select range as n, '${tag}' as tag from range(1000)\`,
    a: sink.csv({ input: ref('rows'), path: 'out/a.csv' }),
    b: sink.parquet({ input: ref('rows'), path: 'out/b.parquet' }),
  },
});
`;
    await writeFile(join(dir, 'p.ts'), pipeline('old'));
    expect(sluice(['run', 'p.ts', '--log-level', 'silent'], dir).code).toBe(0);
    await writeFile(join(dir, 'p.ts'), pipeline('new'));
    const run = start(['run', 'p.ts', '--log-level', 'silent'], dir, {
      SLUICE_PAUSE_AT: 'before-publish',
      SLUICE_PAUSE_FILE: pause,
    });
    await waitFor(
      () => 'the run to reach before-publish',
      async () => existsSync(pause),
    );
    const hosts = childrenOf(run.pid);
    leftovers.push(...hosts);
    expect(hosts.length).toBeGreaterThan(0);
    run.child.kill('SIGKILL');
    await run.exited;
    await rm(pause, { force: true }); // were the run process alive, it would now publish
    await waitFor(
      () => `run process(es) ${hosts.join(', ')} to end`,
      async () => hosts.every((pid) => !running(pid)),
      5_000,
    );
    expect(await tags(dir)).toEqual({ a: ['old'], b: ['old'] });
  }, 60_000);

  it('a timeout between two sinks publishing leaves each output whole, old or new, and the report says which published', async () => {
    const dir = await tempDir();
    const pause = join(dir, 'paused');
    const pipeline = (tag: string): string => `import { pipeline, ref, sink, sql } from 'sluice';
export default pipeline('publisher', {
  timeout: '3s',
  steps: {
    rows: sql\`select range as n, '${tag}' as tag from range(1000)\`,
    a: sink.csv({ input: ref('rows'), path: 'out/a.csv' }),
    b: sink.parquet({ input: ref('rows'), path: 'out/b.parquet' }),
  },
});
`;
    await writeFile(join(dir, 'p.ts'), pipeline('old'));
    expect(sluice(['run', 'p.ts', '--log-level', 'silent'], dir).code).toBe(0);
    await writeFile(join(dir, 'p.ts'), pipeline('new'));
    const run = start(['run', 'p.ts', '--json', '--log-level', 'silent'], dir, {
      SLUICE_PAUSE_AT: 'published:a',
      SLUICE_PAUSE_FILE: pause,
    });
    const { code, stdout } = await run.exited;
    expect(code).toBe(1);
    const ended = report(stdout);
    expect(ended).toMatchObject({ status: 'failed', error: { code: 'RUN_TIMEOUT' } });
    // Each output whole (one tag, 1000 rows: tags() checks the count); a published, b did not.
    expect(await tags(dir)).toEqual({ a: ['new'], b: ['old'] });
    const steps = ended['steps'] as { id: string; status: string; error?: { message: string } }[];
    expect(steps.find((s) => s.id === 'a')?.status).toBe('success');
    expect(steps.find((s) => s.id === 'b')).toMatchObject({
      status: 'canceled',
      error: { message: expect.stringContaining('not published') as unknown },
    });
  }, 60_000);

  it('user code that calls process.exit(0) fails the run (never success) and the error names the step', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'p.ts'), transformPipeline('exiter', `process.exit(0);`));
    const { code, stdout, log } = await start(['run', 'p.ts', '--json'], dir).exited;
    expect(code, log).toBe(1);
    const ended = report(stdout);
    expect(ended['status']).toBe('failed');
    expect(JSON.stringify(ended['error'])).toContain('user_code');
  }, 60_000);

  it('an exception thrown from a timer fails the run with that exception in the report; stdout stays one JSON document', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline(
        'thrower',
        `setTimeout(() => { throw new Error('boom from a timer'); }, 10);
        await new Promise(() => undefined);`,
      ),
    );
    const { code, stdout, log } = await start(['run', 'p.ts', '--json'], dir).exited;
    expect(code, log).toBe(1);
    const ended = report(stdout);
    expect(ended['status']).toBe('failed');
    const error = JSON.stringify(ended['error']);
    expect(error).toContain('boom from a timer');
    expect(error).toContain('user_code');
  }, 60_000);

  it('user code that signals its parent (process.kill(process.ppid)) ends the run canceled, nothing hangs', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline(
        'parricide',
        `process.kill(process.ppid);
        await new Promise(() => undefined);`,
      ),
    );
    const { code, stdout, log } = await start(['run', 'p.ts', '--json'], dir).exited;
    expect(code, log).toBe(1);
    expect(report(stdout)).toMatchObject({ status: 'canceled', error: { code: 'RUN_CANCELED' } });
  }, 60_000);

  it('100,000 console lines from a transform go to stderr; --json stdout is the report alone', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline(
        'chatty',
        `for (let i = 0; i < 100000; i++) console.log('line ' + i + ' {"status":"success"}');
        process.stdout.write('written to stdout\\n');`,
      ),
    );
    const { code, stdout, log } = await start(['run', 'p.ts', '--json'], dir).exited;
    expect(code, log.slice(-2000)).toBe(0);
    expect(report(stdout)).toMatchObject({ pipeline: 'chatty', status: 'success' });
    expect(log).toContain('line 99999 ');
    expect(log).toContain('written to stdout');
  }, 60_000);

  it('Ctrl-C (SIGINT to the whole foreground group) cancels: report `canceled`, exit 1, no process left', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids');
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline('interrupted', `${WRITE_PID}\n        await new Promise(() => undefined);`),
    );
    const { pid, exited } = start(['run', 'p.ts', '--json'], dir, { PID_FILE: pidFile }, true);
    const [host] = await pidsIn(pidFile);
    process.kill(-pid, 'SIGINT');
    const { code, stdout, log } = await exited;
    expect(code, log).toBe(1);
    expect(report(stdout)).toMatchObject({ status: 'canceled', error: { code: 'RUN_CANCELED' } });
    expect(running(host as number)).toBe(false);
  }, 60_000);

  it('SIGINT twice quickly to a spinning run: `sluice run` exits at once and its run process follows', async () => {
    const dir = await tempDir();
    const pidFile = join(dir, 'pids');
    await writeFile(
      join(dir, 'p.ts'),
      transformPipeline('spin_twice', `${WRITE_PID}\n        for (;;) {}`),
    );
    const run = start(['run', 'p.ts'], dir, { PID_FILE: pidFile });
    const [host] = await pidsIn(pidFile);
    process.kill(run.pid, 'SIGINT');
    process.kill(run.pid, 'SIGINT');
    const started = Date.now();
    await run.exited;
    expect(Date.now() - started).toBeLessThan(5_000);
    await waitFor(
      () => `run process ${host} to end`,
      async () => !running(host as number),
      5_000,
    );
  }, 60_000);

  it('a pipeline file whose top level never finishes: SIGTERM still ends `sluice run`', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'loading');
    await writeFile(
      join(dir, 'p.ts'),
      `import { pipeline, sql } from 'sluice';
import { writeFileSync } from 'node:fs';
writeFileSync(process.env.MARKER, 'loading');
await new Promise(() => setInterval(() => undefined, 1000));
export default pipeline('never_loaded', { timeout: '1s', steps: { rows: sql\`select 1 as n\` } });
`,
    );
    const run = start(['run', 'p.ts'], dir, { MARKER: marker });
    await waitFor(
      () => 'the pipeline file to start loading',
      async () => existsSync(marker),
    );
    run.child.kill('SIGTERM');
    const started = Date.now();
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 60_000);
});

async function tags(dir: string): Promise<{ a: string[]; b: string[] }> {
  const read = async (from: string): Promise<string[]> => {
    const rows = await query(
      `SELECT list(DISTINCT tag ORDER BY tag) AS tags, count(*) AS n FROM ${from}`,
    );
    expect(Number(rows[0]?.['n'])).toBe(1000);
    return rows[0]?.['tags'] as string[];
  };
  return {
    a: await read(`read_csv('${join(dir, 'out/a.csv')}')`),
    b: await read(`read_parquet('${join(dir, 'out/b.parquet')}')`),
  };
}

/** A project folder with these pipeline files (name -> source). */
async function project(pipelines: Record<string, string>): Promise<string> {
  const dir = await tempDir('sluice-attack-');
  const entries = Object.keys(pipelines).map((name) => `${name}: './${name}.ts'`);
  await writeFile(
    join(dir, 'sluice.config.ts'),
    `import { defineProject } from 'sluice';\nexport default defineProject({ pipelines: { ${entries.join(', ')} } });\n`,
  );
  for (const [name, source] of Object.entries(pipelines))
    await writeFile(join(dir, `${name}.ts`), source);
  return dir;
}

interface ListedRun {
  readonly id: string;
  readonly pipeline: string;
  readonly state: string;
  readonly attempt: number;
  readonly error: { code: string; message: string } | null;
}

function listRuns(args: readonly string[]): ListedRun[] {
  const listed = sluice(['runs', '--limit', '500', '--json', ...args]);
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as ListedRun[];
}

const FAST = `import { pipeline, ref, sql, transform } from 'sluice';
export default pipeline('fast', {
  steps: {
    rows: sql\`select range as n from range(100)\`,
    doubled: transform({ input: ref('rows'), map: (row) => ({ n: Number(row.n) * 2 }) }),
  },
});
`;

describe('workers against runs that will not stop', () => {
  it.skipIf(postgresSkip !== undefined)(
    '50 runs, concurrency 4, every other one timing out: none stuck, no process or spill folder left, memory bounded (PostgreSQL store)',
    async () => {
      const dir = await project({
        fast: FAST,
        slow: transformPipeline(
          'slow',
          `const child = spawn('sleep', ['300'], { stdio: 'ignore' });
        appendFileSync(process.env.PID_FILE, child.pid + '\\n');
        await new Promise(() => undefined);`,
          `timeout: '1s',`,
        ),
      });
      const database = await createTestDatabase();
      try {
        const pidFile = join(dir, 'pids');
        const store = await RunStore.open(database.url);
        const loaded = await Project.open(dir);
        for (let i = 0; i < 50; i++) await triggerRun(store, loaded, i % 2 === 0 ? 'fast' : 'slow');
        await store.close();
        const worker = start(
          [
            'worker',
            '--project',
            dir,
            '--store',
            database.url,
            '--concurrency',
            '4',
            '--grace',
            '2s',
          ],
          dir,
          { PID_FILE: pidFile },
        );
        let mostChildren = 0;
        let mostMiB = 0;
        let runs: ListedRun[] = [];
        await waitFor(
          () => `50 runs to end: ${JSON.stringify(runs.map((r) => r.state))}`,
          async () => {
            mostChildren = Math.max(mostChildren, childrenOf(worker.pid).length);
            mostMiB = Math.max(mostMiB, rssMiB(worker.pid));
            runs = listRuns(['--store', database.url]);
            return runs.every((r) => r.state === 'success' || r.state === 'failed');
          },
          150_000,
        );
        const byPipeline = (name: string): ListedRun[] => runs.filter((r) => r.pipeline === name);
        expect(byPipeline('fast').map((r) => r.state)).toEqual(Array(25).fill('success'));
        expect(byPipeline('slow').map((r) => [r.state, r.error?.code])).toEqual(
          Array(25).fill(['failed', 'RUN_TIMEOUT']),
        );
        // The pool: at most `concurrency` processes working, as many idle, and killed ones
        // being replaced; never one per run.
        expect(mostChildren).toBeLessThanOrEqual(8);
        expect(mostMiB).toBeLessThan(400);
        for (const run of runs) expect(existsSync(join(dir, '.sluice', 'tmp', run.id))).toBe(false);
        // (A run may time out before its transform started; those started nothing.)
        const started = await pidsIn(pidFile, 1);
        await waitFor(
          () =>
            `the processes the timed-out runs started to end: ${started.filter(running).join(', ')}`,
          async () => started.every((pid) => !running(pid)),
          10_000,
        );
        const pool = childrenOf(worker.pid);
        worker.child.kill('SIGTERM');
        const { code, log } = await worker.exited;
        expect(code, log.slice(-3000)).toBe(0);
        expect(pool.filter(running)).toEqual([]);
      } finally {
        await database.drop();
      }
    },
    180_000,
  );

  it('a worker reusing its run processes: what a successful run left running ends with that run', async () => {
    const dir = await project({
      leaky: transformPipeline(
        'leaky',
        `const child = spawn('sleep', ['300'], { stdio: 'ignore' });
        appendFileSync(process.env.PID_FILE, child.pid + '\\n');`,
      ),
    });
    const pidFile = join(dir, 'pids');
    const at = ['--project', dir];
    const worker = start(['worker', ...at, '--grace', '1s'], dir, { PID_FILE: pidFile });
    for (let i = 1; i <= 2; i++) {
      const done = sluice(['trigger', 'leaky', ...at, '--wait', '--json'], dir);
      expect(report(done.stdout)).toMatchObject({ state: 'success' });
      const pids = await pidsIn(pidFile, i);
      await waitFor(
        () => `processes ${pids.filter(running).join(', ')} left by run ${i} to end`,
        async () => pids.every((pid) => !running(pid)),
        5_000,
      );
    }
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  }, 60_000);

  it('cancel is final: a signal-deaf run is canceled within seconds and stays canceled past its lease; finished runs ignore cancels; trigger starts anew', async () => {
    const dir = await project({
      fast: FAST,
      deaf: transformPipeline(
        'deaf',
        `ctx.signal.addEventListener('abort', () => undefined);
        await new Promise(() => undefined);`,
      ).replace('map: async (row) =>', 'map: async (row, ctx) =>'),
    });
    const at = ['--project', dir];
    const worker = start(['worker', ...at, '--lease', '2s', '--grace', '1s'], dir);
    const triggered = sluice(['trigger', 'deaf', ...at, '--json'], dir);
    expect(triggered.code, triggered.stderr).toBe(0);
    const id = String(report(triggered.stdout)['id']);
    const state = (): ListedRun | undefined => listRuns(at).find((r) => r.id === id);
    await waitFor(
      () => `run ${id} to run`,
      async () => state()?.state === 'running',
    );
    expect(sluice(['cancel', id, ...at], dir).code).toBe(0);
    await waitFor(
      () => `run ${id} to be canceled: ${JSON.stringify(state())}`,
      async () => state()?.state === 'canceled',
      10_000,
    );
    // Timed in the store, from the cancel's record to the run's end (the polling here spawns
    // a CLI per look, seconds apart on a busy machine).
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const events = await store.listEvents({ runId: id });
      const asked = events.find((event) => event.kind === 'run.cancel_requested')?.at;
      const ended = (await store.getRun(id))?.finishedAt;
      expect(asked, JSON.stringify(events)).toBeDefined();
      expect((ended ?? Infinity) - (asked ?? 0)).toBeLessThanOrEqual(2_000);
    } finally {
      await store.close();
    }
    // Three leases later, no expiry or retry has brought it back.
    const until = Date.now() + 6_000;
    await waitFor(
      () => `three leases to pass`,
      async () => {
        expect(state()).toMatchObject({ state: 'canceled', attempt: 1 });
        return Date.now() > until;
      },
    );
    const again = sluice(['cancel', id, ...at], dir);
    expect(again.stdout + again.stderr).toMatch(/already finished|canceled/);
    expect(state()?.state).toBe('canceled');

    const done = sluice(['trigger', 'fast', ...at, '--wait', '--json'], dir);
    expect(report(done.stdout)).toMatchObject({ state: 'success' });
    const doneId = String(report(done.stdout)['id']);
    const late = sluice(['cancel', doneId, ...at], dir);
    expect(late.stdout).toContain('nothing to cancel');
    expect(listRuns(at).find((r) => r.id === doneId)?.state).toBe('success');

    // A cancel racing the claim: whichever wins, the run ends and stays ended.
    const raced = String(report(sluice(['trigger', 'fast', ...at, '--json'], dir).stdout)['id']);
    sluice(['cancel', raced, ...at], dir);
    await waitFor(
      () => `run ${raced} to end`,
      async () =>
        ['canceled', 'success'].includes(String(listRuns(at).find((r) => r.id === raced)?.state)),
      20_000,
    );
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  }, 120_000);

  it('a run whose pipeline file never finishes loading is canceled within seconds, and SIGTERM ends its worker', async () => {
    const loads = `import { pipeline, sql } from 'sluice';
export default pipeline('hangs', { timeout: '2s', steps: { rows: sql\`select 1 as n\` } });
`;
    const dir = await project({ hangs: loads });
    const at = ['--project', dir];
    const id = String(report(sluice(['trigger', 'hangs', ...at, '--json'], dir).stdout)['id']);
    // The file changes before a worker loads it (a deploy): its top level now never finishes.
    await writeFile(
      join(dir, 'hangs.ts'),
      loads.replace(
        'export default',
        'await new Promise(() => setInterval(() => undefined, 1000));\nexport default',
      ),
    );
    const worker = start(['worker', ...at, '--lease', '3s', '--grace', '1s'], dir);
    const state = (): string | undefined => listRuns(at).find((r) => r.id === id)?.state;
    await waitFor(
      () => `run ${id} to be claimed`,
      async () => state() === 'running',
    );
    sluice(['cancel', id, ...at], dir);
    await waitFor(
      () => `run ${id} to be canceled (is ${state()})`,
      async () => state() === 'canceled',
      5_000,
    );
    worker.child.kill('SIGTERM');
    const ended = await Promise.race([
      worker.exited.then(({ code }) => code),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 10_000)),
    ]);
    expect(ended, 'worker 10 s after SIGTERM with --grace 1s').toBe(0);
  }, 60_000);

  it('serve keeps scheduling the other pipelines and stops on SIGTERM when one file never finishes loading', async () => {
    const dir = await project({
      a_hangs: `import { pipeline, sql } from 'sluice';
await new Promise(() => setInterval(() => undefined, 1000));
export default pipeline('a_hangs', { steps: { rows: sql\`select 1 as n\` } });
`,
      b_hourly: `import { pipeline, sql } from 'sluice';
export default pipeline('b_hourly', { schedule: { every: '1h' }, steps: { rows: sql\`select 1 as n\` } });
`,
    });
    const at = ['--project', dir];
    const serve = start(['serve', ...at, '--grace', '1s'], dir);
    await waitFor(
      () => 'a scheduled run of b_hourly',
      async () => listRuns(at).some((r) => r.pipeline === 'b_hourly'),
      30_000,
    );
    serve.child.kill('SIGTERM');
    const ended = await Promise.race([
      serve.exited.then(({ code }) => code),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 10_000)),
    ]);
    expect(ended, 'serve 10 s after SIGTERM with --grace 1s').toBe(0);
  }, 60_000);
});
