import { z } from 'zod';
import type { Diagnostic } from '../../core/errors.js';
import { zodDiagnostic } from '../../define/alert-rules.js';

const httpConfig = z.strictObject({
  type: z.literal('http'),
  url: z.url({ protocol: /^https?$/ }).describe('the server, e.g. `http://marquez:5000`'),
  endpoint: z
    .string()
    .startsWith('/')
    .optional()
    .describe('the path events are POSTed to (default `/api/v1/lineage`)'),
  tokenEnv: z
    .string()
    .min(1)
    .optional()
    .describe('the environment variable holding the bearer token (default `OPENLINEAGE_API_KEY`)'),
  retries: z.int().min(0).max(20).optional().describe('tries after the first (default 5)'),
  timeoutMs: z
    .int()
    .positive()
    .optional()
    .describe('how long one request may take (default 10000)'),
});

const fileConfig = z.strictObject({
  type: z.literal('file'),
  path: z
    .string()
    .min(1)
    .describe('the NDJSON file events are appended to, relative to the project'),
});

const consoleConfig = z.strictObject({ type: z.literal('console') });

const natsConfig = z.strictObject({
  type: z.literal('nats'),
  servers: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe('NATS server URL(s)'),
  subject: z.string().min(1).optional().describe('the subject (default `openlineage.events`)'),
  jetstream: z
    .boolean()
    .optional()
    .describe('publish through JetStream and wait for its ack (default true)'),
});

/**
 * The zod schema of `lineage` in `sluice.config.ts`.
 *
 * @example
 * ```ts
 * lineageConfigSchema.parse({ namespace: 'shop', transports: [{ type: 'file', path: 'lineage.ndjson' }] });
 * ```
 */
export const lineageConfigSchema = z.strictObject({
  namespace: z
    .string()
    .min(1)
    .optional()
    .describe(
      "the OpenLineage namespace of the project's jobs and in-pipeline datasets (default `sluice`)",
    ),
  transports: z
    .array(z.discriminatedUnion('type', [httpConfig, fileConfig, consoleConfig, natsConfig]))
    .optional()
    .describe('where events go (default: nowhere; `OPENLINEAGE_URL` adds an HTTP transport)'),
  queueCapacity: z
    .int()
    .positive()
    .optional()
    .describe(
      'events each transport may hold waiting; more are dropped and counted (default 10000)',
    ),
  disabled: z.boolean().optional().describe('emit nothing'),
});

/** `lineage` in `sluice.config.ts`. */
export type LineageConfig = z.input<typeof lineageConfigSchema>;

/** One transport of {@link LineageConfig}. */
export type LineageTransportConfig = NonNullable<LineageConfig['transports']>[number];

/**
 * The problems of a project's `lineage` config as diagnostics.
 *
 * @example
 * ```ts
 * const problems = lineageConfigDiagnostics(config.lineage, 'sluice.config.ts');
 * ```
 */
export function lineageConfigDiagnostics(config: unknown, file?: string): Diagnostic[] {
  if (config === undefined) return [];
  const parsed = lineageConfigSchema.safeParse(config);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({
    ...zodDiagnostic(issue, 'lineage', 'invalid-lineage-config'),
    hint: "see docs/lineage.md: lineage: { transports: [{ type: 'http', url: 'http://marquez:5000' }] }",
    ...(file === undefined ? {} : { file }),
  }));
}
