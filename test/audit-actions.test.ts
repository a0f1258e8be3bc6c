import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { APITokens } from '../src/orchestrator/api-tokens.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { readCommitHistory } from '../src/table/delta-history.js';
import { sluice, tempDir } from './helpers.js';
import { orchestratorProject, workUntilFinished } from './support/orchestrator-project.js';

// Who did what, end to end: the HTTP API's tokens, the CLI's OS user, a worker's run writing a
// Delta table, and `sluice audit` / `sluice audit verify` over the result.

const OS_USER = `user:${userInfo().username}`;

let dir: string;
let store: RunStore;
let project: Project;
let api: TriggerAPI;
const tokens = { ops: '', bot: '', viewer: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-audit-actions-'));
  await cp(await orchestratorProject(), dir, { recursive: true });
  project = await Project.open(dir);
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
  const created = new APITokens(store.withAuditActor('user:setup'));
  tokens.ops = (await created.create('ops', 'admin')).token;
  tokens.bot = (await created.create('bot', 'trigger')).token;
  tokens.viewer = (await created.create('viewer', 'read')).token;
  api = await startTriggerAPI({ store, project, port: 0, env: {} });
});
afterAll(async () => {
  await api.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function call(method: string, path: string, token: string, body?: string): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body }),
  });
}

async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main([...args, '--project', dir], {
    stdout: (text) => (out += text),
    stderr: (text) => (err += text),
    stderrIsTTY: false,
    cwd: dir,
  });
  return { code, out, err };
}

describe('control actions through the HTTP API', () => {
  it('record the token that acted, each token use with its route, and never the secret', async () => {
    const before = (await store.audit.head()).seq;
    const queued = await call(
      'POST',
      '/api/pipelines/work/runs',
      tokens.bot,
      '{"params":{"n":"1"}}',
    );
    expect(queued.status).toBe(202);
    const { id } = (await queued.json()) as { id: string };
    expect((await call('GET', `/api/runs/${id}`, tokens.viewer)).status).toBe(200);
    expect((await call('POST', `/api/runs/${id}/cancel`, tokens.viewer)).status).toBe(403);
    expect((await call('POST', '/api/pipelines/work/pause', tokens.ops)).status).toBe(200);
    expect((await call('POST', '/api/pipelines/work/unpause', tokens.ops)).status).toBe(200);
    expect((await call('POST', `/api/runs/${id}/cancel`, tokens.ops)).status).toBe(200);
    // Scrapes read no dataset: none is recorded.
    expect((await call('GET', '/metrics', tokens.viewer)).status).toBe(200);

    const entries = (await store.audit.list({ limit: 100 }))
      .filter((e) => e.seq > before)
      .reverse();
    expect(entries.map((e) => [e.actor, e.action, e.target])).toEqual([
      ['token:bot', 'api.call', { pipeline: 'work' }],
      ['token:bot', 'run.trigger', { pipeline: 'work', runId: id }],
      ['token:viewer', 'api.read', { runId: id }],
      ['token:viewer', 'api.denied', { runId: id }],
      ['token:ops', 'api.call', { pipeline: 'work' }],
      ['token:ops', 'pipeline.pause', { pipeline: 'work' }],
      ['token:ops', 'api.call', { pipeline: 'work' }],
      ['token:ops', 'pipeline.unpause', { pipeline: 'work' }],
      ['token:ops', 'api.call', { runId: id }],
      ['token:ops', 'run.cancel', { pipeline: 'work', runId: id }],
    ]);
    expect(entries[0]?.detail).toEqual({
      method: 'POST',
      route: '/api/pipelines/:name/runs',
      path: '/api/pipelines/work/runs',
      role: 'trigger',
    });
    expect(entries[3]?.detail).toMatchObject({ route: '/api/runs/:id/cancel', role: 'read' });
    const raw = JSON.stringify(await store.db.all('SELECT * FROM audit_log'));
    for (const token of Object.values(tokens)) expect(raw).not.toContain(token);
    expect((await store.audit.verify()).broken).toBeUndefined();
  });
});

describe('control actions through the CLI', () => {
  it('record the operating-system user the command ran as', async () => {
    const before = (await store.audit.head()).seq;
    expect((await cli(['pause', 'work'])).code).toBe(0);
    expect((await cli(['unpause', 'work'])).code).toBe(0);
    const triggered = await cli(['trigger', 'work', '--param', 'n=2', '--json']);
    expect(triggered.code, triggered.err).toBe(0);
    const { id } = JSON.parse(triggered.out) as { id: string };
    expect((await cli(['cancel', id])).code).toBe(0);
    const created = await cli(['tokens', 'create', 'cli-made', '--role', 'read', '--json']);
    expect(created.code, created.err).toBe(0);
    expect((await cli(['tokens', 'revoke', 'cli-made'])).code).toBe(0);
    const silenced = await cli(['alerts', 'silence', 'pipeline=work', '--for', '1h', '--json']);
    expect(silenced.code, silenced.err).toBe(0);
    const silence = (JSON.parse(silenced.out) as { id: string }).id;
    expect((await cli(['alerts', 'unsilence', silence])).code).toBe(0);

    const entries = (await store.audit.list()).filter((e) => e.seq > before).reverse();
    expect(entries.map((e) => [e.actor, e.action])).toEqual([
      [OS_USER, 'pipeline.pause'],
      [OS_USER, 'pipeline.unpause'],
      [OS_USER, 'run.trigger'],
      [OS_USER, 'run.cancel'],
      [OS_USER, 'token.create'],
      [OS_USER, 'token.revoke'],
      [OS_USER, 'alert.silence'],
      [OS_USER, 'alert.unsilence'],
    ]);
    expect(entries[2]?.detail).toMatchObject({ params: { n: '2' } });
  });
});

describe('a run with a Delta sink', () => {
  it('records the write for who queued it, and the commitInfo carries run id, pipeline, step and actor', async () => {
    const [run] = await store
      .withAuditActor('user:erin')
      .enqueueRuns([{ pipeline: 'work', trigger: 'manual', params: { run_id: 'r1', n: '7' } }]);
    const [finished] = await workUntilFinished(store, project, [run!]);
    expect(finished?.state, JSON.stringify(finished?.error)).toBe('success');
    const [write] = await store.audit.list({ pipeline: 'work', actor: 'user:erin' });
    expect(write).toMatchObject({
      action: 'dataset.write',
      target: { pipeline: 'work', runId: run!.id, dataset: join(dir, 'out', 'work') },
      detail: { step: 'out', connector: 'delta', rows: 1, mode: 'merge', version: 0 },
    });
    const log = join(dir, 'out', 'work', '_delta_log');
    const commit = (await readFile(join(log, '00000000000000000000.json'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, Record<string, unknown>>)
      .find((action) => action['commitInfo'] !== undefined)?.['commitInfo'];
    expect(commit).toMatchObject({
      runId: run!.id,
      pipeline: 'work',
      step: 'out',
      actor: 'user:erin',
      operation: 'MERGE',
    });
  });
});

describe('sluice audit', () => {
  it('lists entries with filters, as text and JSON, showing control characters escaped', async () => {
    await store.audit.append({
      actor: 'user:evil\u001b[2J',
      action: 'dataset.write',
      target: { dataset: 'lake/\n"odd" name' },
    });
    const listed = await cli(['audit', '--dataset', 'lake/\n"odd" name']);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toContain('user:evil\\u001b[2J');
    expect(listed.out).not.toContain('\u001b');
    expect(listed.out.split('\n')).toHaveLength(3); // header, one entry, final newline
    const json = await cli(['audit', '--actor', 'token:ops', '--limit', '2', '--json']);
    const entries = JSON.parse(json.out) as { actor: string; seq: number; hash: string }[];
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.actor === 'token:ops')).toBe(true);
    expect(entries[0]!.seq).toBeGreaterThan(entries[1]!.seq);
    const none = await cli(['audit', '--since', '2999-01-01']);
    expect(none.out).toBe('no audit entries match\n');
    const bad = await cli(['audit', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--since expects an ISO date/);
  });

  it('verify exits 0 on an unbroken chain and 1 naming the first broken entry', async () => {
    const good = await cli(['audit', 'verify', '--json']);
    expect(good.code, good.err).toBe(0);
    const verdict = JSON.parse(good.out) as { ok: boolean; checked: number; head: string };
    expect(verdict).toMatchObject({ ok: true, broken: null });
    expect(verdict.checked).toBeGreaterThan(20);
    // The head exported now still holds after more appends.
    await store.audit.append({ actor: 'system', action: 'test.mark' });
    expect((await cli(['audit', 'verify', '--head', verdict.head])).code).toBe(0);
    const bad = await cli(['audit', 'verify', '--head', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--head expects <seq>:<64 hex digits>/);

    // Someone with write access rewrites the tail consistently: the chain alone cannot tell,
    // the exported head can.
    const { auditEntryHash, GENESIS_HASH } = await import('../src/observe/audit/audit-chain.js');
    const rows = (await store.audit.list({ limit: 10_000 })).reverse();
    let prev = GENESIS_HASH;
    for (const entry of rows) {
      const forged = { ...entry, prevHash: prev, ...(entry.seq === 3 ? { actor: 'user:x' } : {}) };
      const hash = auditEntryHash(forged);
      await store.db.run('UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?', [
        forged.actor,
        prev,
        hash,
        entry.seq,
      ]);
      prev = hash;
    }
    expect((await cli(['audit', 'verify'])).code).toBe(0);
    const rewritten = await cli(['audit', 'verify', '--head', verdict.head]);
    expect(rewritten.code).toBe(1);
    expect(rewritten.err).toMatch(/BROKEN at entry \d+: its hash is not the exported head/);

    await store.db.run(`UPDATE audit_log SET detail = '{"rows":999}' WHERE seq = 5`);
    const broken = await cli(['audit', 'verify']);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(
      /^audit log BROKEN at entry 5: its hash .* the entry was edited\n4 entries before it are intact/,
    );
    const brokenJSON = await cli(['audit', 'verify', '--json']);
    expect(JSON.parse(brokenJSON.out)).toMatchObject({ ok: false, checked: 4, broken: { seq: 5 } });
  });
});

describe('an ad-hoc sluice run (the built CLI)', () => {
  it('records its writes for the OS user, with the Delta version', async () => {
    const work = await tempDir('sluice-audit-run-');
    await writeFile(
      join(work, 'p.ts'),
      `import { pipeline, ref, sink, sql } from 'sluice';
export default pipeline('adhoc_audit', {
  steps: {
    rows: sql\`select range as n from range(5)\`,
    lake: sink.delta({ input: ref('rows'), path: 'lake/numbers' }),
  },
});
`,
    );
    for (const round of [0, 1]) {
      const ran = sluice(['run', 'p.ts', '--log-level', 'silent', '--json'], work);
      expect(ran.code, `${round}: ${ran.stderr}`).toBe(0);
    }
    const runStore = await RunStore.open(join(work, '.sluice', 'sluice.db'));
    try {
      const writes = (await runStore.audit.list({ pipeline: 'adhoc_audit' })).reverse();
      expect(writes.map((e) => [e.actor, e.action, e.detail])).toEqual([
        [
          OS_USER,
          'dataset.write',
          { step: 'lake', connector: 'delta', rows: 5, mode: 'append', version: 0 },
        ],
        [
          OS_USER,
          'dataset.write',
          { step: 'lake', connector: 'delta', rows: 5, mode: 'append', version: 1 },
        ],
      ]);
      expect(writes[0]?.target.dataset).toBe(join(work, 'lake', 'numbers'));
      expect((await runStore.audit.verify()).checked).toBe(2);
    } finally {
      await runStore.close();
    }
    const log = await readdir(join(work, 'lake', 'numbers', '_delta_log'));
    const second = await readFile(
      join(
        work,
        'lake',
        'numbers',
        '_delta_log',
        log.filter((f) => f.endsWith('.json')).sort()[1]!,
      ),
      'utf8',
    );
    expect(second).toContain(`"actor":${JSON.stringify(OS_USER)}`);
    expect(second).toContain('"pipeline":"adhoc_audit"');
    expect(second).toContain('"step":"lake"');
    const [latest] = await readCommitHistory(join(work, 'lake', 'numbers'));
    expect(latest?.provenance).toEqual({
      runId: expect.stringMatching(/^run_/),
      pipeline: 'adhoc_audit',
      step: 'lake',
      actor: OS_USER,
    });
  });
});
