import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restSource } from '../src/connectors/http/index.js';
import { requestRetryPolicy, restSourceConfig } from '../src/connectors/http/rest-config.js';
import { webhookStreamSinkConfig } from '../src/connectors/http/webhook-stream-sink.js';
import { ConfigError } from '../src/core/errors.js';
import { retryPolicy, retryPolicyProblems } from '../src/core/retry-policy.js';
import type { RetryPolicy } from '../src/core/retry-policy.js';
import {
  defaultRegistry,
  pipeline,
  ref,
  schema,
  sink,
  source,
  t,
  transform,
} from '../src/index.js';
import { Project } from '../src/orchestrator/project.js';
import { planPipeline } from '../src/plan/planner.js';
import { runIn, sluice, tempDir } from './helpers.js';

let server: Server;
let base: string;
const hits = new Map<string, number>();

beforeAll(async () => {
  // Every path answers 503 and counts the requests it got.
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"error":"down"}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

const registry = defaultRegistry.with(restSource);

/**
 * Runs a pipeline of one REST source reading `path` (always 503) and a sink; aborts it once the
 * server saw more than 20 requests, so a retry without end shows as a count, not a hung test.
 */
async function runAgainstDownAPI(path: string, rest: object) {
  const dir = await tempDir('sluice-retries-');
  const abort = new AbortController();
  const watch = setInterval(() => {
    if ((hits.get(path) ?? 0) > 20) abort.abort(new Error('retried without end'));
  }, 20);
  try {
    const p = pipeline('retries', {
      steps: {
        items: source.rest({ url: `${base}${path}`, ...rest } as never),
        out: sink.ndjson({ input: ref('items'), path: join(dir, 'out.ndjson') }),
      },
    });
    const report = await runIn(dir, p, { registry, signal: abort.signal });
    return { report, requests: hits.get(path) ?? 0 };
  } finally {
    clearInterval(watch);
  }
}

describe('one retry vocabulary, bounded everywhere', () => {
  it("keeps the REST source's retries: { count, ... } a connector option, so the step stops", async () => {
    const { report, requests } = await runAgainstDownAPI('/legacy', {
      retries: { count: 1, delay: '1ms', maxDelay: '1ms', jitter: 0 },
    });
    expect(report.status).toBe('failed');
    expect(report.error?.message).toContain('failed after 2 tries; last: HTTP 503');
    expect(requests).toBe(2);
  }, 60_000);

  it('retries requests per requestRetries and the step per its own retries', async () => {
    const requestsOnly = await runAgainstDownAPI('/request', {
      requestRetries: { retries: 2, delay: 1, maxDelay: 1 },
    });
    expect(requestsOnly.report.status).toBe('failed');
    expect(requestsOnly.requests).toBe(3);

    const both = await runAgainstDownAPI('/both', {
      requestRetries: 0,
      retries: { retries: 2, delay: '1ms', maxDelay: '1ms', jitter: 0 },
    });
    expect(both.report.status).toBe('failed');
    expect(both.requests).toBe(3);
  }, 60_000);

  it('refuses a retry count or delay that is NaN, infinite, negative or misnamed where a policy is built', () => {
    const bad: unknown[] = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
      1.5,
      '3',
      { count: 5 },
      { retries: Number.NaN },
      { retries: 2, delay: Number.POSITIVE_INFINITY },
      { retries: 2, delay: 'soon' },
      { retries: 2, maxDelay: -5 },
      { retries: 2, jitter: Number.NaN },
      { retries: 2, jitter: 2 },
      { delay: '1s' },
    ];
    for (const value of bad) {
      expect(retryPolicyProblems(value).length, JSON.stringify(value)).toBeGreaterThan(0);
      expect(() => retryPolicy(value as RetryPolicy), String(value)).toThrow(ConfigError);
    }
    expect(retryPolicyProblems({ count: 5 })[0]?.message).toContain('use "retries"');
    expect(retryPolicy(2, { delay: '1s', maxDelay: '30s', jitter: 0 })).toEqual({
      retries: 2,
      delayMs: 1000,
      maxDelayMs: 30_000,
      jitter: 0,
    });
    expect(retryPolicy({ retries: 1, delay: 5 }, { delay: '1s' }).delayMs).toBe(5);
  });

  it('reads the deprecated REST and webhook sink names as the policy fields, and refuses mixing them', () => {
    const url = 'https://api.example.com/items';
    expect(requestRetryPolicy(restSourceConfig.parse({ url }))).toEqual({
      retries: 3,
      delayMs: 1000,
      maxDelayMs: 30_000,
      jitter: 0.2,
    });
    expect(
      requestRetryPolicy(restSourceConfig.parse({ url, retries: { count: 5, maxDelay: '1m' } })),
    ).toEqual({ retries: 5, delayMs: 1000, maxDelayMs: 60_000, jitter: 0.2 });
    expect(
      requestRetryPolicy(
        restSourceConfig.parse({ url, requestRetries: { retries: 4, delay: '2s', jitter: 0 } }),
      ),
    ).toEqual({ retries: 4, delayMs: 2000, maxDelayMs: 30_000, jitter: 0 });
    expect(
      restSourceConfig.safeParse({ url, requestRetries: 2, retries: { count: 1 } }).success,
    ).toBe(false);
    for (const requestRetries of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
      { retries: 1, delay: Number.NaN },
    ])
      expect(restSourceConfig.safeParse({ url, requestRetries }).success).toBe(false);

    const hook = 'https://hooks.example.com/x';
    expect(
      webhookStreamSinkConfig.parse({ url: hook, retries: { retries: 2, delay: '1s' } }).retries,
    ).toEqual({
      retries: 2,
      delay: '1s',
    });
    expect(
      webhookStreamSinkConfig.safeParse({ url: hook, retries: { retries: 2 }, retryDelay: '1s' })
        .success,
    ).toBe(false);
    for (const retries of [Number.NaN, Number.POSITIVE_INFINITY, { count: 2 }])
      expect(webhookStreamSinkConfig.safeParse({ url: hook, retries }).success).toBe(false);
  });

  it('plans: a bad step or pipeline retry setting is a diagnostic with the step and path', () => {
    const items = schema({ id: t.int64() });
    const p = pipeline('bad_retries', {
      retries: { retries: Number.POSITIVE_INFINITY },
      steps: {
        orders: source.csv({
          path: 'x.csv',
          schema: items,
          retries: { retries: 1, delay: 'soon' },
        }),
        fixed: transform({
          input: ref('orders'),
          map: (row) => row,
          retries: { count: 3 } as never,
        }),
        api: source.rest({ url: 'https://api.example.com', retries: { count: 2, delay: '1s' } }),
        described: source.rest({ url: 'https://api.example.com', description: 42 as never }),
        legacy: source.csv({ path: 'y.csv', schema: items, retries: { count: 2 } as never }),
        out: sink.ndjson({
          input: ref('fixed'),
          path: 'o.ndjson',
          // @ts-expect-error a sink step takes no retries
          retries: 2,
        }),
      },
    });
    const result = planPipeline(p, { connectors: registry.lookup });
    expect(result.ok).toBe(false);
    const found = result.diagnostics.map((d) => `${d.stepId ?? '-'} ${d.path} ${d.code}`);
    expect(found).toEqual(
      expect.arrayContaining([
        '- retries.retries invalid-retries',
        'orders retries.delay invalid-retries',
        'fixed retries.count invalid-retries',
        'fixed retries.retries invalid-retries',
        'described description invalid-config',
      ]),
    );
    const hintAt = (stepId: string) =>
      result.diagnostics.find((d) => d.stepId === stepId && d.path === 'retries')?.hint;
    expect(hintAt('legacy')).toContain('`count` is not one of its fields');
    expect(hintAt('out')).toContain('a sink step is not retried alone');
    // The REST source's { count } is its own request retries, valid.
    expect(result.diagnostics.filter((d) => d.stepId === 'api')).toEqual([]);
    expect(p.steps['api']).not.toHaveProperty('retries');
  });

  it('sluice check rejects a NaN step retry count, naming the step and the field', async () => {
    const dir = await tempDir('sluice-retries-check-');
    const file = join(dir, 'nan.ts');
    await writeFile(
      file,
      `import { pipeline, ref, schema, sink, source, t } from 'sluice';
export default pipeline('nan', {
  steps: {
    orders: source.csv({ path: 'x.csv', schema: schema({ id: t.int64() }), retries: Number('many') }),
    out: sink.ndjson({ input: ref('orders'), path: 'out.ndjson' }),
  },
});`,
    );
    const checked = sluice(['check', file]);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain(
      `${file}:4 step "orders" at retries: expected a whole number of retries, 0 or more, got NaN`,
    );
  });

  it('a project refuses to load a pipeline whose run retries are not a policy, and loads the others', async () => {
    const dir = await tempDir('sluice-retries-project-');
    await mkdir(join(dir, 'pipelines'));
    const body = (name: string, retries: string) =>
      `import { pipeline, sql } from 'sluice';
export default pipeline('${name}', { retries: ${retries}, steps: { one: sql\`select 1 as x\` } });`;
    await writeFile(join(dir, 'pipelines', 'bad.ts'), body('bad', '{ retries: 1 / 0 }'));
    await writeFile(join(dir, 'pipelines', 'good.ts'), body('good', '{ retries: 2 }'));
    const project = await Project.open(dir);
    const error = (await project.load('bad').catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('at retries.retries: expected a whole number of retries');
    expect(error.message).toContain('Infinity');
    expect((await project.load('good')).pipeline.orchestration.retries).toEqual({ retries: 2 });
  });
});
