import { createHash } from 'node:crypto';
import { StoreError } from '../core/errors.js';
import type { LineageColumnInput, LineageEventDataset, LineageRunEvent } from './lineage-event.js';
import { parseLineageEvent } from './lineage-event.js';
import type { SqlDatabase } from './sql-database.js';
import type { RunStore } from './run-store.js';
import type { LineageTransport } from '../observe/lineage/lineage-transport.js';
import { redactStoreUrl } from './sql-database.js';

type LineageDataset = { readonly namespace: string; readonly name: string };

/** What {@link recordLineageEvent} did with an event. */
export interface LineageRecordResult {
  /** False when the same event was recorded before (nothing changed). */
  readonly recorded: boolean;
  /** sha256 of the event's canonical JSON: the same event always has the same key. */
  readonly eventKey: string;
  /**
   * How the event changed its job's edges: `add` (first or same run), `replace` (a newer run of
   * the job: its edges become this run's), `stale` (an older run: kept as an event only) or
   * `none` (the event names no dataset).
   */
  readonly edges: 'add' | 'replace' | 'stale' | 'none';
}

/**
 * Records one OpenLineage RunEvent in the run store, in one transaction: the event as received
 * (append-only, keyed by the sha256 of its canonical JSON, so the same event twice changes
 * nothing), its job and datasets (with when each was first and last seen, by `eventTime`), the
 * job's input and output edges and the column edges of its outputs' `columnLineage` facets.
 * A job's edges are those of its latest run: the first event with datasets of a newer run
 * replaces them, events of older runs change only the dataset list.
 * A malformed event throws a `LineageEventError` before anything is written.
 *
 * @example
 * ```ts
 * const store = await RunStore.open('.sluice/sluice.db');
 * await recordLineageEvent(store.db, JSON.parse(body)); // { recorded: true, edges: 'add', ... }
 * ```
 */
export async function recordLineageEvent(
  db: SqlDatabase,
  value: unknown,
  options: { readonly now?: number } = {},
): Promise<LineageRecordResult> {
  const [result] = await recordLineageEvents(db, [value], options);
  return result as LineageRecordResult;
}

/**
 * Records several events, in order, in one transaction ({@link recordLineageEvent} for each):
 * all of them or, when one is malformed, none.
 *
 * @example
 * ```ts
 * await recordLineageEvents(store.db, runEvents);
 * ```
 */
export async function recordLineageEvents(
  db: SqlDatabase,
  values: readonly unknown[],
  options: { readonly now?: number } = {},
): Promise<LineageRecordResult[]> {
  const events = values.map((value) => {
    const event = parseLineageEvent(value);
    const payload = canonicalJSON(event.raw);
    return { event, payload, eventKey: createHash('sha256').update(payload).digest('hex') };
  });
  if (events.length === 0) return [];
  return retryConflicts(db, () =>
    db.transaction(async (tx) => {
      const results: LineageRecordResult[] = [];
      for (const { event, payload, eventKey } of events) {
        const inserted = await tx.run(
          `INSERT INTO lineage_events (event_key, run_id, event_type, event_time, job_namespace, job_name, payload, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_key) DO NOTHING`,
          [
            eventKey,
            event.runId,
            event.eventType ?? null,
            event.eventTime,
            event.job.namespace,
            event.job.name,
            payload,
            options.now ?? Date.now(),
          ],
        );
        results.push(
          inserted === 0
            ? { recorded: false, eventKey, edges: 'none' }
            : { recorded: true, eventKey, edges: await applyToGraph(tx, event) },
        );
      }
      return results;
    }),
  );
}

/** PostgreSQL's deadlock_detected and serialization_failure: the transaction can run again. */
const CONFLICT_STATES = new Set(['40P01', '40001']);

/** Attempts of one event's transaction before a conflict is reported. */
const CONFLICT_ATTEMPTS = 8;

function isConflict(error: unknown): boolean {
  for (let e = error; typeof e === 'object' && e !== null; e = (e as { cause?: unknown }).cause)
    if (CONFLICT_STATES.has(String((e as { code?: unknown }).code))) return true;
  return false;
}

/**
 * Runs a transaction again when PostgreSQL ends it with a deadlock or a serialization failure
 * (it rolled back, so running it again is safe), after a short random wait so two writers do not
 * collide again; after {@link CONFLICT_ATTEMPTS} attempts a retryable `StoreError` says so.
 */
async function retryConflicts<T>(db: SqlDatabase, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isConflict(error)) throw error;
      if (attempt >= CONFLICT_ATTEMPTS)
        throw new StoreError(
          db.dialect === 'postgres' ? redactStoreUrl(db.location) : db.location,
          `recording a lineage event conflicted with other writers on each of ${attempt} attempts: ${(error as Error).message}`,
          { cause: error, retryable: true, hint: 'send the event again' },
        );
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

/**
 * JSON with object keys sorted at every level, so two encodings of one event are one text.
 *
 * @example
 * ```ts
 * canonicalJSON({ b: 1, a: [{ d: 2, c: 3 }] }); // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 */
export function canonicalJSON(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(
          Object.entries(item as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : item,
  );
}

const SEEN = (table: string): string =>
  `first_seen = CASE WHEN excluded.first_seen < ${table}.first_seen THEN excluded.first_seen ELSE ${table}.first_seen END,
   last_seen = CASE WHEN excluded.last_seen > ${table}.last_seen THEN excluded.last_seen ELSE ${table}.last_seen END`;

async function applyToGraph(
  tx: SqlDatabase,
  event: LineageRunEvent,
): Promise<LineageRecordResult['edges']> {
  const at = event.eventTime;
  const datasetIds = new Map<string, number>();
  const datasetId = async (dataset: { namespace: string; name: string }): Promise<number> => {
    const key = JSON.stringify([dataset.namespace, dataset.name]);
    const known = datasetIds.get(key);
    if (known !== undefined) return known;
    const [row] = await tx.all(
      `INSERT INTO lineage_datasets (namespace, name, first_seen, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (namespace, name) DO UPDATE SET ${SEEN('lineage_datasets')} RETURNING id`,
      [dataset.namespace, dataset.name, at, at],
    );
    const id = Number(row?.['id']);
    datasetIds.set(key, id);
    return id;
  };
  const fieldIds = new Map<string, number>();
  const fieldId = async (dataset: number, name: string): Promise<number> => {
    const key = JSON.stringify([dataset, name]);
    const known = fieldIds.get(key);
    if (known !== undefined) return known;
    const [row] = await tx.all(
      `INSERT INTO lineage_fields (dataset_id, name) VALUES (?, ?)
       ON CONFLICT (dataset_id, name) DO UPDATE SET name = excluded.name RETURNING id`,
      [dataset, name],
    );
    const id = Number(row?.['id']);
    fieldIds.set(key, id);
    return id;
  };
  // Rows are locked in one order (datasets by name, then fields by dataset and name, then the
  // job), so two events touching the same datasets cannot wait on each other in a cycle.
  const named = new Map<string, { namespace: string; name: string }>();
  for (const dataset of [...event.inputs, ...event.outputs]) {
    named.set(JSON.stringify([dataset.namespace, dataset.name]), dataset);
    for (const inputs of dataset.columns?.values() ?? [])
      for (const input of inputs) named.set(JSON.stringify([input.namespace, input.name]), input);
    for (const input of dataset.datasetInputs ?? [])
      named.set(JSON.stringify([input.namespace, input.name]), input);
  }
  for (const key of [...named.keys()].sort()) await datasetId(named.get(key) as LineageDataset);
  const fieldNames: [number, string][] = [];
  for (const dataset of [...event.inputs, ...event.outputs]) {
    const id = await datasetId(dataset);
    for (const field of dataset.fields ?? []) fieldNames.push([id, field.name]);
    for (const [field, inputs] of dataset.columns ?? []) {
      fieldNames.push([id, field]);
      for (const input of inputs) fieldNames.push([await datasetId(input), input.field]);
    }
    for (const input of dataset.datasetInputs ?? [])
      fieldNames.push([await datasetId(input), input.field]);
  }
  fieldNames.sort(([a, x], [b, y]) => a - b || (x < y ? -1 : x > y ? 1 : 0));
  for (const [dataset, name] of fieldNames) await fieldId(dataset, name);
  for (const dataset of [...event.inputs, ...event.outputs])
    if (dataset.fields !== undefined) await recordSchema(tx, await datasetId(dataset), dataset, at);

  await tx.run(
    `INSERT INTO lineage_jobs (namespace, name, first_seen, last_seen) VALUES (?, ?, ?, ?)
     ON CONFLICT (namespace, name) DO UPDATE SET ${SEEN('lineage_jobs')}`,
    [event.job.namespace, event.job.name, at, at],
  );
  const [job] = await tx.all(
    `SELECT id, current_run_id, current_run_at FROM lineage_jobs WHERE namespace = ? AND name = ?${
      tx.dialect === 'postgres' ? ' FOR UPDATE' : ''
    }`,
    [event.job.namespace, event.job.name],
  );
  const jobId = Number(job?.['id']);
  if (event.inputs.length + event.outputs.length === 0) return 'none';
  const currentRun = job?.['current_run_id'] as string | null;
  const currentAt = job?.['current_run_at'] === null ? 0 : Number(job?.['current_run_at']);
  const mode =
    currentRun === null || currentRun === event.runId
      ? 'add'
      : at > currentAt || (at === currentAt && event.runId > currentRun)
        ? 'replace'
        : 'stale';
  if (mode === 'stale') return mode;
  await tx.run(`UPDATE lineage_jobs SET current_run_id = ?, current_run_at = ? WHERE id = ?`, [
    event.runId,
    Math.max(at, mode === 'add' ? currentAt : at),
    jobId,
  ]);

  const ioFirstSeen = new Map<string, number>();
  const columnFirstSeen = new Map<string, number>();
  const datasetFirstSeen = new Map<string, number>();
  if (mode === 'replace') {
    for (const row of await tx.all(
      'SELECT direction, dataset_id, first_seen FROM lineage_job_datasets WHERE job_id = ?',
      [jobId],
    ))
      ioFirstSeen.set(`${row['direction']}:${row['dataset_id']}`, Number(row['first_seen']));
    await tx.run('DELETE FROM lineage_job_datasets WHERE job_id = ?', [jobId]);
    /** Keeps when each edge of the job's last run was first seen, then drops the edges. */
    const takeEdges = async (
      table: 'lineage_column_edges' | 'lineage_dataset_edges',
      outputColumn: 'output_field_id' | 'output_dataset_id',
      firstSeen: Map<string, number>,
    ): Promise<void> => {
      for (const row of await tx.all(
        `SELECT ${outputColumn}, input_field_id, transformation_type, transformation_subtype, first_seen
         FROM ${table} WHERE job_id = ?`,
        [jobId],
      ))
        firstSeen.set(
          JSON.stringify([
            Number(row[outputColumn]),
            Number(row['input_field_id']),
            row['transformation_type'],
            row['transformation_subtype'],
          ]),
          Number(row['first_seen']),
        );
      await tx.run(`DELETE FROM ${table} WHERE job_id = ?`, [jobId]);
    };
    await takeEdges('lineage_column_edges', 'output_field_id', columnFirstSeen);
    await takeEdges('lineage_dataset_edges', 'output_dataset_id', datasetFirstSeen);
  }

  const io = async (direction: 'input' | 'output', dataset: number): Promise<void> => {
    const first = ioFirstSeen.get(`${direction}:${dataset}`) ?? at;
    await tx.run(
      `INSERT INTO lineage_job_datasets (job_id, direction, dataset_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (job_id, direction, dataset_id) DO UPDATE SET ${SEEN('lineage_job_datasets')}`,
      [jobId, direction, dataset, first, at],
    );
  };
  for (const input of event.inputs) await io('input', await datasetId(input));
  /** One edge of the job into `table` (dataset-level or column-level), first seen kept. */
  const upsertEdge = (
    table: 'lineage_dataset_edges' | 'lineage_column_edges',
    outputColumn: 'output_dataset_id' | 'output_field_id',
    outputId: number,
    inputField: number,
    input: LineageColumnInput,
    firstSeen: number | undefined,
  ): Promise<unknown> =>
    tx.run(
      `INSERT INTO ${table} (job_id, ${outputColumn}, input_field_id, transformation_type,
         transformation_subtype, description, masking, first_seen, last_seen)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, ${outputColumn}, input_field_id, transformation_type, transformation_subtype)
       DO UPDATE SET description = excluded.description, masking = excluded.masking, ${SEEN(table)}`,
      [
        jobId,
        outputId,
        inputField,
        input.type,
        input.subtype,
        input.description ?? null,
        input.masking === undefined ? null : input.masking ? 1 : 0,
        firstSeen ?? at,
        at,
      ],
    );
  for (const output of event.outputs) {
    const outputId = await datasetId(output);
    await io('output', outputId);
    for (const input of output.datasetInputs ?? []) {
      const inputDataset = await datasetId(input);
      await io('input', inputDataset);
      const inputField = await fieldId(inputDataset, input.field);
      const key = JSON.stringify([outputId, inputField, input.type, input.subtype]);
      await upsertEdge(
        'lineage_dataset_edges',
        'output_dataset_id',
        outputId,
        inputField,
        input,
        datasetFirstSeen.get(key),
      );
    }
    for (const [field, inputs] of output.columns ?? []) {
      const outputField = await fieldId(outputId, field);
      for (const input of inputs) {
        const inputDataset = await datasetId(input);
        await io('input', inputDataset);
        const inputField = await fieldId(inputDataset, input.field);
        const key = JSON.stringify([outputField, inputField, input.type, input.subtype]);
        await upsertEdge(
          'lineage_column_edges',
          'output_field_id',
          outputField,
          inputField,
          input,
          columnFirstSeen.get(key),
        );
      }
    }
  }
  return mode;
}

/** Keeps the newest `schema` facet of a dataset (its field rows are written before). */
async function recordSchema(
  tx: SqlDatabase,
  datasetId: number,
  dataset: LineageEventDataset,
  at: number,
): Promise<void> {
  const fields = dataset.fields ?? [];
  await tx.run(
    `UPDATE lineage_datasets SET fields = ?, fields_at = ? WHERE id = ? AND (fields_at IS NULL OR fields_at <= ?)`,
    [JSON.stringify(fields), at, datasetId, at],
  );
}

/**
 * A lineage transport into the run store: every event a run emits becomes part of the graph that
 * `sluice lineage` and `/api/v1/lineage` answer from.
 *
 * @example
 * ```ts
 * const emitter = createLineageEmitter(project.lineage(), { store: storeLineageTransport(store) });
 * ```
 */
export function storeLineageTransport(store: RunStore): LineageTransport {
  return {
    name: 'store',
    send: async (event) => {
      await recordLineageEvent(store.db, event);
    },
  };
}
