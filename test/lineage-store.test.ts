import { describe, expect, it } from 'vitest';
import type { SluiceError } from '../src/core/errors.js';
import { LineageEventError, UsageError } from '../src/core/errors.js';
import { columnLineage, datasetLineage, lineageImpact } from '../src/orchestrator/lineage-graph.js';
import type { LineageNodeRef } from '../src/orchestrator/lineage-node.js';
import { findLineageNode, resolveLineageArgument } from '../src/orchestrator/lineage-node.js';
import { recordLineageEvent } from '../src/orchestrator/lineage-store.js';
import type { RunStore } from '../src/orchestrator/run-store.js';
import type { SqlDatabase } from '../src/orchestrator/sql-database.js';
import { runEvent } from './support/lineage-events.js';
import { runStoreDialects } from './support/run-store-dialects.js';

const { dialects: DIALECTS, stores } = await runStoreDialects('sluice-lineage-');

const TABLES = [
  'lineage_events',
  'lineage_datasets',
  'lineage_jobs',
  'lineage_job_datasets',
  'lineage_fields',
  'lineage_column_edges',
];

async function counts(db: SqlDatabase): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const table of TABLES)
    result[table] = Number((await db.all(`SELECT count(*) AS n FROM ${table}`))[0]?.['n']);
  return result;
}

const LAKE = 'file:///srv/lake';
const PG = 'postgres://db.internal:5432';

/** raw_orders -> bronze job -> bronze_orders -> silver job -> silver_orders -> gold job -> gold_revenue. */
function medallion(): Record<string, unknown>[] {
  return [
    runEvent({
      job: ['shop', 'orders.bronze'],
      inputs: [
        { namespace: PG, name: 'shop.public.raw_orders', fields: ['id', 'amount', 'customer'] },
      ],
      outputs: [
        {
          namespace: LAKE,
          name: 'bronze_orders',
          fields: ['id', 'amount', 'customer'],
          columns: {
            id: [[PG, 'shop.public.raw_orders', 'id']],
            amount: [[PG, 'shop.public.raw_orders', 'amount']],
            customer: [[PG, 'shop.public.raw_orders', 'customer']],
          },
        },
      ],
    }),
    runEvent({
      job: ['shop', 'orders.silver'],
      inputs: [{ namespace: LAKE, name: 'bronze_orders' }],
      outputs: [
        {
          namespace: LAKE,
          name: 'silver_orders',
          fields: ['id', 'amount_eur', 'customer'],
          columns: {
            id: [[LAKE, 'bronze_orders', 'id']],
            amount_eur: [[LAKE, 'bronze_orders', 'amount', 'DIRECT', 'TRANSFORMATION']],
            customer: [[LAKE, 'bronze_orders', 'customer']],
          },
        },
      ],
    }),
    runEvent({
      job: ['shop', 'orders.gold'],
      inputs: [{ namespace: LAKE, name: 'silver_orders' }],
      outputs: [
        {
          namespace: LAKE,
          name: 'gold_revenue',
          fields: ['customer', 'revenue'],
          columns: {
            customer: [[LAKE, 'silver_orders', 'customer']],
            revenue: [
              [LAKE, 'silver_orders', 'amount_eur', 'DIRECT', 'AGGREGATION'],
              [LAKE, 'silver_orders', 'customer', 'INDIRECT', 'GROUP_BY'],
            ],
          },
        },
      ],
    }),
    // a report job with no column lineage at all
    runEvent({
      job: ['bi', 'weekly_report'],
      inputs: [{ namespace: LAKE, name: 'gold_revenue' }],
      outputs: [{ namespace: 'file:///srv/reports', name: 'weekly.pdf' }],
    }),
  ];
}

async function node(db: SqlDatabase, id: string): Promise<LineageNodeRef> {
  const found = await findLineageNode(db, id);
  if (found === undefined) throw new Error(`no node ${id}`);
  return found;
}

const ids = (graph: { graph: readonly { id: string }[] }): string[] => graph.graph.map((n) => n.id);

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip !== undefined)(`lineage store on ${dialect.name}`, () => {
    const open = async (): Promise<RunStore> => {
      const store = await dialect.open();
      stores.push(store);
      return store;
    };

    it('records an event once: the same event again, keys reordered or not, changes nothing', async () => {
      const { db } = await open();
      const [event] = medallion() as [Record<string, unknown>];
      const first = await recordLineageEvent(db, event);
      expect(first).toMatchObject({ recorded: true, edges: 'add' });
      const after = await counts(db);
      expect(after).toEqual({
        lineage_events: 1,
        lineage_datasets: 2,
        lineage_jobs: 1,
        lineage_job_datasets: 2,
        lineage_fields: 6,
        lineage_column_edges: 3,
      });
      const reordered = Object.fromEntries(Object.entries(event).reverse());
      const again = await recordLineageEvent(db, reordered);
      expect(again).toEqual({ recorded: false, eventKey: first.eventKey, edges: 'none' });
      await recordLineageEvent(db, JSON.parse(JSON.stringify(event)));
      expect(await counts(db)).toEqual(after);
    });

    it('refuses malformed events with the field at fault, and writes nothing', async () => {
      const { db } = await open();
      const good = runEvent({
        job: ['ns', 'job'],
        outputs: [{ namespace: 'ns', name: 'out', columns: { a: [['ns', 'in', 'a']] } }],
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case breaks one field of its own
      const with_ = (patch: (e: any) => void): unknown => {
        const copy = structuredClone(good);
        patch(copy);
        return copy;
      };
      const cases: [unknown, string][] = [
        [null, ''],
        [[good], ''],
        ['{"eventTime"', ''],
        [with_((e) => delete e.eventTime), 'eventTime'],
        [with_((e) => (e.eventTime = 'yesterday')), 'eventTime'],
        [with_((e) => (e.eventTime = '2024-13-45T99:00:00Z')), 'eventTime'],
        [with_((e) => delete e.producer), 'producer'],
        [with_((e) => (e.eventType = 'DONE')), 'eventType'],
        [with_((e) => (e.run.runId = 'not-a-uuid')), 'run.runId'],
        [with_((e) => delete e.run), 'run'],
        [with_((e) => (e.job.name = '')), 'job.name'],
        [with_((e) => (e.job.namespace = 42)), 'job.namespace'],
        [with_((e) => (e.job.name = 'x'.repeat(5_000))), 'job.name'],
        [with_((e) => (e.job.name = 'a\u0000b')), 'job.name'],
        [with_((e) => (e.inputs = { namespace: 'ns', name: 'in' })), 'inputs'],
        [with_((e) => (e.outputs[0].name = undefined)), 'outputs[0].name'],
        [
          with_((e) => (e.outputs[0].facets.schema = { fields: 'id' })),
          'outputs[0].facets.schema.fields',
        ],
        [
          with_((e) => (e.outputs[0].facets.columnLineage.fields.a.inputFields = 'in.a')),
          'outputs[0].facets.columnLineage.fields["a"].inputFields',
        ],
        [
          with_((e) => delete e.outputs[0].facets.columnLineage.fields.a.inputFields[0].field),
          'outputs[0].facets.columnLineage.fields["a"].inputFields[0].field',
        ],
        [
          with_(
            (e) =>
              (e.outputs[0].facets.columnLineage.fields.a.inputFields[0].transformations = [
                { subtype: 'X' },
              ]),
          ),
          'outputs[0].facets.columnLineage.fields["a"].inputFields[0].transformations[0].type',
        ],
      ];
      for (const [bad, path] of cases) {
        const error = await recordLineageEvent(db, bad).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, JSON.stringify(bad)?.slice(0, 200)).toBeInstanceOf(LineageEventError);
        expect((error as LineageEventError).code).toBe('LINEAGE_EVENT_INVALID');
        expect((error as LineageEventError).path).toBe(path);
        expect((error as LineageEventError).message.length).toBeGreaterThan(20);
      }
      expect(Object.values(await counts(db))).toEqual([0, 0, 0, 0, 0, 0]);
      await recordLineageEvent(db, good);
      expect((await counts(db))['lineage_column_edges']).toBe(1);
    });

    it('a store failing half-way through an event leaves no part of it behind', async () => {
      const { db } = await open();
      const [event] = medallion() as [Record<string, unknown>];
      for (const failAt of [1, 3, 8, 15]) {
        let statements = 0;
        const failing = (tx: SqlDatabase): SqlDatabase => ({
          ...tx,
          run: async (sql, params) => {
            if (++statements === failAt) throw new Error(`disk gone at statement ${failAt}`);
            return tx.run(sql, params);
          },
          all: async (sql, params) => {
            if (++statements === failAt) throw new Error(`disk gone at statement ${failAt}`);
            return tx.all(sql, params);
          },
        });
        const flaky: SqlDatabase = {
          ...db,
          transaction: (work) => db.transaction((tx) => work(failing(tx))),
        };
        await expect(recordLineageEvent(flaky, event)).rejects.toThrow(/disk gone/);
        expect(Object.values(await counts(db))).toEqual([0, 0, 0, 0, 0, 0]);
      }
      expect((await recordLineageEvent(db, event)).recorded).toBe(true);
    });

    it('keeps hostile names exactly and finds them by node id and by name', async () => {
      const { db } = await open();
      const names = [
        `q"uo'te\`s`,
        'new\nline\r\ttab',
        '[brackets]{braces}<angle>|pipe',
        'ünïcödé 数据 🚰',
        'colon:in:name',
        'dot.in.name',
        ' ',
        '-->',
      ];
      const ns = 'postgres://h\u00e9:5432';
      for (const [i, name] of names.entries())
        await recordLineageEvent(
          db,
          runEvent({
            job: [ns, `job ${name}`],
            inputs: [{ namespace: ns, name: `src ${i}`, fields: [name] }],
            outputs: [
              {
                namespace: ns,
                name,
                fields: [name],
                columns: { [name]: [[ns, `src ${i}`, name]] },
              },
            ],
          }),
        );
      for (const [i, name] of names.entries()) {
        const field = await node(db, `datasetField:${ns}:${name}:${name}`);
        expect(field).toMatchObject({ kind: 'datasetField', namespace: ns, name, field: name });
        const graph = await columnLineage(db, field, { depth: 5, direction: 'upstream' });
        expect(ids(graph)).toEqual(
          [`datasetField:${ns}:${name}:${name}`, `datasetField:${ns}:src ${i}:${name}`].sort(),
        );
        const job = await node(db, `job:${ns}:job ${name}`);
        expect(job.name).toBe(`job ${name}`);
        const resolved = await resolveLineageArgument(db, `${ns}:${name}`);
        expect(resolved).toMatchObject({ kind: 'dataset', name });
      }
      const dotted = await resolveLineageArgument(db, 'dot.in.name.dot.in.name');
      expect(dotted).toMatchObject({
        kind: 'datasetField',
        name: 'dot.in.name',
        field: 'dot.in.name',
      });
    });

    it('walks the dataset graph upstream, downstream and both ways, to the depth asked', async () => {
      const { db } = await open();
      for (const event of medallion()) await recordLineageEvent(db, event);
      const silver = await node(db, `dataset:${LAKE}:silver_orders`);
      expect(ids(await datasetLineage(db, silver, { depth: 1, direction: 'upstream' }))).toEqual([
        `dataset:${LAKE}:bronze_orders`,
        `dataset:${LAKE}:silver_orders`,
        'job:shop:orders.silver',
      ]);
      expect(ids(await datasetLineage(db, silver, { depth: 20, direction: 'upstream' }))).toEqual([
        `dataset:${LAKE}:bronze_orders`,
        `dataset:${LAKE}:silver_orders`,
        `dataset:${PG}:shop.public.raw_orders`,
        'job:shop:orders.bronze',
        'job:shop:orders.silver',
      ]);
      const down = await datasetLineage(db, silver, { depth: 20, direction: 'downstream' });
      expect(ids(down)).toEqual([
        `dataset:${LAKE}:gold_revenue`,
        `dataset:${LAKE}:silver_orders`,
        'dataset:file:///srv/reports:weekly.pdf',
        'job:bi:weekly_report',
        'job:shop:orders.gold',
      ]);
      const both = await datasetLineage(db, silver, { depth: 20, direction: 'both' });
      expect(both.graph).toHaveLength(9);
      const gold = both.graph.find((n) => n.id === 'job:shop:orders.gold');
      expect(gold).toMatchObject({
        type: 'JOB',
        data: { type: 'BATCH', name: 'orders.gold', namespace: 'shop' },
        inEdges: [{ origin: `dataset:${LAKE}:silver_orders`, destination: 'job:shop:orders.gold' }],
        outEdges: [{ origin: 'job:shop:orders.gold', destination: `dataset:${LAKE}:gold_revenue` }],
      });
      const silverNode = both.graph.find((n) => n.id === `dataset:${LAKE}:silver_orders`);
      expect(silverNode?.data['fields']).toEqual([
        { name: 'id', type: 'VARCHAR' },
        { name: 'amount_eur', type: 'VARCHAR' },
        { name: 'customer', type: 'VARCHAR' },
      ]);
      expect(ids(await datasetLineage(db, silver, { depth: 0, direction: 'both' }))).toEqual([
        `dataset:${LAKE}:silver_orders`,
      ]);
      const job = await node(db, 'job:shop:orders.silver');
      expect(ids(await datasetLineage(db, job, { depth: 1, direction: 'both' }))).toEqual([
        `dataset:${LAKE}:bronze_orders`,
        `dataset:${LAKE}:silver_orders`,
        'job:shop:orders.silver',
      ]);
    });

    it('walks the column graph and answers impact analysis, with jobs lacking column lineage apart', async () => {
      const { db } = await open();
      for (const event of medallion()) await recordLineageEvent(db, event);
      const revenue = await node(db, `datasetField:${LAKE}:gold_revenue:revenue`);
      const up = await columnLineage(db, revenue, { depth: 20, direction: 'upstream' });
      expect(ids(up)).toEqual([
        `datasetField:${LAKE}:bronze_orders:amount`,
        `datasetField:${LAKE}:bronze_orders:customer`,
        `datasetField:${LAKE}:gold_revenue:revenue`,
        `datasetField:${LAKE}:silver_orders:amount_eur`,
        `datasetField:${LAKE}:silver_orders:customer`,
        `datasetField:${PG}:shop.public.raw_orders:amount`,
        `datasetField:${PG}:shop.public.raw_orders:customer`,
      ]);
      const top = up.graph.find((n) => n.id.endsWith(':revenue'));
      expect(top?.type).toBe('DATASET_FIELD');
      expect(top?.data['inputFields']).toEqual([
        expect.objectContaining({
          field: 'amount_eur',
          transformationType: 'DIRECT',
          transformationSubtype: 'AGGREGATION',
        }),
        expect.objectContaining({
          field: 'customer',
          transformationType: 'INDIRECT',
          transformationSubtype: 'GROUP_BY',
        }),
      ]);
      expect(
        ids(await columnLineage(db, revenue, { depth: 1, direction: 'upstream' })),
      ).toHaveLength(3);

      const amount = await resolveLineageArgument(db, 'shop.public.raw_orders.amount');
      const impact = await lineageImpact(db, amount);
      expect(impact.columns.map((c) => [c.id, c.depth, c.transformations])).toEqual([
        [`datasetField:${LAKE}:bronze_orders:amount`, 1, ['DIRECT:IDENTITY']],
        [`datasetField:${LAKE}:silver_orders:amount_eur`, 2, ['DIRECT:TRANSFORMATION']],
        [`datasetField:${LAKE}:gold_revenue:revenue`, 3, ['DIRECT:AGGREGATION']],
      ]);
      expect(impact.jobs.map((j) => j.id)).toEqual([
        'job:shop:orders.bronze',
        'job:shop:orders.gold',
        'job:shop:orders.silver',
      ]);
      expect(impact.datasets.map((d) => d.name)).toEqual([
        'bronze_orders',
        'gold_revenue',
        'silver_orders',
      ]);
      expect(impact.unknownJobs.map((j) => j.id)).toEqual(['job:bi:weekly_report']);
      // customer feeds revenue only through GROUP_BY: still an impact
      const customer = await lineageImpact(
        db,
        await resolveLineageArgument(db, 'silver_orders.customer'),
      );
      expect(customer.columns.map((c) => [c.field, c.transformations])).toEqual([
        ['customer', ['DIRECT:IDENTITY']],
        ['revenue', ['INDIRECT:GROUP_BY']],
      ]);
      const datasetImpact = await lineageImpact(
        db,
        await resolveLineageArgument(db, 'bronze_orders'),
      );
      expect(datasetImpact.jobs.map((j) => j.name)).toEqual([
        'weekly_report',
        'orders.gold',
        'orders.silver',
      ]);
    });

    it('ends walks and impact analysis on cycles', async () => {
      const { db } = await open();
      await recordLineageEvent(
        db,
        runEvent({
          job: ['ns', 'a_to_b'],
          inputs: [{ namespace: 'ns', name: 'a' }],
          outputs: [{ namespace: 'ns', name: 'b', columns: { x: [['ns', 'a', 'x']] } }],
        }),
      );
      await recordLineageEvent(
        db,
        runEvent({
          job: ['ns', 'b_to_a'],
          inputs: [{ namespace: 'ns', name: 'b' }],
          outputs: [{ namespace: 'ns', name: 'a', columns: { x: [['ns', 'b', 'x']] } }],
        }),
      );
      // a job reading and writing one table (a merge) is a loop of its own
      await recordLineageEvent(
        db,
        runEvent({
          job: ['ns', 'merge_a'],
          inputs: [{ namespace: 'ns', name: 'a' }],
          outputs: [{ namespace: 'ns', name: 'a', columns: { x: [['ns', 'a', 'x']] } }],
        }),
      );
      const a = await node(db, 'dataset:ns:a');
      const graph = await datasetLineage(db, a, { depth: 1_000, direction: 'both' });
      expect(ids(graph)).toEqual([
        'dataset:ns:a',
        'dataset:ns:b',
        'job:ns:a_to_b',
        'job:ns:b_to_a',
        'job:ns:merge_a',
      ]);
      const ax = await node(db, 'datasetField:ns:a:x');
      expect(ids(await columnLineage(db, ax, { depth: 1_000, direction: 'both' }))).toEqual([
        'datasetField:ns:a:x',
        'datasetField:ns:b:x',
      ]);
      const impact = await lineageImpact(db, ax);
      expect(impact.columns.map((c) => c.id)).toEqual(['datasetField:ns:b:x']);
      expect(impact.jobs.map((j) => j.name)).toEqual(['a_to_b', 'b_to_a', 'merge_a']);
    });

    it("a job's edges are those of its latest run; older runs do not bring old edges back", async () => {
      const { db } = await open();
      const run1 = '00000000-0000-4000-8000-000000000001';
      const run2 = '00000000-0000-4000-8000-000000000002';
      const run0 = '00000000-0000-4000-8000-000000000000';
      const at = (t: string): string => `2024-05-0${t}T00:00:00Z`;
      const event = (runId: string, time: string, input: string, eventType = 'COMPLETE') =>
        runEvent({
          job: ['ns', 'j'],
          runId,
          eventType,
          eventTime: time,
          inputs: [{ namespace: 'ns', name: input }],
          outputs: [{ namespace: 'ns', name: 'out', columns: { v: [['ns', input, 'v']] } }],
        });
      expect((await recordLineageEvent(db, event(run1, at('1'), 'old_src'))).edges).toBe('add');
      expect((await recordLineageEvent(db, event(run2, at('3'), 'new_src', 'START'))).edges).toBe(
        'replace',
      );
      expect((await recordLineageEvent(db, event(run2, at('4'), 'new_src'))).edges).toBe('add');
      expect((await recordLineageEvent(db, event(run0, at('2'), 'stale_src'))).edges).toBe('stale');
      const out = await node(db, 'dataset:ns:out');
      expect(ids(await datasetLineage(db, out, { depth: 5, direction: 'upstream' }))).toEqual([
        'dataset:ns:new_src',
        'dataset:ns:out',
        'job:ns:j',
      ]);
      expect(
        ids(
          await columnLineage(db, await node(db, 'datasetField:ns:out:v'), {
            depth: 5,
            direction: 'upstream',
          }),
        ),
      ).toEqual(['datasetField:ns:new_src:v', 'datasetField:ns:out:v']);
      const [edge] = await db.all(
        `SELECT e.first_seen, e.last_seen FROM lineage_job_datasets e JOIN lineage_datasets d ON d.id = e.dataset_id
         WHERE d.name = 'out' AND e.direction = 'output'`,
      );
      expect([Number(edge?.['first_seen']), Number(edge?.['last_seen'])]).toEqual([
        Date.parse(at('1')),
        Date.parse(at('4')),
      ]);
      // the stale run's dataset is known, its edge is not
      expect(await findLineageNode(db, 'dataset:ns:stale_src')).toBeDefined();
      expect((await counts(db))['lineage_events']).toBe(4);
    });

    it('tells unknown, malformed and ambiguous names apart', async () => {
      const { db } = await open();
      for (const ns of ['one', 'two'])
        await recordLineageEvent(
          db,
          runEvent({
            job: [ns, 'j'],
            outputs: [{ namespace: ns, name: 'orders', fields: ['id'] }],
          }),
        );
      expect(await findLineageNode(db, 'dataset:one:nope')).toBeUndefined();
      await expect(findLineageNode(db, 'table:one:orders')).rejects.toThrow(UsageError);
      await expect(findLineageNode(db, 'dataset:orders')).rejects.toThrow(
        /dataset:<namespace>:<name>/,
      );
      await expect(findLineageNode(db, `dataset:${':'.repeat(40)}`)).rejects.toThrow(/separators/);
      const ambiguous = await resolveLineageArgument(db, 'orders').catch((e: unknown) => e);
      expect(ambiguous).toBeInstanceOf(UsageError);
      expect((ambiguous as SluiceError).message).toMatch(/ambiguous/);
      expect((ambiguous as SluiceError).hint).toContain('dataset:one:orders');
      expect((ambiguous as SluiceError).hint).toContain('dataset:two:orders');
      expect(await resolveLineageArgument(db, 'two:orders.id')).toMatchObject({
        kind: 'datasetField',
        namespace: 'two',
        field: 'id',
      });
      await expect(resolveLineageArgument(db, 'orders.nope')).rejects.toThrow(
        /no dataset or column/,
      );
    });
  });
