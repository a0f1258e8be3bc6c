import { resolve } from 'node:path';
import { z } from 'zod';
import type { Diagnostic } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { zodDiagnostic } from '../../define/alert-rules.js';
import type { ColumnLineageDeriver } from './column-lineage-hook.js';
import { LineageEmitter } from './lineage-emitter.js';
import type { LineageTransport } from './lineage-transport.js';
import { consoleTransport, fileTransport } from './transports/file-transport.js';
import { httpTransport } from './transports/http-transport.js';
import { natsTransport } from './transports/nats-transport.js';

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

/**
 * The lineage config with the OpenLineage clients' environment variables applied:
 * `OPENLINEAGE_DISABLED=true` turns it off, `OPENLINEAGE_URL` (with `OPENLINEAGE_ENDPOINT`) adds
 * an HTTP transport unless one has that URL already, `OPENLINEAGE_NAMESPACE` sets the namespace.
 *
 * @example
 * ```ts
 * const config = lineageConfigWithEnvironment(project.config.lineage, process.env);
 * ```
 */
export function lineageConfigWithEnvironment(
  config: LineageConfig | undefined,
  env: Readonly<Record<string, string | undefined>>,
): LineageConfig {
  const base = config ?? {};
  if (env['OPENLINEAGE_DISABLED']?.toLowerCase() === 'true') return { ...base, disabled: true };
  const transports = [...(base.transports ?? [])];
  const url = env['OPENLINEAGE_URL'];
  if (
    url !== undefined &&
    url !== '' &&
    !transports.some((t) => t.type === 'http' && t.url === url)
  )
    transports.push({
      type: 'http',
      url,
      ...(env['OPENLINEAGE_ENDPOINT'] ? { endpoint: env['OPENLINEAGE_ENDPOINT'] } : {}),
    });
  const namespace = env['OPENLINEAGE_NAMESPACE'] || base.namespace;
  return { ...base, transports, ...(namespace === undefined ? {} : { namespace }) };
}

/** Options of {@link createLineageEmitter}. */
export interface CreateLineageEmitterOptions {
  /** Folder a file transport's relative path resolves against. */
  readonly baseDir: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /** Receives every event too (the run store's lineage table). */
  readonly store?: LineageTransport;
  readonly onDropped?: (transport: string, reason: 'queue_full' | 'delivery_failed') => void;
  readonly columnLineage?: ColumnLineageDeriver;
}

/**
 * The emitter a validated lineage config describes (environment applied), or undefined when
 * it has no transport and no store.
 *
 * @example
 * ```ts
 * const emitter = createLineageEmitter(project.config.lineage, { baseDir: project.root, env: process.env });
 * ```
 */
export function createLineageEmitter(
  config: LineageConfig | undefined,
  options: CreateLineageEmitterOptions,
): LineageEmitter | undefined {
  const env = options.env ?? {};
  const effective = lineageConfigWithEnvironment(lineageConfigSchema.parse(config ?? {}), env);
  if (effective.disabled === true) return undefined;
  const transports: LineageTransport[] = (effective.transports ?? []).map((transport) =>
    createTransport(transport, options.baseDir, env),
  );
  if (options.store !== undefined) transports.push(options.store);
  if (transports.length === 0) return undefined;
  return LineageEmitter.create({
    transports,
    ...(effective.namespace === undefined ? {} : { namespace: effective.namespace }),
    ...(effective.queueCapacity === undefined ? {} : { queueCapacity: effective.queueCapacity }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.onDropped === undefined ? {} : { onDropped: options.onDropped }),
    ...(options.columnLineage === undefined ? {} : { columnLineage: options.columnLineage }),
  });
}

function createTransport(
  config: LineageTransportConfig,
  baseDir: string,
  env: Readonly<Record<string, string | undefined>>,
): LineageTransport {
  switch (config.type) {
    case 'http': {
      const token = env[config.tokenEnv ?? 'OPENLINEAGE_API_KEY'];
      return httpTransport({
        url: config.url,
        ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
        ...(token === undefined ? {} : { token }),
        ...(config.retries === undefined ? {} : { retries: config.retries }),
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
      });
    }
    case 'file':
      return fileTransport({ path: resolve(baseDir, config.path) });
    case 'console':
      return consoleTransport();
    case 'nats':
      return natsTransport({
        servers: config.servers,
        ...(config.subject === undefined ? {} : { subject: config.subject }),
        ...(config.jetstream === undefined ? {} : { jetstream: config.jetstream }),
      });
  }
}
