import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordLineageEvent } from '../src/orchestrator/lineage-store.js';
import type { APIHarness, JSONValue } from './api-v1-harness.js';
import { apiDialects, expectError, startAPIHarness } from './api-v1-harness.js';
import { runEvent } from './support/lineage-events.js';

const DIALECTS = await apiDialects();

const LAKE = 'file:///srv/lake';
const PG = 'postgres://db.internal:5432';
const HOSTILE_NS = "s3://b/p?x=1&y='2'";
const HOSTILE = `we/ird:na%me_"quoted" ü 🚀`;

/** Attaches a `dataQualityAssertions` facet (as Sluice's run lineage writes it) to an output. */
function withAssertions(
  event: Record<string, unknown>,
  results: readonly boolean[],
): Record<string, unknown> {
  const [output] = event['outputs'] as Record<string, Record<string, unknown>>[];
  (output as { facets: Record<string, unknown> }).facets['dataQualityAssertions'] = {
    _producer: 'https://github.com/example/producer/v1',
    _schemaURL:
      'https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet',
    assertions: results.map((success, i) => ({
      assertion: 'expect_column_values_to_not_be_null',
      success,
      name: `e${i}`,
    })),
  };
  return event;
}

const silverRuns = [randomUUID(), randomUUID(), randomUUID()];

function events(): Record<string, unknown>[] {
  return [
    runEvent({
      job: ['shop', 'orders.bronze'],
      eventTime: '2026-01-01T01:00:00.000Z',
      inputs: [{ namespace: PG, name: 'shop.public.raw_orders', fields: ['id', 'amount'] }],
      outputs: [{ namespace: LAKE, name: 'bronze_orders', fields: ['id', 'amount'] }],
    }),
    // silver: three runs, each START then COMPLETE; the last one's suite fails
    ...silverRuns.flatMap((runId, i) => [
      runEvent({
        job: ['shop', 'orders.silver'],
        runId,
        eventType: 'START',
        eventTime: `2026-01-0${i + 2}T02:00:00.000Z`,
        inputs: [{ namespace: LAKE, name: 'bronze_orders' }],
        outputs: [{ namespace: LAKE, name: 'silver_orders' }],
      }),
      withAssertions(
        runEvent({
          job: ['shop', 'orders.silver'],
          runId,
          eventType: 'COMPLETE',
          eventTime: `2026-01-0${i + 2}T02:05:00.000Z`,
          inputs: [{ namespace: LAKE, name: 'bronze_orders' }],
          outputs: [
            { namespace: LAKE, name: 'silver_orders', fields: ['id', 'amount_eur', 'customer'] },
          ],
        }),
        i === 2 ? [true, false] : [true, true],
      ),
    ]),
    runEvent({
      job: ['bi', 'weekly_report'],
      eventTime: '2026-01-06T00:00:00.000Z',
      inputs: [{ namespace: LAKE, name: 'silver_orders' }],
      outputs: [{ namespace: HOSTILE_NS, name: HOSTILE }],
    }),
  ];
}

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip !== undefined)(`/api/v1 datasets on ${dialect.name}`, () => {
    let h: APIHarness;

    beforeAll(async () => {
      h = await startAPIHarness(dialect.name);
      for (const event of events()) await recordLineageEvent(h.store.db, event);
    }, 60_000);

    afterAll(async () => {
      await h?.close();
    });

    const detail = (id: string, token?: string): Promise<{ status: number; body: JSONValue }> =>
      h.call(`/api/v1/datasets/${encodeURIComponent(id)}`, token === undefined ? {} : { token });

    it('GET /datasets lists every dataset by name with schema, producers and consumers', async () => {
      const { status, body } = await h.call('/api/v1/datasets', { token: h.tokens.read });
      expect(status).toBe(200);
      const datasets = body['datasets'] as JSONValue[];
      expect(datasets.map((d) => d['name'])).toEqual([
        'bronze_orders',
        'shop.public.raw_orders',
        'silver_orders',
        HOSTILE,
      ]);
      expect(body['nextCursor']).toBeNull();
      expect(datasets[2]).toEqual({
        id: `dataset:${LAKE}:silver_orders`,
        namespace: LAKE,
        name: 'silver_orders',
        fields: [
          { name: 'id', type: 'VARCHAR' },
          { name: 'amount_eur', type: 'VARCHAR' },
          { name: 'customer', type: 'VARCHAR' },
        ],
        firstSeen: Date.parse('2026-01-02T02:00:00.000Z'),
        // last seen when the weekly report read it
        lastSeen: Date.parse('2026-01-06T00:00:00.000Z'),
        producers: ['orders.silver'],
        consumers: ['weekly_report'],
      });
      expect(datasets[1]).toMatchObject({ producers: [], consumers: ['orders.bronze'] });
      expect(datasets[3]).toMatchObject({
        id: `dataset:${HOSTILE_NS}:${HOSTILE}`,
        fields: [],
        producers: ['weekly_report'],
      });
    });

    it('GET /datasets?q= searches names and namespaces, case-insensitively, % and _ literally', async () => {
      const names = async (q: string): Promise<unknown[]> => {
        const { status, body } = await h.call(`/api/v1/datasets?q=${encodeURIComponent(q)}`);
        expect(status).toBe(200);
        return (body['datasets'] as JSONValue[]).map((d) => d['name']);
      };
      expect(await names('ORDERS')).toEqual([
        'bronze_orders',
        'shop.public.raw_orders',
        'silver_orders',
      ]);
      expect(await names('db.internal')).toEqual(['shop.public.raw_orders']);
      expect(await names('%')).toEqual([HOSTILE]);
      expect(await names('a%m')).toEqual([HOSTILE]);
      expect(await names('_"')).toEqual([HOSTILE]);
      expect(await names('r_w')).toEqual([]);
      expect(await names("' OR 1=1 --")).toEqual([]);
      expect(await names('🚀')).toEqual([HOSTILE]);
      expect(await names('')).toHaveLength(4);
    });

    it('GET /datasets pages by cursor with no repeat and no gap; bad limit or cursor is 400', async () => {
      const seen: unknown[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const answer: { status: number; body: JSONValue } = await h.call(
          `/api/v1/datasets?limit=3${cursor === null ? '' : `&cursor=${cursor}`}`,
        );
        expect(answer.status).toBe(200);
        seen.push(...(answer.body['datasets'] as JSONValue[]).map((d) => d['id']));
        cursor = answer.body['nextCursor'] as string | null;
        if (cursor === null) break;
      }
      const all = (await h.call('/api/v1/datasets')).body['datasets'] as JSONValue[];
      expect(seen).toEqual(all.map((d) => d['id']));
      for (const query of ['limit=0', 'limit=1001', 'limit=-1', 'limit=x'])
        expectError(await h.call(`/api/v1/datasets?${query}`), 400, 'bad_request', /limit/);
      for (const bad of ['!!', Buffer.from('[1,2]').toString('base64url'), 'W10'])
        expectError(await h.call(`/api/v1/datasets?cursor=${bad}`), 400, 'bad_request', /cursor/);
      expectError(await h.call(`/api/v1/datasets?q=${'x'.repeat(300)}`), 400, 'bad_request', /"q"/);
    });

    it('GET /datasets/:id: the dataset, its latest writes newest first and its quality outcomes', async () => {
      const { status, body } = await detail(`dataset:${LAKE}:silver_orders`, h.tokens.read);
      expect(status).toBe(200);
      expect(body['dataset']).toMatchObject({
        name: 'silver_orders',
        producers: ['orders.silver'],
      });
      const lastRuns = body['lastRuns'] as JSONValue[];
      expect(lastRuns).toHaveLength(6);
      expect(lastRuns[0]).toEqual({
        runId: silverRuns[2],
        jobName: 'orders.silver',
        eventType: 'COMPLETE',
        eventTime: Date.parse('2026-01-04T02:05:00.000Z'),
      });
      expect(lastRuns.map((r) => r['eventTime'])).toEqual(
        [...lastRuns.map((r) => r['eventTime'] as number)].sort((a, b) => b - a),
      );
      expect(body['quality']).toEqual([
        { runId: silverRuns[2], at: Date.parse('2026-01-04T02:05:00.000Z'), success: false },
        { runId: silverRuns[1], at: Date.parse('2026-01-03T02:05:00.000Z'), success: true },
        { runId: silverRuns[0], at: Date.parse('2026-01-02T02:05:00.000Z'), success: true },
      ]);
      // A dataset only read has no writes; the weekly report's events wrote the hostile one.
      const raw = await detail(`dataset:${PG}:shop.public.raw_orders`);
      expect(raw.body).toMatchObject({ lastRuns: [], quality: [] });
      const hostile = await detail(`dataset:${HOSTILE_NS}:${HOSTILE}`);
      expect(hostile.status).toBe(200);
      expect(hostile.body['lastRuns']).toEqual([
        expect.objectContaining({ jobName: 'weekly_report', eventType: 'COMPLETE' }),
      ]);
    });

    it('GET /datasets/:id caps the latest writes at 20', async () => {
      const runIds: string[] = [];
      for (let i = 0; i < 25; i++) {
        const runId = randomUUID();
        runIds.push(runId);
        await recordLineageEvent(
          h.store.db,
          runEvent({
            job: ['shop', 'busy'],
            runId,
            eventTime: new Date(Date.parse('2026-02-01T00:00:00Z') + i * 60_000).toISOString(),
            outputs: [{ namespace: LAKE, name: 'busy_table' }],
          }),
        );
      }
      const { status, body } = await detail(`dataset:${LAKE}:busy_table`);
      expect(status).toBe(200);
      const lastRuns = body['lastRuns'] as JSONValue[];
      expect(lastRuns.map((r) => r['runId'])).toEqual(runIds.slice(5).reverse());
    });

    it('GET /datasets/:id: unknown, malformed and hostile ids are 404 or 400, never a 500', async () => {
      for (const id of [
        `dataset:${LAKE}:nope`,
        'silver_orders',
        `job:shop:orders.silver`,
        `datasetField:${LAKE}:silver_orders:id`,
        "dataset:x' OR '1'='1:y",
        '../../etc/passwd',
        'dataset:%00:x',
      ])
        expectError(await detail(id), 404, 'not_found', /no dataset has the id/);
      expectError(await detail(`dataset:${':'.repeat(40)}`), 400, 'bad_request', /separators/);
      expectError(await detail('dataset:nocolon'), 400, 'bad_request', /not a node id/);
      expectError(await detail('x'.repeat(5000)), 400, 'bad_request', /id/);
      expectError(
        await h.call('/api/v1/datasets/dataset%3Aa%0Ab'),
        400,
        'bad_request',
        /control character/,
      );
    });

    it('datasets need a token when tokens exist: 401 without, read suffices', async () => {
      expectError(await h.call('/api/v1/datasets', { token: null }), 401, 'unauthorized');
      expectError(
        await h.call(`/api/v1/datasets/${encodeURIComponent(`dataset:${LAKE}:silver_orders`)}`, {
          token: null,
        }),
        401,
        'unauthorized',
      );
      for (const token of [h.tokens.read, h.tokens.trigger, h.tokens.admin])
        expect((await detail(`dataset:${LAKE}:silver_orders`, token)).status).toBe(200);
    });
  });
