import { Readable } from 'node:stream';
import { createClient } from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { ClickHouseLogLevel } from '@clickhouse/client';
import { randomHex } from '../../src/core/ids.js';

/** The server the ClickHouse tests use (env SLUICE_CLICKHOUSE_URL, default the local test server). */
export const CLICKHOUSE_URL = process.env['SLUICE_CLICKHOUSE_URL'] ?? 'http://127.0.0.1:8123';

function clientFor(url: string): ClickHouseClient {
  const parsed = new URL(url);
  const database = parsed.pathname.replace(/^\//, '');
  return createClient({
    url: parsed.origin,
    username: parsed.username === '' ? 'default' : decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    ...(database === '' ? {} : { database }),
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/**
 * Why ClickHouse cannot be used here (undefined when it can). Under `CI=true` a missing server
 * fails instead.
 */
export async function clickhouseUnavailable(): Promise<string | undefined> {
  const client = clientFor(CLICKHOUSE_URL);
  try {
    await client.command({ query: 'SELECT 1' });
    return undefined;
  } catch (error) {
    const reason = `ClickHouse at ${new URL(CLICKHOUSE_URL).origin} is not reachable (${(error as Error).message.split('\n')[0]})`;
    if (process.env['CI'] === 'true') throw new Error(`${reason}; CI needs it`, { cause: error });
    return reason;
  } finally {
    await client.close();
  }
}

/** A database of its own for one test file: its URL, queries in it, and a function that drops it. */
export interface ClickHouseTestDatabase {
  readonly name: string;
  /** `http://...:8123/<name>`, for sink configs. */
  readonly url: string;
  /** Runs a statement in the database. */
  command(sql: string): Promise<void>;
  /**
   * The rows of a query as text, exactly as ClickHouse prints them (`TabSeparatedWithNames`,
   * unescaped; NULL is null), so decimals and 64-bit integers keep every digit.
   */
  text(sql: string): Promise<Record<string, string | null>[]>;
  /** Inserts rows of text values (null is NULL) into a table of the database. */
  insert(table: string, rows: readonly (readonly (string | null)[])[]): Promise<void>;
  /** The names of the database's tables. */
  tables(): Promise<string[]>;
  drop(): Promise<void>;
}

/** Creates a database with a unique name on the test server. */
export async function createClickHouseDatabase(): Promise<ClickHouseTestDatabase> {
  const name = `sluice_test_${randomHex(6)}`;
  const admin = clientFor(CLICKHOUSE_URL);
  await admin.command({ query: `CREATE DATABASE ${name}` });
  const url = new URL(CLICKHOUSE_URL);
  url.pathname = `/${name}`;
  const client = clientFor(url.toString());
  const text = async (sql: string): Promise<Record<string, string | null>[]> => {
    const result = await client.query({ query: sql, format: 'TabSeparatedWithNames' });
    const lines = (await result.text()).split('\n').filter((line) => line !== '');
    const [header, ...rows] = lines.map((line) => line.split('\t').map(unescapeField));
    return rows.map((row) =>
      Object.fromEntries((header ?? []).map((column, i) => [column ?? '', row[i] ?? null])),
    );
  };
  return {
    name,
    url: url.toString(),
    command: async (sql) => {
      await client.command({ query: sql });
    },
    text,
    insert: async (table, rows) => {
      const body = rows.map((row) => `${row.map(escapeField).join('\t')}\n`).join('');
      await client.insert({
        table,
        values: Readable.from([Buffer.from(body)], { objectMode: false }),
        format: 'TabSeparated',
      });
    },
    tables: async () =>
      (await text(`SELECT name FROM system.tables WHERE database = '${name}' ORDER BY name`)).map(
        (row) => row['name'] ?? '',
      ),
    drop: async () => {
      await admin.command({ query: `DROP DATABASE IF EXISTS ${name}` });
      await client.close();
      await admin.close();
    },
  };
}

/** A text value as a TabSeparated field (null as `\N`). */
function escapeField(value: string | null): string {
  if (value === null) return '\\N';
  return value
    .replaceAll('\\', '\\\\')
    .replaceAll('\t', '\\t')
    .replaceAll('\n', '\\n')
    .replaceAll('\r', '\\r');
}

/** One TabSeparated field as its text (`\N` is null). */
function unescapeField(field: string): string | null {
  if (field === '\\N') return null;
  return field.replaceAll(/\\(.)/g, (_, c: string) =>
    c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c === '0' ? '\0' : c,
  );
}
