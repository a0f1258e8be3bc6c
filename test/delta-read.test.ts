import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JSDuckDBValueConverter } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TableError } from '../src/core/errors.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import { deltaScanSQL, loadDeltaSnapshot } from '../src/table/index.js';
import { fixtureFolder } from './fixtures.js';
import { tempDir } from './helpers.js';

interface ExpectedVersion {
  readonly version: number;
  readonly protocol: { minReaderVersion: number; minWriterVersion: number };
  readonly partitionColumns: readonly string[];
  readonly columns: readonly string[];
  readonly active_files: readonly string[];
  readonly num_rows: number;
  readonly rows: readonly Record<string, unknown>[];
}

const folder = fixtureFolder('delta');
const readable = [
  'delta-0.8.0',
  'delta-0.8.0-partitioned',
  'simple_table',
  'simple_table_with_checkpoint',
  'table-without-dv-small',
];

let session: DuckDBSession;
let connection: EngineConnection;
beforeAll(async () => {
  session = await DuckDBSession.create();
  connection = await session.connect();
});
afterAll(() => session.close());

async function copyTable(name: string): Promise<string> {
  const dir = join(await tempDir(), name);
  await cp(join(folder as string, 'tables', name), dir, { recursive: true });
  return dir;
}

function render(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  return value;
}

describe.skipIf(folder === undefined)('Delta tables written by Spark and delta-rs', () => {
  it.each(readable)('%s: every version matches the expected snapshot and rows', async (name) => {
    const table = await copyTable(name);
    const versions = (await readdir(join(folder as string, 'expected', name)))
      .filter((f) => f.startsWith('version-'))
      .sort();
    expect(versions.length).toBeGreaterThan(0);
    for (const file of versions) {
      const expected = JSON.parse(
        await readFile(join(folder as string, 'expected', name, file), 'utf8'),
      ) as ExpectedVersion;
      const snapshot = await loadDeltaSnapshot(connection, table, { version: expected.version });
      expect(snapshot.version).toBe(expected.version);
      expect({
        minReaderVersion: snapshot.protocol.minReaderVersion,
        minWriterVersion: snapshot.protocol.minWriterVersion,
      }).toEqual(expected.protocol);
      expect(snapshot.partitionColumns).toEqual(expected.partitionColumns);
      expect(snapshot.fields.map((f) => f.name)).toEqual(expected.columns);
      expect(snapshot.files.map((f) => f.path)).toEqual(expected.active_files);
      const reader = await connection.raw.runAndReadAll(`SELECT * FROM ${deltaScanSQL(snapshot)}`);
      const rows = reader
        .convertRowObjects(JSDuckDBValueConverter)
        .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, render(v)])));
      expect(rows).toHaveLength(expected.num_rows);
      const key = (r: unknown): string => JSON.stringify(r);
      expect(rows.map(key).sort()).toEqual(expected.rows.map(key).sort());
    }
    const latest = await loadDeltaSnapshot(connection, table);
    expect(latest.version).toBe(Number(versions.at(-1)?.slice(8, 10)));
  });

  it('ignores an unfinished commit under _delta_log/.tmp and loads from a checkpoint', async () => {
    const simple = await loadDeltaSnapshot(connection, await copyTable('simple_table'));
    expect(simple.version).toBe(4);
    const checkpointed = await loadDeltaSnapshot(
      connection,
      await copyTable('simple_table_with_checkpoint'),
    );
    expect(checkpointed.version).toBe(10);
    expect(checkpointed.files).toHaveLength(11);
  });

  it('travels in time by timestamp', async () => {
    const table = await copyTable('simple_table');
    const v1 = await loadDeltaSnapshot(connection, table, { version: 1 });
    const atV1 = await loadDeltaSnapshot(connection, table, { timestamp: v1.timestamp });
    expect(atV1.version).toBe(1);
    await expect(
      loadDeltaSnapshot(connection, table, { timestamp: '1990-01-01T00:00:00Z' }),
    ).rejects.toThrow(/no version was committed/);
    await expect(loadDeltaSnapshot(connection, table, { version: 9 })).rejects.toThrow(
      /version 9 does not exist; the latest is 4/,
    );
  });

  it('refuses a table that needs deletion vectors instead of returning deleted rows', async () => {
    const table = await copyTable('table-with-dv-small');
    await expect(loadDeltaSnapshot(connection, table)).rejects.toThrow(TableError);
    await expect(loadDeltaSnapshot(connection, table)).rejects.toThrow(
      /reader version 3 with features deletionVectors/,
    );
    // Version 0 predates the deletion vector but already carries the protocol that needs it.
    await expect(loadDeltaSnapshot(connection, table, { version: 0 })).rejects.toThrow(
      /deletionVectors/,
    );
  });

  it('says clearly when a path is not a Delta table', async () => {
    await expect(loadDeltaSnapshot(connection, await tempDir())).rejects.toThrow(
      /no transaction log at/,
    );
  });
});
