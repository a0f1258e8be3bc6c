import type { Connection as CallbackConnection } from 'mysql2';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import type * as MySQLPromise from 'mysql2/promise';
import type { SluiceErrorOptions } from '../../core/errors.js';
import { ConfigError, RetryableError, SinkError, SourceError } from '../../core/errors.js';
import type { MySQLConnectionConfig } from './mysql-configs.js';

type MySQLDriver = typeof MySQLPromise;

let driver: Promise<MySQLDriver> | undefined;

/**
 * Loads `mysql2` on first use, so Sluice installs and runs without it until a step needs it.
 *
 * @example
 * ```ts
 * const mysql = await loadMySQLDriver('orders');
 * ```
 */
export async function loadMySQLDriver(stepId: string): Promise<MySQLDriver> {
  driver ??= import('mysql2/promise');
  try {
    return await driver;
  } catch (cause) {
    driver = undefined;
    throw new ConfigError(
      [
        {
          code: 'missing-driver',
          stepId,
          message: 'the mysql connector needs the npm package "mysql2", which is not installed',
          hint: 'run: npm install mysql2',
        },
      ],
      { cause },
    );
  }
}

/**
 * Where a connection goes, for messages: never holds the password.
 *
 * @example
 * ```ts
 * const endpoint: MySQLEndpoint = { host: 'db', port: 3306, user: 'etl', database: 'shop' };
 * ```
 */
export interface MySQLEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string | undefined;
}

/**
 * The endpoint a config names (from `url` or the separate fields; separate fields win).
 *
 * @example
 * ```ts
 * endpointOf({ url: 'mysql://etl@db:3307/shop', connectTimeoutMs: 10_000 });
 * // { host: 'db', port: 3307, user: 'etl', database: 'shop' }
 * ```
 */
export function endpointOf(config: MySQLConnectionConfig): MySQLEndpoint & { password: string } {
  const url = config.url === undefined ? undefined : new URL(config.url);
  const fromURL = (value: string | undefined): string | undefined =>
    value === undefined || value === '' ? undefined : decodeURIComponent(value);
  const database = config.database ?? fromURL(url?.pathname.replace(/^\//, ''));
  return {
    host: config.host ?? url?.hostname ?? '127.0.0.1',
    port: config.port ?? (url?.port === undefined || url.port === '' ? 3306 : Number(url.port)),
    user: config.user ?? fromURL(url?.username) ?? 'root',
    password: config.password ?? fromURL(url?.password) ?? '',
    database,
  };
}

/**
 * Which side of a pipeline a connection serves; errors are raised as that side's.
 *
 * @example
 * ```ts
 * const role: MySQLRole = { role: 'sink', stepId: 'orders_out' };
 * ```
 */
export interface MySQLRole {
  readonly role: 'source' | 'sink';
  readonly stepId: string;
}

/**
 * Opens a connection in UTC with exact numbers: BIGINT and DECIMAL come back as text, dates and
 * times as text, so nothing is rounded on the way to the engine.
 *
 * @example
 * ```ts
 * const connection = await openMySQL(config, { role: 'source', stepId: 'orders' });
 * ```
 */
export async function openMySQL(
  config: MySQLConnectionConfig,
  role: MySQLRole,
  signal?: AbortSignal,
): Promise<Connection> {
  const mysql = await loadMySQLDriver(role.stepId);
  const endpoint = endpointOf(config);
  signal?.throwIfAborted();
  const options: ConnectionOptions = {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    ...(endpoint.database === undefined ? {} : { database: endpoint.database }),
    connectTimeout: config.connectTimeoutMs,
    charset: 'UTF8MB4_UNICODE_CI',
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    // Geometry comes back as WKB bytes rather than the driver's point objects.
    typeCast: (field, next) => (field.type === 'GEOMETRY' ? field.buffer() : next()),
  };
  try {
    const connection = await mysql.createConnection(options);
    await connection.query("SET time_zone = '+00:00'");
    return connection;
  } catch (cause) {
    throw mysqlError(role, endpoint, cause);
  }
}

const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
]);

/** The driver's error fields this module reads. */
interface DriverError {
  readonly code?: string;
  readonly errno?: number;
  readonly message?: string;
  readonly sqlMessage?: string;
}

/**
 * Turns a driver error into a {@link SourceError} or {@link SinkError} that names the server,
 * the user and what to do; connection failures are retryable.
 *
 * @example
 * ```ts
 * throw mysqlError({ role: 'sink', stepId: 'out' }, endpoint, cause, 'cannot write shop.orders');
 * ```
 */
export function mysqlError(
  role: MySQLRole,
  endpoint: MySQLEndpoint,
  cause: unknown,
  doing?: string,
): SourceError | SinkError | ConfigError {
  if (cause instanceof SourceError || cause instanceof SinkError || cause instanceof ConfigError)
    return cause;
  const error = (typeof cause === 'object' && cause !== null ? cause : {}) as DriverError;
  const code = error.code ?? '';
  const detail = (error.sqlMessage ?? error.message ?? String(cause)).split('\n')[0] ?? '';
  const server = `${endpoint.host}:${endpoint.port}`;
  const prefix = doing === undefined ? '' : `${doing}: `;
  let message: string;
  let options: SluiceErrorOptions;
  if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') {
    message = `cannot log in to MySQL at ${server} as user "${endpoint.user}": ${detail}`;
    options = {
      cause,
      hint: 'check the user and password in the step config (url or user/password) and that the user may connect from this host',
    };
  } else if (RETRYABLE_CODES.has(code)) {
    message = `${prefix}cannot reach MySQL at ${server} (${code}): ${detail}`;
    options = {
      cause: new RetryableError(`${code} from ${server}`, { cause }),
      hint: 'check that the server runs and host/port are right; the step can be retried',
    };
  } else if (code === 'ER_BAD_DB_ERROR') {
    message = `${prefix}database does not exist on ${server}: ${detail}`;
    options = { cause, hint: 'check the database in the url or the database field' };
  } else if (code === 'ER_NO_SUCH_TABLE') {
    message = `${prefix}table does not exist on ${server}: ${detail}`;
    options = { cause, hint: 'check the table name (and its database prefix)' };
  } else if (code === 'ER_BAD_FIELD_ERROR') {
    message = `${prefix}unknown column on ${server}: ${detail}`;
    options = { cause, hint: 'check the column names in columns, where, keys or the cursor' };
  } else {
    message = `${prefix}${detail}${code === '' ? '' : ` (${code})`}`;
    options = { cause };
  }
  return role.role === 'source'
    ? new SourceError(role.stepId, message, options)
    : new SinkError(role.stepId, message, options);
}

/**
 * Quotes a MySQL identifier (backticks, doubled inside); `a.b` names a table of database `a`.
 *
 * @example
 * ```ts
 * quoteMySQLName('shop.orders'); // "`shop`.`orders`"
 * ```
 */
export function quoteMySQLName(name: string): string {
  return name
    .split('.')
    .map((part) => quoteMySQLIdentifier(part))
    .join('.');
}

/**
 * Quotes one MySQL identifier: wraps it in backticks and doubles the backticks inside.
 *
 * @example
 * ```ts
 * quoteMySQLIdentifier('order id'); // "`order id`"
 * ```
 */
export function quoteMySQLIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * Splits `database.table` into its parts (no database when the name has no dot).
 *
 * @example
 * ```ts
 * splitMySQLTableName('shop.orders'); // { schema: 'shop', name: 'orders' }
 * ```
 */
export function splitMySQLTableName(table: string): {
  schema: string | undefined;
  name: string;
} {
  const dot = table.lastIndexOf('.');
  return dot < 0
    ? { schema: undefined, name: table }
    : { schema: table.slice(0, dot), name: table.slice(dot + 1) };
}

/**
 * Closes a connection without waiting on a server that may be gone.
 *
 * @example
 * ```ts
 * await closeMySQL(connection);
 * ```
 */
export async function closeMySQL(connection: Connection): Promise<void> {
  try {
    await connection.end();
  } catch {
    connection.destroy();
  }
}

/**
 * Streams a query's rows one at a time with back-pressure: the driver pauses the socket when
 * `highWaterMark` rows wait unread, so a large table never sits in memory.
 *
 * @example
 * ```ts
 * for await (const row of streamRows(connection, 'SELECT * FROM orders', [], 10_000)) use(row);
 * ```
 */
export function streamRows(
  connection: Connection,
  sql: string,
  values: readonly unknown[],
  highWaterMark: number,
): AsyncIterable<Record<string, unknown>> {
  // The promise wrapper keeps its callback connection here; only that one can stream.
  const core = (connection as unknown as { readonly connection: CallbackConnection }).connection;
  return core.query({ sql, values: [...values] }).stream({ highWaterMark }) as AsyncIterable<
    Record<string, unknown>
  >;
}
