// A real S3 server for tests: Python moto's `moto_server`, which honours conditional puts
// (If-None-Match: * on an existing key answers 412 PreconditionFailed).
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** A running moto server. */
export interface MotoServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const FALLBACK = '/root/.pyenv/shims/moto_server';

/**
 * The moto_server command, or undefined with a printed reason when there is none. Under
 * `CI=true` a missing server is an error, not a skip.
 */
export function motoServerCommand(): string | undefined {
  const candidates = [
    process.env['MOTO_SERVER'],
    ...(process.env['PATH'] ?? '').split(delimiter).map((dir) => join(dir, 'moto_server')),
    FALLBACK,
  ];
  const found = candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
  if (found !== undefined) return found;
  if (process.env['CI'] === 'true')
    throw new Error('moto_server is not installed (CI needs it for the S3 table tests)');
  console.warn(
    'skipping S3 table tests: moto_server is not installed (pip install "moto[server]")',
  );
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts moto_server on a free port and waits until it answers. */
export async function startMoto(command: string): Promise<MotoServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(command, ['-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    try {
      if ((await fetch(endpoint)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${endpoint} within 30 s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
