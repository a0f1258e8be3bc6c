import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A dataset's OpenLineage identity. */
export interface DatasetIdentity {
  readonly namespace: string;
  readonly name: string;
}

/** What naming a connector's datasets takes: its name, its validated config, and where it ran. */
export interface ConnectorDatasets {
  readonly connector: string;
  readonly config: unknown;
  /** Folder relative paths in the config resolve against. */
  readonly baseDir: string;
  /** The files or tables the step reported reading or writing (absolute paths for files). */
  readonly locations: readonly string[];
}

const FILE_CONNECTORS = new Set(['csv', 'tsv', 'json', 'ndjson', 'parquet', 'avro', 'files']);
const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  postgres: 5432,
  mysql: 3306,
  kafka: 9092,
  nats: 4222,
  redis: 6379,
  mqtt: 1883,
};

/**
 * The datasets a source or sink step reads or writes, named after OpenLineage's naming
 * conventions: `postgres://host:port` + `db.schema.table`, `mysql://host:port` + `db.table`,
 * `clickhouse://host:port` + `db.table`, `file` + absolute path, `s3://bucket` + key,
 * `kafka://host:port` + topic, `nats://host:port` + stream or subject. No user name, password
 * or query parameter of a connection string is ever part of a namespace. Empty when the step's
 * target cannot be named (a query instead of a table, an unknown connector with no paths).
 *
 * @example
 * ```ts
 * connectorDatasets({ connector: 'postgres', config: { url: 'postgres://u:pw@db:5432/shop', table: 'orders' },
 *   baseDir: '/repo', locations: [] });
 * // [{ namespace: 'postgres://db:5432', name: 'shop.public.orders' }]
 * ```
 */
export function connectorDatasets(step: ConnectorDatasets): DatasetIdentity[] {
  const config = (step.config ?? {}) as Readonly<Record<string, unknown>>;
  const text = (key: string): string | undefined =>
    typeof config[key] === 'string' && config[key] !== '' ? config[key] : undefined;
  switch (step.connector) {
    case 'postgres':
    case 'postgres_cdc':
      return sqlTable('postgres', text('url'), text('table'), 'public');
    case 'mysql':
      return mysqlTable(config, text('table'));
    case 'clickhouse':
      return sqlTable('clickhouse', text('url'), text('table'), undefined, 'default');
    case 'delta':
      return text('path') === undefined ? [] : [pathDataset(text('path')!, step.baseDir)];
    case 'duckdb': {
      const path = text('path');
      const table = text('table');
      if (path === undefined || table === undefined) return [];
      return [
        { namespace: `duckdb://${resolve(step.baseDir, path)}`, name: qualified(table, 'main') },
      ];
    }
    case 'kafka':
      return endpointDatasets('kafka', text('brokers') ?? first(config['brokers']), topics(config));
    case 'nats': {
      const stream = text('stream') ?? text('subject');
      return endpointDatasets(
        'nats',
        text('servers') ?? first(config['servers']),
        stream === undefined ? [] : [stream],
      );
    }
    case 'rest': {
      const url = text('url');
      return url === undefined ? [] : [httpDataset(url)];
    }
    default:
      break;
  }
  if (FILE_CONNECTORS.has(step.connector)) {
    const paths = step.locations.length > 0 ? step.locations : pathsOf(config['path']);
    return paths.map((path) => pathDataset(path, step.baseDir));
  }
  return step.locations
    .filter((location) => isAbsolute(location))
    .map((path) => pathDataset(path, step.baseDir));
}

/**
 * A file or table location: `s3://bucket/key` is `s3://bucket` + key, a `file://` URL or a
 * path is `file` + its absolute path.
 *
 * @example
 * ```ts
 * pathDataset('s3://lake/orders', '/repo'); // { namespace: 's3://lake', name: 'orders' }
 * pathDataset('out/daily.parquet', '/repo'); // { namespace: 'file', name: '/repo/out/daily.parquet' }
 * ```
 */
export function pathDataset(path: string, baseDir: string): DatasetIdentity {
  const s3 = /^s3a?:\/\/([^/]+)\/?(.*)$/.exec(path);
  if (s3 !== null)
    return { namespace: `s3://${s3[1] ?? ''}`, name: (s3[2] ?? '').replace(/\/+$/, '') || '/' };
  if (path.startsWith('file://')) return { namespace: 'file', name: fileURLToPath(path) };
  return { namespace: 'file', name: resolve(baseDir, path) };
}

/**
 * The scheme, host and port of a connection URL, without credentials, path or parameters.
 *
 * @example
 * ```ts
 * serverNamespace('postgres', 'postgres://etl:secret@db.internal/shop?sslmode=require'); // 'postgres://db.internal:5432'
 * ```
 */
export function serverNamespace(scheme: string, url: string): string | undefined {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `${scheme}://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (parsed.hostname === '') return undefined;
  const port =
    parsed.port !== ''
      ? parsed.port
      : scheme === 'clickhouse'
        ? parsed.protocol === 'https:'
          ? '8443'
          : '8123'
        : String(DEFAULT_PORTS[scheme] ?? '');
  return `${scheme}://${parsed.hostname}${port === '' ? '' : `:${port}`}`;
}

function sqlTable(
  scheme: string,
  url: string | undefined,
  table: string | undefined,
  defaultSchema: string | undefined,
  defaultDatabase = '',
): DatasetIdentity[] {
  if (url === undefined || table === undefined) return [];
  const namespace = serverNamespace(scheme, url);
  if (namespace === undefined) return [];
  const database = databaseOf(url) ?? defaultDatabase;
  const name = defaultSchema === undefined ? table : qualified(table, defaultSchema);
  return [{ namespace, name: database === '' ? name : `${database}.${name}` }];
}

function mysqlTable(
  config: Readonly<Record<string, unknown>>,
  table: string | undefined,
): DatasetIdentity[] {
  if (table === undefined) return [];
  const url = typeof config['url'] === 'string' ? config['url'] : undefined;
  const host = typeof config['host'] === 'string' ? config['host'] : undefined;
  const port = typeof config['port'] === 'number' ? config['port'] : 3306;
  const namespace =
    url !== undefined
      ? serverNamespace('mysql', url.replace(/^mariadb:/, 'mysql:'))
      : host === undefined
        ? undefined
        : `mysql://${host}:${port}`;
  if (namespace === undefined) return [];
  const database =
    (typeof config['database'] === 'string' ? config['database'] : undefined) ??
    (url === undefined ? undefined : databaseOf(url));
  return [
    {
      namespace,
      name: database === undefined || table.includes('.') ? table : `${database}.${table}`,
    },
  ];
}

function databaseOf(url: string): string | undefined {
  try {
    const path = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    return path === '' ? undefined : path;
  } catch {
    return undefined;
  }
}

function qualified(table: string, defaultSchema: string): string {
  return table.includes('.') ? table : `${defaultSchema}.${table}`;
}

function endpointDatasets(
  scheme: string,
  servers: string | undefined,
  names: readonly string[],
): DatasetIdentity[] {
  const server = servers?.split(',')[0]?.trim();
  const namespace =
    server === undefined || server === '' ? undefined : serverNamespace(scheme, server);
  return namespace === undefined ? [] : names.map((name) => ({ namespace, name }));
}

function httpDataset(url: string): DatasetIdentity {
  const parsed = new URL(url);
  return { namespace: `${parsed.protocol}//${parsed.host}`, name: parsed.pathname || '/' };
}

function topics(config: Readonly<Record<string, unknown>>): string[] {
  const value = config['topic'] ?? config['topics'];
  return typeof value === 'string'
    ? [value]
    : Array.isArray(value)
      ? value.filter((t): t is string => typeof t === 'string')
      : [];
}

function first(value: unknown): string | undefined {
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
}

function pathsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string') : [];
}
