import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

/**
 * The environment of a `sluice` child: this one without API tokens or webhook secrets, plus
 * `extra`.
 *
 * @example
 * ```ts
 * spawnSync(process.execPath, ['bin/sluice.js', 'run', 'p.ts'], { env: sluiceEnv() });
 * ```
 */
export function sluiceEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = { ...process.env, SLUICE_DEBUG: '' };
  for (const name of Object.keys(clean))
    if (name === 'SLUICE_API_TOKEN' || name.startsWith('SLUICE_WEBHOOK_SECRET_'))
      delete clean[name];
  return { ...clean, ...extra };
}

/**
 * Starts a long-running `sluice` command (the built dist/) and resolves `url` once its log
 * announces it: `api` (`serve --http`) or `metrics` (`--metrics-port`, the full /metrics URL).
 * Stop it with {@link stopListener}; a test's `afterEach` should kill what is left.
 *
 * @example
 * ```ts
 * const { child, url } = startListener(['serve', '--http', '0'], { announces: 'api' });
 * await fetch(`${await url}/metrics`);
 * ```
 */
export function startListener(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; announces: 'api' | 'metrics' },
): { child: ChildProcess; url: Promise<string> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sluice.js'), ...args], {
    cwd: options.cwd ?? ROOT,
    env: sluiceEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const pattern = new RegExp(`"${options.announces}":"(http://[^"]+)"`);
  const url = new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(
      () => reject(new Error(`not listening in 60 s: ${stderr}`)),
      60_000,
    );
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = pattern.exec(stderr);
      if (found !== null) {
        clearTimeout(deadline);
        resolve(found[1] as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`sluice exited with ${code}: ${stderr}`)));
  });
  return { child, url };
}

/**
 * Stops a child with `signal` and answers its exit code once it exited.
 *
 * @example
 * ```ts
 * expect(await stopListener(child)).toBe(0);
 * ```
 */
export function stopListener(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}
