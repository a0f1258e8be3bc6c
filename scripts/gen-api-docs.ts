/**
 * Generates `docs/api.md`, the reference of the HTTP API `/api/v1`, from its OpenAPI document
 * (itself generated from the routes' zod schemas): per route its method and path, the role it
 * needs, its parameters, body, response and errors. Output goes through Prettier and is
 * deterministic, so a test compares it with the page.
 *
 * Run: `npm run docs:api`
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import prettier from 'prettier';
import { apiV1OpenAPI } from '../src/server/api-v1/index.js';
import { isMainModule, renderTable } from './markdown.js';

/** The command that regenerates the page. */
export const REGENERATE_COMMAND = 'npm run docs:api';

/** The page, from the repository's root. */
export const API_PAGE = 'docs/api.md';

type Schema = Record<string, unknown>;

interface Operation {
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly 'x-required-role': string;
  readonly parameters: readonly {
    name: string;
    in: string;
    required: boolean;
    description?: string;
    schema: Schema;
  }[];
  readonly requestBody?: { content: Record<string, { schema: Schema }> };
  readonly responses: Record<
    string,
    { description: string; content: Record<string, { schema: Schema }> }
  >;
}

/**
 * The Markdown of `docs/api.md`, formatted by Prettier with the repository's config.
 *
 * @example
 * ```ts
 * writeFileSync('docs/api.md', await renderAPIDocs());
 * ```
 */
export async function renderAPIDocs(): Promise<string> {
  const doc = apiV1OpenAPI() as {
    info: { description: string };
    paths: Record<string, Record<string, Operation>>;
  };
  const out: string[] = [
    '# HTTP API reference (`/api/v1`)',
    '',
    `<!-- generated from the routes' zod schemas by ${REGENERATE_COMMAND}; do not edit by hand -->`,
    '',
    doc.info.description,
    '',
    'The OpenAPI 3.1 document is served at `GET /api/v1/openapi.json`. Errors are always',
    '`{ "error": "<what is wrong and what to do>", "code": "<stable code>" }`: 400 `bad_request`,',
    '401 `unauthorized`, 403 `forbidden`, 404 `not_found`, 409 `not_retryable` or `conflict`,',
    '413 `too_large`, 429 `rate_limited`. Lists are paged by an opaque `cursor`: pass the',
    '`nextCursor` of a page to get the next one (runs queued meanwhile never shift a page).',
    '',
    '## Routes',
    '',
  ];
  const rows: string[][] = [];
  const sections: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) {
      const title = `${method.toUpperCase()} ${path}`;
      rows.push([`[\`${title}\`](#${anchor(title)})`, op['x-required-role'], op.summary]);
      sections.push(...operationSection(title, op));
    }
  out.push(renderTable(['route', 'role', 'what'], rows), '', ...sections);
  const config = (await prettier.resolveConfig(fileURLToPath(import.meta.url))) ?? {};
  return prettier.format(out.join('\n'), { ...config, parser: 'markdown' });
}

function operationSection(title: string, op: Operation): string[] {
  const lines = [`## ${title}`, '', `${op.summary}. Role: \`${op['x-required-role']}\`.`, ''];
  if (op.description !== undefined) lines.push(op.description, '');
  if (op.parameters.length > 0)
    lines.push(
      renderTable(
        ['parameter', 'in', 'required', 'type', 'meaning'],
        op.parameters.map((p) => [
          `\`${p.name}\``,
          p.in,
          p.required ? 'yes' : 'no',
          `\`${typeText(p.schema, '').replaceAll('|', '\\|')}\``,
          (p.description ?? '').replaceAll('|', '\\|'),
        ]),
      ),
      '',
    );
  const body = op.requestBody?.content['application/json']?.schema;
  if (body !== undefined)
    lines.push('Body (JSON):', '', '```ts', `type Body = ${typeText(body, '')};`, '```', '');
  for (const [status, response] of Object.entries(op.responses)) {
    const [media, content] = Object.entries(response.content)[0] ?? [];
    if (Number(status) >= 400) continue;
    if (media !== 'application/json') {
      lines.push(`Answers ${status} (${media ?? 'no body'}): ${response.description}.`, '');
      continue;
    }
    lines.push(`Answers ${status} (${media}):`, '');
    if (content !== undefined)
      lines.push('```ts', `type Response = ${typeText(content.schema, '')};`, '```', '');
  }
  const errors = Object.entries(op.responses)
    .filter(([status]) => Number(status) >= 400)
    .map(([status, response]) => `- ${status}: ${response.description}`);
  if (errors.length > 0) lines.push('Errors:', '', ...errors, '');
  return lines;
}

/** A JSON Schema as a TypeScript-like type, with field descriptions as comments. */
function typeText(schema: Schema, indent: string): string {
  const members = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (members !== undefined) return members.map((m) => typeText(m, indent)).join(' | ');
  if (Array.isArray(schema['enum']))
    return (schema['enum'] as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  if (schema['const'] !== undefined) return JSON.stringify(schema['const']);
  if (schema['$ref'] !== undefined) return String(schema['$ref']).split('/').at(-1) ?? 'unknown';
  const type = schema['type'];
  if (Array.isArray(type))
    return type.map((t) => typeText({ ...schema, type: t }, indent)).join(' | ');
  switch (type) {
    case 'string':
      return 'string';
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'null':
      return 'null';
    case 'array': {
      const item = typeText((schema['items'] as Schema | undefined) ?? {}, indent);
      return /[|{ ]/.test(item) && !item.startsWith('{') ? `(${item})[]` : `${item}[]`;
    }
    case 'object': {
      const properties = schema['properties'] as Record<string, Schema> | undefined;
      const required = new Set((schema['required'] as string[] | undefined) ?? []);
      if (properties === undefined || Object.keys(properties).length === 0) {
        const values = schema['additionalProperties'];
        const value = typeof values === 'object' ? typeText(values as Schema, indent) : 'unknown';
        return `{ [key: string]: ${value} }`;
      }
      const inner = `${indent}  `;
      const fields = Object.entries(properties).map(([name, field]) => {
        const note = typeof field['description'] === 'string' ? ` // ${field['description']}` : '';
        return `${inner}${name}${required.has(name) ? '' : '?'}: ${typeText(field, inner)};${note}`;
      });
      return `{\n${fields.join('\n')}\n${indent}}`;
    }
    default:
      return 'unknown';
  }
}

function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

/**
 * Writes `docs/api.md`.
 *
 * @example
 * ```ts
 * await writeAPIDocs();
 * ```
 */
export async function writeAPIDocs(): Promise<void> {
  const path = fileURLToPath(new URL(`../${API_PAGE}`, import.meta.url));
  const text = await renderAPIDocs();
  const before = (() => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  })();
  if (before !== text) writeFileSync(path, text);
  console.log(`${API_PAGE}: ${before === text ? 'up to date' : 'written'}`);
}

if (isMainModule(import.meta.url)) await writeAPIDocs();
