import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listenAddress } from '../src/cli/commands/serve.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { orchestratorProject } from './support/orchestrator-project.js';

let store: RunStore;
let api: { url: string; close(): Promise<void> };

beforeEach(async () => {
  const dir = await orchestratorProject();
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
  api = await startTriggerAPI({
    store,
    project: await Project.open(dir),
    port: 0,
    token: 'secret',
  });
});
afterEach(async () => {
  await api.close();
  await store.close();
});

function post(path: string, body: string, token = 'secret'): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
}

describe('the webhook API of sluice serve', () => {
  it('queues a run with params and reads it back', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const response = await post(
      '/api/pipelines/work/runs',
      '{"params": {"n": "7"}, "priority": 3}',
    );
    expect(response.status).toBe(202);
    const run = (await response.json()) as Record<string, unknown>;
    expect(run).toMatchObject({
      pipeline: 'work',
      state: 'queued',
      trigger: 'manual',
      params: { n: '7' },
      priority: 3,
      maxAttempts: 6,
    });
    const stored = await store.getRun(String(run['id']));
    expect(stored?.params).toEqual({ n: '7' });
    const read = await fetch(`${api.url}/api/runs/${String(run['id'])}`, {
      headers: { authorization: 'Bearer secret' },
    });
    expect(((await read.json()) as { id: string }).id).toBe(run['id']);
    expect(await (await post('/api/pipelines/work/runs', '')).json()).toMatchObject({ params: {} });
  });

  it('answers 401, 404 and 400 with the reason, and queues nothing', async () => {
    expect((await post('/api/pipelines/work/runs', '{}', 'wrong')).status).toBe(401);
    const unknown = await post('/api/pipelines/nope/runs', '{}');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/no pipeline "nope"/);
    const badParam = await post('/api/pipelines/work/runs', '{"params": {"region": "EU"}}');
    expect(badParam.status).toBe(400);
    expect(((await badParam.json()) as { error: string }).error).toMatch(
      /declares no param "region"/,
    );
    expect((await post('/api/pipelines/work/runs', 'not json')).status).toBe(400);
    expect((await post('/api/pipelines/work/runs', '{"params": {"n": 7}}')).status).toBe(400);
    const missing = await fetch(`${api.url}/api/runs/run_missing`, {
      headers: { authorization: 'Bearer secret' },
    });
    expect(missing.status).toBe(404);
    expect(await store.listRuns()).toEqual([]);
  });

  it('queues one run per Idempotency-Key: a resent trigger answers that run, other params are refused', async () => {
    const trigger = (key: string, body = '{"params": {"n": "1"}}'): Promise<Response> =>
      fetch(`${api.url}/api/pipelines/work/runs`, {
        method: 'POST',
        headers: {
          authorization: 'Bearer secret',
          'content-type': 'application/json',
          'idempotency-key': key,
        },
        body,
      });
    const first = await trigger('import-2026-03-01');
    expect(first.status).toBe(202);
    const run = (await first.json()) as { id: string };
    // Resent at once, ten times concurrently: all name the same run.
    const again = await Promise.all(Array.from({ length: 10 }, () => trigger('import-2026-03-01')));
    for (const response of again) {
      expect(response.status).toBe(200);
      expect(response.headers.get('idempotent-replayed')).toBe('true');
      expect(((await response.json()) as { id: string }).id).toBe(run.id);
    }
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () => trigger('import-2026-03-02')),
    );
    const ids = new Set(
      await Promise.all(concurrent.map(async (r) => ((await r.json()) as { id: string }).id)),
    );
    expect(ids.size).toBe(1);
    const conflict = await trigger('import-2026-03-01', '{"params": {"n": "2"}}');
    expect(conflict.status).toBe(422);
    expect(await conflict.json()).toMatchObject({ code: 'idempotency_conflict' });
    expect((await trigger('')).status).toBe(400);
    expect((await trigger('x'.repeat(256))).status).toBe(400);
    expect((await store.listRuns()).length).toBe(2);
  });

  it('parses --http addresses', () => {
    expect(listenAddress('8080')).toEqual({ hostname: '127.0.0.1', port: 8080 });
    expect(listenAddress(':8080')).toEqual({ hostname: '127.0.0.1', port: 8080 });
    expect(listenAddress('0.0.0.0:9000')).toEqual({ hostname: '0.0.0.0', port: 9000 });
    expect(listenAddress('[::1]:9000')).toEqual({ hostname: '::1', port: 9000 });
    expect(() => listenAddress('localhost')).toThrow(/--http expects/);
  });
});
