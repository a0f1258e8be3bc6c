/**
 * The `lineage` group: column and dataset lineage queries at depth 20 over a generated graph of
 * 10,000 datasets (50 layers of 200, 5 fields each) and 100,000 column edges (each field of a
 * layer reads 2 fields of the layer below, plus back edges making cycles), on the embedded store
 * and on PostgreSQL. The walk Sluice uses (one statement per step of a breadth-first walk, then
 * the response) is timed beside a single recursive CTE that only collects the reached field ids
 * (a walk built on such a CTE, collecting `(field, depth)` pairs and then the edges, measured
 * slower than the walk by steps: pairs multiply on a graph with cycles). Impact analysis of the
 * same field is timed too.
 * Also the rate of recording OpenLineage events one by one.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LineageNodeRef } from '../src/orchestrator/lineage-node.js';
import { findLineageNode } from '../src/orchestrator/lineage-node.js';
import { columnLineage, datasetLineage, lineageImpact } from '../src/orchestrator/lineage-graph.js';
import { recordLineageEvent } from '../src/orchestrator/lineage-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { SqlDatabase, SqlValue } from '../src/orchestrator/sql-database.js';
import { createTestDatabase, postgresUnavailable } from '../test/support/postgres.js';
import type { BenchResult } from './common.js';
import { assert, envInteger, log } from './common.js';

const LAYERS = 50;
const PER_LAYER = 200;
const FIELDS = 5;
const BACK_EDGES = 2_000;
const DEPTH = 20;

export async function runLineageQueryBench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-lineage-'));
  try {
    const ingest = await RunStore.open(join(dir, 'ingest.db'));
    try {
      results.push(await ingestFigure(ingest.db));
    } finally {
      await ingest.close();
    }
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      results.push(...(await queryFigures('sqlite', store.db)));
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const skip = await postgresUnavailable();
  if (skip !== undefined) {
    log(`  PostgreSQL figures skipped: ${skip}`);
    return results;
  }
  const { url, drop } = await createTestDatabase();
  try {
    const store = await RunStore.open(url);
    try {
      results.push(...(await queryFigures('postgres', store.db)));
    } finally {
      await store.close();
    }
  } finally {
    await drop();
  }
  return results;
}

/** Events recorded one by one, each in its own transaction, as `POST /api/v1/lineage` does. */
async function ingestFigure(db: SqlDatabase): Promise<BenchResult> {
  const count = envInteger('BENCH_LINEAGE_EVENTS', 1_000);
  const events = Array.from({ length: count }, (_, i) => ({
    eventType: 'COMPLETE',
    eventTime: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
    producer: 'https://example.com/bench',
    schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
    run: { runId: randomUUID() },
    job: { namespace: 'ingest', name: `job${i % 100}` },
    inputs: [{ namespace: 'ingest', name: `in${i % 300}` }],
    outputs: [
      {
        namespace: 'ingest',
        name: `out${i % 300}`,
        facets: {
          columnLineage: {
            _producer: 'https://example.com/bench',
            _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json',
            fields: Object.fromEntries(
              Array.from({ length: 10 }, (_, f) => [
                `c${f}`,
                {
                  inputFields: [
                    {
                      namespace: 'ingest',
                      name: `in${i % 300}`,
                      field: `c${f}`,
                      transformations: [{ type: 'DIRECT', subtype: 'IDENTITY' }],
                    },
                  ],
                },
              ]),
            ),
          },
        },
      },
    ],
  }));
  const began = performance.now();
  for (const event of events) await recordLineageEvent(db, event);
  const seconds = (performance.now() - began) / 1000;
  const perSecond = count / seconds;
  log(`  recorded ${count} events (10 column edges each) in ${seconds.toFixed(2)} s`);
  return {
    id: 'lineage.ingest_events_per_s',
    value: Math.round(perSecond),
    unit: 'events/s',
    note: `embedded store, one transaction per event, 2 datasets and 10 column edges each`,
  };
}

async function queryFigures(
  dialect: 'sqlite' | 'postgres',
  db: SqlDatabase,
): Promise<BenchResult[]> {
  log(`  [${dialect}] generating ${LAYERS * PER_LAYER} datasets and the column edges ...`);
  const edges = await generate(db);
  const rounds = envInteger('BENCH_LINEAGE_ROUNDS', 7);
  const middle = Math.floor(LAYERS / 2);
  const [busiest] = await db.all(
    `SELECT f.name AS field, d.name AS dataset FROM lineage_column_edges e
     JOIN lineage_fields f ON f.id = e.input_field_id JOIN lineage_datasets d ON d.id = f.dataset_id
     WHERE d.id BETWEEN ? AND ? GROUP BY f.name, d.name ORDER BY count(*) DESC, d.name, f.name LIMIT 1`,
    [middle * PER_LAYER + 1, (middle + 1) * PER_LAYER],
  );
  const field = (await findLineageNode(
    db,
    `datasetField:bench:${String(busiest?.['dataset'])}:${String(busiest?.['field'])}`,
  )) as LineageNodeRef;
  const dataset = (await findLineageNode(db, `dataset:bench:d${middle}_7`)) as LineageNodeRef;
  let columnNodes = 0;
  const column = await median(rounds, async () => {
    columnNodes = (await columnLineage(db, field, { depth: DEPTH, direction: 'both' })).graph
      .length;
  });
  let upstreamNodes = 0;
  const upstream = await median(rounds, async () => {
    upstreamNodes = (await columnLineage(db, field, { depth: DEPTH, direction: 'upstream' })).graph
      .length;
  });
  let datasetNodes = 0;
  const datasetQuery = await median(rounds, async () => {
    datasetNodes = (await datasetLineage(db, dataset, { depth: DEPTH, direction: 'both' })).graph
      .length;
  });
  let impactColumns = 0;
  const impact = await median(rounds, async () => {
    impactColumns = (await lineageImpact(db, field)).columns.length;
  });
  let cteFields = 0;
  const cte = await median(rounds, async () => {
    cteFields = await recursiveWalk(db, field.id);
  });
  // the walk itself, without building the response, for a like-for-like comparison with the CTE
  assert(columnNodes > 1_000, `the column query reached only ${columnNodes} fields`);
  log(
    `  [${dialect}] ${edges} column edges; column graph depth ${DEPTH} both ways: ${column.toFixed(1)} ms (${columnNodes} fields), upstream: ${upstream.toFixed(1)} ms (${upstreamNodes}); dataset graph: ${datasetQuery.toFixed(1)} ms (${datasetNodes} nodes); impact: ${impact.toFixed(1)} ms (${impactColumns} columns); recursive CTE upstream walk: ${cte.toFixed(1)} ms (${cteFields} fields)`,
  );
  const suffix = dialect === 'sqlite' ? '' : '_pg';
  const where = dialect === 'sqlite' ? 'embedded store' : 'PostgreSQL';
  return [
    {
      id: `lineage.query_depth20${suffix}_ms`,
      value: column,
      unit: 'ms',
      note: `median of ${rounds}, ${where}: column lineage of one field, depth ${DEPTH}, upstream and downstream (${columnNodes} fields in the answer, Marquez shape built), ${LAYERS * PER_LAYER} datasets, ${edges} column edges with cycles`,
    },
    {
      id: `lineage.column_upstream_depth20${suffix}_ms`,
      value: upstream,
      unit: 'ms',
      note: `median of ${rounds}, ${where}: the same field's column lineage upstream only (Marquez's default), ${upstreamNodes} fields`,
    },
    {
      id: `lineage.dataset_query_depth20${suffix}_ms`,
      value: datasetQuery,
      unit: 'ms',
      note: `median of ${rounds}, ${where}: dataset lineage of one dataset, depth ${DEPTH}, both ways (${datasetNodes} datasets and jobs)`,
    },
    {
      id: `lineage.impact_column${suffix}_ms`,
      value: impact,
      unit: 'ms',
      note: `median of ${rounds}, ${where}: impact analysis of the same field, downstream to the end of the graph (${impactColumns} columns)`,
    },
    {
      id: `lineage.recursive_cte_upstream_depth20${suffix}_ms`,
      value: cte,
      unit: 'ms',
      note: `median of ${rounds}, ${where}: the same field's upstream walk as one recursive CTE (${cteFields} fields): ids only, no edges and no response built, for comparison with the upstream figure`,
    },
  ];
}

/** One recursive CTE walking upstream to depth 20, stopping at fields seen at a smaller depth only per row. */
async function recursiveWalk(db: SqlDatabase, fieldId: number): Promise<number> {
  const rows = await db.all(
    `WITH RECURSIVE walk(field_id, depth) AS (
       SELECT CAST(? AS BIGINT), 0
       UNION
       SELECT e.input_field_id, w.depth + 1 FROM lineage_column_edges e
       JOIN walk w ON e.output_field_id = w.field_id WHERE w.depth < ${DEPTH})
     SELECT field_id, min(depth) AS depth FROM walk GROUP BY field_id`,
    [fieldId],
  );
  return rows.length;
}

async function median(rounds: number, work: () => Promise<void>): Promise<number> {
  await work(); // warm the caches
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const began = performance.now();
    await work();
    times.push(performance.now() - began);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

/** A small deterministic generator, so both stores get the same graph. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

/** Fills the lineage tables directly (ids are assigned here), returning the column edges made. */
export async function generate(db: SqlDatabase): Promise<number> {
  const next = random(7);
  const pick = (n: number): number => Math.floor(next() * n);
  const datasetId = (layer: number, i: number): number => layer * PER_LAYER + i + 1;
  const fieldId = (layer: number, i: number, f: number): number =>
    (datasetId(layer, i) - 1) * FIELDS + f + 1;
  const datasets: SqlValue[][] = [];
  const fields: SqlValue[][] = [];
  const jobs: SqlValue[][] = [];
  const io: SqlValue[][] = [];
  const columns = new Map<string, SqlValue[]>();
  const schema = JSON.stringify(
    Array.from({ length: FIELDS }, (_, f) => ({ name: `f${f}`, type: 'BIGINT' })),
  );
  for (let layer = 0; layer < LAYERS; layer++)
    for (let i = 0; i < PER_LAYER; i++) {
      const id = datasetId(layer, i);
      datasets.push([id, 'bench', `d${layer}_${i}`, schema, 0, 0, 0]);
      for (let f = 0; f < FIELDS; f++) fields.push([fieldId(layer, i, f), id, `f${f}`]);
      if (layer === 0) continue;
      jobs.push([id, 'bench', `job${layer}_${i}`, 0, 0]);
      const inputs = [pick(PER_LAYER), pick(PER_LAYER)];
      io.push([id, 'output', id, 0, 0]);
      for (const input of new Set(inputs))
        io.push([id, 'input', datasetId(layer - 1, input), 0, 0]);
      for (let f = 0; f < FIELDS; f++)
        for (const [n, input] of inputs.entries()) {
          const from = fieldId(layer - 1, input, pick(FIELDS));
          const type = n === 0 ? 'DIRECT' : 'INDIRECT';
          columns.set(`${id}:${fieldId(layer, i, f)}:${from}:${type}`, [
            id,
            fieldId(layer, i, f),
            from,
            type,
            n === 0 ? 'TRANSFORMATION' : 'JOIN',
            null,
            null,
            0,
            0,
          ]);
        }
    }
  // back edges: a few jobs also read from a higher layer, so the graph has cycles
  for (let b = 0; b < BACK_EDGES; b++) {
    const layer = 1 + pick(LAYERS - 2);
    const i = pick(PER_LAYER);
    const id = datasetId(layer, i);
    const from = fieldId(layer + 1, pick(PER_LAYER), pick(FIELDS));
    columns.set(`${id}:${fieldId(layer, i, 0)}:${from}:INDIRECT`, [
      id,
      fieldId(layer, i, 0),
      from,
      'INDIRECT',
      'FILTER',
      null,
      null,
      0,
      0,
    ]);
  }
  await db.transaction(async (tx) => {
    await insertRows(
      tx,
      'lineage_datasets (id, namespace, name, fields, fields_at, first_seen, last_seen)',
      datasets,
    );
    await insertRows(tx, 'lineage_fields (id, dataset_id, name)', fields);
    await insertRows(tx, 'lineage_jobs (id, namespace, name, first_seen, last_seen)', jobs);
    await insertRows(
      tx,
      'lineage_job_datasets (job_id, direction, dataset_id, first_seen, last_seen)',
      io,
    );
    await insertRows(
      tx,
      `lineage_column_edges (job_id, output_field_id, input_field_id, transformation_type,
        transformation_subtype, description, masking, first_seen, last_seen)`,
      [...columns.values()],
    );
  });
  await db.run('ANALYZE');
  return columns.size;
}

async function insertRows(
  tx: SqlDatabase,
  into: string,
  rows: readonly SqlValue[][],
): Promise<void> {
  const width = rows[0]?.length ?? 0;
  const chunk = Math.floor(30_000 / Math.max(width, 1));
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const values = part
      .map(() => `(${Array.from({ length: width }, () => '?').join(', ')})`)
      .join(', ');
    await tx.run(`INSERT INTO ${into} VALUES ${values}`, part.flat());
  }
}
