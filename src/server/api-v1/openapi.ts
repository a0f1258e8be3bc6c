import { z } from 'zod';
import type { RouteSpec } from './route-table.js';
import { ErrorBody } from './schemas.js';

/** An OpenAPI 3.1 document, as JSON. */
export type OpenAPIDocument = Record<string, unknown>;

const ERROR_TEXT: Readonly<Record<number, string>> = {
  400: 'bad_request: a path, query or body field is not what the route expects (named in `error`)',
  401: 'unauthorized: a token is required, or the one sent is not valid',
  403: "forbidden: the token's role is weaker than the route needs",
  404: 'not_found: no such run, pipeline or step',
  409: 'conflict: not_retryable (the run did not fail), or an idempotency key reused with other params',
  413: 'too_large: the body is over the limit',
  429: 'rate_limited: too many requests; see Retry-After',
};

/**
 * The OpenAPI 3.1 document of routes, generated from their zod schemas with `z.toJSONSchema`
 * (JSON Schema 2020-12, which OpenAPI 3.1 uses): parameters from the path and query schemas,
 * the body, the success response and the error responses with the one error shape.
 *
 * @example
 * ```ts
 * const doc = openAPIDocument(apiV1RouteSpecs(), { version: '0.1.0' });
 * doc.paths['/api/v1/runs/{id}'].get.responses['200'];
 * ```
 */
export function openAPIDocument(
  routes: readonly RouteSpec[],
  info: { readonly version: string },
): OpenAPIDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const operation: Record<string, unknown> = {
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      tags: [route.tag],
      'x-required-role': route.role ?? 'none',
      security: route.role === null ? [] : [{ bearer: [] }],
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              required: false,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }),
      responses: responses(route),
    };
    paths[path] = { ...paths[path], [route.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice HTTP API',
      version: info.version,
      description:
        'The JSON API of `sluice serve --http`, used by the web UI and scripts. Send ' +
        '`Authorization: Bearer <token>` once tokens exist; roles read < trigger < admin. ' +
        'Every error is `{ "error", "code" }`. Times are epoch milliseconds.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    servers: [{ url: '/' }],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { Error: jsonSchema(ErrorBody, 'output') },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'a token from `sluice tokens create`, or $SLUICE_API_TOKEN',
        },
      },
    },
  };
}

function operationId(route: RouteSpec): string {
  const words = route.path
    .replace(/^\/api\/v1\//, '')
    .split('/')
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part))
    .join('-');
  return `${route.method}-${words}`.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) =>
    (c ?? '').toUpperCase(),
  );
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): unknown[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const fieldSchema = jsonSchema(field, 'input');
    const description = fieldSchema['description'];
    delete fieldSchema['description'];
    return {
      name,
      in: where,
      required: where === 'path' || !field.safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema: fieldSchema,
    };
  });
}

function responses(route: RouteSpec): Record<string, unknown> {
  const status = String(route.status ?? 200);
  const out: Record<string, unknown> = {
    [status]: {
      description: route.stream === undefined ? 'OK' : 'a stream of server-sent events',
      content:
        route.stream === undefined
          ? { 'application/json': { schema: jsonSchema(route.response, 'output') } }
          : { [route.stream]: { schema: { type: 'string' } } },
    },
  };
  if (route.otherStatus !== undefined)
    out[String(route.otherStatus)] = {
      description: 'OK (see the description for when)',
      content: { 'application/json': { schema: jsonSchema(route.response, 'output') } },
    };
  const errors = new Set<number>([...(route.errors ?? [400])]);
  if (route.role !== null) for (const code of [401, 403, 429]) errors.add(code);
  for (const code of [...errors].sort())
    out[String(code)] = {
      description: ERROR_TEXT[code] ?? 'an error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  return out;
}

/** A zod schema as JSON Schema 2020-12, without its `$schema` (the document names the dialect). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}
