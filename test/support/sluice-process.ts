import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

/** What a finished `sluice` command left: its exit code and output. */
export interface SluiceExit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A `sluice` command running in the background, such as `sluice stream`. */
export interface SluiceProcess {
  /** Resolves when the command exits by itself. */
  readonly exited: Promise<SluiceExit>;
  /** Its standard error so far (for messages when a wait times out). */
  stderr(): string;
  /** Sends `signal` (SIGTERM: drain, final checkpoint, exit 0) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<SluiceExit>;
}

/** Where a command runs and what it adds to the environment. */
export interface SluiceProcessOptions {
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Starts the built `sluice` command (bin/sluice.js) without blocking the test's event loop, so
 * several can run at once while the test polls what they wrote.
 *
 * @example
 * ```ts
 * const bronze = startSluice(['stream', 'streams/bronze_orders.ts'], { cwd: dir, env });
 * const { code, stdout } = await bronze.stop();
 * ```
 */
export function startSluice(args: readonly string[], options: SluiceProcessOptions): SluiceProcess {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sluice.js'), ...args], {
    cwd: options.cwd,
    env: { ...process.env, SLUICE_DEBUG: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<SluiceExit>((resolve) => {
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.once('error', (error) => resolve({ code: null, stdout, stderr: `${stderr}${error}` }));
  });
  return {
    exited,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Runs the built `sluice` command to its end, asynchronously (commands started with
 * {@link startSluice} keep draining their output meanwhile).
 *
 * @example
 * ```ts
 * const { code, stdout } = await runSluice(['run', 'pipelines/silver_orders.ts', '--json'], { cwd: dir });
 * ```
 */
export async function runSluice(
  args: readonly string[],
  options: SluiceProcessOptions,
): Promise<SluiceExit> {
  return startSluice(args, options).exited;
}

/**
 * Polls `check` until it holds, failing after `timeoutMs` with `what` (a function, to describe
 * the state at that moment).
 *
 * @example
 * ```ts
 * await waitFor(() => 'bronze to hold 7 rows', async () => (await bronzeRows()).length === 7);
 * ```
 */
export async function waitFor(
  what: () => string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
