import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cursorPredicate } from '../src/connectors/mysql/mysql-incremental.js';
import { mysqlSink, mysqlSource } from '../src/connectors/mysql/index.js';
import { BadValue, mysqlTypeReadings } from '../src/connectors/mysql/mysql-types.js';
import type { MySQLColumn } from '../src/connectors/mysql/mysql-types.js';
import { loadDataStatement, loadDataText } from '../src/connectors/mysql/mysql-load-data.js';
import { keysetPredicate, pageQuery } from '../src/connectors/mysql/mysql-paging.js';
import { mysqlSinkConfig, mysqlSourceConfig } from '../src/connectors/mysql/mysql-configs.js';
import type { Logger } from '../src/core/logger.js';
import { randomHex } from '../src/core/ids.js';
import { silentLogger } from '../src/core/logger.js';
import { formatType } from '../src/core/types.js';
import type { Field, LogicalType } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import { incrementalWatermark } from '../src/engine/incremental.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import type { RunReport, SourceError } from '../src/index.js';
import {
  ConfigError,
  defaultRegistry,
  pipeline,
  ref,
  sink,
  source,
  sql,
  transform,
} from '../src/index.js';
import { readNDJSON, runIn, sqlFromText, stepOf, tempDir } from './helpers.js';
import { MYSQL_ADMIN_URL, mysqlUnavailable } from './support/mysql.js';

const ADMIN_URL = MYSQL_ADMIN_URL;

const unavailable = await mysqlUnavailable();
if (unavailable !== undefined) console.warn(`MySQL connector tests skipped: ${unavailable}`);

const registry = defaultRegistry.with(mysqlSource, mysqlSink);

/** Every sink test runs with both ways of staging rows. */
const LOAD_METHODS = ['load_data', 'insert'] as const;

/** A logger that keeps every message with its fields, for asserting what a step did. */
function recordingLogger(): Logger & { readonly entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const logger = {
    entries,
    debug: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    info: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    warn: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    error: (fields: object, message?: string) => void entries.push({ ...fields, message }),
    child: () => logger,
  };
  return logger;
}

const parsedJSON = (value: unknown): unknown =>
  typeof value === 'string' ? (JSON.parse(value) as unknown) : value;

describe('mysql type readings and cursor predicates (no server)', () => {
  const column = { name: 'c', unsigned: false, nullable: true, length: 0, scale: 0 } as const;

  it('maps MySQL types to logical types, widening unsigned integers', () => {
    const typeOf = (typeName: keyof typeof mysqlTypeReadings, extra = {}): string =>
      formatType(mysqlTypeReadings[typeName]({ ...column, typeName, ...extra }).type);
    expect(typeOf('tinyint', { length: 1 })).toBe('bool');
    expect(typeOf('tinyint', { length: 4 })).toBe('int8');
    expect(typeOf('tinyint', { length: 3, unsigned: true })).toBe('int16');
    expect(typeOf('int', { unsigned: true })).toBe('int64');
    expect(typeOf('bigint', { unsigned: true })).toBe('decimal(20,0)');
    expect(typeOf('decimal', { length: 12, scale: 3 })).toBe('decimal(12,3)');
    expect(typeOf('decimal', { length: 50, scale: 10 })).toBe('string');
    expect(typeOf('timestamp')).toBe('timestamp(tz)');
    expect(typeOf('datetime')).toBe('timestamp');
    expect(typeOf('bit', { length: 1 })).toBe('bool');
    expect(typeOf('bit', { length: 10 })).toBe('int64');
    expect(typeOf('json')).toBe('json');
    expect(typeOf('time')).toBe('string');
  });

  it('turns a zero date into a reason instead of a value', () => {
    const convert = mysqlTypeReadings.date({ ...column, typeName: 'date' }).convert;
    const bad = convert?.('0000-00-00');
    expect(bad).toBeInstanceOf(BadValue);
    expect((bad as BadValue).reason).toContain('zero date');
    expect(convert?.('2024-02-29')).toBe('2024-02-29');
  });

  it('pushes the watermark minus the lag window down, in UTC', () => {
    const ts = { kind: 'timestamp', tz: false } as const;
    expect(cursorPredicate('u', ts, '2026-03-01 10:00:00', undefined)).toEqual({
      sql: '`u` >= CAST(? AS DATETIME(6))',
      values: ['2026-03-01 10:00:00'],
    });
    expect(cursorPredicate('u', ts, '2026-03-01 10:00:00.5', '5m').values).toEqual([
      '2026-03-01 10:00:00.5',
      300_000_000,
    ]);
    // 12:00 at +02 is 10:00 UTC: the bound moves back two hours plus the lag.
    expect(
      cursorPredicate('u', { kind: 'timestamp', tz: true }, '2026-03-01 12:00:00+02', '1s').values,
    ).toEqual(['2026-03-01 12:00:00', 7_201_000_000]);
    expect(cursorPredicate('id', { kind: 'int64' }, '9007199254740993', 10)).toEqual({
      sql: '`id` >= CAST(? AS DECIMAL(65,30)) - CAST(? AS DECIMAL(65,30))',
      values: ['9007199254740993', '10'],
    });
    expect(() => cursorPredicate('id', { kind: 'int64' }, '5', '5m')).toThrow(/number/);
    expect(() => cursorPredicate('s', { kind: 'string' }, 'a', 1)).toThrow(/lagWindow/);
    expect(() => cursorPredicate('u', ts, 'yesterday', undefined)).toThrow(/not a date/);
  });

  it('names the package to install when mysql2 is missing', async () => {
    vi.resetModules();
    vi.doMock('mysql2/promise', () => {
      throw new Error("Cannot find package 'mysql2' imported from mysql-client.ts");
    });
    try {
      const { loadMySQLDriver } = await import('../src/connectors/mysql/mysql-client.js');
      const error = await loadMySQLDriver('orders').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
      expect((error as Error).message).toContain('needs the npm package "mysql2"');
      expect((error as ConfigError).diagnostics[0]?.hint).toBe('run: npm install mysql2');
    } finally {
      vi.doUnmock('mysql2/promise');
      vi.resetModules();
    }
  });

  it('renders values in the text form LOAD DATA reads', async () => {
    const session = await DuckDBSession.create();
    const connection = await session.connect('text');
    try {
      const text = async (type: LogicalType, literal: string): Promise<unknown> => {
        const field: Field = { name: 'v', type, nullable: true };
        const [row] = await connection.rows(
          `SELECT ${loadDataText(field)} AS t FROM (SELECT ${literal} AS v)`,
        );
        return row?.['t'];
      };
      const awkward = String.raw`'a\b' || chr(9) || 'c' || chr(10) || 'd' || chr(13) || chr(0) || '\N'`;
      expect(await text({ kind: 'string' }, awkward)).toBe(String.raw`a\\b\tc\nd\r\0\\N`);
      expect(await text({ kind: 'string' }, 'CAST(NULL AS VARCHAR)')).toBe(String.raw`\N`);
      expect(await text({ kind: 'string' }, "''")).toBe('');
      expect(await text({ kind: 'string' }, "'NULL'")).toBe('NULL');
      expect(await text({ kind: 'bool' }, 'true')).toBe('1');
      expect(await text({ kind: 'bool' }, 'CAST(NULL AS BOOLEAN)')).toBe(String.raw`\N`);
      expect(await text({ kind: 'int64' }, '9223372036854775807')).toBe('9223372036854775807');
      expect(
        await text(
          { kind: 'decimal', precision: 38, scale: 10 },
          "CAST('-1234567890123456789012345678.0123456789' AS DECIMAL(38,10))",
        ),
      ).toBe('-1234567890123456789012345678.0123456789');
      expect(await text({ kind: 'date' }, "DATE '2024-02-29'")).toBe('2024-02-29');
      expect(
        await text({ kind: 'timestamp', tz: true }, "TIMESTAMPTZ '2024-01-02 05:04:05.123456+02'"),
      ).toBe('2024-01-02 03:04:05.123456');
      expect(
        await text({ kind: 'timestamp', tz: false }, "TIMESTAMP '2024-01-02 03:04:05.000001'"),
      ).toBe('2024-01-02 03:04:05.000001');
      expect(await text({ kind: 'binary' }, String.raw`'\x00\x09\x0A\x5C'::BLOB`)).toBe('00090A5C');
      expect(
        await text({ kind: 'list', element: { kind: 'string' } }, String.raw`['a\b', 'c"d']`),
      ).toBe(String.raw`["a\\\\b","c\\"d"]`);
      await expect(text({ kind: 'float64' }, "'nan'::DOUBLE")).rejects.toThrow(
        /column "v" holds NaN or an infinite number/,
      );
      expect(await text({ kind: 'float64' }, '2.25')).toBe('2.25');
    } finally {
      session.close();
    }
    const statement = loadDataStatement('shop.stage', [
      { name: 'id', type: { kind: 'int64' }, nullable: false },
      { name: 'raw', type: { kind: 'binary' }, nullable: true },
    ]);
    expect(statement).toBe(
      "LOAD DATA LOCAL INFILE 'sluice-rows.tsv' INTO TABLE `shop`.`stage` CHARACTER SET utf8mb4 FIELDS TERMINATED BY X'09' ENCLOSED BY '' ESCAPED BY X'5C' LINES TERMINATED BY X'0A' (`id`, @__sluice_1) SET `raw` = UNHEX(@__sluice_1)",
    );
  });

  it('pages with a nested key predicate that an index range can serve', () => {
    const column = (name: string, typeName: MySQLColumn['typeName']): MySQLColumn => ({
      name,
      typeName,
      unsigned: false,
      nullable: false,
      length: 0,
      scale: 0,
    });
    const key = {
      columns: [column('a', 'int'), column('b', 'varchar'), column('c', 'datetime')],
      parameters: ['CAST(? AS SIGNED)', '?', 'CAST(? AS DATETIME(6))'],
    };
    expect(keysetPredicate(key, ['7', 'x', '2024-01-01 00:00:00'])).toEqual({
      sql: '(`a` > CAST(? AS SIGNED) OR (`a` = CAST(? AS SIGNED) AND (`b` > ? OR (`b` = ? AND (`c` > CAST(? AS DATETIME(6)))))))',
      values: ['7', '7', 'x', 'x', '2024-01-01 00:00:00'],
    });
    const read = {
      table: 'shop.orders',
      select: '`note`',
      predicates: [{ sql: '(v > 1)', values: [] }],
      size: 500,
      description: 'orders',
    };
    expect(
      pageQuery(read, { columns: key.columns.slice(0, 1), parameters: ['?'] }, undefined),
    ).toEqual({
      sql: 'SELECT `note`, `a` AS __sluice_page_key_0 FROM `shop`.`orders` WHERE (v > 1) ORDER BY `a` LIMIT 500',
      values: [],
    });
    expect(pageQuery(read, { columns: key.columns.slice(0, 1), parameters: ['?'] }, [3]).sql).toBe(
      'SELECT `note`, `a` AS __sluice_page_key_0 FROM `shop`.`orders` WHERE (v > 1) AND (`a` > ?) ORDER BY `a` LIMIT 500',
    );
  });

  it('refuses pageBy with a query', () => {
    const parsed = mysqlSourceConfig.safeParse({
      host: 'db',
      query: 'SELECT 1 AS id',
      pageBy: { size: 10 },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/pageBy goes with table/);
    expect(mysqlSinkConfig.parse({ host: 'db', table: 't' }).load).toBe('auto');
    expect(mysqlSinkConfig.safeParse({ host: 'db', table: 't', load: 'copy' }).success).toBe(false);
  });

  it('documents every config field in docs/connectors/mysql.md', async () => {
    const text = await readFile(new URL('../docs/connectors/mysql.md', import.meta.url), 'utf8');
    // Table cells, without the padding a formatter adds.
    const page = text.replace(/ {2,}\|/g, ' |');
    for (const field of [
      ...Object.keys(mysqlSourceConfig.shape),
      ...Object.keys(mysqlSinkConfig.shape),
    ])
      expect(page, field).toContain(`| \`${field}\` |`);
    for (const field of ['pageBy.columns', 'pageBy.size'])
      expect(page, field).toContain(`| \`${field}\` |`);
    for (const method of ['auto', 'load_data', 'insert']) expect(page).toContain(`\`${method}\``);
  });

  it('refuses merge without keys when the pipeline is planned', async () => {
    const dir = await tempDir();
    await expect(
      runIn(
        dir,
        pipeline('nokeys', {
          steps: {
            rows: sql`select 1 as id`,
            out: sink.custom('mysql', {
              input: ref('rows'),
              host: '127.0.0.1',
              table: 't',
              mode: 'merge',
            }),
          },
        }),
        { registry },
      ),
    ).rejects.toThrow(/merge and delete_insert need keys/);
  });
});

describe.skipIf(unavailable !== undefined)('mysql connectors against MariaDB', () => {
  const database = `sluice_test_${randomHex(6)}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  const dbURL = url.toString();
  let db: Connection;

  beforeAll(async () => {
    const admin = await mysql.createConnection({ uri: ADMIN_URL });
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    await admin.end();
    db = await mysql.createConnection({
      uri: dbURL,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      timezone: 'Z',
      charset: 'UTF8MB4_UNICODE_CI',
    });
    await db.query("SET time_zone = '+00:00'");
  });
  afterAll(async () => {
    await db?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await db?.end();
  });

  const rows = async (query: string): Promise<Record<string, unknown>[]> => {
    const [result] = await db.query<RowDataPacket[]>(query);
    return result as Record<string, unknown>[];
  };
  const run = async (
    steps: Parameters<typeof pipeline>[1]['steps'],
    options = {},
  ): Promise<RunReport> =>
    runIn(await tempDir(), pipeline('mysql_test', { steps }), { registry, ...options });
  const stageTables = async (): Promise<unknown[]> =>
    (
      await rows(
        `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${database}' AND TABLE_NAME LIKE '%\\_\\_sluice\\_stage\\_%'`,
      )
    ).map((r) => r['TABLE_NAME']);

  /** Reads through the source directly into a fresh engine and returns what it made. */
  async function readDirect(
    config: Record<string, unknown>,
    signal = new AbortController().signal,
  ) {
    const dir = await tempDir();
    const session = await DuckDBSession.create();
    const connection = await session.connect('src');
    try {
      const result = await mysqlSource.read(mysqlSource.config.parse({ url: dbURL, ...config }), {
        stepId: 'src',
        runId: 'run_test',
        baseDir: dir,
        stateDir: dir,
        connection,
        extractedAt: new Date(),
        quarantine: new QuarantineStore(join(dir, 'q'), 'run_test'),
        logger: silentLogger,
        signal,
      });
      const data = await connection.rows('SELECT * FROM src');
      return { result, data, connection };
    } finally {
      session.close();
    }
  }

  const ALL_TYPES = `CREATE TABLE all_types (
    id INT NOT NULL PRIMARY KEY, b TINYINT(1), ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT,
    siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT,
    biu BIGINT UNSIGNED, d DECIMAL(12,3), dw DECIMAL(50,10), f FLOAT, db DOUBLE, dt DATE,
    dtm DATETIME(6), ts TIMESTAMP(6) NULL, tm TIME, y YEAR, c CHAR(3), vc VARCHAR(20), tx TEXT,
    j JSON, bl BLOB, bn BINARY(4), vb VARBINARY(10), e ENUM('a','b'), s SET('x','y'), bt BIT(1),
    bt10 BIT(10), g GEOMETRY) DEFAULT CHARSET=utf8mb4`;
  const FULL_ROW = `(1, 1, -5, 200, -300, 60000, -8000000, 16000000, -2000000000, 4000000000,
    9223372036854775807, 18446744073709551615, -123456789.123,
    '12345678901234567890123456789012345678.1234567890', 1.5, 2.25, '2024-02-29',
    '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.654321', '-10:00:01', 2024, 'ab',
    'héllo 😀', '多言語 ✓ 🚀', '{"a": [1, 2], "e": "😀"}', x'00ff', x'01020304', x'0a', 'b', 'x,y',
    b'1', b'1010101010', ST_GeomFromText('POINT(1 2)'))`;

  it('reads every mapped type exactly, with NULLs and unicode', async () => {
    await db.query(ALL_TYPES);
    await db.query(`INSERT INTO all_types VALUES ${FULL_ROW}`);
    await db.query('INSERT INTO all_types (id) VALUES (2)');
    const { result, data } = await readDirect({ table: 'all_types', primaryKey: ['id'] });
    expect(result.rowsRead).toBe(2);
    expect(result.rowsQuarantined).toBe(0);
    expect(Object.fromEntries(result.fields.map((f) => [f.name, formatType(f.type)]))).toEqual({
      id: 'int32',
      b: 'bool',
      ti: 'int8',
      tiu: 'int16',
      si: 'int16',
      siu: 'int32',
      mi: 'int32',
      miu: 'int32',
      i: 'int32',
      iu: 'int64',
      bi: 'int64',
      biu: 'decimal(20,0)',
      d: 'decimal(12,3)',
      dw: 'string',
      f: 'float32',
      db: 'float64',
      dt: 'date',
      dtm: 'timestamp',
      ts: 'timestamp(tz)',
      tm: 'string',
      y: 'int16',
      c: 'string',
      vc: 'string',
      tx: 'string',
      j: 'json',
      bl: 'binary',
      bn: 'binary',
      vb: 'binary',
      e: 'string',
      s: 'string',
      bt: 'bool',
      bt10: 'int64',
      g: 'binary',
    });
    expect(result.fields.find((f) => f.name === 'id')?.nullable).toBe(false);
    const [full, empty] = data;
    expect(full).toMatchObject({
      id: 1,
      b: true,
      ti: -5,
      tiu: 200,
      si: -300,
      siu: 60000,
      mi: -8000000,
      miu: 16000000,
      i: -2000000000,
      iu: 4000000000n,
      bi: 9223372036854775807n,
      f: 1.5,
      db: 2.25,
      tm: '-10:00:01',
      y: 2024,
      c: 'ab',
      vc: 'héllo 😀',
      tx: '多言語 ✓ 🚀',
      e: 'b',
      s: 'x,y',
      bt: true,
      bt10: 682n,
      dw: '12345678901234567890123456789012345678.1234567890',
    });
    // Exact decimals and microseconds survive: compare their text in the engine.
    const session = await DuckDBSession.create();
    expect(JSON.parse(String(full?.['j']))).toEqual({ a: [1, 2], e: '😀' });
    expect(Buffer.from(full?.['bl'] as Uint8Array)).toEqual(Buffer.from([0, 255]));
    expect(Buffer.from(full?.['bn'] as Uint8Array)).toEqual(Buffer.from([1, 2, 3, 4]));
    expect((full?.['dt'] as Date).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    session.close();
    for (const [name, value] of Object.entries(empty ?? {})) {
      if (name !== 'id') expect(value, name).toBeNull();
    }
  });

  for (const load of LOAD_METHODS) {
    it(`round-trips every mapped type through the sink (load: ${load})`, async () => {
      const report = await run({
        read: source.custom('mysql', { url: dbURL, table: 'all_types' }),
        write: sink.custom('mysql', {
          input: ref('read'),
          url: dbURL,
          table: `all_types_copy_${load}`,
          keys: ['id'],
          load,
        }),
      });
      expect(report.error).toBeUndefined();
      expect(stepOf(report, 'write').rowsOut ?? stepOf(report, 'write').rowsIn).toBe(2);
      const [copy, nulls] = await rows(
        `SELECT *, CAST(biu AS CHAR) AS biu_text, CAST(d AS CHAR) AS d_text, HEX(bl) AS bl_hex,
              HEX(g) AS g_hex FROM all_types_copy_${load} ORDER BY id`,
      );
      const [original] = await rows('SELECT HEX(g) AS g_hex FROM all_types WHERE id = 1');
      expect(copy).toMatchObject({
        b: 1,
        ti: -5,
        tiu: 200,
        si: -300,
        siu: 60000,
        mi: -8000000,
        miu: 16000000,
        i: -2000000000,
        iu: '4000000000',
        bi: '9223372036854775807',
        biu_text: '18446744073709551615',
        d_text: '-123456789.123',
        dw: '12345678901234567890123456789012345678.1234567890',
        f: 1.5,
        db: 2.25,
        dt: '2024-02-29',
        dtm: '2024-01-02 03:04:05.123456',
        ts: '2024-01-02 03:04:05.654321',
        tm: '-10:00:01',
        y: 2024,
        c: 'ab',
        vc: 'héllo 😀',
        tx: '多言語 ✓ 🚀',
        e: 'b',
        s: 'x,y',
        bt: 1,
        bt10: '682',
        bl_hex: '00FF',
        g_hex: original?.['g_hex'],
      });
      expect(parsedJSON(copy?.['j'])).toEqual({ a: [1, 2], e: '😀' });
      for (const [name, value] of Object.entries(nulls ?? {})) {
        if (name !== 'id' && !name.endsWith('_text') && !name.endsWith('_hex'))
          expect(value, name).toBeNull();
      }
      expect(await stageTables()).toEqual([]);
    });
  }

  it('reads a query, or chosen columns with a pushed-down predicate', async () => {
    const byQuery = await readDirect({
      query: 'SELECT id, vc AS greeting FROM all_types',
      where: "greeting LIKE 'h%'",
    });
    expect(byQuery.data).toEqual([{ id: 1, greeting: 'héllo 😀' }]);
    expect(byQuery.result.inputs[0]).toMatch(/\(query\)$/);
    const byColumns = await readDirect({
      table: 'all_types',
      columns: ['id', 'y'],
      where: 'y IS NULL AND vc IS NULL',
    });
    expect(byColumns.data).toEqual([{ id: 2, y: null }]);
    expect(byColumns.result.fields.map((f) => f.name)).toEqual(['id', 'y']);
  });

  it('quarantines values that have no logical value (zero dates) with the reason', async () => {
    await db.query("SET SESSION sql_mode = ''");
    await db.query('CREATE TABLE zero_dates (id INT PRIMARY KEY, d DATE)');
    await db.query("INSERT INTO zero_dates VALUES (1, '2024-05-01'), (2, '0000-00-00')");
    await db.query('SET SESSION sql_mode = DEFAULT');
    const { result, data } = await readDirect({ table: 'zero_dates' });
    expect(result).toMatchObject({ rowsRead: 2, rowsQuarantined: 1 });
    expect(data.map((r) => r['id'])).toEqual([1]);
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('zeros', {
        steps: { read: source.custom('mysql', { url: dbURL, table: 'zero_dates' }) },
      }),
      { registry },
    );
    expect(stepOf(report, 'read')).toMatchObject({ rowsIn: 2, rowsOut: 1, rowsQuarantined: 1 });
    const quarantined = await readNDJSON(join(report.quarantineDir, 'read.ndjson'));
    expect(quarantined).toMatchObject([
      {
        column: 'd',
        reason: 'column "d": zero date "0000-00-00" is not a date',
        record: { id: 2 },
      },
    ]);
  });

  it('reads 100k rows with exact totals', async () => {
    await db.query(
      'CREATE TABLE big (id BIGINT PRIMARY KEY, label VARCHAR(20), amount DECIMAL(12,2), at DATETIME)',
    );
    await db.query(
      `INSERT INTO big SELECT seq, CONCAT('row ', seq), seq / 100, '2024-01-01' + INTERVAL seq SECOND
       FROM seq_1_to_100000`,
    );
    const began = performance.now();
    const report = await run({
      read: source.custom('mysql', { url: dbURL, table: 'big' }),
      totals: sql`select count(*) as n, sum(amount) as total, count(distinct id) as ids from ${ref('read')}`,
      out: sink.custom('mysql', {
        input: ref('totals'),
        url: dbURL,
        table: 'big_totals',
        mode: 'overwrite',
      }),
    });
    const seconds = (performance.now() - began) / 1000;
    expect(report.error).toBeUndefined();
    expect(stepOf(report, 'read').rowsOut).toBe(100_000);
    expect(await rows('SELECT n, CAST(total AS CHAR) AS total, ids FROM big_totals')).toEqual([
      { n: '100000', total: '50000500.00', ids: '100000' },
    ]);
    console.info(`mysql source: 100k rows in ${seconds.toFixed(2)} s (whole run)`);
  });

  it('reads incrementally: new, updated, tied and late rows, none lost or duplicated', async () => {
    await db.query(
      'CREATE TABLE events (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL)',
    );
    await db.query(`INSERT INTO events VALUES (1, 'a', '2024-01-01 10:00:00'),
      (2, 'b', '2024-01-01 11:00:00'), (3, 'c', '2024-01-01 11:00:00')`);
    const steps = {
      events: source.custom('mysql', {
        url: dbURL,
        table: 'events',
        lagWindow: '10m',
        incremental: { cursor: 'updated_at' },
      }),
      out: sink.custom('mysql', {
        input: ref('events'),
        url: dbURL,
        table: 'events_out',
        mode: 'merge',
        keys: ['id'],
      }),
    };
    const first = await run(steps);
    expect(first.error).toBeUndefined();
    expect(incrementalWatermark(first.watermarks?.['events'])).toBe('2024-01-01 11:00:00');
    expect(stepOf(first, 'events').rowsOut).toBe(3);

    await db.query(`UPDATE events SET v = 'a2', updated_at = '2024-01-01 12:00:00' WHERE id = 1`);
    await db.query(`INSERT INTO events VALUES (4, 'd', '2024-01-01 12:30:00'),
      (5, 'late', '2024-01-01 10:55:00'), (6, 'tie', '2024-01-01 11:00:00')`);
    const second = await run(steps, { watermarks: first.watermarks });
    expect(second.error).toBeUndefined();
    expect(incrementalWatermark(second.watermarks?.['events'])).toBe('2024-01-01 12:30:00');
    // Everything from 10:50 is read: 2 and 3 (read before, dropped), 6 (tied), 5 (late), 1 and 4.
    expect(stepOf(second, 'events').rowsOut).toBe(4);
    const expected = await rows('SELECT id, v, updated_at FROM events ORDER BY id');
    expect(await rows('SELECT id, v, updated_at FROM events_out ORDER BY id')).toEqual(expected);

    const third = await run(steps, { watermarks: second.watermarks });
    expect(incrementalWatermark(third.watermarks?.['events'])).toBe('2024-01-01 12:30:00');
    expect(stepOf(third, 'events').rowsOut).toBe(0);
    expect(await rows('SELECT id, v, updated_at FROM events_out ORDER BY id')).toEqual(expected);
  });

  for (const load of LOAD_METHODS)
    describe(`sink modes (load: ${load})`, () => {
      const t = (name: string): string => `${name}_${load}`;
      const write = (
        table: string,
        values: string,
        config: Record<string, unknown>,
      ): Promise<RunReport> =>
        run({
          rows: sqlFromText(`select * from (values ${values}) t(id, name)`),
          out: sink.custom('mysql', {
            input: ref('rows'),
            url: dbURL,
            table: t(table),
            load,
            ...config,
          }),
        });
      const contents = (table: string): Promise<Record<string, unknown>[]> =>
        rows(`SELECT id, name FROM ${t(table)} ORDER BY id`);

      it('append creates the table, then adds rows', async () => {
        expect((await write('m_append', "(1, 'a'), (2, 'b')", {})).error).toBeUndefined();
        expect((await write('m_append', "(2, 'b')", { mode: 'append' })).error).toBeUndefined();
        expect(await contents('m_append')).toEqual([
          { id: 1, name: 'a' },
          { id: 2, name: 'b' },
          { id: 2, name: 'b' },
        ]);
      });

      it('overwrite replaces the contents', async () => {
        await write('m_over', "(1, 'a'), (2, 'b')", {});
        expect((await write('m_over', "(3, 'c')", { mode: 'overwrite' })).error).toBeUndefined();
        expect(await contents('m_over')).toEqual([{ id: 3, name: 'c' }]);
      });

      it('merge upserts by key', async () => {
        await write('m_merge', "(1, 'a'), (2, 'b')", { mode: 'merge', keys: ['id'] });
        const report = await write('m_merge', "(2, 'B'), (3, 'c')", {
          mode: 'merge',
          keys: ['id'],
        });
        expect(report.error).toBeUndefined();
        expect(await contents('m_merge')).toEqual([
          { id: 1, name: 'a' },
          { id: 2, name: 'B' },
          { id: 3, name: 'c' },
        ]);
      });

      it('merge into a table without a unique key on the keys fails clearly', async () => {
        await db.query(`CREATE TABLE ${t('m_nokey')} (id INT, name TEXT)`);
        const report = await write('m_nokey', "(1, 'a')", { mode: 'merge', keys: ['id'] });
        expect(report.status).toBe('failed');
        expect(report.error?.message).toMatch(/needs a primary or unique key on \(id\)/);
        expect(report.error?.hint).toMatch(/ADD UNIQUE KEY/);
        expect(await contents('m_nokey')).toEqual([]);
        expect(await stageTables()).toEqual([]);
      });

      it('delete_insert replaces the rows of the keys in the input', async () => {
        await db.query(`CREATE TABLE ${t('m_di')} (id INT, name TEXT)`);
        await db.query(`INSERT INTO ${t('m_di')} VALUES (1, 'a'), (2, 'b'), (2, 'b-dup')`);
        const report = await write('m_di', "(2, 'B'), (3, 'c')", {
          mode: 'delete_insert',
          keys: ['id'],
        });
        expect(report.error).toBeUndefined();
        expect(await contents('m_di')).toEqual([
          { id: 1, name: 'a' },
          { id: 2, name: 'B' },
          { id: 3, name: 'c' },
        ]);
      });

      it('adds new input columns as nullable columns', async () => {
        await write('m_evolve', "(1, 'a')", {});
        const report = await run({
          rows: sql`select 2 as id, 'b' as name, 9.5 as score`,
          out: sink.custom('mysql', { input: ref('rows'), url: dbURL, table: t('m_evolve'), load }),
        });
        expect(report.error).toBeUndefined();
        expect(
          await rows(
            `SELECT id, name, CAST(score AS CHAR) AS score FROM ${t('m_evolve')} ORDER BY id`,
          ),
        ).toEqual([
          { id: 1, name: 'a', score: null },
          { id: 2, name: 'b', score: '9.5' },
        ]);
      });

      it('refuses keys that are not input columns before writing anything', async () => {
        const report = await write('m_badkey', "(1, 'a')", { mode: 'merge', keys: ['sku'] });
        expect(report.status).toBe('failed');
        expect(report.error?.message).toMatch(/key column\(s\) "sku" are not in the input/);
        expect(await rows(`SHOW TABLES LIKE '${t('m_badkey')}'`)).toEqual([]);
      });

      it('refuses a missing table when createTable is false', async () => {
        const report = await write('m_absent', "(1, 'a')", { createTable: false });
        expect(report.status).toBe('failed');
        expect(report.error?.message).toContain(`table ${t('m_absent')} does not exist`);
        expect(report.error?.hint).toMatch(/createTable: true/);
      });

      it('leaves the target unchanged when a later step fails', async () => {
        await db.query(`CREATE TABLE ${t('atomic')} (id INT PRIMARY KEY, name TEXT)`);
        await db.query(`INSERT INTO ${t('atomic')} VALUES (1, 'kept')`);
        const report = await run({
          rows: sql`select 2 as id, 'new' as name`,
          out: sink.custom('mysql', {
            input: ref('rows'),
            url: dbURL,
            table: t('atomic'),
            mode: 'overwrite',
            load,
          }),
          boom: transform({
            input: ref('rows'),
            map: () => {
              throw new Error('transform bug');
            },
          }),
          after: sink.custom('mysql', {
            input: ref('boom'),
            url: dbURL,
            table: t('atomic_never'),
            load,
          }),
        });
        expect(report.status).toBe('failed');
        expect(await rows(`SELECT id, name FROM ${t('atomic')}`)).toEqual([
          { id: 1, name: 'kept' },
        ]);
        expect(await rows(`SHOW TABLES LIKE '${t('atomic_never')}'`)).toEqual([]);
        expect(await stageTables()).toEqual([]);
      });
    });

  it('stops a read when the signal aborts', async () => {
    const controller = new AbortController();
    const reading = readDirect({ table: 'big' }, controller.signal);
    setTimeout(() => controller.abort(new Error('cancelled by test')), 30);
    await expect(reading).rejects.toThrow(/cancelled by test/);
    // The connection was closed, so the server stops streaming to it.
    const streaming = async (): Promise<number> => {
      const [found] = await db.query<RowDataPacket[]>(
        `SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE DB = '${database}' AND INFO LIKE 'SELECT * FROM \`big\`%'`,
      );
      return Number(found[0]?.['n']);
    };
    const deadline = Date.now() + 5_000;
    while ((await streaming()) > 0 && Date.now() < deadline) await sleep(50);
    expect(await streaming()).toBe(0);
  });

  for (const load of LOAD_METHODS) {
    it(`cancels a run through runPipeline signal, leaving no staged table (load: ${load})`, async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('cancelled by test')), 50);
      const report = await run(
        {
          read: source.custom('mysql', { url: dbURL, table: 'big' }),
          out: sink.custom('mysql', {
            input: ref('read'),
            url: dbURL,
            table: `big_copy_${load}`,
            load,
          }),
        },
        { signal: controller.signal },
      );
      expect(report.status).toBe('canceled');
      expect(await rows(`SHOW TABLES LIKE 'big_copy_${load}'`)).toEqual([]);
      expect(await stageTables()).toEqual([]);
    });
  }

  describe('LOAD DATA LOCAL INFILE', () => {
    const AWKWARD = String.raw`select * from (values
      (1, 'back\slash' || chr(9) || 'tab' || chr(10) || 'newline' || chr(13) || 'cr', '\x00\x09\x0A\x5C'::BLOB,
       '{"e": "\u00e9 \\ 😀"}'::JSON, ['a\b', 'c"d'], {'k': 'v' || chr(9)}, true, 1.5::DOUBLE, 'x'),
      (2, '\N', ''::BLOB, NULL, [], {'k': NULL}, false, -0.25::DOUBLE, ''),
      (3, 'NULL', NULL, '[]'::JSON, NULL, NULL, NULL, NULL, NULL),
      (4, '', encode('é'), 'null'::JSON, [NULL], {'k': ''}, true, 1e300::DOUBLE, '多言語 🚀 ' || chr(0))
    ) t(id, s, b, j, l, st, ok, f, u)`;
    const readBack = (table: string): Promise<Record<string, unknown>[]> =>
      rows(
        `SELECT id, s, HEX(b) AS b, j, l, st, ok, CAST(f AS CHAR) AS f, HEX(u) AS u FROM ${table} ORDER BY id`,
      );
    const localInfile = async (): Promise<number> =>
      Number((await rows('SELECT @@GLOBAL.local_infile AS v'))[0]?.['v']);
    let original = 1;
    beforeAll(async () => {
      original = await localInfile();
    });
    afterAll(async () => {
      await db?.query(`SET GLOBAL local_infile = ${original}`);
    });

    it('stages awkward text, bytes, nested values and NULLs exactly as INSERTs do', async () => {
      for (const load of LOAD_METHODS) {
        const report = await run({
          rows: sqlFromText(AWKWARD),
          out: sink.custom('mysql', { input: ref('rows'), url: dbURL, table: `awk_${load}`, load }),
        });
        expect(report.error, load).toBeUndefined();
        expect(stepOf(report, 'out').rowsOut ?? stepOf(report, 'out').rowsIn).toBe(4);
      }
      const loaded = await readBack('awk_load_data');
      expect(loaded).toEqual(await readBack('awk_insert'));
      const [first, second, third, fourth] = loaded;
      expect(first).toMatchObject({
        s: 'back\\slash\ttab\nnewline\rcr',
        b: '00090A5C',
        ok: 1,
        f: '1.5',
      });
      expect(parsedJSON(first?.['j'])).toEqual({ e: 'é \\ 😀' });
      expect(parsedJSON(first?.['l'])).toEqual(['a\\b', 'c"d']);
      expect(parsedJSON(first?.['st'])).toEqual({ k: 'v\t' });
      expect(second).toMatchObject({ s: '\\N', b: '', ok: 0, f: '-0.25', u: '' });
      expect(third).toMatchObject({ s: 'NULL', b: null, ok: null, f: null, u: null, l: null });
      expect(parsedJSON(third?.['j'])).toEqual([]);
      expect(fourth).toMatchObject({
        s: '',
        b: Buffer.from('é').toString('hex').toUpperCase(),
        f: '1e300',
        u: Buffer.from('多言語 🚀 \0').toString('hex').toUpperCase(),
      });
      expect(await stageTables()).toEqual([]);
    });

    it('fails instead of storing a value the server would alter, with either method', async () => {
      for (const load of LOAD_METHODS) {
        const table = `out_of_range_${load}`;
        await db.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, d DATE)`);
        await db.query(`INSERT INTO ${table} VALUES (1, '2024-01-01')`);
        const report = await run({
          rows: sql`select 2 as id, DATE '12000-01-01' as d`,
          out: sink.custom('mysql', { input: ref('rows'), url: dbURL, table, load }),
        });
        expect(report.status, load).toBe('failed');
        expect(report.error?.code).toBe('SINK_FAILED');
        // The server's words differ (INSERT: incorrect date value; LOAD DATA: data truncated).
        expect(report.error?.message).toMatch(/for column .*d.* at row 1/);
        expect(await rows(`SELECT id FROM ${table}`)).toEqual([{ id: 1 }]);
      }
      const nan = await run({
        rows: sql`select 1 as id, 'nan'::DOUBLE as f`,
        out: sink.custom('mysql', {
          input: ref('rows'),
          url: dbURL,
          table: 'nan_out',
          load: 'load_data',
        }),
      });
      expect(nan.status).toBe('failed');
      expect(nan.error?.message).toMatch(/column "f" holds NaN or an infinite number/);
      expect(await stageTables()).toEqual([]);
    });

    it('uses LOAD DATA by default when the server allows it, INSERTs when it refuses', async () => {
      const write = async (table: string, config: Record<string, unknown> = {}) => {
        const logger = recordingLogger();
        const report = await run(
          {
            rows: sql`select range as id, 'n' || range as name from range(5)`,
            out: sink.custom('mysql', { input: ref('rows'), url: dbURL, table, ...config }),
          },
          { logger },
        );
        const staged = logger.entries.find((e) => e['message'] === 'rows staged');
        return { report, method: staged?.['method'], logs: logger.entries };
      };
      const allowed = await write('fallback_on');
      expect(allowed.report.error).toBeUndefined();
      expect(allowed.method).toBe('load_data');
      try {
        await db.query('SET GLOBAL local_infile = 0');
        const auto = await write('fallback_off');
        expect(auto.report.error).toBeUndefined();
        expect(auto.method).toBe('insert');
        expect(auto.logs.map((e) => e['message'])).toContain(
          'local_infile is OFF on the server; staging rows with INSERTs',
        );
        expect(await rows('SELECT CAST(count(*) AS CHAR) AS n FROM fallback_off')).toEqual([
          { n: '5' },
        ]);
        const forced = await write('fallback_forced', { load: 'load_data' });
        expect(forced.report.status).toBe('failed');
        expect(forced.report.error?.message).toMatch(
          /the server refuses LOAD DATA LOCAL INFILE into fallback_forced/,
        );
        expect(forced.report.error?.hint).toMatch(/local_infile = 1.*load: 'auto'/);
        expect(await rows(`SHOW TABLES LIKE 'fallback_forced'`)).toEqual([]);
        expect(await stageTables()).toEqual([]);
      } finally {
        await db.query(`SET GLOBAL local_infile = ${original}`);
      }
    });
  });

  describe('keyset pagination', () => {
    beforeAll(async () => {
      await db.query(`CREATE TABLE paged (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT,
        note VARCHAR(20), PRIMARY KEY (a, b))`);
      // Groups of 5, 1, 7 and 2 rows share a value of a, so pages end inside a group.
      const groups = [
        [1, 5],
        [2, 1],
        [3, 7],
        [4, 2],
      ] as const;
      const values = groups.flatMap(([a, count]) =>
        Array.from(
          { length: count },
          (_, i) => `(${a}, 'k${String.fromCharCode(97 + i)}é', ${a * 10 + i}, 'n${a}.${i}')`,
        ),
      );
      await db.query(`INSERT INTO paged VALUES ${values.join(', ')}`);
    });

    it('reads composite keys across page boundaries exactly as the unpaged read', async () => {
      const whole = await readDirect({ table: 'paged', primaryKey: ['a', 'b'] });
      expect(whole.data).toHaveLength(15);
      for (const size of [1, 2, 3, 4, 5, 7, 15, 16, 1000]) {
        const paged = await readDirect({ table: 'paged', pageBy: { size } });
        expect(paged.data, `size ${size}`).toEqual(whole.data);
        expect(paged.result.fields).toEqual(whole.result.fields);
        expect(paged.result.rowsRead).toBe(15);
      }
      const named = await readDirect({ table: 'paged', pageBy: { columns: ['a', 'b'], size: 4 } });
      expect(named.data).toEqual(whole.data);
    });

    it('combines with columns and where, selecting keys it does not return', async () => {
      const config = { table: 'paged', columns: ['b', 'note'], where: 'v % 2 = 0 AND a <> 2' };
      const whole = await readDirect(config);
      const paged = await readDirect({ ...config, pageBy: { size: 2 } });
      expect(paged.result.fields.map((f) => f.name)).toEqual(['b', 'note']);
      const sorted = (data: Record<string, unknown>[]): string[] =>
        data.map((r) => JSON.stringify(r)).sort();
      expect(sorted(paged.data)).toEqual(sorted(whole.data));
      expect(paged.data).toHaveLength(8);
    });

    it('keeps 64-bit and microsecond keys exact', async () => {
      await db.query(`CREATE TABLE paged_exact (at DATETIME(6) NOT NULL, id BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (at, id))`);
      await db.query(`INSERT INTO paged_exact VALUES
        ('2024-01-01 00:00:00.000001', 18446744073709551615), ('2024-01-01 00:00:00.000001', 18446744073709551614),
        ('2024-01-01 00:00:00.000002', 9007199254740993), ('2024-01-01 00:00:00.000002', 9007199254740992),
        ('2024-01-01 00:00:00', 1), ('2024-01-01 00:00:00.000002', 18446744073709551615)`);
      const whole = await readDirect({ table: 'paged_exact', primaryKey: ['at', 'id'] });
      for (const size of [1, 2, 4]) {
        const paged = await readDirect({ table: 'paged_exact', pageBy: { size } });
        expect(paged.data, `size ${size}`).toEqual(whole.data);
      }
      expect(whole.data).toHaveLength(6);
    });

    it('reads incrementally in pages: cursor first, then the key', async () => {
      await db.query(
        'CREATE TABLE paged_events (id INT PRIMARY KEY, v VARCHAR(20), updated_at DATETIME(6) NOT NULL)',
      );
      await db.query(`INSERT INTO paged_events VALUES (1, 'a', '2024-01-01 10:00:00'),
        (2, 'b', '2024-01-01 11:00:00'), (3, 'c', '2024-01-01 11:00:00'), (7, 'g', '2024-01-01 11:00:00')`);
      const steps = {
        events: source.custom('mysql', {
          url: dbURL,
          table: 'paged_events',
          where: "v <> 'skip'",
          lagWindow: '10m',
          pageBy: { size: 2 },
          incremental: { cursor: 'updated_at' },
        }),
        out: sink.custom('mysql', {
          input: ref('events'),
          url: dbURL,
          table: 'paged_events_out',
          mode: 'merge',
          keys: ['id'],
        }),
      };
      const first = await run(steps);
      expect(first.error).toBeUndefined();
      expect(incrementalWatermark(first.watermarks?.['events'])).toBe('2024-01-01 11:00:00');
      expect(stepOf(first, 'events').rowsOut).toBe(4);
      await db.query(
        `UPDATE paged_events SET v = 'a2', updated_at = '2024-01-01 12:00:00' WHERE id = 1`,
      );
      await db.query(`INSERT INTO paged_events VALUES (4, 'd', '2024-01-01 12:30:00'),
        (5, 'late', '2024-01-01 10:55:00'), (6, 'tie', '2024-01-01 11:00:00'),
        (8, 'skip', '2024-01-01 12:40:00')`);
      const second = await run(steps, { watermarks: first.watermarks });
      expect(second.error).toBeUndefined();
      expect(incrementalWatermark(second.watermarks?.['events'])).toBe('2024-01-01 12:30:00');
      // From 10:50: 2, 3 and 7 (read before, dropped), 6 (tied), 5 (late), 1 and 4; 8 fails
      // the where.
      expect(stepOf(second, 'events').rowsOut).toBe(4);
      expect(await rows('SELECT id, v, updated_at FROM paged_events_out ORDER BY id')).toEqual(
        await rows("SELECT id, v, updated_at FROM paged_events WHERE v <> 'skip' ORDER BY id"),
      );
    });

    it('rejects NULL key values with a clear error', async () => {
      await db.query('CREATE TABLE paged_nulls (id INT NULL, name TEXT, UNIQUE KEY (id))');
      await db.query("INSERT INTO paged_nulls VALUES (1, 'a'), (NULL, 'b'), (2, 'c')");
      const error = await readDirect({
        table: 'paged_nulls',
        pageBy: { columns: ['id'], size: 2 },
      }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SOURCE_FAILED', retryable: false });
      expect((error as Error).message).toMatch(
        /cannot read .*#paged_nulls in pages: key column "id" is NULL in a row/,
      );
      expect((error as SourceError).hint).toMatch(/NOT NULL columns/);
    });

    it('refuses keys that could skip rows, and tables without a key', async () => {
      await db.query('CREATE TABLE paged_nokey (a INT NOT NULL, b INT NOT NULL)');
      const noKey = await readDirect({ table: 'paged_nokey', pageBy: { size: 10 } }).catch(
        (e: unknown) => e,
      );
      expect(noKey).toBeInstanceOf(ConfigError);
      expect((noKey as Error).message).toMatch(/paged_nokey has no primary key and no unique key/);
      const partial = await readDirect({ table: 'paged', pageBy: { columns: ['a'] } }).catch(
        (e: unknown) => e,
      );
      expect(partial).toBeInstanceOf(ConfigError);
      expect((partial as Error).message).toMatch(
        /pageBy columns \(a\) do not include all columns of a primary or unique key of paged \(it has PRIMARY \(a, b\)\)/,
      );
      const unknown = await readDirect({
        table: 'paged',
        pageBy: { columns: ['a', 'nope'] },
      }).catch((e: unknown) => e);
      expect((unknown as Error).message).toMatch(/pageBy column "nope" is not a column of paged/);
      await db.query('CREATE TABLE paged_float (id INT PRIMARY KEY, f FLOAT NOT NULL)');
      const float = await readDirect({
        table: 'paged_float',
        pageBy: { columns: ['id', 'f'] },
      }).catch((e: unknown) => e);
      expect((float as Error).message).toMatch(/pageBy column "f" is a float column/);
    });
  });

  describe('errors', () => {
    const user = `sluice_u_${randomHex(4)}`;
    beforeAll(async () => {
      await db.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'right-password'`);
      await db.query(`CREATE USER '${user}'@'localhost' IDENTIFIED BY 'right-password'`);
    });
    afterAll(async () => {
      await db.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await db.query(`DROP USER IF EXISTS '${user}'@'localhost'`);
    });

    it('names host and user on a bad password', async () => {
      const report = await run({
        read: source.custom('mysql', {
          host: '127.0.0.1',
          user,
          password: 'wrong',
          database,
          table: 'big',
        }),
      });
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('SOURCE_FAILED');
      expect(report.error?.message).toContain(
        `cannot log in to MySQL at 127.0.0.1:3306 as user "${user}"`,
      );
      expect(report.error?.hint).toMatch(/user and password/);
      expect(report.error?.message).not.toContain('wrong');
    });

    it('marks an unreachable server as retryable', async () => {
      const error = await readDirect({ url: 'mysql://root@127.0.0.1:1/x', table: 't' }).catch(
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'SOURCE_FAILED', retryable: true });
      expect((error as Error).message).toMatch(
        /cannot reach MySQL at 127.0.0.1:1 \(ECONNREFUSED\)/,
      );
    });

    it('says which table or column is unknown', async () => {
      const table = await readDirect({ table: 'nope' }).catch((e: unknown) => e);
      expect((table as Error).message).toMatch(/table does not exist.*nope/);
      expect(table).toMatchObject({ retryable: false, hint: expect.stringMatching(/table name/) });
      const column = await readDirect({ table: 'big', columns: ['id', 'missing'] }).catch(
        (e: unknown) => e,
      );
      expect((column as Error).message).toMatch(/unknown column.*missing/);
    });

    it('refuses an unknown cursor column', async () => {
      const report = await run({
        read: source.custom('mysql', { url: dbURL, table: 'big', incremental: { cursor: 'nope' } }),
      });
      expect(report.status).toBe('failed');
      expect(report.error?.message).toMatch(/cursor column "nope" is not a column/);
    });

    it('validates the config at plan time', async () => {
      await expect(
        run({ read: source.custom('mysql', { url: dbURL, table: 'big', query: 'select 1' }) }),
      ).rejects.toBeInstanceOf(ConfigError);
    });
  });
});
