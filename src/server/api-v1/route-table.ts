import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import { ConfigError, UsageError } from '../../core/errors.js';
import type { APITokenRole } from '../../orchestrator/api-tokens.js';
import type { Principal } from '../api-auth.js';
import type { BodyBudget } from '../request-limits.js';
import { readBodyWithin, refusedBody } from '../request-limits.js';

/** The stable codes of the API's error bodies. */
export type APIErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'not_retryable'
  | 'conflict'
  | 'rate_limited';

/** Statuses a route may answer besides its success status (they all carry `{ error, code }`). */
export type APIErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429;

/**
 * An error a route handler throws to answer `{ error, code }` with a status: the one error shape
 * of `/api/v1`. The message says what is wrong and what to do; no stack reaches the client.
 *
 * @example
 * ```ts
 * throw new APIError(404, 'not_found', `no run "${id}"; list runs with GET /api/v1/runs`);
 * ```
 */
export class APIError extends Error {
  readonly status: APIErrorStatus;
  readonly code: APIErrorCode;

  constructor(status: APIErrorStatus, code: APIErrorCode, message: string) {
    super(message);
    this.name = 'APIError';
    this.status = status;
    this.code = code;
  }
}

/** What a handler receives: the validated parts of the request and who sent it. */
export interface RouteInput<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The principal the gate let in (undefined on routes without a role). */
  readonly who: Principal | undefined;
  readonly c: Context;
}

/** A handler's answer: the body, or the body with another success status (202). */
export type RouteResult<R> = R | { readonly status: 200 | 201 | 202; readonly body: R };

/**
 * One route of `/api/v1`: method, path, role and zod schemas of each part. The schemas validate
 * requests, type the handler and generate the OpenAPI document.
 */
export interface RouteSpec<
  P extends z.ZodType = z.ZodType,
  Q extends z.ZodType = z.ZodType,
  B extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  readonly method: 'get' | 'post';
  /** Hono syntax: `/api/v1/runs/:id`. */
  readonly path: string;
  /** The weakest role allowed; null: anyone, without a token (the OpenAPI document). */
  readonly role: APITokenRole | null;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly response: R;
  /** The success status (default 200); 201 for what a route creates, 202 for actions that queue work. */
  readonly status?: 200 | 201 | 202;
  /** Another success status the handler may answer with the same body (a dry run's 200). */
  readonly otherStatus?: 200 | 202;
  /** Error statuses this route answers besides 401/403/429 (default [400]). */
  readonly errors?: readonly APIErrorStatus[];
  /** A response that is not JSON (server-sent events): its media type. */
  readonly stream?: string;
  readonly handler: (
    input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>,
  ) => Promise<RouteResult<z.output<R>> | Response>;
}

/**
 * Declares a route with its types inferred from its schemas.
 *
 * @example
 * ```ts
 * const session = defineRoute({
 *   method: 'get', path: '/api/v1/session', role: 'read', tag: 'session', summary: 'Who am I',
 *   response: z.object({ name: z.string() }),
 *   handler: async ({ who }) => ({ name: who?.name ?? 'anonymous' }),
 * });
 * ```
 */
export function defineRoute<
  P extends z.ZodType = z.ZodObject<Record<string, never>>,
  Q extends z.ZodType = z.ZodObject<Record<string, never>>,
  B extends z.ZodType = z.ZodObject<Record<string, never>>,
  R extends z.ZodType = z.ZodType,
>(spec: RouteSpec<P, Q, B, R>): RouteSpec {
  return spec as unknown as RouteSpec;
}

/** What {@link mountRoutes} needs from the API it joins. */
export interface MountOptions {
  readonly authorize: (c: Context, needed: APITokenRole) => Promise<Principal | Response>;
  readonly budget: BodyBudget;
  readonly maxBodyBytes: number;
  /** Parse every response with its schema too (tests): a drift from the schema is a 500. */
  readonly checkResponses?: boolean;
}

/**
 * Registers routes on a Hono app: the role check first, then the path, query and body checked
 * by their schemas (400 `bad_request` naming the field and what is expected), then the handler;
 * an {@link APIError}, a ConfigError or a UsageError becomes the one error body.
 *
 * @example
 * ```ts
 * mountRoutes(app, [session], { authorize: gate.authorize, budget, maxBodyBytes: 1 << 20 });
 * ```
 */
export function mountRoutes(app: Hono, routes: readonly RouteSpec[], options: MountOptions): void {
  for (const route of routes) {
    const answer = async (c: Context): Promise<Response> => {
      // A control character in a path can name no run or pipeline (and the audit log refuses
      // to record it): refused before anything else reads it.
      const controlled = Object.entries(c.req.param()).find(([, value]) => CONTROL.test(value));
      if (controlled !== undefined)
        return c.json(
          {
            error: `path parameter "${controlled[0]}": holds a control character; no ${controlled[0] === 'id' ? 'run id' : 'name'} has one`,
            code: 'bad_request',
          },
          400,
        );
      let who: Principal | undefined;
      if (route.role !== null) {
        const allowed = await options.authorize(c, route.role);
        if (allowed instanceof Response) return allowed;
        who = allowed;
      }
      try {
        const params = parsePart(route.params, c.req.param(), 'path parameter');
        const query = parsePart(route.query, c.req.query(), 'query parameter');
        let body: unknown = {};
        if (route.body !== undefined) {
          const raw = await readJSON(c, options);
          if (raw instanceof Response) return raw;
          body = parsePart(route.body, raw.value, 'body field');
        }
        const result = await route.handler({ params, query, body, who, c });
        if (result instanceof Response) return result;
        const { status, body: out } =
          typeof result === 'object' && result !== null && 'status' in result && 'body' in result
            ? (result as { status: 200 | 201 | 202; body: unknown })
            : { status: route.status ?? 200, body: result };
        if (options.checkResponses === true) route.response.parse(out);
        return c.json(out as object, status);
      } catch (error) {
        const known = asAPIError(error);
        if (known === undefined) throw error;
        return c.json({ error: known.message, code: known.code }, known.status);
      }
    };
    if (route.method === 'get') app.get(route.path, answer);
    else app.post(route.path, answer);
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The error body of an error a route may throw, or undefined for an unexpected one (500). */
function asAPIError(error: unknown): APIError | undefined {
  if (error instanceof APIError) return error;
  if (error instanceof ConfigError) {
    const unknown = error.diagnostics.some((d) => d.code === 'unknown-pipeline');
    return new APIError(unknown ? 404 : 400, unknown ? 'not_found' : 'bad_request', error.message);
  }
  if (error instanceof UsageError) return new APIError(400, 'bad_request', error.message);
  return undefined;
}

function parsePart(schema: z.ZodType | undefined, value: unknown, where: string): never {
  if (schema === undefined) return {} as never;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as never;
  const problems = parsed.error.issues.slice(0, 5).map((issue) => {
    const field = issue.path.map(String).join('.');
    return field === ''
      ? `${where.replace(/ (parameter|field)$/, '')}: ${issue.message}`
      : `${where} "${field.slice(0, 80)}": ${issue.message}`;
  });
  throw new APIError(400, 'bad_request', problems.join('; '));
}

async function readJSON(
  c: Context,
  options: MountOptions,
): Promise<{ readonly value: unknown } | Response> {
  const read = await readBodyWithin(c.req.raw, options.maxBodyBytes, options.budget);
  if (read === 'too-large' || read === 'busy') return refusedBody(c, read, options.maxBodyBytes);
  const text = read.body.toString('utf8');
  read.release();
  if (text.trim() === '') return { value: {} };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    throw new APIError(400, 'bad_request', 'the body must be a JSON object, e.g. {"params": {}}');
  }
}
