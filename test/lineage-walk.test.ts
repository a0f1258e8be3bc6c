import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LineageDirection } from '../src/orchestrator/lineage-graph.js';
import { columnLineage, lineageImpact } from '../src/orchestrator/lineage-graph.js';
import { findLineageNode } from '../src/orchestrator/lineage-node.js';
import { recordLineageEvent } from '../src/orchestrator/lineage-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { SqlDatabase } from '../src/orchestrator/sql-database.js';
import { runEvent } from './support/lineage-events.js';
import { createTestDatabase } from './support/postgres.js';
import { runStoreDialects } from './support/run-store-dialects.js';

const {
  dialects: DIALECTS,
  pgSkip,
  stores,
  drops,
} = await runStoreDialects('sluice-lineage-walk-');

const NS = 'walk';
const DATASETS = 4;
const FIELDS = 3;
const TYPES = [
  ['DIRECT', 'IDENTITY'],
  ['DIRECT', 'TRANSFORMATION'],
  ['INDIRECT', 'FILTER'],
  ['INDIRECT', 'JOIN'],
] as const;

/** A column edge of a generated graph: output dataset and field read input dataset and field. */
interface Edge {
  readonly out: number;
  readonly outField: number;
  readonly in: number;
  readonly inField: number;
  readonly kind: number;
}

const fieldId = (dataset: number, field: number): string =>
  `datasetField:${NS}:d${dataset}:f${field}`;

const edgeArbitrary = fc.record({
  out: fc.nat(DATASETS - 1),
  outField: fc.nat(FIELDS - 1),
  in: fc.nat(DATASETS - 1),
  inField: fc.nat(FIELDS - 1),
  kind: fc.nat(TYPES.length - 1),
});

/** An input field shaping every field of an output dataset (the facet's `dataset` list). */
interface DatasetEdge {
  readonly out: number;
  readonly in: number;
  readonly inField: number;
  readonly kind: number;
}

const datasetEdgeArbitrary = fc.record({
  out: fc.nat(DATASETS - 1),
  in: fc.nat(DATASETS - 1),
  inField: fc.nat(FIELDS - 1),
  kind: fc.constantFrom(2, 3),
});

/** The column edges a dataset edge stands for: one into each field of its output. */
function expand(edges: readonly Edge[], datasetEdges: readonly DatasetEdge[]): Edge[] {
  return [
    ...edges,
    ...datasetEdges.flatMap((e) =>
      Array.from({ length: FIELDS }, (_, outField) => ({ ...e, outField })),
    ),
  ];
}

/** One event per output dataset, written by job `j<d>`; datasets may read themselves (cycles). */
function events(
  edges: readonly Edge[],
  datasetEdges: readonly DatasetEdge[],
): Record<string, unknown>[] {
  const schema = Array.from({ length: FIELDS }, (_, f) => `f${f}`);
  return Array.from({ length: DATASETS }, (_, d) => {
    const columns: Record<string, [string, string, string, string, string][]> = {};
    for (const e of edges.filter((edge) => edge.out === d)) {
      const [type, subtype] = TYPES[e.kind] as readonly [string, string];
      (columns[`f${e.outField}`] ??= []).push([NS, `d${e.in}`, `f${e.inField}`, type, subtype]);
    }
    const inputs = [...new Set(edges.filter((e) => e.out === d).map((e) => e.in))];
    const event = runEvent({
      job: [NS, `j${d}`],
      inputs: inputs.map((i) => ({ namespace: NS, name: `d${i}`, fields: schema })),
      outputs: [{ namespace: NS, name: `d${d}`, fields: schema, columns }],
    });
    const [output] = event['outputs'] as { facets: { columnLineage: Record<string, unknown> } }[];
    (output as { facets: { columnLineage: Record<string, unknown> } }).facets.columnLineage[
      'dataset'
    ] = datasetEdges
      .filter((e) => e.out === d)
      .map((e) => {
        const [type, subtype] = TYPES[e.kind] as readonly [string, string];
        return {
          namespace: NS,
          name: `d${e.in}`,
          field: `f${e.inField}`,
          transformations: [{ type, subtype }],
        };
      });
    return event;
  });
}

/** The plain breadth-first walk the store's answer must equal: nodes within depth, edges leaving them before the last level. */
function referenceWalk(
  edges: readonly Edge[],
  start: string,
  depth: number,
  direction: LineageDirection,
): { nodes: Set<string>; links: Set<string>; inputs: Map<string, Set<string>> } {
  const unique = new Map<string, Edge>();
  for (const e of edges) unique.set(`${e.out}:${e.outField}:${e.in}:${e.inField}:${e.kind}`, e);
  const nodes = new Set([start]);
  const walked = new Set<Edge>();
  for (const downstream of direction === 'both' ? [false, true] : [direction === 'downstream']) {
    const dist = new Map([[start, 0]]);
    let frontier = [start];
    for (let level = 1; level <= depth && frontier.length > 0; level++) {
      const next: string[] = [];
      for (const node of frontier)
        for (const e of unique.values()) {
          const [from, to] = downstream
            ? [fieldId(e.in, e.inField), fieldId(e.out, e.outField)]
            : [fieldId(e.out, e.outField), fieldId(e.in, e.inField)];
          if (from !== node) continue;
          walked.add(e);
          if (!dist.has(to)) {
            dist.set(to, level);
            next.push(to);
          }
        }
      frontier = next;
    }
    for (const node of dist.keys()) nodes.add(node);
  }
  const links = new Set<string>();
  const inputs = new Map<string, Set<string>>();
  for (const e of walked) {
    const [origin, destination] = [fieldId(e.in, e.inField), fieldId(e.out, e.outField)];
    links.add(`${origin} -> ${destination}`);
    const [type, subtype] = TYPES[e.kind] as readonly [string, string];
    const set = inputs.get(destination) ?? new Set<string>();
    set.add(`d${e.in}.f${e.inField} ${type}:${subtype} j${e.out}`);
    inputs.set(destination, set);
  }
  return { nodes, links, inputs };
}

async function clear(db: SqlDatabase): Promise<void> {
  for (const table of [
    'lineage_column_edges',
    'lineage_dataset_edges',
    'lineage_fields',
    'lineage_job_datasets',
    'lineage_jobs',
    'lineage_datasets',
    'lineage_events',
  ])
    await db.run(`DELETE FROM ${table}`);
}

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip !== undefined)(`lineage walk on ${dialect.name}`, () => {
    it('answers exactly as a plain breadth-first walk over random graphs with cycles and dataset edges', async () => {
      const store = await dialect.open();
      stores.push(store);
      const db = store.db;
      await fc.assert(
        fc.asyncProperty(
          fc.array(edgeArbitrary, { minLength: 1, maxLength: 25 }),
          fc.array(datasetEdgeArbitrary, { maxLength: 3 }),
          fc.nat(DATASETS - 1),
          fc.nat(FIELDS - 1),
          fc.nat(6),
          fc.constantFrom<LineageDirection>('upstream', 'downstream', 'both'),
          async (columnEdges, datasetEdges, startDataset, startField, depth, direction) => {
            await clear(db);
            for (const event of events(columnEdges, datasetEdges))
              await recordLineageEvent(db, event);
            const edges = expand(columnEdges, datasetEdges);
            const start = fieldId(startDataset, startField);
            const node = await findLineageNode(db, start);
            if (node === undefined) throw new Error(`no node ${start}`);
            const expected = referenceWalk(edges, start, depth, direction);
            const { graph } = await columnLineage(db, node, { depth, direction });
            expect(new Set(graph.map((n) => n.id))).toEqual(expected.nodes);
            const links = new Set<string>();
            for (const n of graph)
              for (const link of n.inEdges) links.add(`${link.origin} -> ${link.destination}`);
            expect(links).toEqual(expected.links);
            for (const n of graph) {
              const inputs = (n.data['inputFields'] as Record<string, unknown>[]).map(
                (i) =>
                  `${String(i['dataset'])}.${String(i['field'])} ${String(i['transformationType'])}:${String(i['transformationSubtype'])} ${String((i['job'] as { name: string }).name)}`,
              );
              expect(inputs.length).toBe(new Set(inputs).size);
              expect(new Set(inputs)).toEqual(expected.inputs.get(n.id) ?? new Set());
            }
            // impact walks downstream without a bound: every column reachable, at its distance
            const impact = await lineageImpact(db, node);
            const everything = referenceWalk(edges, start, 1_000, 'downstream');
            everything.nodes.delete(start);
            expect(new Set(impact.columns.map((c) => c.id))).toEqual(everything.nodes);
            for (const column of impact.columns) {
              const within = referenceWalk(edges, start, column.depth - 1, 'downstream').nodes;
              expect(within.has(column.id)).toBe(false);
              expect(referenceWalk(edges, start, column.depth, 'downstream').nodes).toContain(
                column.id,
              );
            }
          },
        ),
        { numRuns: 40, seed: 18 },
      );
    }, 120_000);

    it("stores the facet's dataset list and returns it on every output field and in impact", async () => {
      const store = await dialect.open();
      stores.push(store);
      const db = store.db;
      const event = runEvent({
        job: [NS, 'orders_daily.join'],
        inputs: [
          { namespace: NS, name: 'orders', fields: ['id', 'customer_id', 'amount'] },
          { namespace: NS, name: 'customers', fields: ['id', 'name'] },
        ],
        outputs: [
          {
            namespace: NS,
            name: 'order_names',
            fields: ['amount', 'name'],
            columns: { amount: [[NS, 'orders', 'amount']], name: [[NS, 'customers', 'name']] },
          },
        ],
      });
      const [output] = event['outputs'] as { facets: { columnLineage: Record<string, unknown> } }[];
      (output as { facets: { columnLineage: Record<string, unknown> } }).facets.columnLineage[
        'dataset'
      ] = [
        {
          namespace: NS,
          name: 'orders',
          field: 'customer_id',
          transformations: [
            { type: 'INDIRECT', subtype: 'JOIN', description: 'o.customer_id = c.id' },
          ],
        },
        {
          namespace: NS,
          name: 'customers',
          field: 'id',
          transformations: [{ type: 'INDIRECT', subtype: 'JOIN' }],
        },
      ];
      await recordLineageEvent(db, event);
      const [edges] = await db.all('SELECT count(*) AS n FROM lineage_dataset_edges');
      expect(Number(edges?.['n'])).toBe(2);

      const name = await findLineageNode(db, `datasetField:${NS}:order_names:name`);
      const { graph } = await columnLineage(db, name!, { depth: 5, direction: 'upstream' });
      const top = graph.find((n) => n.id === `datasetField:${NS}:order_names:name`);
      const inputs = (top?.data['inputFields'] as Record<string, unknown>[]).map(
        (i) =>
          `${String(i['dataset'])}.${String(i['field'])} ${String(i['transformationSubtype'])}`,
      );
      expect(inputs.sort()).toEqual([
        'customers.id JOIN',
        'customers.name IDENTITY',
        'orders.customer_id JOIN',
      ]);
      expect(graph.map((n) => n.id).sort()).toEqual(
        ['customers:id', 'customers:name', 'order_names:name', 'orders:customer_id'].map(
          (f) => `datasetField:${NS}:${f}`,
        ),
      );

      const key = await findLineageNode(db, `datasetField:${NS}:orders:customer_id`);
      const impact = await lineageImpact(db, key!);
      expect(impact.columns.map((c) => [c.field, c.depth, c.transformations])).toEqual([
        ['amount', 1, ['INDIRECT:JOIN']],
        ['name', 1, ['INDIRECT:JOIN']],
      ]);
      expect(impact.jobs.map((j) => j.name)).toEqual(['orders_daily.join']);
      expect(impact.unknownJobs).toEqual([]);

      const bad = runEvent({
        job: [NS, 'bad'],
        outputs: [{ namespace: NS, name: 'x', columns: {} }],
      });
      (
        bad['outputs'] as { facets: { columnLineage: Record<string, unknown> } }[]
      )[0]!.facets.columnLineage['dataset'] = { name: 'not a list' };
      await expect(recordLineageEvent(db, bad)).rejects.toMatchObject({
        code: 'LINEAGE_EVENT_INVALID',
        path: 'outputs[0].facets.columnLineage.dataset',
      });
    });
  });

describe.skipIf(pgSkip !== undefined)('lineage events recorded concurrently on PostgreSQL', () => {
  it('events touching the same datasets in opposite orders all land, none deadlocks', async () => {
    const { url, drop } = await createTestDatabase();
    drops.push(drop);
    const writers = await Promise.all(Array.from({ length: 4 }, () => RunStore.open(url)));
    stores.push(...writers);
    const names = Array.from({ length: 12 }, (_, i) => `t${i}`);
    const dataset = (name: string): { namespace: string; name: string; fields: string[] } => ({
      namespace: NS,
      name,
      fields: ['a', 'b'],
    });
    const batches = writers.map((store, w) =>
      Array.from({ length: 15 }, (_, round) => {
        const order = w % 2 === 0 ? names : [...names].reverse();
        const [output, ...inputs] = order.slice(round % 3);
        return {
          store,
          event: runEvent({
            job: [NS, `job${w}_${round}`],
            inputs: inputs.map(dataset),
            outputs: [
              {
                ...dataset(output as string),
                columns: { a: inputs.map((i) => [NS, i, 'b'] as const) },
              },
            ],
          }),
        };
      }),
    );
    const results = await Promise.all(
      batches.map(async (batch) => {
        const done = [];
        for (const { store, event } of batch) done.push(await recordLineageEvent(store.db, event));
        return done;
      }),
    );
    expect(results.flat().every((r) => r.recorded)).toBe(true);
    const db = (writers[0] as RunStore).db;
    const [events] = await db.all('SELECT count(*) AS n FROM lineage_events');
    expect(Number(events?.['n'])).toBe(60);
    const [datasets] = await db.all('SELECT count(*) AS n FROM lineage_datasets');
    expect(Number(datasets?.['n'])).toBe(names.length);
    const [jobs] = await db.all('SELECT count(*) AS n FROM lineage_jobs');
    expect(Number(jobs?.['n'])).toBe(60);
  }, 120_000);

  it('a serialization failure runs the event again: every event lands under SERIALIZABLE', async () => {
    const { url, drop } = await createTestDatabase();
    drops.push(drop);
    const setup = await RunStore.open(url);
    const name = new URL(url).pathname.slice(1);
    await setup.db.run(
      `ALTER DATABASE ${name} SET default_transaction_isolation TO 'serializable'`,
    );
    await setup.close();
    const writers = await Promise.all(Array.from({ length: 3 }, () => RunStore.open(url)));
    stores.push(...writers);
    const [isolation] = await (writers[0] as RunStore).db.all('SHOW transaction_isolation');
    expect(isolation?.['transaction_isolation']).toBe('serializable');
    // every event updates the same two datasets' last_seen and the same job's run
    const results = await Promise.all(
      writers.map(async (store, w) => {
        const done = [];
        for (let round = 0; round < 10; round++)
          done.push(
            await recordLineageEvent(
              store.db,
              runEvent({
                job: [NS, 'shared_job'],
                eventTime: new Date(Date.UTC(2024, 0, 1, 0, 0, round * 3 + w)).toISOString(),
                inputs: [{ namespace: NS, name: 'shared_in', fields: ['a'] }],
                outputs: [
                  {
                    namespace: NS,
                    name: 'shared_out',
                    fields: ['a'],
                    columns: { a: [[NS, 'shared_in', 'a']] },
                  },
                ],
              }),
            ),
          );
        return done;
      }),
    );
    expect(results.flat().filter((r) => r.recorded)).toHaveLength(30);
    const db = (writers[0] as RunStore).db;
    const [events] = await db.all('SELECT count(*) AS n FROM lineage_events');
    expect(Number(events?.['n'])).toBe(30);
    // the job's edges are those of its latest run, whichever writer committed last
    const [job] = await db.all('SELECT current_run_at FROM lineage_jobs');
    expect(Number(job?.['current_run_at'])).toBe(Date.UTC(2024, 0, 1, 0, 0, 29));
    const [edges] = await db.all('SELECT count(*) AS n FROM lineage_column_edges');
    expect(Number(edges?.['n'])).toBe(1);
  }, 120_000);
});
