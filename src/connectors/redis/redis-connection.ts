import type * as RedisDriver from 'redis';
import type { RedisClientType } from 'redis';
import type { SinkError, SourceError } from '../../core/errors.js';
import { connectorError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import type { SecretValue } from '../../contracts/secrets.js';
import { resolveSecret } from '../../contracts/secrets.js';

/** The step a connection serves: its errors name it. */
export interface RedisRole {
  readonly role: 'source' | 'sink';
  readonly stepId: string;
}

/** Where and as whom to connect. */
export interface RedisConnectionOptions {
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: SecretValue | undefined;
}

const CONNECT_TIMEOUT_MS = parseDuration('10s');
const MAX_RECONNECT_WAIT_MS = parseDuration('5s');

/** Server error replies that mean the credentials are wrong or lack a permission. */
const AUTH_REPLIES = new Set(['WRONGPASS', 'NOAUTH', 'NOPERM']);
/** Socket errors worth another try: the server restarted, the network dropped or is slow. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** Server error replies worth another try: the server is loading, busy or failing over. */
const RETRYABLE_REPLIES = new Set(['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN']);

/**
 * One connection to Redis, sending raw commands. The first connect fails fast (refused, unknown
 * host, bad credentials) with a step error saying what to check; once connected, a dropped
 * connection is re-established in the background while commands fail (retryable) instead of
 * queueing.
 *
 * @example
 * ```ts
 * const link = await RedisLink.open({ url: 'redis://127.0.0.1:6379' }, { role: 'source', stepId: 'events' });
 * await link.send(['XLEN', 'events']);
 * link.destroy();
 * ```
 */
export class RedisLink {
  readonly #client: RedisClientType;
  readonly #where: RedisRole;
  readonly #server: string;

  private constructor(client: RedisClientType, where: RedisRole, server: string) {
    this.#client = client;
    this.#where = where;
    this.#server = server;
  }

  /** Connects, or throws a {@link SourceError} / {@link SinkError} naming the server. */
  static async open(options: RedisConnectionOptions, where: RedisRole): Promise<RedisLink> {
    const driver = await importRedis(where);
    const server = describeRedisServer(options.url);
    const password =
      options.password === undefined
        ? undefined
        : resolveSecret(options.password, where.stepId, 'password');
    let connected = false;
    let client: RedisClientType;
    try {
      client = driver.createClient({
        url: options.url,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(password === undefined ? {} : { password }),
        disableOfflineQueue: true,
        socket: {
          connectTimeout: CONNECT_TIMEOUT_MS,
          reconnectStrategy: (retries: number, cause: Error) =>
            connected ? Math.min(100 * 2 ** Math.min(retries, 6), MAX_RECONNECT_WAIT_MS) : cause,
        },
      }) as RedisClientType;
    } catch (cause) {
      throw redisError(where, `cannot use the url of ${server}`, cause, {
        hint: 'write the url as redis://[user:password@]host:port[/db]',
      });
    }
    // A connection lost while idle emits 'error'; the next command reports it.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (cause) {
      client.destroy();
      throw redisError(where, `cannot connect to ${server}`, cause);
    }
    connected = true;
    return new RedisLink(client, where, server);
  }

  /** `host:port` of the server, without credentials. */
  get server(): string {
    return this.#server;
  }

  /** Sends one command and returns its raw (RESP2) reply; errors are the driver's. */
  send(args: readonly string[]): Promise<unknown> {
    return this.#client.sendCommand([...args]);
  }

  /** Wraps an error of {@link send} in the step's error. */
  error(what: string, cause: unknown, otherwise: { readonly hint?: string } = {}): Error {
    return redisError(this.#where, what, cause, otherwise);
  }

  /** Closes the connection at once; commands in flight fail. Never throws. */
  destroy(): void {
    try {
      this.#client.destroy();
    } catch {
      // already closed
    }
  }
}

/**
 * Wraps a Redis failure in the step's error, with a hint for the usual causes and the retryable
 * flag set for network failures and transient server states.
 *
 * @example
 * ```ts
 * throw redisError({ role: 'sink', stepId: 'alerts' }, 'cannot append to alerts:eu', cause);
 * ```
 */
export function redisError(
  where: RedisRole,
  what: string,
  cause: unknown,
  otherwise: { readonly hint?: string } = {},
): SourceError | SinkError {
  const inner = unwrapDriverError(cause);
  const text = inner instanceof Error ? inner.message : String(inner);
  const reply = isErrorReply(inner) ? (text.split(' ', 1)[0] ?? '') : undefined;
  const retryable =
    reply === undefined ? isNetworkError(inner) : RETRYABLE_REPLIES.has(reply.toUpperCase());
  const hint =
    reply !== undefined && AUTH_REPLIES.has(reply)
      ? 'check the user name and password (in the url, or the username and password fields) and the ACL rules of that user'
      : reply === 'WRONGTYPE'
        ? 'the key holds something other than a stream; use another key'
        : reply === undefined && retryable
          ? 'check that Redis is running and reachable from here at that host and port'
          : otherwise.hint;
  return connectorError(where, `${what}: ${text}`, { text, retryable, code: reply, hint });
}

/**
 * Names the server of a Redis URL for messages, without its credentials.
 *
 * @example
 * ```ts
 * describeRedisServer('redis://etl:secret@cache:6380/1'); // "Redis at cache:6380"
 * ```
 */
export function describeRedisServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `Redis at ${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'Redis (the url does not parse)';
  }
}

function unwrapDriverError(cause: unknown): unknown {
  const original = (cause as { originalError?: unknown } | undefined)?.originalError;
  return original instanceof Error ? original : cause;
}

function isErrorReply(error: unknown): boolean {
  return (
    error instanceof Error &&
    ['ErrorReply', 'SimpleError', 'BlobError'].includes(error.constructor.name) &&
    /^[A-Z]+ /.test(error.message)
  );
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return [
    'SocketClosedUnexpectedlyError',
    'ConnectionTimeoutError',
    'ClientOfflineError',
    'ClientClosedError',
    'SocketTimeoutError',
  ].includes(error.constructor.name);
}

async function importRedis(where: RedisRole): Promise<typeof RedisDriver> {
  try {
    return await import('redis');
  } catch (cause) {
    throw redisError(where, 'the "redis" package is not installed', cause, {
      hint: 'npm install redis',
    });
  }
}
