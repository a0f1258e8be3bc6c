import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APITokens } from '../src/orchestrator/api-tokens.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { apiTestProject } from './api-v1-support.js';
import { workUntilFinished } from './support/orchestrator-project.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const pgSkip = await postgresUnavailable();
if (pgSkip !== undefined) console.warn(`/api/v1 on PostgreSQL skipped: ${pgSkip}`);

interface Fixture {
  dir: string;
  store: RunStore;
  project: Project;
  api: TriggerAPI;
  tokens: Record<'read' | 'trigger' | 'admin', string>;
  quickstart: RunRecord;
  failed: RunRecord;
}

type JSONValue = Record<string, unknown>;

const DIALECTS = [
  { name: 'embedded SQLite', skip: undefined as string | undefined },
  { name: 'PostgreSQL', skip: pgSkip },
];

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip !== undefined)(`/api/v1 on ${dialect.name}`, () => {
    let f: Fixture;
    let drop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      // One project, store and server for the file: its runs take seconds to execute. (tempDir
      // of test/helpers.ts removes its folders after each test, so this one is removed below.)
      const dir = await mkdtemp(join(tmpdir(), 'sluice-api-v1-'));
      await apiTestProject(dir);
      let location = join(dir, '.sluice', 'sluice.db');
      if (dialect.name === 'PostgreSQL') {
        const db = await createTestDatabase();
        location = db.url;
        drop = db.drop;
      }
      const store = await RunStore.open(location);
      const project = await Project.open(dir);
      const issued = new APITokens(store);
      const tokens = {
        read: (await issued.create('viewer', 'read')).token,
        trigger: (await issued.create('deployer', 'trigger')).token,
        admin: (await issued.create('operator', 'admin')).token,
      };
      const api = await startTriggerAPI({
        store,
        project,
        port: 0,
        limits: { requestsPerSecond: 100_000, burst: 100_000 },
        apiV1: { checkResponses: true, updates: { pollMs: 50, keepaliveMs: 300 } },
      });
      const queued = await fetch(`${api.url}/api/v1/pipelines/quickstart/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.trigger}` },
        body: '{}',
      });
      expect(queued.status).toBe(202);
      const queuedRun = (await queued.json()) as { id: string };
      const [failing] = await store.enqueueRuns([
        { pipeline: 'failing', trigger: 'manual', useCache: true },
      ]);
      const [quickstart, failed] = await workUntilFinished(
        store,
        project,
        [(await store.getRun(queuedRun.id)) as RunRecord, failing as RunRecord],
        { concurrency: 2 },
      );
      expect(quickstart?.state).toBe('success');
      expect(failed?.state).toBe('failed');
      f = {
        dir,
        store,
        project,
        api,
        tokens,
        quickstart: quickstart as RunRecord,
        failed: failed as RunRecord,
      };
    }, 180_000);

    afterAll(async () => {
      await f?.api.close();
      await f?.store.close();
      await drop?.();
      if (f !== undefined) await rm(f.dir, { recursive: true, force: true, maxRetries: 20 });
    });

    const call = async (
      path: string,
      options: { token?: string | null; method?: string; body?: string; headers?: JSONValue } = {},
    ): Promise<{ status: number; body: JSONValue; headers: Headers }> => {
      const token = options.token === undefined ? f.tokens.admin : options.token;
      const response = await fetch(`${f.api.url}${path}`, {
        method: options.method ?? 'GET',
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(options.headers as Record<string, string> | undefined),
        },
        ...(options.body === undefined ? {} : { body: options.body }),
      });
      const text = await response.text();
      let body: JSONValue;
      try {
        body = JSON.parse(text) as JSONValue;
      } catch {
        throw new Error(`${path}: not JSON (${response.status}): ${text.slice(0, 300)}`);
      }
      return { status: response.status, body, headers: response.headers };
    };
    const expectError = (
      answer: { status: number; body: JSONValue },
      status: number,
      code: string,
      message?: RegExp,
    ): void => {
      expect(answer.status, JSON.stringify(answer.body)).toBe(status);
      expect(answer.body['code']).toBe(code);
      expect(typeof answer.body['error']).toBe('string');
      expect(Object.keys(answer.body).sort()).toEqual(['code', 'error']);
      if (message !== undefined) expect(answer.body['error']).toMatch(message);
    };

    it('GET /session names the token and its role; no token is 401, a bad one 401', async () => {
      for (const role of ['read', 'trigger', 'admin'] as const) {
        const { status, body } = await call('/api/v1/session', { token: f.tokens[role] });
        expect(status).toBe(200);
        expect(body).toEqual({
          name: { read: 'viewer', trigger: 'deployer', admin: 'operator' }[role],
          role,
          tokenRequired: true,
        });
      }
      expectError(await call('/api/v1/session', { token: null }), 401, 'unauthorized');
      expectError(await call('/api/v1/session', { token: 'sluice_nope' }), 401, 'unauthorized');
    });

    it('GET /overview: runs of the last 24 h, failing pipelines, recent runs', async () => {
      const { status, body } = await call('/api/v1/overview', { token: f.tokens.read });
      expect(status).toBe(200);
      expect(body['scheduler']).toEqual({ lastHeartbeatAt: null, healthy: false });
      const runs24h = body['runs24h'] as Record<string, number>;
      expect(runs24h['success']).toBeGreaterThanOrEqual(1);
      expect(runs24h['failed']).toBeGreaterThanOrEqual(1);
      expect(body['failingPipelines']).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ pipeline: 'failing', error: expect.objectContaining({}) }),
        ]),
      );
      const recent = body['recentRuns'] as JSONValue[];
      expect(recent.length).toBeLessThanOrEqual(20);
      expect(recent.map((r) => r['id'])).toEqual(
        expect.arrayContaining([f.quickstart.id, f.failed.id]),
      );
      expect(body['firingAlerts']).toEqual([]);
    });

    it('GET /pipelines lists each pipeline with schedule, owners and its last runs', async () => {
      const { status, body } = await call('/api/v1/pipelines', { token: f.tokens.read });
      expect(status).toBe(200);
      const pipelines = body['pipelines'] as JSONValue[];
      expect(pipelines.map((p) => p['name']).sort()).toEqual(['failing', 'hourly', 'quickstart']);
      const quickstart = pipelines.find((p) => p['name'] === 'quickstart') as JSONValue;
      expect(quickstart).toMatchObject({
        schedule: 'every 1h',
        paused: false,
        description: expect.stringMatching(/Orders from CSV/),
      });
      expect(quickstart['nextRunAt']).toBeGreaterThan(Date.now() - 1_000);
      expect((quickstart['lastRuns'] as JSONValue[])[0]).toMatchObject({
        id: f.quickstart.id,
        state: 'success',
      });
      const failing = pipelines.find((p) => p['name'] === 'failing') as JSONValue;
      expect(failing).toMatchObject({ owners: ['team-data'], schedule: null, nextRunAt: null });
    });

    it('GET /pipelines/:name: steps in topological order and the latest run', async () => {
      const { status, body } = await call('/api/v1/pipelines/quickstart', { token: f.tokens.read });
      expect(status).toBe(200);
      const steps = body['steps'] as { id: string; kind: string; inputs: string[] }[];
      const order = steps.map((s) => s.id);
      for (const step of steps)
        for (const input of step.inputs)
          expect(order.indexOf(input)).toBeLessThan(order.indexOf(step.id));
      expect(steps.find((s) => s.id === 'all_orders')).toEqual({
        id: 'all_orders',
        kind: 'sql',
        inputs: ['orders_csv', 'orders_ndjson'],
      });
      const latest = body['latestRun'] as JSONValue;
      expect(latest['pipeline']).toBe('quickstart');
      if (latest['id'] === f.quickstart.id)
        expect(body['stepStates']).toMatchObject({
          orders_csv: 'success',
          orders_delta: 'success',
        });
      expectError(await call('/api/v1/pipelines/nope'), 404, 'not_found', /no pipeline "nope"/);
    });

    it('refuses hostile names and ids in paths with 404, echoing them safely', async () => {
      const hostile = [
        '..%2F..%2Fetc%2Fpasswd',
        '%2e%2e',
        'a'.repeat(5_000),
        "x'%20OR%201=1--",
        '%E2%80%AE%F0%9F%92%A3',
        '__proto__',
        'constructor',
        '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      ];
      for (const text of hostile) {
        for (const path of [
          `/api/v1/pipelines/${text}`,
          `/api/v1/pipelines/${text}/grid`,
          `/api/v1/runs/${text}`,
          `/api/v1/runs/${text}/quality`,
          `/api/v1/runs/${text}/quarantine`,
          `/api/v1/runs/${text}/steps/${text}/logs`,
        ]) {
          const answer = await call(path);
          expect(answer.status, path.slice(0, 100)).toBe(404);
          expect(answer.body['code']).toBe('not_found');
          expect(String(answer.body['error']).length).toBeLessThan(300);
          expect(String(answer.body['error'])).not.toMatch(/[<>]script|\u202e/);
        }
        for (const action of ['cancel', 'retry'])
          expectError(
            await call(`/api/v1/runs/${text}/${action}`, { method: 'POST' }),
            404,
            'not_found',
          );
        for (const [action, body] of [
          ['pause', ''],
          ['unpause', ''],
          ['runs', '{}'],
          ['backfills', '{"from": 0, "to": 1}'],
        ] as const)
          expectError(
            await call(`/api/v1/pipelines/${text}/${action}`, { method: 'POST', body }),
            404,
            'not_found',
          );
      }
      expect((await f.store.listPipelines()).map((p) => p.name)).not.toContain('__proto__');
      // A control character can be in no name: 400 before anything reads it.
      for (const path of [
        '/api/v1/pipelines/%00',
        '/api/v1/runs/a%0Ab',
        '/api/v1/runs/%1B/steps/x/logs',
        '/api/v1/runs/x/steps/%7F/logs',
      ])
        expectError(await call(path), 400, 'bad_request', /control character/);
      expectError(await call('/api/v1/runs/%00/cancel', { method: 'POST' }), 400, 'bad_request');
    });

    it('GET /pipelines/:name/grid: runs x steps cells, paged, bad limit or cursor 400', async () => {
      const first = await call('/api/v1/pipelines/quickstart/grid?limit=1', {
        token: f.tokens.read,
      });
      expect(first.status).toBe(200);
      const steps = first.body['steps'] as string[];
      expect(steps).toContain('checked_orders');
      const runs = first.body['runs'] as (JSONValue & { cells: Record<string, JSONValue> })[];
      expect(runs).toHaveLength(1);
      const withCells = runs.find((r) => r['id'] === f.quickstart.id);
      if (withCells !== undefined) {
        expect(Object.keys(withCells.cells).sort()).toEqual([...steps].sort());
        expect(withCells.cells['orders_csv']).toMatchObject({ state: 'success', cached: false });
        expect(withCells.cells['orders_csv']?.['rowsOut']).toBeGreaterThan(0);
      }
      for (const limit of ['0', '201', 'abc', '1.5', '-1', '%20'])
        expectError(
          await call(`/api/v1/pipelines/quickstart/grid?limit=${limit}`),
          400,
          'bad_request',
          /"limit"/,
        );
      for (const cursor of ['nope', 'e30', Buffer.from('[1]').toString('base64url'), '%FF'])
        expectError(
          await call(`/api/v1/pipelines/quickstart/grid?cursor=${cursor}`),
          400,
          'bad_request',
          /cursor/,
        );
    });

    it('GET /runs pages by cursor with no duplicate and no gap while runs are inserted', async () => {
      // One batch shares its queuedAt, so the order within it rests on the id alone.
      const batch = await f.store.enqueueRuns(
        Array.from({ length: 23 }, () => ({ pipeline: 'paged', trigger: 'sensor' as const })),
      );
      const expected = (await f.store.listRuns({ pipeline: 'paged', limit: 1_000 })).map(
        (r) => r.id,
      );
      expect(expected).toHaveLength(23);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { status: number; body: JSONValue } = await call(
          `/api/v1/runs?pipeline=paged&limit=5${cursor === null ? '' : `&cursor=${cursor}`}`,
          { token: f.tokens.read },
        );
        expect(page.status).toBe(200);
        seen.push(...(page.body['runs'] as JSONValue[]).map((r) => String(r['id'])));
        cursor = page.body['nextCursor'] as string | null;
        pages += 1;
        // Runs queued between page fetches are newer: they never shift the next page.
        await f.store.enqueueRuns([
          { pipeline: 'paged', trigger: 'sensor' },
          { pipeline: 'paged', trigger: 'sensor' },
        ]);
      } while (cursor !== null && pages < 20);
      expect(seen).toEqual(expected);
      expect(new Set(seen).size).toBe(seen.length);
      expect(batch).toHaveLength(23);
      const filtered = await call('/api/v1/runs?state=failed,canceled&trigger=manual&limit=1000');
      expect(filtered.status).toBe(200);
      const states = (filtered.body['runs'] as JSONValue[]).map((r) => r['state']);
      expect(states.length).toBeGreaterThan(0);
      expect(states.every((s) => s === 'failed' || s === 'canceled')).toBe(true);
      expectError(await call('/api/v1/runs?state=success,done'), 400, 'bad_request', /"done"/);
      expectError(await call('/api/v1/runs?trigger=cron'), 400, 'bad_request', /"trigger"/);
      for (const limit of ['0', '1001', 'x'])
        expectError(await call(`/api/v1/runs?limit=${limit}`), 400, 'bad_request', /"limit"/);
      expectError(await call('/api/v1/runs?cursor=%21%21'), 400, 'bad_request', /cursor/);
      // Empty parameters, as a form sends them, count as missing.
      const blank = await call('/api/v1/runs?pipeline=&state=&trigger=&limit=&cursor=');
      expect(blank.status).toBe(200);
      expect(blank.body).toEqual((await call('/api/v1/runs')).body);
      const all = await call('/api/v1/runs?limit=1000');
      expect((all.body['runs'] as JSONValue[]).length).toBeGreaterThan(23);
    });

    it('GET /runs/:id: every planned step with its task, and the run events', async () => {
      const { status, body } = await call(`/api/v1/runs/${f.quickstart.id}`, {
        token: f.tokens.read,
      });
      expect(status).toBe(200);
      expect(body['run']).toMatchObject({
        id: f.quickstart.id,
        pipeline: 'quickstart',
        state: 'success',
        trigger: 'manual',
        triggeredBy: 'token:deployer',
        interval: null,
      });
      const run = body['run'] as JSONValue;
      expect(run['durationMs']).toBe(Number(run['finishedAt']) - Number(run['startedAt']));
      const steps = body['steps'] as JSONValue[];
      expect(steps.map((s) => s['id'])).toContain('orders_delta');
      expect(steps.every((s) => s['state'] === 'success')).toBe(true);
      const events = body['events'] as JSONValue[];
      expect(events.map((e) => e['kind'])).toEqual(expect.arrayContaining(['runs.queued']));
      const ids = events.map((e) => Number(e['id']));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      // A queued run of the failing pipeline: every step pending.
      const [queued] = await f.store.enqueueRuns([{ pipeline: 'failing', trigger: 'manual' }]);
      const pending = await call(`/api/v1/runs/${queued?.id ?? ''}`);
      expect((pending.body['steps'] as JSONValue[]).map((s) => [s['id'], s['state']])).toEqual([
        ['one', 'pending'],
        ['boom', 'pending'],
      ]);
      await f.store.requestCancel(queued?.id ?? '');
      expectError(await call('/api/v1/runs/run_nope'), 404, 'not_found', /no run "run_nope"/);
    });

    it('GET /runs/:id/steps/:step/logs: attempt lines with rows and errors', async () => {
      const ok = await call(`/api/v1/runs/${f.quickstart.id}/steps/orders_csv/logs`);
      expect(ok.status).toBe(200);
      const lines = ok.body['lines'] as JSONValue[];
      expect(lines.map((l) => l['message'])).toEqual(
        expect.arrayContaining([expect.stringMatching(/attempt 1 started/)]),
      );
      const failed = await call(`/api/v1/runs/${f.failed.id}/steps/boom/logs`, {
        token: f.tokens.read,
      });
      const errors = (failed.body['lines'] as JSONValue[]).filter((l) => l['level'] === 'error');
      expect(errors.map((l) => l['message']).join('\n')).toMatch(/boom is broken/);
      expectError(
        await call(`/api/v1/runs/${f.quickstart.id}/steps/nope/logs`),
        404,
        'not_found',
        /no step "nope"/,
      );
    });

    it('GET /runs/:id/quality: the check step suite with each expectation', async () => {
      const { status, body } = await call(`/api/v1/runs/${f.quickstart.id}/quality`, {
        token: f.tokens.read,
      });
      expect(status).toBe(200);
      const [result] = body['results'] as JSONValue[];
      expect(result).toMatchObject({ step: 'checked_orders', suite: 'orders' });
      const expectations = (result?.['expectations'] ?? []) as JSONValue[];
      expect(expectations).toHaveLength(4);
      const regex = expectations.find((e) => e['severity'] === 'quarantine') as JSONValue;
      expect(regex['unexpectedCount']).toBeGreaterThan(0);
      expect((await call(`/api/v1/runs/${f.failed.id}/quality`)).body).toEqual({ results: [] });
    });

    it('GET /runs/:id/quarantine: samples with reasons and original bytes, a total, limits', async () => {
      const all = await call(`/api/v1/runs/${f.quickstart.id}/quarantine`, {
        token: f.tokens.read,
      });
      expect(all.status).toBe(200);
      const total = Number(all.body['total']);
      const samples = all.body['samples'] as JSONValue[];
      expect(total).toBeGreaterThan(0);
      expect(samples).toHaveLength(Math.min(total, 100));
      for (const sample of samples) {
        expect(typeof sample['record']).toBe('string');
        expect(String(sample['reason'])).not.toBe('');
      }
      const one = await call(`/api/v1/runs/${f.quickstart.id}/quarantine?limit=1`);
      expect(one.body['samples']).toHaveLength(1);
      expect(one.body['total']).toBe(total);
      const step = String(samples[0]?.['step']);
      const ofStep = await call(`/api/v1/runs/${f.quickstart.id}/quarantine?step=${step}`);
      expect((ofStep.body['samples'] as JSONValue[]).every((s) => s['step'] === step)).toBe(true);
      const none = await call(`/api/v1/runs/${f.quickstart.id}/quarantine?step=..%2F..%2Fsluice`);
      expect(none.body).toEqual({ samples: [], total: 0 });
      expectError(
        await call(`/api/v1/runs/${f.quickstart.id}/quarantine?limit=0`),
        400,
        'bad_request',
        /"limit"/,
      );
    });

    it('actions need their role: read gets 403 on every action, trigger on admin ones', async () => {
      const actions: [string, string][] = [
        [`/api/v1/pipelines/failing/runs`, 'trigger'],
        [`/api/v1/runs/${f.failed.id}/retry`, 'trigger'],
        [`/api/v1/runs/${f.failed.id}/cancel`, 'admin'],
        [`/api/v1/pipelines/hourly/pause`, 'admin'],
        [`/api/v1/pipelines/hourly/unpause`, 'admin'],
        [`/api/v1/pipelines/hourly/backfills`, 'admin'],
      ];
      const before = (await f.store.listRuns({ limit: 10_000 })).length;
      for (const [path, needed] of actions) {
        expectError(
          await call(path, { method: 'POST', token: f.tokens.read, body: '{}' }),
          403,
          'forbidden',
        );
        expectError(
          await call(path, { method: 'POST', token: null, body: '{}' }),
          401,
          'unauthorized',
        );
        if (needed === 'admin')
          expectError(
            await call(path, { method: 'POST', token: f.tokens.trigger, body: '{}' }),
            403,
            'forbidden',
            /"admin" role/,
          );
      }
      expect((await f.store.listRuns({ limit: 10_000 })).length).toBe(before);
      const denied = await f.store.audit.list({ actor: 'token:viewer', limit: 1_000 });
      expect(denied.some((e) => e.action === 'api.denied')).toBe(true);
    });

    it('POST /pipelines/:name/runs queues a run with params (202), audited; bad bodies 400', async () => {
      const queued = await call('/api/v1/pipelines/failing/runs', {
        method: 'POST',
        token: f.tokens.trigger,
        body: '{"params": {}}',
      });
      expect(queued.status).toBe(202);
      expect(queued.body).toMatchObject({
        pipeline: 'failing',
        state: 'queued',
        trigger: 'manual',
      });
      const id = String(queued.body['id']);
      expect((await f.store.getRun(id))?.triggeredBy).toBe('token:deployer');
      const audit = await f.store.audit.list({ pipeline: 'failing', limit: 100 });
      expect(audit.some((e) => e.actor === 'token:deployer' && e.action.startsWith('run'))).toBe(
        true,
      );
      expectError(
        await call('/api/v1/pipelines/failing/runs', {
          method: 'POST',
          body: '{"params": {"x": 1}}',
        }),
        400,
        'bad_request',
        /"params.x"/,
      );
      expectError(
        await call('/api/v1/pipelines/failing/runs', { method: 'POST', body: '{"priority": 1}' }),
        400,
        'bad_request',
        /priority/,
      );
      expectError(
        await call('/api/v1/pipelines/failing/runs', { method: 'POST', body: '{not json' }),
        400,
        'bad_request',
        /JSON/,
      );
      expectError(
        await call('/api/v1/pipelines/failing/runs', { method: 'POST', body: '[]' }),
        400,
        'bad_request',
      );
      expectError(
        await call('/api/v1/pipelines/failing/runs', {
          method: 'POST',
          body: '{"params": {"region": "EU"}}',
        }),
        400,
        'bad_request',
        /declares no param "region"/,
      );
      expectError(
        await call('/api/v1/pipelines/nope/runs', { method: 'POST', body: '{}' }),
        404,
        'not_found',
      );
      const cancel = await call(`/api/v1/runs/${id}/cancel`, { method: 'POST' });
      expect(cancel.status).toBe(200);
      expect(cancel.body).toEqual({ id, state: 'canceled' });
      expect((await f.store.getRun(id))?.state).toBe('canceled');
      const events = await f.store.listEvents({ runId: id });
      expect(events.find((e) => e.kind === 'run.canceled')?.data['actor']).toBe('operator');
    });

    it('POST /runs/:id/retry: 409 unless failed or canceled; a new run reusing the task cache', async () => {
      expectError(
        await call(`/api/v1/runs/${f.quickstart.id}/retry`, {
          method: 'POST',
          token: f.tokens.trigger,
        }),
        409,
        'not_retryable',
        /success/,
      );
      await writeFile(join(f.dir, 'fixed'), 'x');
      const retried = await call(`/api/v1/runs/${f.failed.id}/retry`, {
        method: 'POST',
        token: f.tokens.trigger,
      });
      expect(retried.status).toBe(202);
      expect(retried.body).toMatchObject({
        pipeline: 'failing',
        state: 'queued',
        params: f.failed.params,
        interval: null,
      });
      expect(retried.body['id']).not.toBe(f.failed.id);
      const run = (await f.store.getRun(String(retried.body['id']))) as RunRecord;
      expect(run.useCache).toBe(true);
      const [done] = await workUntilFinished(f.store, f.project, [run]);
      expect(done?.state).toBe('success');
      const detail = await call(`/api/v1/runs/${run.id}`);
      const steps = detail.body['steps'] as JSONValue[];
      // "one" succeeded in the failed run with the cache on: the retry reused it.
      expect(steps.map((s) => [s['id'], s['state'], s['cached']])).toEqual([
        ['one', 'success', true],
        ['boom', 'success', false],
      ]);
    }, 120_000);

    it('POST pause/unpause set the pipeline paused, audited with the token', async () => {
      const paused = await call('/api/v1/pipelines/hourly/pause', { method: 'POST' });
      expect(paused.body).toEqual({ pipeline: 'hourly', paused: true });
      expect((await f.store.getPipeline('hourly'))?.paused).toBe(true);
      const listed = await call('/api/v1/pipelines/hourly');
      expect(listed.body).toMatchObject({ paused: true, nextRunAt: null });
      const unpaused = await call('/api/v1/pipelines/hourly/unpause', { method: 'POST' });
      expect(unpaused.body).toEqual({ pipeline: 'hourly', paused: false });
      expect((await f.store.getPipeline('hourly'))?.paused).toBe(false);
      const audit = await f.store.audit.list({ actor: 'token:operator', limit: 1_000 });
      expect(audit.filter((e) => e.target.pipeline === 'hourly').length).toBeGreaterThanOrEqual(2);
    });

    it('POST /pipelines/:name/backfills previews with dryRun, then queues', async () => {
      const body = '{"from": "2024-01-01T00:00:00Z", "to": "2024-01-01T05:00:00Z", "dryRun": true}';
      const preview = await call('/api/v1/pipelines/hourly/backfills', { method: 'POST', body });
      expect(preview.status).toBe(200);
      expect(preview.body).toMatchObject({
        pipeline: 'hourly',
        dryRun: true,
        backfillId: null,
        create: 5,
        rerun: 0,
        skip: 0,
      });
      expect((preview.body['intervals'] as JSONValue[])[0]).toEqual({
        start: Date.parse('2024-01-01T00:00:00Z'),
        end: Date.parse('2024-01-01T01:00:00Z'),
        action: 'create',
      });
      expect(await f.store.listRuns({ pipeline: 'hourly' })).toEqual([]);
      const submitted = await call('/api/v1/pipelines/hourly/backfills', {
        method: 'POST',
        body: JSON.stringify({
          from: Date.parse('2024-01-01T00:00:00Z'),
          to: Date.parse('2024-01-01T05:00:00Z'),
          reprocess: 'none',
        }),
      });
      expect(submitted.status).toBe(202);
      expect(submitted.body).toMatchObject({ dryRun: false, create: 5 });
      const runs = await f.store.listRuns({ pipeline: 'hourly', limit: 100 });
      expect(runs).toHaveLength(5);
      expect(runs.every((r) => r.backfillId === submitted.body['backfillId'])).toBe(true);
      const again = await call('/api/v1/pipelines/hourly/backfills', { method: 'POST', body });
      expect(again.body).toMatchObject({ create: 0, skip: 5, rerun: 0 });
      for (const bad of [
        '{"to": "2024-01-02"}',
        '{"from": "yesterday", "to": "2024-01-02"}',
        '{"from": "2024-01-02", "to": "2024-01-01"}',
        '{"from": "2024-01-01", "to": "2024-01-02", "reprocess": "some"}',
        '{"from": "2024-01-01", "to": "2024-01-02", "dryRun": "yes"}',
        '{"from": "2024-01-01", "to": "2024-01-02", "extra": 1}',
      ])
        expectError(
          await call('/api/v1/pipelines/hourly/backfills', { method: 'POST', body: bad }),
          400,
          'bad_request',
        );
      expectError(
        await call('/api/v1/pipelines/failing/backfills', {
          method: 'POST',
          body: '{"from": "2024-01-01", "to": "2024-01-02"}',
        }),
        400,
        'bad_request',
        /schedule/,
      );
    });

    it('the old unversioned routes still answer', async () => {
      expect((await call('/api/pipelines', { token: f.tokens.read })).status).toBe(200);
      expect((await call(`/api/runs/${f.quickstart.id}`, { token: f.tokens.read })).status).toBe(
        200,
      );
    });
  });
