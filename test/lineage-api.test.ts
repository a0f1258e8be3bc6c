import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APITokens } from '../src/orchestrator/api-tokens.js';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { runEvent } from './support/lineage-events.js';
import { orchestratorProject } from './support/orchestrator-project.js';

let dir: string;
let store: RunStore;
let api: TriggerAPI;
const tokens = { reader: '', writer: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-lineage-api-'));
  await cp(await orchestratorProject(), dir, { recursive: true });
  store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
  const created = new APITokens(store);
  tokens.reader = (await created.create('reader', 'read')).token;
  tokens.writer = (await created.create('lineage-producer', 'trigger')).token;
  api = await startTriggerAPI({
    store,
    project: await Project.open(dir),
    port: 0,
    limits: { maxBodyBytes: 64 * 1024 },
  });
});
afterAll(async () => {
  await api.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const call = (
  method: string,
  path: string,
  options: { token?: string; body?: string } = {},
): Promise<Response> =>
  fetch(`${api.url}${path}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    },
    ...(options.body === undefined ? {} : { body: options.body }),
  });

const NS = 'postgres://warehouse:5432';
const post = (event: unknown, token = tokens.writer): Promise<Response> =>
  call('POST', '/api/v1/lineage', { token, body: JSON.stringify(event) });
const get = (path: string, params: Record<string, string>, token = tokens.reader) =>
  call('GET', `${path}?${new URLSearchParams(params).toString()}`, { token });

describe('lineage API of sluice serve --http', () => {
  it('refuses requests without a token (401) and writes by a read token (403)', async () => {
    const event = runEvent({ job: ['ns', 'j'], outputs: [{ namespace: 'ns', name: 'x' }] });
    expect((await call('POST', '/api/v1/lineage', { body: JSON.stringify(event) })).status).toBe(
      401,
    );
    expect((await call('GET', '/api/v1/lineage?nodeId=dataset:ns:x')).status).toBe(401);
    expect((await call('GET', '/api/v1/column-lineage?nodeId=datasetField:ns:x:a')).status).toBe(
      401,
    );
    expect((await post(event, 'sluice_not-a-real-token')).status).toBe(401);
    const forbidden = await post(event, tokens.reader);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: string }).error).toContain('"trigger" role');
    expect((await store.db.all('SELECT count(*) AS n FROM lineage_events'))[0]?.['n']).toBe(0);
  });

  it('records posted events (201), once, and serves the graphs in Marquez shape', async () => {
    const bronze = runEvent({
      job: ['shop', 'load_orders'],
      inputs: [{ namespace: NS, name: 'shop.public.orders', fields: ['id', 'amount'] }],
      outputs: [
        {
          namespace: 'file:///lake',
          name: 'orders',
          fields: ['id', 'amount'],
          columns: {
            id: [[NS, 'shop.public.orders', 'id']],
            amount: [[NS, 'shop.public.orders', 'amount']],
          },
        },
      ],
    });
    const first = await post(bronze);
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ recorded: true });
    const again = await post(bronze);
    expect(again.status).toBe(201);
    expect(await again.json()).toMatchObject({ recorded: false });
    expect(
      (
        await post(
          runEvent({
            job: ['shop', 'daily_revenue'],
            inputs: [{ namespace: 'file:///lake', name: 'orders' }],
            outputs: [
              {
                namespace: 'file:///lake',
                name: 'revenue',
                fields: ['total'],
                columns: { total: [['file:///lake', 'orders', 'amount', 'DIRECT', 'AGGREGATION']] },
              },
            ],
          }),
        )
      ).status,
    ).toBe(201);

    const lineage = await get('/api/v1/lineage', {
      nodeId: 'dataset:file:///lake:orders',
      depth: '5',
    });
    expect(lineage.status).toBe(200);
    const body = (await lineage.json()) as {
      graph: {
        id: string;
        type: string;
        inEdges: unknown[];
        outEdges: unknown[];
        data: Record<string, unknown>;
      }[];
    };
    expect(body.graph.map((n) => [n.id, n.type])).toEqual([
      ['dataset:file:///lake:orders', 'DATASET'],
      ['dataset:file:///lake:revenue', 'DATASET'],
      [`dataset:${NS}:shop.public.orders`, 'DATASET'],
      ['job:shop:daily_revenue', 'JOB'],
      ['job:shop:load_orders', 'JOB'],
    ]);
    const orders = body.graph[0];
    expect(orders?.inEdges).toEqual([
      { origin: 'job:shop:load_orders', destination: 'dataset:file:///lake:orders' },
    ]);
    expect(orders?.outEdges).toEqual([
      { origin: 'dataset:file:///lake:orders', destination: 'job:shop:daily_revenue' },
    ]);
    expect(orders?.data).toMatchObject({
      id: { namespace: 'file:///lake', name: 'orders' },
      name: 'orders',
    });

    const columns = await get('/api/v1/column-lineage', {
      nodeId: 'datasetField:file:///lake:revenue:total',
      depth: '20',
    });
    expect(columns.status).toBe(200);
    const columnBody = (await columns.json()) as {
      graph: { id: string; type: string; data: { inputFields: unknown[] } }[];
    };
    expect(columnBody.graph.map((n) => n.id)).toEqual([
      'datasetField:file:///lake:orders:amount',
      'datasetField:file:///lake:revenue:total',
      `datasetField:${NS}:shop.public.orders:amount`,
    ]);
    expect(columnBody.graph[1]?.type).toBe('DATASET_FIELD');
    expect(columnBody.graph[1]?.data.inputFields).toEqual([
      expect.objectContaining({
        namespace: 'file:///lake',
        dataset: 'orders',
        field: 'amount',
        transformationType: 'DIRECT',
        transformationSubtype: 'AGGREGATION',
      }),
    ]);
    const downstream = await get('/api/v1/column-lineage', {
      nodeId: `datasetField:${NS}:shop.public.orders:amount`,
      withDownstream: 'true',
    });
    expect(((await downstream.json()) as { graph: unknown[] }).graph).toHaveLength(3);

    const impact = await get('/api/v1/lineage/impact', {
      nodeId: `datasetField:${NS}:shop.public.orders:amount`,
    });
    expect(await impact.json()).toMatchObject({
      columns: [
        { field: 'amount', depth: 1 },
        { field: 'total', depth: 2 },
      ],
      jobs: [{ name: 'daily_revenue' }, { name: 'load_orders' }],
    });
  });

  it('answers bad parameters with 400 saying what is wrong, and unknown nodes with 404', async () => {
    const cases: [string, Record<string, string>, number, RegExp][] = [
      ['/api/v1/lineage', {}, 400, /"nodeId" is required/],
      ['/api/v1/lineage', { nodeId: 'table:x:y' }, 400, /must start with "dataset:"/],
      ['/api/v1/lineage', { nodeId: 'dataset:nocolon' }, 400, /dataset:<namespace>:<name>/],
      [
        '/api/v1/lineage',
        { nodeId: 'dataset:ns:x', depth: '-1' },
        400,
        /"depth" must be a whole number/,
      ],
      ['/api/v1/lineage', { nodeId: 'dataset:ns:x', depth: 'ten' }, 400, /"depth"/],
      ['/api/v1/lineage', { nodeId: 'dataset:ns:x', depth: '1e9' }, 400, /"depth"/],
      ['/api/v1/lineage', { nodeId: 'dataset:ns:x', direction: 'sideways' }, 400, /"direction"/],
      ['/api/v1/lineage', { nodeId: 'dataset:ns:nope' }, 404, /no node "dataset:ns:nope"/],
      [
        '/api/v1/column-lineage',
        { nodeId: 'datasetField:file:///lake:orders:nope' },
        404,
        /no node/,
      ],
      ['/api/v1/column-lineage', { nodeId: 'job:shop:load_orders' }, 400, /not a job/],
      ['/api/v1/lineage/impact', {}, 400, /"nodeId" is required/],
    ];
    for (const [path, params, status, message] of cases) {
      const response = await get(path, params);
      expect(response.status, `${path} ${JSON.stringify(params)}`).toBe(status);
      expect(((await response.json()) as { error: string }).error).toMatch(message);
    }
  });

  it('refuses malformed and oversized events, naming the field, and stores nothing of them', async () => {
    const before = await store.db.all('SELECT count(*) AS n FROM lineage_events');
    const notJSON = await call('POST', '/api/v1/lineage', {
      token: tokens.writer,
      body: '{"eventTime":',
    });
    expect(notJSON.status).toBe(400);
    const bad = runEvent({ job: ['ns', 'j'], outputs: [{ namespace: 'ns', name: 'x' }] });
    (bad['run'] as Record<string, unknown>)['runId'] = 'run-1';
    const refused = await post(bad);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      code: 'LINEAGE_EVENT_INVALID',
      path: 'run.runId',
    });
    const huge = runEvent({
      job: ['ns', 'j'],
      outputs: [
        {
          namespace: 'ns',
          name: 'x',
          fields: Array.from({ length: 5_000 }, (_, i) => `column_${i}`),
        },
      ],
    });
    expect((await post(huge)).status).toBe(413);
    expect(await store.db.all('SELECT count(*) AS n FROM lineage_events')).toEqual(before);
  });
});
