import type * as MQTTDriver from 'mqtt';
import type { IConnackPacket, IClientOptions, MqttClient } from 'mqtt';
import type { SinkError, SourceError } from '../../core/errors.js';
import { connectorError } from '../../core/errors.js';
import type { SecretValue } from '../../contracts/secrets.js';
import { resolveSecret } from '../../contracts/secrets.js';

/** The step a connection serves: its errors name it. */
export interface MQTTRole {
  readonly role: 'source' | 'sink';
  readonly stepId: string;
}

/** How to connect. */
export interface MQTTConnectOptions {
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: SecretValue | undefined;
  readonly protocolVersion: 4 | 5;
  readonly connectTimeoutMs: number;
  readonly clientId: string;
  /** Start a new session (MQTT 5 Clean Start, MQTT 3.1.1 Clean Session). */
  readonly clean: boolean;
  readonly properties?: IClientOptions['properties'];
  /** Runs on the client before it connects, to install handlers. */
  readonly prepare?: (client: MqttClient) => void;
}

/** What connecting gives: the client and the broker's CONNACK. */
export interface MQTTConnection {
  readonly client: MqttClient;
  readonly connack: IConnackPacket;
}

/** Reconnect delay once connected; the first connect is never retried, so it fails fast. */
const RECONNECT_PERIOD_MS = 1_000;

/** CONNACK codes (MQTT 3.1.1 return codes, MQTT 5 reason codes) for bad credentials. */
const AUTH_CODES = new Set([4, 5, 134, 135, 140]);
/** CONNACK codes for a refused client id. */
const CLIENT_ID_CODES = new Set([2, 133]);
/** CONNACK codes worth another try: the broker is unavailable or busy. */
const RETRYABLE_CODES = new Set([3, 136, 137, 159]);
/** Socket errors worth another try. */
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

/**
 * Connects one MQTT client for a step. The first connect is tried once and fails fast (refused,
 * unknown host, bad credentials, no answer within the timeout) with a step error naming the
 * broker and saying what to check; once connected, the client reconnects by itself.
 *
 * @example
 * ```ts
 * const { client } = await connectMQTT(
 *   { url: 'mqtt://127.0.0.1:1883', protocolVersion: 5, connectTimeoutMs: 10_000, clientId: 'alerts', clean: true },
 *   { role: 'sink', stepId: 'alerts' },
 * );
 * ```
 */
export async function connectMQTT(
  options: MQTTConnectOptions,
  where: MQTTRole,
): Promise<MQTTConnection> {
  const driver = await importMQTT(where);
  const broker = describeBroker(options.url);
  const password =
    options.password === undefined
      ? undefined
      : resolveSecret(options.password, where.stepId, 'password');
  let client: MqttClient;
  try {
    client = driver.connect(options.url, {
      clientId: options.clientId,
      clean: options.clean,
      protocolVersion: options.protocolVersion,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: 0,
      manualConnect: true,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(password === undefined ? {} : { password }),
      ...(options.properties === undefined ? {} : { properties: options.properties }),
    });
  } catch (cause) {
    throw mqttError(where, `cannot use the url of ${broker}`, cause, {
      hint: 'write the url as mqtt://host:1883 (mqtts:// for TLS, ws:// or wss:// for WebSocket)',
    });
  }
  // Errors after connecting surface through the client's state; this keeps them from crashing.
  client.on('error', () => undefined);
  options.prepare?.(client);
  return new Promise<MQTTConnection>((resolve, reject) => {
    let settled = false;
    const settle = (error: unknown, connack?: IConnackPacket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      if (connack !== undefined) {
        client.options.reconnectPeriod = RECONNECT_PERIOD_MS;
        resolve({ client, connack });
        return;
      }
      client.end(true);
      reject(mqttError(where, `cannot connect to ${broker}`, error));
    };
    const onConnect = (connack: IConnackPacket): void => settle(undefined, connack);
    const onError = (error: Error): void => settle(error);
    const onClose = (): void =>
      settle(new Error('the connection closed before the broker accepted it'));
    const timer = setTimeout(
      () =>
        settle(
          Object.assign(new Error(`no answer within ${options.connectTimeoutMs} ms`), {
            code: 'ETIMEDOUT',
          }),
        ),
      options.connectTimeoutMs + 500,
    );
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
    client.connect();
  });
}

/**
 * Wraps an MQTT failure in the step's error, with a hint for the usual causes and the retryable
 * flag set for network failures and a busy or unavailable broker.
 *
 * @example
 * ```ts
 * throw mqttError({ role: 'source', stepId: 'sensors' }, 'cannot subscribe to sensors/#', cause);
 * ```
 */
export function mqttError(
  where: MQTTRole,
  what: string,
  cause: unknown,
  otherwise: { readonly hint?: string } = {},
): SourceError | SinkError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const code = (cause as { code?: unknown } | undefined)?.code;
  const reason = typeof code === 'number' ? code : undefined;
  const retryable =
    reason === undefined
      ? typeof code === 'string' && NETWORK_CODES.has(code)
      : RETRYABLE_CODES.has(reason);
  const hint =
    reason !== undefined && AUTH_CODES.has(reason)
      ? 'check the username and password, and what the broker allows that user (its ACL)'
      : reason !== undefined && CLIENT_ID_CODES.has(reason)
        ? 'the broker refused the client id; set clientId to one it accepts'
        : retryable
          ? 'check that the broker is running and reachable from here at that host and port'
          : otherwise.hint;
  return connectorError(where, `${what}: ${text}`, { text, retryable, code, hint });
}

/**
 * Names the broker of a URL for messages, without its credentials.
 *
 * @example
 * ```ts
 * describeBroker('mqtts://etl:secret@broker'); // "the MQTT broker at broker:8883"
 * ```
 */
export function describeBroker(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || (parsed.protocol === 'mqtts:' ? '8883' : '1883');
    return `the MQTT broker at ${parsed.hostname}:${port}`;
  } catch {
    return 'the MQTT broker (the url does not parse)';
  }
}

/**
 * Closes a client after what it has written (PUBACKs among it) is flushed, waiting at most two
 * seconds for the broker; never throws.
 *
 * @example
 * ```ts
 * await closeMQTT(client);
 * ```
 */
export async function closeMQTT(client: MqttClient): Promise<void> {
  client.options.reconnectPeriod = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.end(true);
      resolve();
    }, 2_000);
    try {
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    } catch {
      clearTimeout(timer);
      resolve();
    }
  });
}

async function importMQTT(where: MQTTRole): Promise<typeof MQTTDriver> {
  try {
    return await import('mqtt');
  } catch (cause) {
    throw mqttError(where, 'the "mqtt" package is not installed', cause, {
      hint: 'npm install mqtt',
    });
  }
}
