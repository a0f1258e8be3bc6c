import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Field } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import { deltaScanSQL, loadDeltaSnapshot, skipFiles, writeDelta } from '../src/table/index.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../src/core/type-mappings.js';
import { fixtureFolder } from './fixtures.js';
import { tempDir } from './helpers.js';

let session: DuckDBSession;
let connection: EngineConnection;
beforeAll(async () => {
  session = await DuckDBSession.create();
  connection = await session.connect();
});
afterAll(() => session.close());

const FIELDS: Field[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'day', type: { kind: 'date' }, nullable: true },
  { name: 'name', type: { kind: 'string' }, nullable: true },
  { name: 'at', type: { kind: 'timestamp', tz: true }, nullable: true },
];

describe('skipFiles', () => {
  it('keeps only files whose partition values or min/max may match, and never loses a row', async () => {
    const table = join(await tempDir(), 't');
    // 10 commits: ids 0-99, 100-199, ...; two days, so 20 files.
    for (let batch = 0; batch < 10; batch++) {
      await writeDelta(
        connection,
        table,
        `(SELECT range::BIGINT AS id, DATE '2026-03-01' + (range % 2)::INTEGER AS day,
                 'n' || lpad(range::VARCHAR, 4, '0') AS name,
                 TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_seconds(range) AS at
          FROM range(${batch * 100}, ${batch * 100 + 100}))`,
        FIELDS,
        { mode: 'append', partitionBy: ['day'] },
      );
    }
    const snapshot = await loadDeltaSnapshot(connection, table);
    expect(snapshot.files).toHaveLength(20);
    const cases: [string, number][] = [
      ['id = 150', 2],
      ['150 = id', 2],
      ["id = 150 AND day = DATE '2026-03-02'", 1],
      ["day = '2026-03-01'", 10],
      ['id BETWEEN 250 AND 420', 6],
      ['id IN (5, 905)', 4],
      ['id < 100', 2],
      ['id >= 900', 2],
      ["name > 'n0850'", 4],
      ['id = 150 OR id = 950', 20],
      [`"at" < TIMESTAMPTZ '2026-03-01 00:00:10+00'`, 20],
      ['lower(name) = name', 20],
      ['id = -1', 0],
    ];
    for (const [predicate, files] of cases) {
      const pruned = await skipFiles(connection, snapshot, predicate);
      expect(pruned.files.length, predicate).toBe(files);
      const count = async (s: typeof snapshot): Promise<number> =>
        Number(
          (
            await connection.rows(`SELECT count(*) AS n FROM ${deltaScanSQL(s)} WHERE ${predicate}`)
          )[0]?.['n'],
        );
      expect(await count(pruned), predicate).toBe(await count(snapshot));
    }
    expect((await skipFiles(connection, snapshot, 'not valid sql (((')).files).toHaveLength(20);
  });
});

const fixtures = fixtureFolder('delta');

describe.skipIf(fixtures === undefined)('skipFiles on tables written by Spark and delta-rs', () => {
  it('gives the same rows as a full scan for predicates on every column', async () => {
    for (const name of ['delta-0.8.0', 'delta-0.8.0-partitioned', 'simple_table_with_checkpoint']) {
      const snapshot = await loadDeltaSnapshot(
        connection,
        join(fixtures as string, 'tables', name),
      );
      for (const field of snapshot.fields) {
        const column = quoteIdentifier(field.name);
        const [sample] = await connection.rows(
          `SELECT ${column}::VARCHAR AS v FROM ${deltaScanSQL(snapshot)} WHERE ${column} IS NOT NULL LIMIT 1`,
        );
        if (sample === undefined) continue;
        const value = `CAST(${quoteLiteral(String(sample['v']))} AS ${toDuckDBType(field.type)})`;
        for (const predicate of [
          `${column} = ${value}`,
          `${column} < ${value}`,
          `${column} >= ${value}`,
        ]) {
          const count = async (s: typeof snapshot): Promise<number> =>
            Number(
              (
                await connection.rows(
                  `SELECT count(*) AS n FROM ${deltaScanSQL(s)} WHERE ${predicate}`,
                )
              )[0]?.['n'],
            );
          const pruned = await skipFiles(connection, snapshot, predicate);
          expect(await count(pruned), `${name}: ${predicate}`).toBe(await count(snapshot));
        }
      }
    }
  });
});
