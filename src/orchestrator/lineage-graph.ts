import type { LineageNodeRef } from './lineage-node.js';
import { lineageNodeId } from './lineage-node.js';
import type { SqlDatabase, SqlRow, SqlValue } from './sql-database.js';

/** Which way a lineage query walks from its node. */
export type LineageDirection = 'upstream' | 'downstream' | 'both';

/** An edge of the response graph, by node id. */
export interface LineageEdge {
  readonly origin: string;
  readonly destination: string;
}

/** A node of the response graph, in the shape of Marquez's lineage API. */
export interface LineageGraphNode {
  readonly id: string;
  readonly type: 'DATASET' | 'JOB' | 'DATASET_FIELD';
  readonly data: Readonly<Record<string, unknown>>;
  readonly inEdges: readonly LineageEdge[];
  readonly outEdges: readonly LineageEdge[];
}

/** The answer of a lineage query: `{ graph: [...] }`, as Marquez's `GET /api/v1/lineage`. */
export interface LineageGraph {
  readonly graph: readonly LineageGraphNode[];
}

/** Options of {@link datasetLineage} and {@link columnLineage}. */
export interface LineageQuery {
  /** How far to walk: jobs away for datasets, column edges away for columns. */
  readonly depth: number;
  readonly direction: LineageDirection;
}

/** Deepest walk a query may ask for; cycles end a walk earlier anyway. */
export const MAX_LINEAGE_DEPTH = 1_000;

/**
 * A list of ids as one parameter: `json_each` on SQLite, an array on PostgreSQL. One statement
 * per step of a walk, whatever the frontier's size.
 */
function inList(db: SqlDatabase, column: string, ids: Iterable<number>): [string, SqlValue] {
  const list = [...ids];
  return db.dialect === 'postgres'
    ? [`${column} = ANY(?::bigint[])`, `{${list.join(',')}}`]
    : [`${column} IN (SELECT value FROM json_each(?))`, JSON.stringify(list)];
}

/**
 * Rows of `SELECT <columns> <rest>` packed by the database into one JSON text and unpacked here:
 * for thousands of rows this is several times faster than the drivers building a row object
 * each (measured on both dialects by `npm run bench -- lineage`). Columns are `alias: expression`.
 */
async function packedRows(
  db: SqlDatabase,
  columns: Readonly<Record<string, string>>,
  rest: string,
  params: readonly SqlValue[],
): Promise<SqlRow[]> {
  const pairs = Object.entries(columns)
    .map(([alias, expression]) => `'${alias}', ${expression}`)
    .join(', ');
  const [row] = await db.all(
    db.dialect === 'postgres'
      ? `SELECT coalesce(json_agg(json_build_object(${pairs})), '[]')::text AS packed ${rest}`
      : `SELECT json_group_array(json_object(${pairs})) AS packed ${rest}`,
    params,
  );
  return JSON.parse(String(row?.['packed'] ?? '[]')) as SqlRow[];
}

const IO_COLUMNS = { job_id: 'job_id', dataset_id: 'dataset_id' };

interface DatasetWalk {
  readonly datasets: Set<number>;
  readonly jobs: Set<number>;
  /** Each edge walked, by `job:dataset:direction`. */
  readonly edges: Map<
    string,
    { readonly job: number; readonly dataset: number; readonly input: boolean }
  >;
}

/**
 * Walks the job and dataset graph one way from a dataset or job, breadth first, one statement
 * per step; nodes already seen are not walked again, so cycles end.
 */
async function walkDatasets(
  db: SqlDatabase,
  start: LineageNodeRef,
  hops: number,
  downstream: boolean,
  walk: DatasetWalk,
): Promise<void> {
  let datasets = new Set<number>(start.kind === 'dataset' ? [start.id] : []);
  let jobs = new Set<number>(start.kind === 'job' ? [start.id] : []);
  const seenDatasets = new Set(datasets);
  const seenJobs = new Set(jobs);
  for (let hop = 0; hop < hops && datasets.size + jobs.size > 0; hop++) {
    const nextDatasets = new Set<number>();
    const nextJobs = new Set<number>();
    if (datasets.size > 0) {
      // downstream: datasets are inputs of jobs; upstream: outputs of them
      const direction = downstream ? 'input' : 'output';
      const [where, list] = inList(db, 'dataset_id', datasets);
      for (const row of await packedRows(
        db,
        IO_COLUMNS,
        `FROM lineage_job_datasets WHERE direction = ? AND ${where}`,
        [direction, list],
      )) {
        const job = Number(row['job_id']);
        const dataset = Number(row['dataset_id']);
        walk.edges.set(`${job}:${dataset}:${direction}`, {
          job,
          dataset,
          input: direction === 'input',
        });
        if (!seenJobs.has(job)) nextJobs.add(job);
        seenJobs.add(job);
      }
    }
    if (jobs.size > 0) {
      const direction = downstream ? 'output' : 'input';
      const [where, list] = inList(db, 'job_id', jobs);
      for (const row of await packedRows(
        db,
        IO_COLUMNS,
        `FROM lineage_job_datasets WHERE direction = ? AND ${where}`,
        [direction, list],
      )) {
        const dataset = Number(row['dataset_id']);
        const job = Number(row['job_id']);
        walk.edges.set(`${job}:${dataset}:${direction}`, {
          job,
          dataset,
          input: direction === 'input',
        });
        if (!seenDatasets.has(dataset)) nextDatasets.add(dataset);
        seenDatasets.add(dataset);
      }
    }
    datasets = nextDatasets;
    jobs = nextJobs;
  }
  for (const id of seenDatasets) walk.datasets.add(id);
  for (const id of seenJobs) walk.jobs.add(id);
}

/**
 * The dataset graph around a dataset or job: datasets and the jobs reading and writing them, up
 * to `depth` jobs away (a job's own inputs and outputs are at depth 1), upstream, downstream or
 * both (both is the upstream and the downstream walk together, not every neighbour of every
 * node). Nodes and edges come back in Marquez's shape.
 *
 * @example
 * ```ts
 * const node = await findLineageNode(db, 'dataset:file:///lake:orders');
 * const { graph } = await datasetLineage(db, node!, { depth: 20, direction: 'both' });
 * ```
 */
export async function datasetLineage(
  db: SqlDatabase,
  start: LineageNodeRef,
  query: LineageQuery,
): Promise<LineageGraph> {
  const walk: DatasetWalk = { datasets: new Set(), jobs: new Set(), edges: new Map() };
  const origin: LineageNodeRef =
    start.kind === 'datasetField'
      ? { kind: 'dataset', id: start.datasetId, namespace: start.namespace, name: start.name }
      : start;
  const hops = origin.kind === 'job' ? 2 * query.depth - 1 : 2 * query.depth;
  if (query.direction !== 'downstream') await walkDatasets(db, origin, hops, false, walk);
  if (query.direction !== 'upstream') await walkDatasets(db, origin, hops, true, walk);
  if (origin.kind === 'dataset') walk.datasets.add(origin.id);
  else walk.jobs.add(origin.id);
  return { graph: await datasetGraphNodes(db, walk) };
}

async function datasetGraphNodes(db: SqlDatabase, walk: DatasetWalk): Promise<LineageGraphNode[]> {
  const datasets = await rowsById(
    db,
    {
      id: 'id',
      namespace: 'namespace',
      name: 'name',
      fields: 'fields',
      first_seen: 'first_seen',
      last_seen: 'last_seen',
    },
    'lineage_datasets',
    walk.datasets,
  );
  const jobs = await rowsById(
    db,
    {
      id: 'id',
      namespace: 'namespace',
      name: 'name',
      current_run_id: 'current_run_id',
      first_seen: 'first_seen',
      last_seen: 'last_seen',
    },
    'lineage_jobs',
    walk.jobs,
  );
  const datasetIds = new Map(
    [...datasets].map(([id, row]) => [
      id,
      lineageNodeId({
        kind: 'dataset',
        namespace: String(row['namespace']),
        name: String(row['name']),
      }),
    ]),
  );
  const jobIds = new Map(
    [...jobs].map(([id, row]) => [
      id,
      lineageNodeId({
        kind: 'job',
        namespace: String(row['namespace']),
        name: String(row['name']),
      }),
    ]),
  );
  const datasetId = (id: number): string => datasetIds.get(id) as string;
  const jobId = (id: number): string => jobIds.get(id) as string;
  const inEdges = new Map<string, LineageEdge[]>();
  const outEdges = new Map<string, LineageEdge[]>();
  const jobIO = new Map<number, { inputs: object[]; outputs: object[] }>();
  for (const edge of walk.edges.values()) {
    const [d, j] = [datasetIds.get(edge.dataset), jobIds.get(edge.job)];
    if (d === undefined || j === undefined) continue;
    const link = edge.input ? { origin: d, destination: j } : { origin: j, destination: d };
    push(outEdges, link.origin, link);
    push(inEdges, link.destination, link);
    const row = datasets.get(edge.dataset) as SqlRow;
    let io = jobIO.get(edge.job);
    if (io === undefined) jobIO.set(edge.job, (io = { inputs: [], outputs: [] }));
    (edge.input ? io.inputs : io.outputs).push({ namespace: row['namespace'], name: row['name'] });
  }
  const byEdge = (a: LineageEdge, b: LineageEdge): number =>
    compare(a.origin, b.origin) || compare(a.destination, b.destination);
  for (const list of [...inEdges.values(), ...outEdges.values()]) list.sort(byEdge);
  const nodes: LineageGraphNode[] = [];
  for (const [id, row] of datasets) {
    const nodeId = datasetId(id);
    nodes.push({
      id: nodeId,
      type: 'DATASET',
      data: {
        type: 'DATASET',
        id: { namespace: row['namespace'], name: row['name'] },
        namespace: row['namespace'],
        name: row['name'],
        fields: row['fields'] === null ? [] : (JSON.parse(String(row['fields'])) as unknown),
        createdAt: iso(row['first_seen']),
        updatedAt: iso(row['last_seen']),
      },
      inEdges: inEdges.get(nodeId) ?? [],
      outEdges: outEdges.get(nodeId) ?? [],
    });
  }
  for (const [id, row] of jobs) {
    const nodeId = jobId(id);
    const io = jobIO.get(id) ?? { inputs: [], outputs: [] };
    nodes.push({
      id: nodeId,
      type: 'JOB',
      data: {
        type: 'BATCH',
        id: { namespace: row['namespace'], name: row['name'] },
        namespace: row['namespace'],
        name: row['name'],
        inputs: io.inputs,
        outputs: io.outputs,
        latestRun: row['current_run_id'] === null ? null : { id: row['current_run_id'] },
        createdAt: iso(row['first_seen']),
        updatedAt: iso(row['last_seen']),
      },
      inEdges: inEdges.get(nodeId) ?? [],
      outEdges: outEdges.get(nodeId) ?? [],
    });
  }
  return nodes.sort((a, b) => compare(a.id, b.id));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A column edge as the walk found it. */
interface ColumnEdgeRow {
  readonly output: number;
  readonly input: number;
  readonly job: number;
  readonly type: string;
  readonly subtype: string;
  readonly description: string | null;
}

/**
 * Walks column edges one way from a set of fields, breadth first, one statement per step; each
 * field is reached once, at its smallest depth, so cycles end. Returns each field's depth.
 * A dataset edge (the facet's `dataset` list) counts as an edge into every field of its output
 * dataset, as Marquez lists it among each output field's `inputFields`.
 */
async function walkColumns(
  db: SqlDatabase,
  start: readonly number[],
  depth: number,
  downstream: boolean,
  edges: ColumnEdges,
): Promise<Map<number, number>> {
  const depthOf = new Map<number, number>(start.map((id) => [id, 0]));
  let frontier = new Set(start);
  const from = downstream ? 'input_field_id' : 'output_field_id';
  for (let level = 1; level <= depth && frontier.size > 0; level++) {
    const [where, list] = inList(db, from, frontier);
    const [datasetWhere] = inList(db, downstream ? 'd.input_field_id' : 'f.id', frontier);
    const next = new Set<number>();
    for (const row of await packedRows(
      db,
      COLUMN_EDGE_COLUMNS,
      // a dataset edge reaches every field of its output dataset
      `FROM (SELECT ${EDGE_SELECT} FROM lineage_column_edges WHERE ${where}
             UNION ALL
             SELECT f.id AS output_field_id, d.input_field_id, d.job_id, d.transformation_type,
               d.transformation_subtype, d.description
             FROM lineage_dataset_edges d JOIN lineage_fields f ON f.dataset_id = d.output_dataset_id
             WHERE ${datasetWhere}) e`,
      [list, list],
    )) {
      const edge = row as unknown as ColumnEdgeRow;
      edges.add(edge);
      const reached = downstream ? edge.output : edge.input;
      if (!depthOf.has(reached)) {
        depthOf.set(reached, level);
        next.add(reached);
      }
    }
    frontier = next;
  }
  return depthOf;
}

/**
 * Column edges found by walks, each once (by job, output, input and transformation), in the
 * order first found. Keyed by the numeric field ids: tens of thousands of text keys cost more
 * than the walk's statements.
 */
class ColumnEdges {
  readonly #byOutput = new Map<number, Map<number, ColumnEdgeRow[]>>();
  readonly list: ColumnEdgeRow[] = [];

  add(edge: ColumnEdgeRow): void {
    let byInput = this.#byOutput.get(edge.output);
    if (byInput === undefined) this.#byOutput.set(edge.output, (byInput = new Map()));
    const same = byInput.get(edge.input);
    if (same === undefined) byInput.set(edge.input, [edge]);
    else if (
      same.some((e) => e.job === edge.job && e.type === edge.type && e.subtype === edge.subtype)
    )
      return;
    else same.push(edge);
    this.list.push(edge);
  }
}

const EDGE_SELECT =
  'output_field_id, input_field_id, job_id, transformation_type, transformation_subtype, description';

const COLUMN_EDGE_COLUMNS = {
  output: 'output_field_id',
  input: 'input_field_id',
  job: 'job_id',
  type: 'transformation_type',
  subtype: 'transformation_subtype',
  description: 'description',
};

interface FieldRow {
  readonly namespace: string;
  readonly dataset: string;
  readonly datasetId: number;
  readonly field: string;
  readonly type: string | null;
}

async function fieldRows(db: SqlDatabase, ids: Iterable<number>): Promise<Map<number, FieldRow>> {
  const [where, list] = inList(db, 'id', ids);
  const fieldList = await packedRows(
    db,
    { id: 'id', field: 'name', dataset_id: 'dataset_id' },
    `FROM lineage_fields WHERE ${where}`,
    [list],
  );
  const datasets = await rowsById(
    db,
    { id: 'id', namespace: 'namespace', name: 'name', fields: 'fields' },
    'lineage_datasets',
    new Set(fieldList.map((row) => Number(row['dataset_id']))),
  );
  const types = new Map<number, Map<string, string>>();
  for (const [id, dataset] of datasets) {
    const schema = dataset['fields'] === null ? [] : JSON.parse(String(dataset['fields']));
    types.set(
      id,
      new Map((schema as { name: string; type?: string }[]).map((f) => [f.name, f.type ?? ''])),
    );
  }
  const fields = new Map<number, FieldRow>();
  for (const row of fieldList) {
    const datasetId = Number(row['dataset_id']);
    const dataset = datasets.get(datasetId) as SqlRow;
    const field = String(row['field']);
    fields.set(Number(row['id']), {
      namespace: String(dataset['namespace']),
      dataset: String(dataset['name']),
      datasetId,
      field,
      type: types.get(datasetId)?.get(field) || null,
    });
  }
  return fields;
}

/**
 * The column graph around a column (or every column of a dataset): fields and the column edges
 * between them, up to `depth` edges away, upstream, downstream or both. Each node's `data`
 * lists its `inputFields` with their transformations, as Marquez's column-lineage API does.
 *
 * @example
 * ```ts
 * const node = await findLineageNode(db, 'datasetField:file:///lake:orders:amount');
 * const { graph } = await columnLineage(db, node!, { depth: 20, direction: 'upstream' });
 * ```
 */
export async function columnLineage(
  db: SqlDatabase,
  start: LineageNodeRef,
  query: LineageQuery,
): Promise<LineageGraph> {
  const startFields =
    start.kind === 'datasetField'
      ? [start.id]
      : start.kind === 'dataset'
        ? (await db.all('SELECT id FROM lineage_fields WHERE dataset_id = ?', [start.id])).map(
            (r) => Number(r['id']),
          )
        : [];
  const edges = new ColumnEdges();
  const reached = new Set<number>(startFields);
  if (query.direction !== 'downstream')
    for (const id of (await walkColumns(db, startFields, query.depth, false, edges)).keys())
      reached.add(id);
  if (query.direction !== 'upstream')
    for (const id of (await walkColumns(db, startFields, query.depth, true, edges)).keys())
      reached.add(id);
  const fields = await fieldRows(db, reached);
  const jobs = await rowsById(
    db,
    { id: 'id', namespace: 'namespace', name: 'name' },
    'lineage_jobs',
    new Set(edges.list.map((e) => e.job)),
  );
  const nodeIds = new Map<number, string>();
  for (const [id, f] of fields)
    nodeIds.set(
      id,
      lineageNodeId({
        kind: 'datasetField',
        namespace: f.namespace,
        name: f.dataset,
        field: f.field,
      }),
    );
  // keyed by field row id, for the reason given at ColumnEdges
  const inEdges = new Map<number, LineageEdge[]>();
  const outEdges = new Map<number, LineageEdge[]>();
  const inputs = new Map<number, object[]>();
  const linked = new Map<number, Set<number>>();
  const jobNames = new Map<number, { namespace: unknown; name: unknown } | null>();
  for (const edge of edges.list) {
    const [origin, destination] = [nodeIds.get(edge.input), nodeIds.get(edge.output)];
    if (origin === undefined || destination === undefined) continue;
    let outputs = linked.get(edge.input);
    if (outputs === undefined) linked.set(edge.input, (outputs = new Set()));
    if (!outputs.has(edge.output)) {
      outputs.add(edge.output);
      const link = { origin, destination };
      push(outEdges, edge.input, link);
      push(inEdges, edge.output, link);
    }
    const input = fields.get(edge.input) as FieldRow;
    let job = jobNames.get(edge.job);
    if (job === undefined) {
      const row = jobs.get(edge.job);
      job = row === undefined ? null : { namespace: row['namespace'], name: row['name'] };
      jobNames.set(edge.job, job);
    }
    push(inputs, edge.output, {
      namespace: input.namespace,
      dataset: input.dataset,
      field: input.field,
      transformationType: edge.type,
      transformationSubtype: edge.subtype,
      transformationDescription: edge.description,
      job,
    });
  }
  const graph: LineageGraphNode[] = [];
  for (const [id, f] of fields)
    graph.push({
      id: nodeIds.get(id) as string,
      type: 'DATASET_FIELD',
      data: {
        type: 'DATASET_FIELD',
        namespace: f.namespace,
        dataset: f.dataset,
        field: f.field,
        fieldType: f.type,
        inputFields: inputs.get(id) ?? [],
      },
      inEdges: inEdges.get(id) ?? [],
      outEdges: outEdges.get(id) ?? [],
    });
  return { graph: graph.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

/** What changes if a column (or a whole dataset) changes: see {@link lineageImpact}. */
export interface LineageImpact {
  readonly node: string;
  /** Columns derived from it, nearest first, with the transformations that carry the change. */
  readonly columns: readonly {
    readonly id: string;
    readonly namespace: string;
    readonly dataset: string;
    readonly field: string;
    readonly depth: number;
    readonly transformations: readonly string[];
  }[];
  /** Datasets written from it (through column edges for a column, job edges for a dataset). */
  readonly datasets: readonly {
    readonly id: string;
    readonly namespace: string;
    readonly name: string;
  }[];
  /** Jobs that carry the change. */
  readonly jobs: readonly {
    readonly id: string;
    readonly namespace: string;
    readonly name: string;
  }[];
  /**
   * Jobs that read an affected dataset but recorded no column lineage at all: they may depend on
   * the column; Sluice cannot tell (only for a column).
   */
  readonly unknownJobs: readonly {
    readonly id: string;
    readonly namespace: string;
    readonly name: string;
  }[];
}

/**
 * Impact analysis: which jobs (pipelines and their steps), datasets and columns change if a
 * column changes, following column edges downstream to the end (cycles included, each column
 * once). A column a job uses in a JOIN, FILTER, GROUP_BY, SORT, WINDOW or CONDITIONAL of the
 * whole output (the facet's `dataset` list) changes every output column of that job. For a
 * dataset it follows the job graph downstream. Jobs that read an affected dataset without
 * column lineage are listed apart, as possibly affected.
 *
 * @example
 * ```ts
 * const impact = await lineageImpact(db, await resolveLineageArgument(db, 'raw_orders.amount'));
 * impact.jobs.map((j) => j.name); // ['orders_daily.silver', 'orders_daily.gold']
 * ```
 */
export async function lineageImpact(
  db: SqlDatabase,
  start: LineageNodeRef,
): Promise<LineageImpact> {
  const named = (
    row: SqlRow,
    kind: 'dataset' | 'job',
  ): { id: string; namespace: string; name: string } => ({
    id: lineageNodeId({ kind, namespace: String(row['namespace']), name: String(row['name']) }),
    namespace: String(row['namespace']),
    name: String(row['name']),
  });
  const byId = (a: { id: string }, b: { id: string }): number =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  if (start.kind !== 'datasetField') {
    const walk: DatasetWalk = { datasets: new Set(), jobs: new Set(), edges: new Map() };
    await walkDatasets(db, start, 2 * MAX_LINEAGE_DEPTH, true, walk);
    if (start.kind === 'dataset') walk.datasets.delete(start.id);
    else walk.jobs.delete(start.id);
    const datasets = await rowsById(
      db,
      { id: 'id', namespace: 'namespace', name: 'name' },
      'lineage_datasets',
      walk.datasets,
    );
    const jobs = await rowsById(
      db,
      { id: 'id', namespace: 'namespace', name: 'name' },
      'lineage_jobs',
      walk.jobs,
    );
    return {
      node: lineageNodeId(start),
      columns: [],
      datasets: [...datasets.values()].map((r) => named(r, 'dataset')).sort(byId),
      jobs: [...jobs.values()].map((r) => named(r, 'job')).sort(byId),
      unknownJobs: [],
    };
  }
  const edges = new ColumnEdges();
  const depthOf = await walkColumns(db, [start.id], MAX_LINEAGE_DEPTH, true, edges);
  depthOf.delete(start.id);
  const fields = await fieldRows(db, depthOf.keys());
  const transformations = new Map<number, Set<string>>();
  for (const edge of edges.list) {
    const set = transformations.get(edge.output) ?? new Set();
    set.add(edge.subtype === '' ? edge.type : `${edge.type}:${edge.subtype}`);
    transformations.set(edge.output, set);
  }
  const columns = [...fields.entries()]
    .map(([id, f]) => ({
      id: lineageNodeId({
        kind: 'datasetField',
        namespace: f.namespace,
        name: f.dataset,
        field: f.field,
      }),
      namespace: f.namespace,
      dataset: f.dataset,
      field: f.field,
      depth: depthOf.get(id) as number,
      transformations: [...(transformations.get(id) ?? [])].sort(),
    }))
    .sort((a, b) => a.depth - b.depth || byId(a, b));
  const datasetIds = new Set([...fields.values()].map((f) => f.datasetId));
  const datasets = await rowsById(
    db,
    { id: 'id', namespace: 'namespace', name: 'name' },
    'lineage_datasets',
    datasetIds,
  );
  const jobIds = new Set(edges.list.map((e) => e.job));
  const jobs = await rowsById(
    db,
    { id: 'id', namespace: 'namespace', name: 'name' },
    'lineage_jobs',
    jobIds,
  );
  const [where, list] = inList(db, 'io.dataset_id', new Set([start.datasetId, ...datasetIds]));
  const unknown = await db.all(
    `SELECT DISTINCT j.id, j.namespace, j.name FROM lineage_job_datasets io
     JOIN lineage_jobs j ON j.id = io.job_id
     WHERE io.direction = 'input' AND ${where}
       AND NOT EXISTS (SELECT 1 FROM lineage_column_edges c WHERE c.job_id = io.job_id)
       AND NOT EXISTS (SELECT 1 FROM lineage_dataset_edges d WHERE d.job_id = io.job_id)`,
    [list],
  );
  return {
    node: lineageNodeId(start),
    columns,
    datasets: [...datasets.values()].map((r) => named(r, 'dataset')).sort(byId),
    jobs: [...jobs.values()].map((r) => named(r, 'job')).sort(byId),
    unknownJobs: unknown.map((r) => named(r, 'job')).sort(byId),
  };
}

async function rowsById(
  db: SqlDatabase,
  columns: Readonly<Record<string, string>>,
  table: string,
  ids: Set<number>,
): Promise<Map<number, SqlRow>> {
  if (ids.size === 0) return new Map();
  const [where, list] = inList(db, 'id', ids);
  const rows = await packedRows(db, columns, `FROM ${table} WHERE ${where}`, [list]);
  return new Map(rows.map((row) => [Number(row['id']), row]));
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function iso(value: unknown): string | null {
  return value === null || value === undefined ? null : new Date(Number(value)).toISOString();
}
