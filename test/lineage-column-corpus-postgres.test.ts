import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINEAGE_CORPUS } from './lineage-corpus/index.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`skipping: ${unavailable}`);

function columnType(column: string): string {
  if (/date|time|_at$|^ts$|^day$|month|week/i.test(column)) return 'timestamp';
  if (/name|email|status|kind|plan|region|country/i.test(column)) return 'text';
  return 'integer';
}

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

describe.skipIf(unavailable !== undefined)(
  'column lineage corpus against PostgreSQL itself',
  () => {
    let database: Awaited<ReturnType<typeof createTestDatabase>>;
    let client: pg.Client;

    beforeAll(async () => {
      database = await createTestDatabase();
      client = new pg.Client({ connectionString: database.url });
      await client.connect();
    });

    afterAll(async () => {
      await client?.end();
      await database?.drop();
    });

    it('every derivable PostgreSQL statement runs, with the expected output columns in order', async () => {
      const cases = LINEAGE_CORPUS.filter(
        (entry) => entry.dialect === 'postgresql' && entry.unresolved === undefined,
      );
      expect(cases.length).toBeGreaterThan(5);
      for (const entry of cases) {
        await client.query('BEGIN');
        try {
          for (const [relation, columns] of Object.entries(entry.inputs)) {
            await client.query(
              `CREATE TABLE ${relation.split('.').map(quote).join('.')} (${columns.map((c) => `${quote(c)} ${columnType(c)}`).join(', ')})`,
            );
          }
          const result = await client.query(`SELECT * FROM (${entry.sql}) AS q LIMIT 0`);
          expect(
            result.fields.map((field) => field.name),
            entry.name,
          ).toEqual(Object.keys(entry.fields ?? {}));
        } finally {
          await client.query('ROLLBACK');
        }
      }
    });
  },
);
