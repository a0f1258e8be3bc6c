import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINEAGE_CORPUS } from './lineage-corpus/index.js';
import type { ClickHouseTestDatabase } from './support/clickhouse.js';
import { clickhouseUnavailable, createClickHouseDatabase } from './support/clickhouse.js';

const unavailable = await clickhouseUnavailable();
if (unavailable !== undefined) console.warn(`skipping: ${unavailable}`);

function columnType(column: string): string {
  if (/time|_at$/.test(column)) return 'DateTime';
  if (/type|plan|country|service/.test(column)) return 'String';
  return 'Float64';
}

const quote = (name: string): string => `\`${name.replaceAll('`', '\\`')}\``;

describe.skipIf(unavailable !== undefined)(
  'column lineage corpus against ClickHouse itself',
  () => {
    let database: ClickHouseTestDatabase;

    beforeAll(async () => {
      database = await createClickHouseDatabase();
    });

    afterAll(async () => {
      await database?.drop();
    });

    it('every derivable ClickHouse statement binds, with the expected output columns in order', async () => {
      const cases = LINEAGE_CORPUS.filter(
        (entry) => entry.dialect === 'clickhouse' && entry.unresolved === undefined,
      );
      expect(cases.length).toBeGreaterThan(4);
      for (const entry of cases) {
        for (const [relation, columns] of Object.entries(entry.inputs)) {
          await database.command(`DROP TABLE IF EXISTS ${quote(relation)}`);
          await database.command(
            `CREATE TABLE ${quote(relation)} (${columns.map((c) => `${quote(c)} ${columnType(c)}`).join(', ')}) ENGINE = ReplacingMergeTree ORDER BY tuple()`,
          );
        }
        const described = await database.text(`DESCRIBE TABLE (${entry.sql})`);
        expect(
          described.map((row) => row['name']),
          entry.name,
        ).toEqual(Object.keys(entry.fields ?? {}));
        for (const relation of Object.keys(entry.inputs)) {
          await database.command(`DROP TABLE ${quote(relation)}`);
        }
      }
    });
  },
);
