import { resolve } from 'node:path';
import type { Logger } from '../../core/logger.js';
import type { ColumnLineageDeriver } from './column-lineage-hook.js';
import { LineageEmitter } from './lineage-emitter.js';
import type { LineageConfig, LineageTransportConfig } from './lineage-config-schema.js';
import type { LineageTransport } from './lineage-transport.js';
import { consoleTransport, fileTransport } from './transports/file-transport.js';
import { httpTransport } from './transports/http-transport.js';
import { natsTransport } from './transports/nats-transport.js';

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
  const effective = lineageConfigWithEnvironment(config, env);
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
