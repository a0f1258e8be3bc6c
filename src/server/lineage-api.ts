import type { Context, Hono } from 'hono';
import { LineageEventError } from '../core/errors.js';
import type { APITokenRole } from '../orchestrator/api-tokens.js';
import type { LineageDirection } from '../orchestrator/lineage-graph.js';
import {
  MAX_LINEAGE_DEPTH,
  columnLineage,
  datasetLineage,
  lineageImpact,
} from '../orchestrator/lineage-graph.js';
import type { LineageNodeRef } from '../orchestrator/lineage-node.js';
import { findLineageNode } from '../orchestrator/lineage-node.js';
import { recordLineageEvent } from '../orchestrator/lineage-store.js';
import type { RunStore } from '../orchestrator/run-store.js';
import type { Principal } from './api-auth.js';
import type { BodyBudget } from './request-limits.js';
import { readBodyWithin, refusedBody } from './request-limits.js';

/** What {@link mountLineage} needs from the API it joins. */
export interface LineageRouteOptions {
  readonly store: RunStore;
  readonly authorize: (c: Context, needed: APITokenRole) => Promise<Principal | Response>;
  readonly budget: BodyBudget;
  /** Largest event accepted by `POST /api/v1/lineage`. */
  readonly maxBodyBytes: number;
}

const DEFAULT_DEPTH = 20;
const DIRECTIONS: readonly LineageDirection[] = ['upstream', 'downstream', 'both'];

/**
 * The lineage endpoints of `sluice serve --http`, shaped as Marquez's so its clients and UI work:
 *
 * - `GET /api/v1/lineage?nodeId=dataset:<ns>:<name>&depth=20[&direction=both]` (or
 *   `nodeId=job:<ns>:<name>`): `{ graph: [{ id, type, data, inEdges, outEdges }] }`;
 * - `GET /api/v1/column-lineage?nodeId=datasetField:<ns>:<name>:<field>&depth=20` (upstream
 *   unless `withDownstream=true` or `direction=`), or `nodeId=dataset:...` for all its columns;
 * - `GET /api/v1/lineage/impact?nodeId=...`: the jobs, datasets and columns downstream;
 * - `POST /api/v1/lineage`: records an OpenLineage RunEvent (the HTTP transport's endpoint),
 *   201 `{ recorded, eventKey }`; needs the `trigger` role.
 *
 * Reads need the `read` role. A missing or malformed `nodeId` or `depth` is 400, a node the store
 * does not know 404, a malformed event 400 with the field at fault, a body over the limit 413.
 *
 * @example
 * ```ts
 * mountLineage(app, { store, authorize: gate.authorize, budget, maxBodyBytes: 1024 * 1024 });
 * // curl -H 'Authorization: Bearer ...' 'localhost:8080/api/v1/lineage?nodeId=dataset:file:///lake:orders&depth=5'
 * ```
 */
export function mountLineage(app: Hono, options: LineageRouteOptions): void {
  const { store, authorize } = options;
  app.get('/api/v1/lineage', async (c) => {
    const who = await authorize(c, 'read');
    if (who instanceof Response) return who;
    const query = readQuery(c, 'both');
    if (typeof query === 'string') return c.json({ error: query, code: 'bad_request' }, 400);
    const node = await findNode(c, store, query.nodeId);
    if (node instanceof Response) return node;
    return c.json(await datasetLineage(store.db, node, query));
  });
  app.get('/api/v1/column-lineage', async (c) => {
    const who = await authorize(c, 'read');
    if (who instanceof Response) return who;
    const query = readQuery(c, c.req.query('withDownstream') === 'true' ? 'both' : 'upstream');
    if (typeof query === 'string') return c.json({ error: query, code: 'bad_request' }, 400);
    if (query.nodeId.startsWith('job:'))
      return c.json(
        {
          error:
            'column lineage starts from a column (datasetField:<namespace>:<name>:<field>) or a dataset, not a job',
          code: 'bad_request',
        },
        400,
      );
    const node = await findNode(c, store, query.nodeId);
    if (node instanceof Response) return node;
    return c.json(await columnLineage(store.db, node, query));
  });
  app.get('/api/v1/lineage/impact', async (c) => {
    const who = await authorize(c, 'read');
    if (who instanceof Response) return who;
    const nodeId = c.req.query('nodeId');
    if (nodeId === undefined || nodeId === '')
      return c.json({ error: NODE_ID_NEEDED, code: 'bad_request' }, 400);
    const node = await findNode(c, store, nodeId);
    if (node instanceof Response) return node;
    return c.json(await lineageImpact(store.db, node));
  });
  app.post('/api/v1/lineage', async (c) => {
    const who = await authorize(c, 'trigger');
    if (who instanceof Response) return who;
    const read = await readBodyWithin(c.req.raw, options.maxBodyBytes, options.budget);
    if (read === 'too-large' || read === 'busy')
      return refusedBody(c, read, options.maxBodyBytes, 'send one event per request');
    const text = read.body.toString('utf8');
    read.release();
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return c.json(
        {
          error: 'the body must be one OpenLineage RunEvent as JSON',
          code: 'LINEAGE_EVENT_INVALID',
        },
        400,
      );
    }
    try {
      const result = await recordLineageEvent(store.db, event);
      return c.json({ recorded: result.recorded, eventKey: result.eventKey }, 201);
    } catch (error) {
      if (error instanceof LineageEventError)
        return c.json({ error: error.message, code: error.code, path: error.path }, 400);
      throw error;
    }
  });
}

const NODE_ID_NEEDED =
  '"nodeId" is required, e.g. nodeId=dataset:<namespace>:<name> or nodeId=datasetField:<namespace>:<name>:<field>';

function readQuery(
  c: Context,
  defaultDirection: LineageDirection,
): { nodeId: string; depth: number; direction: LineageDirection } | string {
  const nodeId = c.req.query('nodeId');
  if (nodeId === undefined || nodeId === '') return NODE_ID_NEEDED;
  const depthText = c.req.query('depth');
  const depth = depthText === undefined ? DEFAULT_DEPTH : Number(depthText);
  if (depthText === '' || !Number.isInteger(depth) || depth < 0 || depth > MAX_LINEAGE_DEPTH)
    return `"depth" must be a whole number from 0 to ${MAX_LINEAGE_DEPTH} (default ${DEFAULT_DEPTH})`;
  const direction = (c.req.query('direction') ?? defaultDirection) as LineageDirection;
  if (!DIRECTIONS.includes(direction))
    return `"direction" must be ${DIRECTIONS.join(', ')} (default ${defaultDirection})`;
  return { nodeId, depth, direction };
}

async function findNode(
  c: Context,
  store: RunStore,
  nodeId: string,
): Promise<LineageNodeRef | Response> {
  const node = await findLineageNode(store.db, nodeId); // a malformed id is a UsageError: 400
  return (
    node ??
    c.json(
      {
        error: `no node "${nodeId.length > 200 ? `${nodeId.slice(0, 200)}...` : nodeId}" in the lineage store`,
        code: 'not_found',
      },
      404,
    )
  );
}
