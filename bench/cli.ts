/**
 * The `cli` group: cold starts of the `sluice` command, process start to exit, as a user types
 * them: `sluice --help`, `sluice check` of the quickstart and `sluice run` of the quickstart; and
 * how many module files `--help` loads.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './common.js';
import { assert, envInteger, log } from './common.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin', 'sluice.js');
const QUICKSTART = join(ROOT, 'examples', 'quickstart', 'pipeline.ts');
const COUNT_MODULES = join(ROOT, 'bench', 'cli', 'count-modules.js');

/** What one start of the command printed and how long it took, spawn to exit. */
interface Start {
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts `node [nodeArgs] bin/sluice.js args` in `cwd` and waits for it to exit. */
function start(
  args: readonly string[],
  cwd: string,
  options: { nodeArgs?: readonly string[]; env?: Readonly<Record<string, string>> } = {},
): Promise<Start> {
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
      cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - began, code, stdout, stderr }));
  });
}

/** Median, minimum and maximum of some times. */
function spread(ms: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(middle)] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

/**
 * Starts one command `starts` times in a row after one untimed start (which warms the file
 * cache), checks each start with `verify` and returns the times.
 */
async function coldStarts(
  label: string,
  starts: number,
  args: readonly string[],
  cwd: string,
  verify: (result: Start) => void,
): Promise<number[]> {
  verify(await start(args, cwd));
  const times: number[] = [];
  for (let i = 0; i < starts; i++) {
    const result = await start(args, cwd);
    verify(result);
    times.push(result.ms);
  }
  const { median, min, max } = spread(times);
  log(
    `  cli: ${label} median ${median.toFixed(0)} ms (${min.toFixed(0)}-${max.toFixed(0)} ms, ${starts} starts)`,
  );
  return times;
}

function succeeded(label: string, expected: string): (result: Start) => void {
  return (result) =>
    assert(
      result.code === 0 && result.stdout.includes(expected),
      `${label} exited ${String(result.code)} without "${expected}": ${result.stderr.slice(0, 500)}`,
    );
}

/** The module files (and native addons) a start of `sluice args` loads. */
async function modulesLoaded(
  args: readonly string[],
  cwd: string,
): Promise<{ modules: number; native: number }> {
  const out = join(cwd, 'modules.json');
  const result = await start(args, cwd, {
    nodeArgs: ['--import', COUNT_MODULES],
    env: { SLUICE_BENCH_MODULES_OUT: out },
  });
  assert(result.code === 0, `sluice ${args.join(' ')} with the module counter failed`);
  return JSON.parse(await readFile(out, 'utf8')) as { modules: number; native: number };
}

function note(times: readonly number[], unit: 'ms' | 's', extra: string): string {
  const { min, max } = spread(times);
  const scale = unit === 's' ? 1000 : 1;
  const digits = unit === 's' ? 2 : 0;
  return `median of ${times.length} starts, ${(min / scale).toFixed(digits)}-${(max / scale).toFixed(digits)} ${unit}; ${extra}`;
}

/** Runs the group and returns its figures. */
export async function runCliGroup(): Promise<BenchResult[]> {
  const starts = envInteger('BENCH_CLI_STARTS', 10);
  // A folder of its own, so the run's .sluice state (reports, run store) starts empty.
  const cwd = await mkdtemp(join(tmpdir(), 'sluice-bench-cli-'));
  try {
    const help = await coldStarts(
      'sluice --help',
      starts,
      ['--help'],
      cwd,
      succeeded('--help', 'Commands:'),
    );
    const check = await coldStarts(
      'sluice check quickstart',
      starts,
      ['check', QUICKSTART],
      cwd,
      succeeded('check', 'is valid'),
    );
    const run = await coldStarts(
      'sluice run quickstart',
      starts,
      ['run', QUICKSTART],
      cwd,
      succeeded('run', 'orders_delta'),
    );
    const loaded = await modulesLoaded(['--help'], cwd);
    log(`  cli: --help loads ${loaded.modules} module files (${loaded.native} native)`);
    return [
      {
        id: 'cli.help_ms',
        value: spread(help).median,
        unit: 'ms',
        note: note(help, 'ms', 'node bin/sluice.js --help, process start to exit'),
      },
      {
        id: 'cli.check_ms',
        value: spread(check).median,
        unit: 'ms',
        note: note(check, 'ms', 'sluice check examples/quickstart/pipeline.ts'),
      },
      {
        id: 'cli.quickstart_s',
        value: spread(run).median / 1000,
        unit: 's',
        note: note(run, 's', 'sluice run examples/quickstart/pipeline.ts, process start to exit'),
      },
      {
        id: 'cli.help_modules',
        value: loaded.modules,
        unit: 'files',
        note: `module files --help loads (ES modules by a load hook, CommonJS by require.cache); ${loaded.native} native addons`,
      },
    ];
  } finally {
    await rm(cwd, { recursive: true, force: true });
  }
}
