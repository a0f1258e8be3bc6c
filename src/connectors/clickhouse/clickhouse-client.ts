import type { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type * as ClickHouseModule from '@clickhouse/client';
import type { SluiceErrorOptions } from '../../core/errors.js';
import {
  ConfigError,
  EngineError,
  RetryableError,
  SinkError,
  SluiceError,
  SourceError,
} from '../../core/errors.js';

type ClickHouseDriver = typeof ClickHouseModule;

let driver: Promise<ClickHouseDriver> | undefined;

/**
 * Which step a ClickHouse call serves, and so which error it raises on failure: a source's
 * {@link SourceError}, a sink's {@link SinkError}, or an {@link EngineError} for a `sql` step run
 * in ClickHouse.
 *
 * @example
 * ```ts
 * const where: ClickHouseCaller = { role: 'sink', stepId: 'orders_out' };
 * ```
 */
export interface ClickHouseCaller {
  readonly role: 'source' | 'sink' | 'sql';
  readonly stepId: string;
}

/**
 * A ClickHouse HTTP endpoint as a URL names it. `password` is kept only to log in; messages use
 * {@link describeClickHouse}, which leaves it out.
 *
 * @example
 * ```ts
 * const address: ClickHouseAddress = { origin: 'http://127.0.0.1:8123', username: 'default', password: '', database: 'shop' };
 * ```
 */
export interface ClickHouseAddress {
  /** `http(s)://host:port`, without credentials or path. */
  readonly origin: string;
  readonly username: string;
  readonly password: string;
  readonly database: string;
}

/**
 * Reads a `http://user:password@host:8123/database` URL (also `https://`). User and password
 * may be percent-encoded; without them the user is `default` with no password, and without a
 * path the database is `default`.
 *
 * @example
 * ```ts
 * parseClickHouseURL('http://etl:p%40ss@ch:8123/shop');
 * // { origin: 'http://ch:8123', username: 'etl', password: 'p@ss', database: 'shop' }
 * ```
 */
export function parseClickHouseURL(url: string): ClickHouseAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      'the ClickHouse url does not parse; expected http://user:password@host:8123/database',
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new Error(
      `the ClickHouse url must start with http:// or https://, not ${parsed.protocol}//`,
    );
  const path = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, ''));
  if (path.includes('/'))
    throw new Error(`the ClickHouse url's path must be one database name, not "${path}"`);
  return {
    origin: parsed.origin,
    username: parsed.username === '' ? 'default' : decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: path === '' ? 'default' : path,
  };
}

/**
 * `user@host:port/database` of an address, for messages: never the password.
 *
 * @example
 * ```ts
 * describeClickHouse(parseClickHouseURL('http://etl:secret@ch:8123/shop')); // "etl@ch:8123/shop"
 * ```
 */
export function describeClickHouse(address: ClickHouseAddress): string {
  const host = new URL(address.origin).host;
  return `${address.username}@${host}/${address.database}`;
}

/**
 * Loads `@clickhouse/client` on first use, so Sluice installs and runs without it until a step
 * needs it. Without the package this fails with a {@link ConfigError} naming it.
 *
 * @example
 * ```ts
 * const { createClient } = await loadClickHouseDriver('orders_out');
 * ```
 */
export async function loadClickHouseDriver(stepId: string): Promise<ClickHouseDriver> {
  driver ??= import('@clickhouse/client');
  try {
    return await driver;
  } catch (cause) {
    driver = undefined;
    throw new ConfigError(
      [
        {
          code: 'missing-driver',
          stepId,
          message:
            'the clickhouse connector needs the npm package "@clickhouse/client", which is not installed',
          hint: 'run: npm install @clickhouse/client',
        },
      ],
      { cause },
    );
  }
}

/**
 * Options of {@link ClickHouseConnection.open}.
 *
 * @example
 * ```ts
 * const options: ClickHouseOpenOptions = { requestTimeoutMs: 60_000 };
 * ```
 */
export interface ClickHouseOpenOptions {
  /** How long one statement may run before it fails (default 10 minutes). */
  readonly requestTimeoutMs?: number;
}

/**
 * A column of a ClickHouse table, as `system.columns` lists it.
 *
 * @example
 * ```ts
 * const column: ClickHouseColumn = { name: 'amount', type: 'Nullable(Decimal(12, 2))' };
 * ```
 */
export interface ClickHouseColumn {
  readonly name: string;
  /** The type as the server spells it: `Nullable(Decimal(12, 2))`, `DateTime('UTC')`. */
  readonly type: string;
}

/**
 * A server version, parsed from `version()`.
 *
 * @example
 * ```ts
 * const version: ClickHouseVersion = { text: '18.16.1', major: 18, minor: 16 };
 * ```
 */
export interface ClickHouseVersion {
  /** As the server reports it, e.g. `18.16.1`. */
  readonly text: string;
  readonly major: number;
  readonly minor: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 600_000;

/**
 * One ClickHouse endpoint over HTTP, opened from a connection URL. Statements run one request
 * each (ClickHouse has no transactions). Its methods throw what the driver throws; wrap failures
 * with {@link clickhouseError} so that the step's error names the server and never the password.
 * It is a shared resource: `close` ends its sockets.
 *
 * @example
 * ```ts
 * const ch = await ClickHouseConnection.open('http://default@127.0.0.1:8123/shop', { role: 'sink', stepId: 'out' });
 * try {
 *   await ch.command('CREATE TABLE t (id Int64) ENGINE = MergeTree ORDER BY id');
 *   const rows = await ch.rows<{ n: string }>('SELECT count() AS n FROM t');
 * } finally {
 *   await ch.close();
 * }
 * ```
 */
export class ClickHouseConnection {
  readonly #client: ClickHouseClient;
  readonly #address: ClickHouseAddress;

  private constructor(client: ClickHouseClient, address: ClickHouseAddress) {
    this.#client = client;
    this.#address = address;
  }

  /**
   * Opens a client for `url`. Nothing is sent yet: a wrong address or password shows on the
   * first statement. A URL that does not parse, or a missing driver, fails here.
   */
  static async open(
    url: string,
    where: ClickHouseCaller,
    options: ClickHouseOpenOptions = {},
  ): Promise<ClickHouseConnection> {
    let address: ClickHouseAddress;
    try {
      address = parseClickHouseURL(url);
    } catch (cause) {
      throw clickhouseError(where, 'cannot open ClickHouse', cause);
    }
    const { createClient, ClickHouseLogLevel } = await loadClickHouseDriver(where.stepId);
    const client = createClient({
      url: address.origin,
      username: address.username,
      password: address.password,
      database: address.database,
      application: 'sluice',
      request_timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      log: { level: ClickHouseLogLevel.OFF },
    });
    return new ClickHouseConnection(client, address);
  }

  /** The database unqualified table names resolve in (the URL's path, or `default`). */
  get database(): string {
    return this.#address.database;
  }

  /** `user@host:port/database`, for messages. */
  get server(): string {
    return describeClickHouse(this.#address);
  }

  /** `http(s)://host:port/database.table` of a table, for reports and lineage. */
  location(database: string, table: string): string {
    return `${this.#address.origin}/${database}.${table}`;
  }

  /** Texts that must never appear in a message: the password, raw and percent-encoded. */
  get secrets(): readonly string[] {
    // Too short a password would blank out ordinary words; the server never echoes it anyway.
    const password = this.#address.password;
    return password.length < 3 ? [] : [password, encodeURIComponent(password)];
  }

  /** Runs a statement that returns no rows (DDL, `INSERT ... SELECT`, `ALTER`). */
  async command(sql: string, signal?: AbortSignal): Promise<void> {
    await this.#client.command({
      query: sql,
      ...(signal === undefined ? {} : { abort_signal: signal }),
    });
  }

  /**
   * The rows of a query, one object per row (`FORMAT JSONEachRow`: 64-bit integers come back as
   * strings, decimals as JSON numbers; cast to String in the query when every digit matters).
   */
  async rows<Row = Record<string, unknown>>(sql: string, signal?: AbortSignal): Promise<Row[]> {
    const result = await this.#client.query({
      query: sql,
      format: 'JSONEachRow',
      ...(signal === undefined ? {} : { abort_signal: signal }),
    });
    return result.json<Row>();
  }

  /** The columns (names and types) a query returns, without reading its rows. */
  async describe(sql: string, signal?: AbortSignal): Promise<ClickHouseColumn[]> {
    const result = await this.#client.query({
      query: `SELECT * FROM (${sql}) LIMIT 0`,
      format: 'JSON',
      ...(signal === undefined ? {} : { abort_signal: signal }),
    });
    const body = await result.json<Record<string, unknown>>();
    return (body.meta ?? []).map((column) => ({ name: column.name, type: column.type }));
  }

  /**
   * The result of `sql` as a byte stream in `format` (`CSV`, `TabSeparated`...), for large
   * reads: the caller pipes it to a file or parser.
   */
  async stream(
    sql: string,
    format: 'CSV' | 'TabSeparated',
    signal?: AbortSignal,
  ): Promise<Readable> {
    const result = await this.#client.exec({
      query: `${sql} FORMAT ${format}`,
      ...(signal === undefined ? {} : { abort_signal: signal }),
    });
    return result.stream;
  }

  /**
   * Streams `body` (text in `format`, e.g. `TabSeparated`) into `table`, which is a quoted,
   * optionally database-qualified name; `columns` are quoted column names in body order.
   */
  async insert(
    table: string,
    columns: readonly string[],
    body: Readable,
    format: 'TabSeparated' | 'CSV',
    signal?: AbortSignal,
  ): Promise<void> {
    await this.#client.insert({
      table,
      values: body,
      format,
      columns: [...columns] as [string, ...string[]],
      ...(signal === undefined ? {} : { abort_signal: signal }),
    });
  }

  /** The columns of `database.table` in table order, or undefined when the table does not exist. */
  async tableColumns(database: string, table: string): Promise<ClickHouseColumn[] | undefined> {
    const columns = await this.rows<ClickHouseColumn>(
      `SELECT name, type FROM system.columns WHERE database = ${quoteClickHouseString(database)} AND table = ${quoteClickHouseString(table)}`,
    );
    return columns.length === 0 ? undefined : columns;
  }

  /** The engine of `database.table` (`MergeTree`, `ReplacingMergeTree`, ...), undefined when missing. */
  async tableEngine(database: string, table: string): Promise<string | undefined> {
    const found = await this.rows<{ engine: string }>(
      `SELECT engine FROM system.tables WHERE database = ${quoteClickHouseString(database)} AND name = ${quoteClickHouseString(table)}`,
    );
    return found[0]?.engine;
  }

  /** The server's version. */
  async serverVersion(): Promise<ClickHouseVersion> {
    const [row] = await this.rows<{ v: string }>('SELECT version() AS v');
    const text = row?.v ?? '';
    const [major, minor] = text.split('.').map(Number);
    return { text, major: major ?? 0, minor: minor ?? 0 };
  }

  /** Ends the client's sockets; never fails. */
  async close(): Promise<void> {
    await this.#client.close().catch(() => undefined);
  }
}

/**
 * Quotes a ClickHouse identifier in backquotes, escaping backslashes and backquotes.
 *
 * @example
 * ```ts
 * quoteClickHouseIdentifier('order id'); // "`order id`"
 * ```
 */
export function quoteClickHouseIdentifier(name: string): string {
  return `\`${name.replaceAll('\\', '\\\\').replaceAll('`', '\\`')}\``;
}

/**
 * Quotes `database`.`table`.
 *
 * @example
 * ```ts
 * quoteClickHouseName('shop', 'orders'); // "`shop`.`orders`"
 * ```
 */
export function quoteClickHouseName(database: string, table: string): string {
  return `${quoteClickHouseIdentifier(database)}.${quoteClickHouseIdentifier(table)}`;
}

/**
 * A ClickHouse string literal: single quotes, with backslashes and quotes escaped.
 *
 * @example
 * ```ts
 * quoteClickHouseString("O'Brien"); // "'O\\'Brien'"
 * ```
 */
export function quoteClickHouseString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * Splits `database.table` (or a bare `table`, in `defaultDatabase`) into its parts.
 *
 * @example
 * ```ts
 * splitClickHouseTable('shop.orders', 'default'); // { database: 'shop', table: 'orders' }
 * ```
 */
export function splitClickHouseTable(
  name: string,
  defaultDatabase: string,
): { readonly database: string; readonly table: string } {
  const dot = name.indexOf('.');
  return dot < 0
    ? { database: defaultDatabase, table: name }
    : { database: name.slice(0, dot), table: name.slice(dot + 1) };
}

/** Error codes of the server that mean the user or password is wrong or not allowed. */
const AUTH_CODES = new Set([192, 193, 194, 195, 516]);
const UNKNOWN_DATABASE = 81;
const UNKNOWN_TABLE = 60;
/** Server errors worth another try: timeouts, network trouble, too many queries or parts. */
const RETRYABLE_SERVER_CODES = new Set([159, 202, 209, 210, 252]);
const RETRYABLE_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** The code and message of a server error, in the old (`Code: 60, e.displayText() = ...`) and new forms. */
function serverError(message: string): { code: number; detail: string } | undefined {
  const match = /Code: (\d+)[.,]\s*(?:e\.displayText\(\) = )?(?:DB::Exception: )?(.*)$/s.exec(
    message,
  );
  if (match === null) return undefined;
  const detail = (match[2] ?? '')
    .replace(/, e\.what\(\) = .*$/s, '')
    .replace(/\s*\(version [^)]*\)\s*$/s, '')
    .replace(/\s*\([A-Z][A-Z0-9_]{2,}\)\.?\s*$/s, '')
    .trim();
  return { code: Number(match[1]), detail };
}

/**
 * Wraps a ClickHouse failure in the caller's error ({@link SourceError}, {@link SinkError} or
 * {@link EngineError}) with the server (never the password), the server's error code, a hint for
 * the usual causes, and the retryable flag for refused or dropped connections and timeouts.
 * Sluice errors pass through unchanged.
 *
 * @example
 * ```ts
 * throw clickhouseError({ role: 'sink', stepId: 'out' }, 'cannot create shop.orders', cause, connection);
 * ```
 */
export function clickhouseError(
  where: ClickHouseCaller,
  doing: string,
  cause: unknown,
  connection?: ClickHouseConnection,
): SluiceError {
  if (cause instanceof SluiceError) return cause;
  const secrets = connection?.secrets ?? [];
  const scrub = (text: string): string =>
    secrets.reduce((out, secret) => out.replaceAll(secret, '***'), text);
  const raw = scrub(cause instanceof Error ? cause.message : String(cause));
  const networkCode = (cause as { code?: unknown } | undefined)?.code;
  const server = connection === undefined ? 'ClickHouse' : `ClickHouse at ${connection.server}`;
  const parsed = serverError(raw);
  let message: string;
  let hint: string | undefined;
  let retryable = false;
  if (parsed !== undefined) {
    message = `${doing}: ${parsed.detail} (code ${parsed.code})`;
    if (AUTH_CODES.has(parsed.code)) {
      message = `cannot log in to ${server}: ${parsed.detail}`;
      hint =
        'check the user and password in the url (http://user:password@host:8123/database; percent-encode special characters)';
    } else if (parsed.code === UNKNOWN_DATABASE) {
      hint =
        "create the database, or fix the url's path (the database) or the table's database prefix";
    } else if (parsed.code === UNKNOWN_TABLE) {
      hint = 'check the table name and its database prefix';
    } else if (RETRYABLE_SERVER_CODES.has(parsed.code)) {
      retryable = true;
      hint = 'the server is busy or timed out; the step can be retried';
    }
  } else if (typeof networkCode === 'string' && RETRYABLE_NETWORK.has(networkCode)) {
    message = `${doing}: cannot reach ${server} (${networkCode}): ${raw.split('\n')[0] ?? ''}`;
    hint =
      'check that the server runs and that the url has the right host and port (HTTP, usually 8123); the step can be retried';
    retryable = true;
  } else if (/timeout|socket hang up/i.test(raw)) {
    message = `${doing}: ${server} did not answer in time: ${raw.split('\n')[0] ?? ''}`;
    hint = 'the statement ran too long or the connection dropped; the step can be retried';
    retryable = true;
  } else {
    message = `${doing}: ${raw.split('\n')[0] ?? raw}`;
  }
  const plain = new Error(scrub(message));
  const options: SluiceErrorOptions = {
    cause: retryable ? new RetryableError(plain.message, { cause: plain }) : plain,
    ...(hint === undefined ? {} : { hint }),
  };
  if (where.role === 'source') return new SourceError(where.stepId, plain.message, options);
  if (where.role === 'sink') return new SinkError(where.stepId, plain.message, options);
  return new EngineError(where.stepId, plain.message, options);
}
