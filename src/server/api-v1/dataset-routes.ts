import { z } from 'zod';
import { findLineageNode, lineageNodeId } from '../../orchestrator/lineage-node.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { SqlRow } from '../../orchestrator/sql-database.js';
import { decodePageCursor, encodePageCursor } from './page-cursor.js';
import type { RouteSpec } from './route-table.js';
import { APIError, defineRoute } from './route-table.js';
import { cursorQuery, limitQuery, optionalQuery } from './schemas.js';

/** What the dataset routes read. */
export interface DatasetRouteDeps {
  readonly store: RunStore;
}

/** Lineage events read per job when looking for a dataset's latest writes. */
const EVENTS_PER_JOB = 200;
/** Jobs whose events a dataset's detail reads at most. */
const MAX_JOBS = 50;
/** Latest writes answered at most. */
const MAX_LAST_RUNS = 20;
/** Quality outcomes answered at most. */
const MAX_QUALITY = 100;

const DatasetSchema = z
  .object({
    id: z.string().describe('the lineage node id: dataset:<namespace>:<name>'),
    namespace: z.string(),
    name: z.string(),
    fields: z
      .array(z.object({ name: z.string(), type: z.string().nullable() }))
      .describe('the newest schema facet seen, or []'),
    firstSeen: z.number(),
    lastSeen: z.number(),
    producers: z.array(z.string()).describe('names of the jobs that write it'),
    consumers: z.array(z.string()).describe('names of the jobs that read it'),
  })
  .describe('Dataset');

const DatasetIdParams = z.object({
  id: z
    .string()
    .max(4096)
    .describe('the lineage node id, URL-encoded (e.g. dataset%3Afile%3A%2F%2F%2Flake%3Aorders)'),
});

/**
 * The dataset routes, read from the lineage graph of the run store: datasets searched by name
 * and paged; one dataset with its schema, producing and consuming jobs, the latest runs that
 * wrote it and the outcome of quality suites on it.
 *
 * @example
 * ```ts
 * mountRoutes(app, datasetRoutes({ store }), mountOptions);
 * ```
 */
export function datasetRoutes(deps: DatasetRouteDeps): RouteSpec[] {
  /** Producers and consumers of datasets by their row ids. */
  const jobsOf = async (
    ids: readonly number[],
  ): Promise<Map<number, { producers: string[]; consumers: string[] }>> => {
    const out = new Map<number, { producers: string[]; consumers: string[] }>();
    for (const id of ids) out.set(id, { producers: [], consumers: [] });
    if (ids.length === 0) return out;
    const rows = await deps.store.db.all(
      `SELECT jd.dataset_id AS dataset_id, jd.direction AS direction, j.name AS name
         FROM lineage_job_datasets jd JOIN lineage_jobs j ON j.id = jd.job_id
        WHERE jd.dataset_id IN (${ids.map(() => '?').join(', ')})
        ORDER BY j.name, j.namespace`,
      ids,
    );
    for (const row of rows) {
      const entry = out.get(Number(row['dataset_id']));
      if (entry === undefined) continue;
      const list = row['direction'] === 'output' ? entry.producers : entry.consumers;
      const name = String(row['name']);
      if (!list.includes(name)) list.push(name);
    }
    return out;
  };
  const toDatasets = async (rows: readonly SqlRow[]): Promise<z.output<typeof DatasetSchema>[]> => {
    const jobs = await jobsOf(rows.map((row) => Number(row['id'])));
    return rows.map((row) => {
      const namespace = String(row['namespace']);
      const name = String(row['name']);
      const edges = jobs.get(Number(row['id']));
      return {
        id: lineageNodeId({ kind: 'dataset', namespace, name }),
        namespace,
        name,
        fields: storedFields(row['fields']),
        firstSeen: Number(row['first_seen']),
        lastSeen: Number(row['last_seen']),
        producers: edges?.producers ?? [],
        consumers: edges?.consumers ?? [],
      };
    });
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/datasets',
      role: 'read',
      tag: 'datasets',
      summary: 'Datasets of the lineage graph, by name, searched and paged by an opaque cursor',
      query: z.object({
        q: optionalQuery(z.string().max(256)).describe(
          'only datasets whose namespace or name holds this text (case-insensitive)',
        ),
        limit: limitQuery(1000, 50),
        cursor: cursorQuery,
      }),
      response: z.object({ datasets: z.array(DatasetSchema), nextCursor: z.string().nullable() }),
      handler: async ({ query }) => {
        const after =
          query.cursor === undefined ? undefined : decodePageCursor(query.cursor, ['s', 's']);
        const where: string[] = [];
        const params: (string | number)[] = [];
        if (query.q !== undefined) {
          const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
          where.push(`(lower(name) LIKE ? ESCAPE '\\' OR lower(namespace) LIKE ? ESCAPE '\\')`);
          params.push(pattern, pattern);
        }
        if (after !== undefined) {
          where.push('(name > ? OR (name = ? AND namespace > ?))');
          params.push(after[0] as string, after[0] as string, after[1] as string);
        }
        const rows = await deps.store.db.all(
          `SELECT id, namespace, name, fields, first_seen, last_seen FROM lineage_datasets
           ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`}
           ORDER BY name, namespace LIMIT ?`,
          [...params, query.limit + 1],
        );
        const page = rows.slice(0, query.limit);
        const last = page.at(-1);
        return {
          datasets: await toDatasets(page),
          nextCursor:
            rows.length > query.limit && last !== undefined
              ? encodePageCursor([String(last['name']), String(last['namespace'])])
              : null,
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/v1/datasets/:id',
      role: 'read',
      tag: 'datasets',
      summary: 'One dataset: schema, producers and consumers, latest writes, quality outcomes',
      description:
        '`lastRuns` are the newest lineage events of its producing jobs that name it as an ' +
        'output (at most 20); `quality` holds the outcome of each `dataQualityAssertions` facet ' +
        'those events carry on it, newest first.',
      params: DatasetIdParams,
      response: z.object({
        dataset: DatasetSchema,
        lastRuns: z.array(
          z.object({
            runId: z.string(),
            jobName: z.string(),
            eventType: z.string().nullable(),
            eventTime: z.number(),
          }),
        ),
        quality: z.array(
          z.object({
            runId: z.string(),
            at: z.number(),
            success: z.boolean().describe('every assertion of the suite held'),
          }),
        ),
      }),
      errors: [400, 404],
      handler: async ({ params }) => {
        const node = params.id.startsWith('dataset:')
          ? await findLineageNode(deps.store.db, params.id)
          : undefined;
        if (node === undefined || node.kind !== 'dataset')
          throw new APIError(
            404,
            'not_found',
            `no dataset has the id "${params.id.slice(0, 120)}"; ids look like dataset:<namespace>:<name> (URL-encoded); GET /api/v1/datasets lists them`,
          );
        const rows = await deps.store.db.all(
          'SELECT id, namespace, name, fields, first_seen, last_seen FROM lineage_datasets WHERE id = ?',
          [node.id],
        );
        const [dataset] = await toDatasets(rows);
        if (dataset === undefined)
          throw new APIError(404, 'not_found', `the dataset "${params.id.slice(0, 120)}" is gone`);
        const jobs = await deps.store.db.all(
          `SELECT DISTINCT j.namespace AS namespace, j.name AS name
             FROM lineage_job_datasets jd JOIN lineage_jobs j ON j.id = jd.job_id
            WHERE jd.dataset_id = ? ORDER BY j.name, j.namespace LIMIT ?`,
          [node.id, MAX_JOBS],
        );
        const lastRuns: {
          runId: string;
          jobName: string;
          eventType: string | null;
          eventTime: number;
        }[] = [];
        const quality: { runId: string; at: number; success: boolean }[] = [];
        const seenQuality = new Set<string>();
        for (const job of jobs) {
          const events = await deps.store.db.all(
            `SELECT id, run_id, event_type, event_time, job_name, payload FROM lineage_events
              WHERE job_namespace = ? AND job_name = ? ORDER BY event_time DESC, id DESC LIMIT ?`,
            [String(job['namespace']), String(job['name']), EVENTS_PER_JOB],
          );
          for (const event of events) {
            const found = datasetsIn(event['payload'], dataset.namespace, dataset.name);
            const runId = String(event['run_id']);
            const eventTime = Number(event['event_time']);
            if (found.output)
              lastRuns.push({
                runId,
                jobName: String(event['job_name']),
                eventType: event['event_type'] === null ? null : String(event['event_type']),
                eventTime,
              });
            for (const success of found.assertions) {
              const key = `${runId}\u0000${eventTime}\u0000${success}`;
              if (seenQuality.has(key)) continue;
              seenQuality.add(key);
              quality.push({ runId, at: eventTime, success });
            }
          }
        }
        const byRun = (a: { runId: string }, b: { runId: string }): number =>
          a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0;
        lastRuns.sort((a, b) => b.eventTime - a.eventTime || byRun(a, b));
        quality.sort((a, b) => b.at - a.at || byRun(a, b));
        return {
          dataset,
          lastRuns: lastRuns.slice(0, MAX_LAST_RUNS),
          quality: quality.slice(0, MAX_QUALITY),
        };
      },
    }),
  ];
}

/** The stored schema facet's fields, or [] when there is none (or it cannot be read). */
function storedFields(value: unknown): { name: string; type: string | null }[] {
  if (value === null || value === undefined) return [];
  try {
    const fields = JSON.parse(String(value)) as unknown;
    if (!Array.isArray(fields)) return [];
    return fields.flatMap((f: unknown) => {
      if (typeof f !== 'object' || f === null) return [];
      const { name, type } = f as { name?: unknown; type?: unknown };
      return typeof name === 'string'
        ? [{ name, type: typeof type === 'string' ? type : null }]
        : [];
    });
  } catch {
    return [];
  }
}

/**
 * Whether a stored event names the dataset as an output, and the outcome of each
 * `dataQualityAssertions` facet it carries on it (as input or output).
 */
function datasetsIn(
  payload: unknown,
  namespace: string,
  name: string,
): { output: boolean; assertions: boolean[] } {
  let event: unknown;
  try {
    event = JSON.parse(String(payload));
  } catch {
    return { output: false, assertions: [] };
  }
  const list = (key: string): Record<string, unknown>[] => {
    const value = (event as Record<string, unknown> | null)?.[key];
    return Array.isArray(value)
      ? value.filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
      : [];
  };
  const same = (d: Record<string, unknown>): boolean =>
    d['namespace'] === namespace && d['name'] === name;
  const outputs = list('outputs').filter(same);
  const assertions = [...list('inputs').filter(same), ...outputs].flatMap((d) => {
    const facet = (d['facets'] as Record<string, unknown> | undefined)?.['dataQualityAssertions'];
    const items = (facet as { assertions?: unknown } | undefined)?.assertions;
    if (!Array.isArray(items) || items.length === 0) return [];
    return [items.every((a) => (a as { success?: unknown } | null)?.success === true)];
  });
  return { output: outputs.length > 0, assertions };
}
