import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, killChildren } from './helpers.js';
import { orchestratorProject } from './support/orchestrator-project.js';

// `sluice serve --http` and `sluice tokens` as a user runs them (the built dist/).

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => killChildren(children));

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_DEBUG: '', ...extra };
  for (const name of Object.keys(env))
    if (
      (name === 'SLUICE_API_TOKEN' || name.startsWith('SLUICE_WEBHOOK_SECRET_')) &&
      !(name in extra)
    )
      delete env[name];
  return env;
}

function sluiceWith(
  args: readonly string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: cleanEnv(env),
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('sluice serve --http refuses unsafe or impossible settings at start-up', () => {
  it('answers a busy port with exit code 2 and a hint, not a stack trace', async () => {
    const dir = await orchestratorProject();
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    const { port } = holder.address() as AddressInfo;
    try {
      const serve = sluiceWith([
        'serve',
        '--project',
        dir,
        '--workers',
        '0',
        '--http',
        `127.0.0.1:${port}`,
      ]);
      expect(serve.code, serve.stderr).toBe(2);
      expect(serve.stderr).toContain(
        `error [USAGE]: cannot listen on 127.0.0.1:${port}: the port is in use by another process`,
      );
      expect(serve.stderr).toMatch(/hint: .*choose another port with --http/);
      expect(serve.stderr).not.toMatch(/Unhandled 'error' event|EADDRINUSE|at .*\.js:\d+/);
    } finally {
      await new Promise((done) => holder.close(done));
    }
  });

  it('refuses empty webhook secrets and an empty SLUICE_API_TOKEN, naming them', async () => {
    const dir = await orchestratorProject();
    const args = ['serve', '--project', dir, '--workers', '0', '--http', '127.0.0.1:0'];
    const secret = sluiceWith(args, { SLUICE_WEBHOOK_SECRET_ORDERS: '' });
    expect(secret.code, secret.stderr).toBe(2);
    expect(secret.stderr).toContain('SLUICE_WEBHOOK_SECRET_ORDERS is set but empty');
    const token = sluiceWith(args, { SLUICE_API_TOKEN: '' });
    expect(token.code, token.stderr).toBe(2);
    expect(token.stderr).toContain('SLUICE_API_TOKEN is set but empty');
  });

  it('refuses 0.0.0.0 without a token, and with --insecure starts with a loud warning', async () => {
    const dir = await orchestratorProject();
    const refused = sluiceWith([
      'serve',
      '--project',
      dir,
      '--workers',
      '0',
      '--http',
      '0.0.0.0:0',
    ]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('refusing to listen on 0.0.0.0:0 without authentication');
    expect(refused.stderr).toMatch(/hint: create a token first \(sluice tokens create/);

    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'sluice.js'),
        'serve',
        '--project',
        dir,
        '--workers',
        '0',
        '--http',
        '0.0.0.0:0',
        '--insecure',
      ],
      { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`no warning in 60 s: ${stderr}`)), 60_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('"serving"') || stderr.includes('serving')) {
          clearTimeout(deadline);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(deadline);
        reject(new Error(`serve exited with ${code}: ${stderr}`));
      });
    });
    expect(stderr).toMatch(/"level":"?(warn|40)"?.*INSECURE: the HTTP API listens beyond loopback/);
    child.kill('SIGKILL');
  });
});

/** The resident memory of a process, in MB (Linux). */
async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** Streams up to `total` bytes as a chunked body until the server answers; resolves to the status. */
function chunkedUpload(
  url: string,
  total: number,
  headers: Record<string, string>,
): Promise<number> {
  const target = new URL(url);
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const request = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers },
      (response) => {
        answered = true;
        response.resume();
        resolve(response.statusCode ?? 0);
        request.destroy();
      },
    );
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    const pump = (): void => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!request.write(chunk)) {
          request.once('drain', pump);
          return;
        }
      }
      if (!answered) request.end();
    };
    pump();
  });
}

describe('a running sluice serve --http under a 300 MB chunked upload', () => {
  it('answers 401 and 413 at the limit while its memory stays bounded', async () => {
    const dir = await orchestratorProject();
    const created = sluiceWith([
      'tokens',
      'create',
      'bot',
      '--role',
      'trigger',
      '--project',
      dir,
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token } = JSON.parse(created.stdout) as { token: string };
    const child = spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'sluice.js'),
        'serve',
        '--project',
        dir,
        '--workers',
        '0',
        '--http',
        '127.0.0.1:0',
      ],
      { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`not serving in 60 s: ${stderr}`)),
        60_000,
      );
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const found = /"api":"(http:\/\/[^"]+)"/.exec(stderr);
        if (found !== null) {
          clearTimeout(deadline);
          resolve(found[1] as string);
        }
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const pid = child.pid as number;
    const baseline = await rssMB(pid);
    let peak = baseline;
    const sampler = setInterval(() => {
      void rssMB(pid).then(
        (mb) => (peak = Math.max(peak, mb)),
        () => undefined,
      );
    }, 20);
    try {
      const total = 300 * 1024 * 1024;
      const headers = { 'content-type': 'application/json' };
      expect(await chunkedUpload(`${url}/hooks/orders`, total, headers)).toBe(401);
      expect(
        await chunkedUpload(`${url}/hooks/orders`, total, {
          ...headers,
          authorization: `Bearer ${token}`,
        }),
      ).toBe(413);
    } finally {
      clearInterval(sampler);
    }
    console.log(
      `serve RSS: ${baseline.toFixed(0)} MB at rest, ${peak.toFixed(0)} MB at most under the uploads`,
    );
    expect(peak - baseline).toBeLessThan(100);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  }, 120_000);
});

describe('the docs', () => {
  it('never show a listener beyond loopback without a token being created first', () => {
    const files = [
      ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f)),
      ...readdirSync(join(ROOT, 'docs', 'connectors')).map((f) => join('docs', 'connectors', f)),
    ].filter((f) => f.endsWith('.md'));
    for (const file of files) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      for (const [i, line] of lines.entries()) {
        if (!/--http (0\.0\.0\.0|\[::\]|:)\d*/.test(line) || line.includes('--insecure')) continue;
        const before = lines.slice(Math.max(0, i - 3), i).join('\n');
        expect(before, `${file}:${i + 1}`).toMatch(/sluice tokens create|SLUICE_API_TOKEN=/);
      }
      expect(readFileSync(join(ROOT, file), 'utf8'), file).not.toMatch(
        /must carry `X-Sluice-Signature-256|X-Hub-Signature-256` header is accepted/,
      );
    }
  });
});

describe('sluice tokens', () => {
  it('creates, lists and revokes tokens; shows a token once and never stores it', async () => {
    const dir = await orchestratorProject();
    const created = sluiceWith([
      'tokens',
      'create',
      'deploy-bot',
      '--role',
      'trigger',
      '--project',
      dir,
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const { token, role, name } = JSON.parse(created.stdout) as Record<string, string>;
    expect({ name, role }).toEqual({ name: 'deploy-bot', role: 'trigger' });
    expect(token).toMatch(/^sluice_[A-Za-z0-9_-]{43}$/);
    const text = sluiceWith(['tokens', 'create', 'ops', '--role', 'admin', '--project', dir]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/created token "ops" with the admin role:\n\n {2}sluice_\S+\n/);

    const again = sluiceWith(['tokens', 'create', 'ops', '--role', 'read', '--project', dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('a token named "ops" exists already');
    const badRole = sluiceWith(['tokens', 'create', 'x', '--role', 'root', '--project', dir]);
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('"root" is not a role');
    const noRole = sluiceWith(['tokens', 'create', 'x', '--project', dir]);
    expect(noRole.code).toBe(2);
    const badName = sluiceWith(['tokens', 'create', '../x', '--role', 'read', '--project', dir]);
    expect(badName.code).toBe(2);

    const listed = sluiceWith(['tokens', 'list', '--project', dir, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain('sluice_');
    expect(
      (JSON.parse(listed.stdout) as { name: string; role: string; lastUsedAt: null }[]).map((t) => [
        t.name,
        t.role,
        t.lastUsedAt,
      ]),
    ).toEqual([
      ['deploy-bot', 'trigger', null],
      ['ops', 'admin', null],
    ]);
    const table = sluiceWith(['tokens', 'list', '--project', dir]);
    expect(table.stdout).toMatch(/^NAME {8}ROLE {5}CREATED/);
    expect(table.stdout).toMatch(/deploy-bot {2}trigger .* never/);

    expect(sluiceWith(['tokens', 'revoke', 'deploy-bot', '--project', dir]).stdout).toBe(
      'revoked token "deploy-bot"\n',
    );
    const gone = sluiceWith(['tokens', 'revoke', 'deploy-bot', '--project', dir]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain('no API token named "deploy-bot"');
  });
});
