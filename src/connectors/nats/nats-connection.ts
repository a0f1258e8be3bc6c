import type * as JetStreamModule from '@nats-io/jetstream';
import type * as TransportModule from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { parseDuration } from '../../core/duration.js';
import type { SluiceErrorOptions } from '../../core/errors.js';
import { SinkError, SourceError } from '../../core/errors.js';
import type { NATSConnectionConfig } from './nats-configs.js';
import { resolveSecret } from '../../contracts/secrets.js';

/** The step a connection serves: its errors name it. */
export interface NATSRole {
  readonly role: 'source' | 'sink';
  readonly stepId: string;
}

/** The two NATS packages, loaded when a step first needs them. */
export interface NATSDrivers {
  readonly transport: typeof TransportModule;
  readonly jetstream: typeof JetStreamModule;
}

/** An open connection with the drivers that made it. */
export interface NATSConnection {
  readonly nc: NatsConnection;
  readonly drivers: NATSDrivers;
}

/** Error names of the NATS client that mean the network or server, worth another try. */
const RETRYABLE_NAMES = new Set(['ConnectionError', 'TimeoutError', 'ClosedConnectionError']);
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/**
 * Connects to NATS for a step, with the config's servers, credentials and connect timeout. A
 * failure becomes a {@link SourceError} or {@link SinkError} that names the servers (never a
 * password) and says what to check; a refused connection or a timeout is retryable.
 *
 * @example
 * ```ts
 * const { nc } = await connectNATS({ servers: 'nats://127.0.0.1:4222', connectTimeout: '5s' }, { role: 'source', stepId: 'orders' });
 * ```
 */
export async function connectNATS(
  config: NATSConnectionConfig,
  where: NATSRole,
): Promise<NATSConnection> {
  const drivers = await importNATS(where);
  const servers = typeof config.servers === 'string' ? [config.servers] : [...config.servers];
  const auth =
    config.token !== undefined
      ? { token: resolveSecret(config.token, where.stepId, 'token') }
      : config.user !== undefined
        ? {
            user: config.user,
            ...(config.password === undefined
              ? {}
              : { pass: resolveSecret(config.password, where.stepId, 'password') }),
          }
        : {};
  try {
    const nc = await drivers.transport.connect({
      servers,
      timeout: parseDuration(config.connectTimeout),
      name: `sluice ${where.role} ${where.stepId}`,
      ...auth,
    });
    return { nc, drivers };
  } catch (cause) {
    throw natsError(where, `cannot connect to ${describeServers(config.servers)}`, cause);
  }
}

/**
 * Wraps a NATS failure in the step's error, with a hint for the usual causes (refused, unknown
 * host, timeout, credentials, JetStream off) and the retryable flag for network trouble.
 *
 * @example
 * ```ts
 * throw natsError({ role: 'sink', stepId: 'out' }, 'cannot publish to totals.eu', cause);
 * ```
 */
export function natsError(
  where: NATSRole,
  what: string,
  cause: unknown,
  otherwise: { readonly hint?: string } = {},
): SourceError | SinkError {
  const name = cause instanceof Error ? cause.name : '';
  const code = networkCode(cause);
  const text = cause instanceof Error ? cause.message : String(cause);
  const retryable = RETRYABLE_NAMES.has(name) || (code !== undefined && RETRYABLE_CODES.has(code));
  const hint =
    name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError'
      ? 'check user and password (or token), in the config or the URL, against the server'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name does not resolve: check the server URL'
        : code === 'ECONNREFUSED'
          ? 'check that nats-server runs at that address and port; the stream stops here: start it again once the server is up (it resumes from its last checkpoint), or run it under a supervisor that restarts it'
          : name === 'TimeoutError'
            ? 'the server did not answer in time: check the URL, the network and firewalls (connectTimeout sets the wait)'
            : name === 'JetStreamNotEnabled'
              ? 'JetStream is not enabled on the server (or for this account): start nats-server with -js'
              : name === 'PermissionViolationError'
                ? "the user may not use this subject or JetStream's API: check its permissions on the server"
                : otherwise.hint;
  const detail = code === undefined || text.includes(code) ? text : `${text} (${code})`;
  const wrapped = Object.assign(new Error(detail), { retryable, code: code ?? name });
  const options: SluiceErrorOptions = { cause: wrapped, ...(hint === undefined ? {} : { hint }) };
  const message = `${what}: ${detail}`;
  return where.role === 'source'
    ? new SourceError(where.stepId, message, options)
    : new SinkError(where.stepId, message, options);
}

/**
 * The step's error for a problem that is not a NATS failure (no cause to classify).
 *
 * @example
 * ```ts
 * throw stepError({ role: 'source', stepId: 'orders' }, 'stream ORDERS does not exist', { hint: 'create it' });
 * ```
 */
export function stepError(
  where: NATSRole,
  message: string,
  options: SluiceErrorOptions = {},
): SourceError | SinkError {
  return where.role === 'source'
    ? new SourceError(where.stepId, message, options)
    : new SinkError(where.stepId, message, options);
}

/**
 * The servers of a config as `host:port` list, without user names or passwords.
 *
 * @example
 * ```ts
 * describeServers('nats://app:secret@10.0.0.5:4222'); // "nats://10.0.0.5:4222"
 * ```
 */
export function describeServers(servers: string | readonly string[]): string {
  const list = typeof servers === 'string' ? [servers] : servers;
  return list
    .map((server) => {
      try {
        const url = new URL(server);
        return `${url.protocol}//${url.hostname}:${url.port || '4222'}`;
      } catch {
        return 'a server URL that does not parse';
      }
    })
    .join(', ');
}

/**
 * Closes a connection at once, even while it is reconnecting; never fails. Nothing is left to
 * flush: acknowledgements and publishes are requests whose answers were awaited.
 *
 * @example
 * ```ts
 * await closeQuietly(nc);
 * ```
 */
export async function closeQuietly(nc: NatsConnection): Promise<void> {
  if (nc.isClosed()) return;
  await nc.close().catch(() => undefined);
}

function networkCode(cause: unknown): string | undefined {
  for (let current = cause, depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    current = current.cause;
  }
  return undefined;
}

async function importNATS(where: NATSRole): Promise<NATSDrivers> {
  const load = async <T>(name: string, loader: () => Promise<T>): Promise<T> => {
    try {
      return await loader();
    } catch (cause) {
      throw stepError(where, `the "${name}" package is not installed`, {
        cause,
        hint: 'npm install @nats-io/transport-node @nats-io/jetstream',
      });
    }
  };
  const [transport, jetstream] = await Promise.all([
    load('@nats-io/transport-node', () => import('@nats-io/transport-node')),
    load('@nats-io/jetstream', () => import('@nats-io/jetstream')),
  ]);
  return { transport, jetstream };
}
