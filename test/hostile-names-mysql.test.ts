import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mysqlSource } from '../src/connectors/mysql/index.js';
import { randomHex } from '../src/core/ids.js';
import { defaultRegistry, pipeline, ref, sink, source } from '../src/index.js';
import { readNDJSON, runIn, tempDir } from './helpers.js';
import { MYSQL_ADMIN_URL, mysqlUnavailable } from './support/mysql.js';

const unavailable = await mysqlUnavailable();
if (unavailable !== undefined) console.warn(`MySQL name tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)(
  'a MySQL table with columns named after Object.prototype members',
  () => {
    const database = `sluice_names_${randomHex(6)}`;
    const url = new URL(MYSQL_ADMIN_URL);
    url.pathname = `/${database}`;

    beforeAll(async () => {
      const admin = await mysql.createConnection({
        uri: MYSQL_ADMIN_URL,
        multipleStatements: true,
      });
      await admin.query(
        `CREATE DATABASE \`${database}\`; USE \`${database}\`;
       CREATE TABLE odd (id INT PRIMARY KEY, \`constructor\` VARCHAR(10), \`toString\` INT);
       INSERT INTO odd VALUES (1, 'c1', 7), (2, NULL, NULL);
       CREATE TABLE proto (id INT PRIMARY KEY, \`__proto__\` VARCHAR(10));
       INSERT INTO proto VALUES (1, 'p1');`,
      );
      await admin.end();
    });
    afterAll(async () => {
      const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
      await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await admin.end();
    });

    it('reads every column with its values', async () => {
      const dir = await tempDir();
      const report = await runIn(
        dir,
        pipeline('mysql_names', {
          steps: {
            read: source.custom('mysql', { url: url.toString(), table: 'odd' }),
            out: sink.ndjson({ input: ref('read'), path: 'out.ndjson' }),
          },
        }),
        { registry: defaultRegistry.with(mysqlSource) },
      );
      expect(report.error).toBeUndefined();
      expect((await readNDJSON(join(dir, 'out.ndjson'))).map((r) => Object.entries(r))).toEqual([
        [
          ['id', 1],
          ['constructor', 'c1'],
          ['toString', 7],
        ],
        [
          ['id', 2],
          ['constructor', null],
          ['toString', null],
        ],
      ]);
    });

    it('fails naming a column called __proto__ (the driver cannot build such rows) rather than losing it', async () => {
      const dir = await tempDir();
      const report = await runIn(
        dir,
        pipeline('mysql_proto', {
          steps: {
            read: source.custom('mysql', { url: url.toString(), table: 'proto' }),
            out: sink.ndjson({ input: ref('read'), path: 'out.ndjson' }),
          },
        }),
        { registry: defaultRegistry.with(mysqlSource) },
      );
      expect(report.status).toBe('failed');
      expect(report.error).toMatchObject({ code: 'SOURCE_FAILED', stepId: 'read' });
      expect(report.error?.message).toContain('__proto__');
    });
  },
);
