import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { apiV1OpenAPI, apiV1Routes } from '../src/server/api-v1/index.js';
import type { TriggerAPI } from '../src/server/trigger-api.js';
import { startTriggerAPI } from '../src/server/trigger-api.js';
import { API_PAGE, REGENERATE_COMMAND, renderAPIDocs } from '../scripts/gen-api-docs.js';
import { apiTestProject } from './api-v1-support.js';
import { tempDir } from './helpers.js';

/**
 * The structure OpenAPI 3.1 requires of a document (the parts this API uses), after the
 * specification's own schema (spec.openapis.org/oas/3.1/schema): required fields, the shapes of
 * paths, operations, parameters, request bodies, responses and security schemes.
 */
const OPENAPI_31_STRUCTURE = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  properties: {
    openapi: { type: 'string', pattern: '^3\\.1\\.\\d+(-.+)?$' },
    info: {
      type: 'object',
      required: ['title', 'version'],
      properties: { title: { type: 'string' }, version: { type: 'string' } },
    },
    jsonSchemaDialect: { type: 'string', format: 'uri' },
    servers: { type: 'array', items: { type: 'object', required: ['url'] } },
    tags: { type: 'array', items: { type: 'object', required: ['name'] } },
    paths: {
      type: 'object',
      propertyNames: { pattern: '^/' },
      additionalProperties: {
        type: 'object',
        propertyNames: {
          enum: [
            'get',
            'put',
            'post',
            'delete',
            'options',
            'head',
            'patch',
            'trace',
            'summary',
            'description',
            'parameters',
            'servers',
          ],
        },
        additionalProperties: { $ref: '#/$defs/operation' },
      },
    },
    components: {
      type: 'object',
      properties: {
        schemas: { type: 'object', additionalProperties: { type: ['object', 'boolean'] } },
        securitySchemes: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            required: ['type'],
            properties: {
              type: { enum: ['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'] },
            },
            if: { properties: { type: { const: 'http' } } },
            then: { required: ['scheme'] },
          },
        },
      },
    },
  },
  patternProperties: { '^x-': true },
  additionalProperties: false,
  $defs: {
    operation: {
      type: 'object',
      required: ['responses'],
      properties: {
        operationId: { type: 'string' },
        summary: { type: 'string' },
        description: { type: 'string' },
        tags: { type: 'array', items: { type: 'string' } },
        security: { type: 'array', items: { type: 'object' } },
        parameters: { type: 'array', items: { $ref: '#/$defs/parameter' } },
        requestBody: {
          type: 'object',
          required: ['content'],
          properties: { content: { $ref: '#/$defs/content' } },
        },
        responses: {
          type: 'object',
          minProperties: 1,
          propertyNames: { pattern: '^([1-5](\\d\\d|XX)|default)$' },
          additionalProperties: {
            type: 'object',
            required: ['description'],
            properties: { description: { type: 'string' }, content: { $ref: '#/$defs/content' } },
          },
        },
      },
      patternProperties: { '^x-': true },
      additionalProperties: false,
    },
    parameter: {
      type: 'object',
      required: ['name', 'in', 'schema'],
      properties: {
        name: { type: 'string' },
        in: { enum: ['query', 'header', 'path', 'cookie'] },
        required: { type: 'boolean' },
        description: { type: 'string' },
        schema: { type: ['object', 'boolean'] },
      },
      if: { properties: { in: { const: 'path' } } },
      then: { properties: { required: { const: true } }, required: ['required'] },
      additionalProperties: false,
    },
    content: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { schema: { type: ['object', 'boolean'] } },
      },
    },
  },
};

describe('the OpenAPI document of /api/v1', () => {
  const doc = apiV1OpenAPI() as {
    openapi: string;
    paths: Record<
      string,
      Record<
        string,
        {
          parameters: { name: string; in: string; schema: unknown }[];
          responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
          requestBody?: { content: Record<string, { schema: unknown }> };
        }
      >
    >;
  };

  it('has the structure OpenAPI 3.1 requires, and every schema compiles as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(OPENAPI_31_STRUCTURE);
    expect(validate(doc), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const schemas: unknown[] = [];
    for (const operations of Object.values(doc.paths))
      for (const op of Object.values(operations)) {
        for (const parameter of op.parameters) schemas.push(parameter.schema);
        for (const media of Object.values(op.requestBody?.content ?? {}))
          schemas.push(media.schema);
        for (const response of Object.values(op.responses))
          for (const media of Object.values(response.content ?? {})) schemas.push(media.schema);
      }
    const components = (doc as unknown as { components: unknown }).components;
    for (const schema of schemas)
      // The error responses $ref the document's components: compile each with them beside it.
      expect(
        () => ajv.compile({ ...(schema as object), components }),
        JSON.stringify(schema).slice(0, 200),
      ).not.toThrow();
  });

  it('lists every route, with its path parameters', () => {
    const placeholder = {} as Parameters<typeof apiV1Routes>[0];
    const routes = apiV1Routes(placeholder, undefined);
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const expected = [
      ...routes.map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`),
      'GET /api/v1/openapi.json',
    ];
    expect(listed.sort()).toEqual(expected.sort());
    // The contract's routes, all present.
    for (const route of [
      'GET /api/v1/session',
      'GET /api/v1/overview',
      'GET /api/v1/pipelines',
      'GET /api/v1/pipelines/{name}',
      'GET /api/v1/pipelines/{name}/grid',
      'GET /api/v1/runs',
      'GET /api/v1/runs/{id}',
      'GET /api/v1/runs/{id}/steps/{step}/logs',
      'GET /api/v1/runs/{id}/quality',
      'GET /api/v1/runs/{id}/quarantine',
      'POST /api/v1/pipelines/{name}/runs',
      'POST /api/v1/runs/{id}/cancel',
      'POST /api/v1/runs/{id}/retry',
      'POST /api/v1/pipelines/{name}/pause',
      'POST /api/v1/pipelines/{name}/unpause',
      'POST /api/v1/pipelines/{name}/backfills',
      'GET /api/v1/updates',
      'GET /api/v1/openapi.json',
    ])
      expect(listed).toContain(route);
    for (const [path, ops] of Object.entries(doc.paths))
      for (const op of Object.values(ops)) {
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(op.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(inPath);
      }
  });

  describe('served', () => {
    let store: RunStore;
    let api: TriggerAPI;
    beforeEach(async () => {
      const dir = await tempDir('sluice-api-v1-openapi-');
      await apiTestProject(dir);
      store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
      api = await startTriggerAPI({
        store,
        project: await Project.open(dir),
        port: 0,
        token: 'a-long-enough-test-token-0123456789',
      });
    });
    afterEach(async () => {
      await api.close();
      await store.close();
    });

    it('GET /api/v1/openapi.json needs no token and is the generated document', async () => {
      const response = await fetch(`${api.url}/api/v1/openapi.json`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(JSON.parse(JSON.stringify(doc)));
      // Other routes do need the token.
      expect((await fetch(`${api.url}/api/v1/runs`)).status).toBe(401);
      const unknown = await fetch(`${api.url}/api/v1/nope`);
      expect(unknown.status).toBe(404);
    });
  });
});

describe('limits of /api/v1', () => {
  it('answers 429 rate_limited past the rate, and 413 too_large past the body limit', async () => {
    const dir = await tempDir('sluice-api-v1-limits-');
    await apiTestProject(dir);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    const api = await startTriggerAPI({
      store,
      project: await Project.open(dir),
      port: 0,
      limits: { requestsPerSecond: 1, burst: 3, maxBodyBytes: 64 },
    });
    try {
      const big = await fetch(`${api.url}/api/v1/pipelines/failing/runs`, {
        method: 'POST',
        body: JSON.stringify({ params: { x: 'y'.repeat(200) } }),
      });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({ code: 'too_large' });
      const statuses: number[] = [];
      let limited: Response | undefined;
      for (let i = 0; i < 10 && limited === undefined; i += 1) {
        const response = await fetch(`${api.url}/api/v1/session`);
        statuses.push(response.status);
        if (response.status === 429) limited = response;
        else await response.body?.cancel();
      }
      expect(limited?.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await limited?.json()).toMatchObject({ code: 'rate_limited' });
      expect(statuses.slice(0, 2)).toEqual([200, 200]);
      expect(await store.listRuns()).toEqual([]);
    } finally {
      await api.close();
      await store.close();
    }
  });
});

describe(`${API_PAGE}`, () => {
  it('matches what the OpenAPI document generates', async () => {
    const page = readFileSync(new URL(`../${API_PAGE}`, import.meta.url), 'utf8');
    expect(page, `${API_PAGE} is out of date; run: ${REGENERATE_COMMAND}`).toBe(
      await renderAPIDocs(),
    );
  });
});
