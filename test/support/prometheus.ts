import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

/** Whether Debian's Prometheus server is installed. */
export function hasPrometheus(): boolean {
  return spawnSync('prometheus', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** A Prometheus server of a test: its URL, a PromQL query, and how to stop it. */
export interface TestPrometheus {
  readonly url: string;
  /** An instant query; throws with Prometheus's error when the expression is refused. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /** Waits until `check` passes on the answer of `expr` (or throws after `ms`). */
  until(
    expr: string,
    check: (samples: PromSample[]) => boolean,
    ms?: number,
  ): Promise<PromSample[]>;
  stop(): Promise<void>;
}

/** One sample of an instant vector. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts Debian's `prometheus` on loopback with its own port and data folder, scraping
 * `targets` (host:port) every second, with `ruleFiles` loaded.
 */
export async function startPrometheus(options: {
  readonly targets: readonly string[];
  readonly ruleFiles?: readonly string[];
}): Promise<TestPrometheus> {
  const dir = await tempDir('sluice-prom-');
  const config = join(dir, 'prometheus.yml');
  await writeFile(
    config,
    JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: options.ruleFiles ?? [],
      scrape_configs: [{ job_name: 'sluice', static_configs: [{ targets: options.targets }] }],
    }),
  );
  let child: ChildProcess | undefined;
  let url = '';
  let output = '';
  // A port picked free can be taken before Prometheus binds it: try a few.
  for (let attempt = 0; attempt < 5 && url === ''; attempt++) {
    const port = await freePort();
    const started = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ready = await waitReady(`http://127.0.0.1:${port}`, started);
    if (ready) {
      child = started;
      url = `http://127.0.0.1:${port}`;
    } else if (started.exitCode === null) started.kill('SIGKILL');
  }
  if (child === undefined) throw new Error(`prometheus did not start: ${output}`);
  const running = child;
  const query = async (expr: string, time?: number): Promise<PromSample[]> => {
    const body = new URLSearchParams({ query: expr });
    if (time !== undefined) body.set('time', String(time));
    const response = await fetch(`${url}/api/v1/query`, { method: 'POST', body });
    const answer = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error ?? response.status}`);
    const { resultType, result } = answer.data as { resultType: string; result: unknown };
    if (resultType === 'scalar')
      return [{ metric: {}, value: Number((result as [number, string])[1]) }];
    if (resultType !== 'vector') return [];
    return (result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      value: Number(r.value[1]),
    }));
  };
  return {
    url,
    query,
    async until(expr, check, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const samples = await query(expr);
        if (check(samples)) return samples;
        if (Date.now() > deadline)
          throw new Error(`${expr} did not pass in ${ms} ms: ${JSON.stringify(samples)}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (running.exitCode !== null) return resolve();
        running.once('exit', () => resolve());
        running.kill('SIGTERM');
      }),
  };
}

async function waitReady(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
