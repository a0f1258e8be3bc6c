// Debian's prometheus-alertmanager on loopback, with its own config and data folder, for the
// Alertmanager channel tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './nats.js';

const BINARY = process.env['SLUICE_ALERTMANAGER'] ?? '/usr/bin/prometheus-alertmanager';

/**
 * Why the Alertmanager tests cannot run here (undefined when they can). Under `CI=true` a
 * missing binary is an error, not a skip.
 */
export function alertmanagerUnavailable(): string | undefined {
  if (existsSync(BINARY)) return undefined;
  const reason = `${BINARY} is not installed (apt-get install prometheus-alertmanager)`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}; CI needs it`);
  return reason;
}

/** A running Alertmanager. */
export interface Alertmanager {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts Alertmanager with a do-nothing receiver in `dir` and waits until it is ready. */
export async function startAlertmanager(dir: string): Promise<Alertmanager> {
  const port = await freePort();
  const config = join(dir, 'alertmanager.yml');
  await writeFile(
    config,
    ['route:', '  receiver: blackhole', 'receivers:', '  - name: blackhole', ''].join('\n'),
  );
  const child = spawn(
    BINARY,
    [
      `--config.file=${config}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on(
    'data',
    (chunk: Buffer) => (stderr = `${stderr}${chunk.toString()}`.slice(-4000)),
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`alertmanager exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`alertmanager was not ready on ${url} within 30 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
