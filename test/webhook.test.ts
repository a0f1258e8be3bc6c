import { createHmac } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookInbox } from '../src/connectors/http/webhook-inbox.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { tempDir } from './helpers.js';
import { readDeltaTable, workUntilFinished } from './support/orchestrator-project.js';

const PIPELINE = `
import { PermanentError, pipeline, param, ref, schema, sink, source, t, transform } from 'sluice';
export default pipeline('hooks', {
  params: { fail: 'no' },
  steps: {
    orders: source.webhook({
      inbox: 'orders',
      schema: schema({ id: t.int64().notNull(), total: t.decimal(10, 2) }),
    }),
    gate: transform({
      input: ref('orders'),
      map: (row, context) => {
        if (context.params.fail === 'yes') throw new PermanentError('asked to fail');
        return row;
      },
    }),
    out: sink.delta({ input: ref('gate'), path: '../lake/orders', mode: 'append' }),
  },
});`;

describe('webhook inbox', () => {
  it('numbers concurrent batches in the order they become visible, and keeps each durable', async () => {
    const inbox = WebhookInbox.open(await tempDir(), 'orders');
    const sequences = await Promise.all(
      Array.from({ length: 50 }, (_, i) => inbox.append([{ id: i }])),
    );
    expect(new Set(sequences).size).toBe(50);
    const pending = await inbox.pending(undefined);
    expect(pending.map((b) => b.sequence)).toEqual([...sequences].sort());
    const middle = [...sequences].sort()[24] as string;
    expect((await inbox.pending(middle)).length).toBe(25);
    expect(await inbox.removeConsumed(middle)).toBe(25);
    expect((await inbox.pending(undefined)).length).toBe(25);
    // A new process continues after the newest batch on disk.
    const reopened = WebhookInbox.open(join(inbox.folder, '..', '..'), 'orders');
    const next = await reopened.append([{ id: 99 }]);
    expect(next > ([...sequences].sort()[49] as string)).toBe(true);
    expect((await reopened.pending(undefined)).at(-1)?.sequence).toBe(next);
    expect(() => WebhookInbox.open('/tmp', '../escape')).toThrow(/not a webhook inbox name/);
  });

  it('never overwrites a batch when two writers share an inbox', async () => {
    const dir = await tempDir();
    const writers = [WebhookInbox.open(dir, 'orders'), WebhookInbox.open(dir, 'orders')];
    const sequences = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (writers[i % 2] as WebhookInbox).append([{ id: i }])),
    );
    expect(new Set(sequences).size).toBe(40);
    const ids: number[] = [];
    for (const batch of await (writers[0] as WebhookInbox).pending(undefined))
      for (const line of (await readFile(batch.file, 'utf8')).trim().split('\n'))
        ids.push((JSON.parse(line) as { id: number }).id);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });
});

describe('webhooks through sluice serve --http into a pipeline', () => {
  let dir: string;
  let store: RunStore;
  let project: Project;
  let api: { url: string; close(): Promise<void> };

  beforeEach(async () => {
    dir = await tempDir('sluice-webhook-');
    await mkdir(join(dir, 'pipelines'));
    await writeFile(join(dir, 'pipelines', 'hooks.ts'), PIPELINE);
    project = await Project.open(dir);
    store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    api = await startTriggerAPI({ store, project, port: 0, token: 'api-token' });
  });
  afterEach(async () => {
    delete process.env['SLUICE_WEBHOOK_SECRET_ORDERS'];
    await api.close();
    await store.close();
  });

  const post = (body: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${api.url}/hooks/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer api-token',
        ...headers,
      },
      body,
    });

  const runOnce = async (params: Record<string, string> = {}): Promise<RunRecord> => {
    const [run] = await store.enqueueRuns([{ pipeline: 'hooks', trigger: 'manual', params }]);
    const [done] = await workUntilFinished(store, project, [run as RunRecord]);
    return done as RunRecord;
  };
  const ids = async (): Promise<number[]> =>
    (await readDeltaTable(dir, join(dir, 'lake', 'orders')))
      .map((r) => Number(r['id']))
      .sort((a, b) => a - b);

  it('lands posts durably, reads each batch exactly once, and re-reads after a failed run', async () => {
    const first = await post('[{"id": 1, "total": 9.5}, {"id": 2, "total": 3}]');
    expect(first.status).toBe(202);
    expect(await first.json()).toMatchObject({ inbox: 'orders', records: 2 });
    expect((await post('{"id": 3}')).status).toBe(202);
    const ndjson = await post('{"id": 4}\n{"id": 5, "total": "x"}\n', {
      'content-type': 'application/x-ndjson',
    });
    expect(ndjson.status).toBe(202);

    const run1 = await runOnce();
    expect(run1.state).toBe('success');
    // id 5's total does not fit decimal(10,2): quarantined, never silently dropped.
    expect(await ids()).toEqual([1, 2, 3, 4]);

    expect((await post('[{"id": 6}]')).status).toBe(202);
    expect((await runOnce({ fail: 'yes' })).state).toBe('failed');
    expect(await ids()).toEqual([1, 2, 3, 4]);
    expect((await runOnce()).state).toBe('success');
    expect(await ids()).toEqual([1, 2, 3, 4, 6]);

    // Nothing new: an empty read; the batches read by the last success are removed now.
    expect((await runOnce()).state).toBe('success');
    expect(await ids()).toEqual([1, 2, 3, 4, 6]);
    expect(await readdir(join(dir, '.sluice', 'inbox', 'orders'))).toEqual([]);
    // Five runs, each in a run process of its own: about 30 s on an idle machine.
  }, 180_000);

  it('refuses bad bodies, and requires a timestamped HMAC signature when a secret is set', async () => {
    expect((await post('not json')).status).toBe(400);
    expect((await post('[1, 2]')).status).toBe(400);
    expect((await post('{"id": 1}', { authorization: 'Bearer wrong' })).status).toBe(401);

    process.env['SLUICE_WEBHOOK_SECRET_ORDERS'] = 'shh';
    const body = '{"id": 7}';
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac('sha256', 'shh').update(`${t}.${body}`).digest('hex');
    const unsigned = await post(body, { authorization: '' });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error: string }).error).toContain('Sluice-Signature');
    expect((await post(body, { 'sluice-signature': `t=${t},v1=${'0'.repeat(64)}` })).status).toBe(
      401,
    );
    // The old header signed the body alone, so it could be replayed forever: no longer taken.
    const bodyOnly = `sha256=${createHmac('sha256', 'shh').update(body).digest('hex')}`;
    expect((await post(body, { authorization: '', 'x-hub-signature-256': bodyOnly })).status).toBe(
      401,
    );
    expect(
      (await post(body, { authorization: '', 'sluice-signature': `t=${t},v1=${v1}` })).status,
    ).toBe(202);
    expect((await fetch(`${api.url}/hooks/..%2Fx`, { method: 'POST', body })).status).toBe(404);
  });
});
