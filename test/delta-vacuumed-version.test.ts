import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { SluiceError } from '../src/core/errors.js';
import type { Field } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import { pipeline, ref, sink, source } from '../src/index.js';
import {
  deltaScanSQL,
  fetchDeltaFiles,
  loadDeltaSnapshot,
  vacuumDelta,
  writeDelta,
} from '../src/table/index.js';
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

/**
 * A table of versions 0 (append), 1 (append), 2 (overwrite), 3 (append), vacuumed with no
 * retention: the files of versions 0 and 1 are gone; versions 2 and 3 are readable.
 */
async function vacuumedTable(): Promise<{ dir: string; table: string }> {
  const dir = await tempDir();
  const table = join(dir, 'lake', 'items');
  await writeDelta(connection, table, rows(0, 3), FIELDS, { mode: 'append' });
  await writeDelta(connection, table, rows(3, 6), FIELDS, { mode: 'append' });
  await writeDelta(connection, table, rows(10, 12), FIELDS, { mode: 'overwrite' });
  await writeDelta(connection, table, rows(12, 13), FIELDS, { mode: 'append' });
  const vacuum = await vacuumDelta(connection, table, { retentionHours: 0, force: true });
  expect(vacuum.files).toHaveLength(2);
  return { dir, table };
}

describe('reading a version whose files a vacuum removed', () => {
  it('fails with TABLE_UNREADABLE naming the version and the oldest readable one', async () => {
    const { table } = await vacuumedTable();
    const snapshot = await loadDeltaSnapshot(connection, table, { version: 1 });
    const error = await fetchDeltaFiles(snapshot).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('TABLE_UNREADABLE');
    expect((error as SluiceError).message).toMatch(
      /version 1 cannot be read: 2 of its 2 data file\(s\) are gone/,
    );
    expect((error as SluiceError).hint).toMatch(/the oldest readable version is 2 \(latest 3\)/);
    expect((error as SluiceError).hint).toMatch(/retention/);

    // Versions the vacuum left alone read as before.
    const two = await loadDeltaSnapshot(connection, table, { version: 2 });
    await fetchDeltaFiles(two);
    const reader = await connection.raw.runAndReadAll(
      `SELECT count(*) AS n FROM ${deltaScanSQL(two)}`,
    );
    expect(Number(reader.getRowObjects()[0]?.['n'])).toBe(2);
  });

  it('source.delta at a vacuumed version fails the step with TABLE_UNREADABLE, not ENGINE_FAILED', async () => {
    const { dir } = await vacuumedTable();
    const report = await runIn(
      dir,
      pipeline('old_items', {
        steps: {
          read: source.delta({ path: 'lake/items', version: 0 }),
          out: sink.ndjson({ input: ref('read'), path: 'out.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('TABLE_UNREADABLE');
    expect(report.error?.message).toMatch(/version 0 cannot be read/);
    expect(report.error?.message).not.toMatch(/IO Error/);
    expect(report.error?.hint).toMatch(/oldest readable version is 2/);
  });

  it('sluice table read --version of a vacuumed version exits 1 with TABLE_UNREADABLE', async () => {
    const { dir, table } = await vacuumedTable();
    let err = '';
    const code = await main(['table', 'read', table, '--version', '1'], {
      stdout: () => undefined,
      stderr: (text) => (err += text),
      stderrIsTTY: false,
      cwd: dir,
    });
    expect(code).toBe(1);
    expect(err).toMatch(/TABLE_UNREADABLE/);
    expect(err).toMatch(/version 1 cannot be read/);
    expect(err).toMatch(/oldest readable version is 2/);
  });
});
