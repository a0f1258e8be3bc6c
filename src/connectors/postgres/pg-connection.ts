import type pg from 'pg';
import type { Client } from 'pg';
import type { SluiceErrorOptions } from '../../core/errors.js';
import { EngineError, SinkError, SourceError } from '../../core/errors.js';

/** The step a connection serves: its errors name it. */
export interface PostgresRole {
  readonly role: 'source' | 'sink' | 'model';
  readonly stepId: string;
}

/** PostgreSQL error codes that mean the credentials or the database name are wrong. */
const AUTH_CODES = new Set(['28P01', '28000']);
const MISSING_DATABASE = '3D000';
/** Network errors worth another try: the server restarted or the connection dropped. */
const RETRYABLE_NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
]);
/** Class 08 (connection exception), 57P01-03 (admin shutdown, crash, cannot connect now), 40001/40P01. */
const RETRYABLE_SQLSTATE = /^(08|57P0[123]|40001|40P01)/;

/**
 * Opens one PostgreSQL connection for a step, with the session settings the connector relies on
 * (UTC, ISO dates, full float precision). A connection failure becomes a {@link SourceError} or
 * {@link SinkError} that names the server and user and says what to check; a refused or dropped
 * connection is retryable.
 *
 * @example
 * ```ts
 * const client = await connectPostgres('postgres://app@db/shop', { role: 'source', stepId: 'orders' });
 * ```
 */
export async function connectPostgres(url: string, where: PostgresRole): Promise<Client> {
  const driver = await importPg(where);
  const client = new driver.Client({ connectionString: url, application_name: 'sluice' });
  // A connection lost while idle emits 'error'; the next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(
      "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3",
    );
    return client;
  } catch (cause) {
    await client.end().catch(() => undefined);
    throw postgresError(where, `cannot connect to ${describeServer(url)}`, cause);
  }
}

/**
 * Wraps a PostgreSQL failure in the step's error, with a hint for the usual causes and the
 * retryable flag set for dropped connections (`otherwise.hint` when no usual cause applies).
 *
 * @example
 * ```ts
 * throw postgresError({ role: 'sink', stepId: 'out' }, 'cannot merge into public.orders', cause);
 * ```
 */
export function postgresError(
  where: PostgresRole,
  what: string,
  cause: unknown,
  otherwise: { readonly hint?: string } = {},
): SourceError | SinkError | EngineError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  const text = cause instanceof Error ? cause.message : String(cause);
  const retryable =
    typeof code === 'string' && (RETRYABLE_NETWORK.has(code) || RETRYABLE_SQLSTATE.test(code));
  const hint =
    typeof code === 'string' && AUTH_CODES.has(code)
      ? 'check the user and password in the url (or PGUSER/PGPASSWORD), and pg_hba.conf on the server'
      : code === MISSING_DATABASE
        ? 'create the database, or fix its name in the url'
        : retryable
          ? 'check that the server is running and reachable from here; the error is retryable: a source or transform with retries tries again, sluice serve and workers run a pipeline with retries again, and a stream started again resumes from its last checkpoint'
          : otherwise.hint;
  const wrapped = Object.assign(new Error(text), { retryable, code });
  const options = { cause: wrapped, ...(hint === undefined ? {} : { hint }) };
  const message = `${what}: ${text}`;
  return stepError(where, message, options);
}

function stepError(
  where: PostgresRole,
  message: string,
  options: SluiceErrorOptions,
): SourceError | SinkError | EngineError {
  switch (where.role) {
    case 'source':
      return new SourceError(where.stepId, message, options);
    case 'sink':
      return new SinkError(where.stepId, message, options);
    case 'model':
      return new EngineError(where.stepId, `PostgreSQL: ${message}`, options);
  }
}

/** `user@host:port/database` of a connection URL, without its password. */
export function describeServer(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username === '' ? '' : `${decodeURIComponent(parsed.username)}@`;
    return `${user}${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'the PostgreSQL server (the url does not parse)';
  }
}

async function importPg(where: PostgresRole): Promise<typeof pg> {
  try {
    return (await import('pg')).default;
  } catch (cause) {
    const error = new Error('the "pg" package is not installed');
    const options = { cause, hint: 'npm install pg' };
    throw stepError(where, error.message, options);
  }
}
