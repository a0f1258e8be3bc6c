import pg from 'pg';
import { randomHex } from '../../src/core/ids.js';

const ADMIN_URL =
  process.env['SLUICE_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Whether the machine's PostgreSQL answers. Without it the tests that need it skip with this
 * reason, except under `CI=true`, where they fail.
 */
export async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    const reason = `PostgreSQL at ${ADMIN_URL} is not reachable (${(error as Error).message})`;
    if (process.env['CI'] === 'true') throw new Error(`${reason}; CI needs it`, { cause: error });
    return reason;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates a database with a unique name and returns its URL and a function that drops it. */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `sluice_test_${randomHex(6)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}
