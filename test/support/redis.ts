import { createClient } from 'redis';
import { randomHex } from '../../src/core/ids.js';

/** The server the Redis tests use (env SLUICE_TEST_REDIS, default the machine's Redis). */
export const REDIS_URL = process.env['SLUICE_TEST_REDIS'] ?? 'redis://127.0.0.1:6379';

/** A connected client for arranging and checking test data. */
export type RedisTestClient = ReturnType<typeof newClient>;

function newClient() {
  const client = createClient({ url: REDIS_URL });
  client.on('error', () => undefined);
  return client;
}

/**
 * Why Redis cannot be used here (undefined when it can). Under `CI=true` a missing server fails
 * instead.
 */
export async function redisUnavailable(): Promise<string | undefined> {
  const client = createClient({
    url: REDIS_URL,
    socket: { connectTimeout: 2_000, reconnectStrategy: false },
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} is not reachable (${(error as Error).message})`;
    if (process.env['CI'] === 'true') throw new Error(`${reason}; CI needs it`, { cause: error });
    return reason;
  } finally {
    client.destroy();
  }
}

/** Connects a client to the test server. */
export async function connectRedis(): Promise<RedisTestClient> {
  const client = newClient();
  await client.connect();
  return client;
}

/** A stream key no other test uses; `cleanup` deletes every key made this way. */
export function uniqueKey(prefix = 'sluice-test'): string {
  const key = `${prefix}:${randomHex(6)}`;
  made.push(key);
  return key;
}

const made: string[] = [];

/** Deletes the keys {@link uniqueKey} handed out. */
export async function deleteTestKeys(client: RedisTestClient): Promise<void> {
  const keys = made.splice(0);
  if (keys.length > 0) await client.del(keys);
}
