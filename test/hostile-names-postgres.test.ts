import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, ref, sink, source, sql, transform } from '../src/index.js';
import { readNDJSON, runIn, tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`Postgres name tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  'a Postgres table with columns named after Object.prototype members',
  () => {
    let database: { url: string; drop: () => Promise<void> };

    beforeAll(async () => {
      database = await createTestDatabase();
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query(`CREATE TABLE odd (id int PRIMARY KEY, "__proto__" text, "constructor" text, "toString" int);
      INSERT INTO odd VALUES (1, 'p1', 'c1', 7), (2, NULL, NULL, NULL);`);
      await client.end();
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('reads every column with its values', async () => {
      const dir = await tempDir();
      const report = await runIn(
        dir,
        pipeline('pg_names', {
          steps: {
            read: source.postgres({ url: database.url, table: 'odd' }),
            out: sink.ndjson({ input: ref('read'), path: 'out.ndjson' }),
          },
        }),
      );
      expect(report.error).toBeUndefined();
      expect((await readNDJSON(join(dir, 'out.ndjson'))).map((r) => Object.entries(r))).toEqual([
        [
          ['id', 1],
          ['__proto__', 'p1'],
          ['constructor', 'c1'],
          ['toString', 7],
        ],
        [
          ['id', 2],
          ['__proto__', null],
          ['constructor', null],
          ['toString', null],
        ],
      ]);
    });

    it('writes them through a TS transform into a Postgres table, merged by key', async () => {
      const dir = await tempDir();
      for (const mode of ['append', 'merge'] as const) {
        const report = await runIn(
          dir,
          pipeline('pg_names_write', {
            steps: {
              rows: sql`select 1 as id, 'p' as "__proto__", 'c' as "constructor", 5 as "toString"`,
              copied: transform({ input: ref('rows'), map: (r) => ({ ...r }) }),
              write: sink.postgres({
                input: ref('copied'),
                url: database.url,
                table: `odd_${mode}`,
                mode,
                ...(mode === 'merge' ? { keys: ['id'] } : {}),
              }),
            },
          }),
        );
        expect(report.error, mode).toBeUndefined();
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          const result = await client.query({
            text: `SELECT id, "__proto__", "constructor", "toString" FROM odd_${mode}`,
            rowMode: 'array',
          });
          expect(result.rows, mode).toEqual([[1, 'p', 'c', 5]]);
        } finally {
          await client.end();
        }
      }
    });
  },
);
