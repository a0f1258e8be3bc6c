import type * as KafkaDriver from '@platformatic/kafka';
import type { BaseOptions } from '@platformatic/kafka';
import { parseDuration } from '../../core/duration.js';
import type { SinkError, SourceError } from '../../core/errors.js';
import { connectorError } from '../../core/errors.js';
import { resolveSecret } from '../../contracts/secrets.js';
import type { KafkaConnectionConfig } from './kafka-configs.js';

/** The step a client serves: its errors name it. */
export interface KafkaRole {
  readonly role: 'source' | 'sink';
  readonly stepId: string;
}

/** The `@platformatic/kafka` module, loaded when a stream first opens a Kafka step. */
export type KafkaModule = typeof KafkaDriver;

/** What a Kafka failure comes down to, for the step's error. */
export interface KafkaFailure {
  /** The most telling message of the error and its causes. */
  readonly text: string;
  /** Kafka's error name (`TOPIC_AUTHORIZATION_FAILED`), a socket code, or the client's code. */
  readonly code: string | undefined;
  readonly retryable: boolean;
  readonly hint: string | undefined;
}

/** Socket errors worth another try. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Kafka error names with a hint of their own. */
const HINTS: Readonly<Record<string, string>> = {
  ECONNREFUSED:
    'check that a Kafka broker listens at that host and port (brokers); the stream stops here: start it again once the broker is up (it resumes from its last checkpoint), or run it under a supervisor that restarts it',
  ENOTFOUND: 'the host name does not resolve: check brokers',
  EAI_AGAIN: 'the host name does not resolve: check brokers',
  PLT_KFK_AUTHENTICATION:
    'check sasl (mechanism, username and password) against what the brokers expect',
  SASL_AUTHENTICATION_FAILED:
    'check sasl (mechanism, username and password) against what the brokers expect',
  UNSUPPORTED_SASL_MECHANISM: 'the brokers do not offer this SASL mechanism: change sasl.mechanism',
  TOPIC_AUTHORIZATION_FAILED: "the user may not use this topic: check the cluster's ACLs",
  GROUP_AUTHORIZATION_FAILED: "the user may not use this consumer group: check the cluster's ACLs",
  CLUSTER_AUTHORIZATION_FAILED:
    'the user may not use the idempotent producer: grant IDEMPOTENT_WRITE, or set idempotent: false',
  UNKNOWN_TOPIC_OR_PARTITION: 'the topic does not exist: create it (topics are not created)',
  OFFSET_OUT_OF_RANGE:
    "the broker deleted messages before they were read (the topic's retention); the stream restarts from its checkpoint at the oldest message there is",
  PLT_KFK_TIMEOUT:
    'the broker did not answer in time: check brokers, the network and firewalls (connectTimeout, requestTimeout)',
  MESSAGE_TOO_LARGE:
    "a message is larger than the topic's max.message.bytes: send smaller rows or raise the limit",
  RECORD_LIST_TOO_LARGE: 'a produce request is too large: lower batchSize',
  FENCED_INSTANCE_ID:
    'another process reads this stream with the same consumer group and worker name; run one process per stream',
};

/**
 * The options every client of a step gets: brokers, client id, timeouts, TLS and SASL. A SASL
 * password given as `{ env }` is read now (a missing variable is a config error).
 *
 * @example
 * ```ts
 * new driver.Consumer({ ...clientOptions(config, where, 'sluice-clicks'), groupId: 'sluice-clicks' });
 * ```
 */
export function clientOptions(
  config: KafkaConnectionConfig,
  where: KafkaRole,
  defaultClientId: string,
): BaseOptions {
  const brokers = typeof config.brokers === 'string' ? [config.brokers] : [...config.brokers];
  return {
    clientId: config.clientId ?? defaultClientId,
    bootstrapBrokers: brokers,
    connectTimeout: parseDuration(config.connectTimeout),
    requestTimeout: parseDuration(config.requestTimeout),
    timeout: parseDuration(config.requestTimeout),
    ...(config.tls ? { tls: {} } : {}),
    ...(config.sasl === undefined
      ? {}
      : {
          sasl: {
            mechanism: config.sasl.mechanism,
            username: config.sasl.username,
            password: resolveSecret(config.sasl.password, where.stepId, 'sasl.password'),
          },
        }),
  };
}

/**
 * Reads what a Kafka client error means: Kafka's error name when the brokers answered with one,
 * the socket's code when the network failed, whether retrying may help, and a hint.
 *
 * @example
 * ```ts
 * kafkaFailure(new ProtocolError('TOPIC_AUTHORIZATION_FAILED')).code; // "TOPIC_AUTHORIZATION_FAILED"
 * ```
 */
export function kafkaFailure(cause: unknown): KafkaFailure {
  const errors = flatten(cause);
  const apiError = errors.find((error) => typeof field(error, 'apiId') === 'string');
  const socket = errors.find((error) => /^E[A-Z_]+$/.test(String(field(error, 'code') ?? '')));
  const client = errors.find((error) => String(field(error, 'code') ?? '').startsWith('PLT_KFK_'));
  const code =
    (field(apiError, 'apiId') as string | undefined) ??
    (field(socket, 'code') as string | undefined) ??
    (field(client, 'code') as string | undefined);
  const detail = [apiError, socket, client, errors[0]].find((e) => e !== undefined);
  const text = detail instanceof Error ? detail.message : String(cause);
  const clientCode = field(client, 'code');
  const retryable =
    apiError !== undefined
      ? field(apiError, 'canRetry') === true
      : socket !== undefined
        ? NETWORK_CODES.has(String(field(socket, 'code')))
        : clientCode === 'PLT_KFK_NETWORK' || clientCode === 'PLT_KFK_TIMEOUT';
  const hint =
    (code === undefined ? undefined : HINTS[code]) ??
    (clientCode === undefined ? undefined : HINTS[String(clientCode)]);
  return { text, code, retryable, hint };
}

/**
 * Wraps a Kafka client failure in the step's error (`SOURCE_FAILED` or `SINK_FAILED`), with the
 * retryable flag and a hint for the usual causes.
 *
 * @example
 * ```ts
 * throw kafkaError({ role: 'sink', stepId: 'sink' }, 'cannot produce to page_views', cause);
 * ```
 */
export function kafkaError(
  where: KafkaRole,
  what: string,
  cause: unknown,
  otherwise: { readonly hint?: string } = {},
): SourceError | SinkError {
  const failure = kafkaFailure(cause);
  const code =
    failure.code === undefined || failure.text.includes(failure.code) ? '' : ` (${failure.code})`;
  return connectorError(where, `${what}: ${failure.text}${code}`, {
    text: failure.text,
    retryable: failure.retryable,
    code: failure.code,
    hint: failure.hint ?? otherwise.hint,
  });
}

/**
 * The brokers of a config for messages.
 *
 * @example
 * ```ts
 * describeBrokers(['k1:9092', 'k2:9092']); // "Kafka at k1:9092, k2:9092"
 * ```
 */
export function describeBrokers(brokers: string | readonly string[]): string {
  return `Kafka at ${(typeof brokers === 'string' ? [brokers] : brokers).join(', ')}`;
}

/**
 * Loads `@platformatic/kafka`, or fails with the step's error naming the package to install.
 *
 * @example
 * ```ts
 * const driver = await importKafka({ role: 'source', stepId: 'source' });
 * ```
 */
export async function importKafka(where: KafkaRole): Promise<KafkaModule> {
  try {
    return await import('@platformatic/kafka');
  } catch (cause) {
    throw connectorError(where, 'the "@platformatic/kafka" package is not installed', {
      text: cause instanceof Error ? cause.message : String(cause),
      retryable: false,
      hint: 'npm install @platformatic/kafka',
    });
  }
}

/**
 * Closes a consumer or producer at once (streams it opened included); never fails.
 *
 * @example
 * ```ts
 * await closeClient(consumer);
 * ```
 */
export function closeClient(client: {
  close(force: boolean, callback: (error?: Error | null) => void): void;
}): Promise<void> {
  return new Promise((resolve) => {
    try {
      client.close(true, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** The error and every error it wraps (causes, aggregated errors), outermost first. */
function flatten(cause: unknown): unknown[] {
  const out: unknown[] = [];
  const visit = (error: unknown, depth: number): void => {
    if (error === undefined || error === null || depth > 6 || out.includes(error)) return;
    out.push(error);
    const inner = field(error, 'errors');
    if (Array.isArray(inner)) for (const each of inner) visit(each, depth + 1);
    visit(field(error, 'cause'), depth + 1);
  };
  visit(cause, 0);
  return out;
}

function field(error: unknown, name: string): unknown {
  return typeof error === 'object' && error !== null
    ? (error as Record<string, unknown>)[name]
    : undefined;
}
