import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JSDuckDBValueConverter } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Field } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import { main } from '../src/cli/main.js';
import { pipeline, ref, sink, source } from '../src/index.js';
import { deltaScanSQL, loadDeltaSnapshot, mergeDelta, writeDelta } from '../src/table/index.js';
import { runIn, tempDir } from './helpers.js';

let session: DuckDBSession;
let connection: EngineConnection;
beforeAll(async () => {
  session = await DuckDBSession.create();
  connection = await session.connect();
});
afterAll(() => session.close());

const FIELDS: Field[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'label', type: { kind: 'string' }, nullable: true },
];
const rows = (from: number, to: number): string =>
  `(SELECT CAST(range AS BIGINT) AS id, 'row ' || range AS label FROM range(${from}, ${to}))`;

/** The table's commit files, in order. */
async function commits(table: string): Promise<string[]> {
  return (await readdir(join(table, '_delta_log'))).filter((n) => n.endsWith('.json')).sort();
}

async function ids(table: string): Promise<bigint[]> {
  const snapshot = await loadDeltaSnapshot(connection, table);
  const reader = await connection.raw.runAndReadAll(
    `SELECT id FROM ${deltaScanSQL(snapshot)} ORDER BY id`,
  );
  return reader.convertRowObjects(JSDuckDBValueConverter).map((r) => r['id'] as bigint);
}

describe('Delta writes with no rows', () => {
  it('an append or a merge of zero rows commits nothing; an overwrite with zero rows empties the table', async () => {
    const table = join(await tempDir(), 'items');
    await writeDelta(connection, table, rows(0, 3), FIELDS, { mode: 'append' });
    expect(await commits(table)).toHaveLength(1);

    const append = await writeDelta(connection, table, rows(0, 0), FIELDS, {
      mode: 'append',
      transaction: { appId: 'run-2', version: 0 },
    });
    expect(append).toMatchObject({ version: 0, skipped: true, filesAdded: 0, rowsWritten: 0 });
    const merge = await mergeDelta(connection, table, rows(0, 0), FIELDS, { keys: ['id'] });
    expect(merge).toMatchObject({ version: 0, skipped: true, filesAdded: 0 });
    expect(await commits(table)).toHaveLength(1);
    expect(await ids(table)).toEqual([0n, 1n, 2n]);

    // Overwriting with nothing is a real change: the table is emptied in a new version.
    const overwrite = await writeDelta(connection, table, rows(0, 0), FIELDS, {
      mode: 'overwrite',
    });
    expect(overwrite).toMatchObject({ version: 1, skipped: false, filesRemoved: 1 });
    expect(await ids(table)).toEqual([]);
    // Overwriting an empty table with nothing changes nothing.
    const again = await writeDelta(connection, table, rows(0, 0), FIELDS, { mode: 'overwrite' });
    expect(again).toMatchObject({ version: 1, skipped: true });
    expect(await commits(table)).toHaveLength(2);
  });

  it('the first write of zero rows still creates the table (its schema is a change)', async () => {
    const table = join(await tempDir(), 'empty');
    const first = await writeDelta(connection, table, rows(0, 0), FIELDS, { mode: 'append' });
    expect(first).toMatchObject({ version: 0, skipped: false, filesAdded: 0 });
    expect(await ids(table)).toEqual([]);
  });

  it('a pipeline run that reads no new rows adds no version to an append sink', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'in.csv'), 'id,label\n1,a\n2,b\n');
    const p = pipeline('empty_runs', {
      steps: {
        read: source.csv({ path: 'in.csv', incremental: { cursor: 'id' } }),
        out: sink.delta({ input: ref('read'), path: 'lake/items' }),
      },
    });
    const first = await runIn(dir, p);
    expect(first.error).toBeUndefined();
    const second = await runIn(dir, p, { watermarks: first.watermarks ?? {} });
    expect(second.error).toBeUndefined();
    expect(second.steps.find((s) => s.id === 'read')?.rowsOut).toBe(0);
    expect(await commits(join(dir, 'lake', 'items'))).toHaveLength(1);
  });

  it('sluice table write of an empty file says nothing was committed', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'some.csv'), 'label\na\n');
    await writeFile(join(dir, 'none.csv'), 'label\n');
    const table = join(dir, 'items');
    const write = async (file: string): Promise<string> => {
      let out = '';
      const code = await main(
        ['table', 'write', table, '--from', join(dir, file), '--mode', 'append'],
        {
          stdout: (text) => (out += text),
          stderr: (text) => (out += text),
          stderrIsTTY: false,
          cwd: dir,
        },
      );
      expect(code, out).toBe(0);
      return out;
    };
    expect(await write('some.csv')).toMatch(/^Committed version 0: 1 rows/);
    expect(await write('none.csv')).toBe(
      'No rows to add; nothing committed (the table stays at version 0)\n',
    );
    expect(await commits(table)).toHaveLength(1);
  });
});
