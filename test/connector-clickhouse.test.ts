import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clickhouseSink } from '../src/connectors/clickhouse/index.js';
import type { ClickHouseFeatures } from '../src/connectors/clickhouse/index.js';
import {
  clickhouseColumnType,
  clickhouseFeatures,
  clickhouseTypeMapping,
  describeClickHouse,
  parseClickHouseURL,
} from '../src/connectors/clickhouse/index.js';
import { stageNames } from '../src/connectors/clickhouse/clickhouse-staging.js';
import { logicalTypeOfClickHouse } from '../src/connectors/clickhouse/clickhouse-read-types.js';
import type { ConfigError } from '../src/core/errors.js';
import { newRunId } from '../src/core/ids.js';
import { silentLogger } from '../src/core/logger.js';
import type { LogicalType, TypeKind } from '../src/core/types.js';
import { formatType, mapType } from '../src/core/types.js';
import type { StagedOutput } from '../src/contracts/staged-output.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import { fieldsFromColumns } from '../src/contracts/duckdb-types.js';
import { SharedResources } from '../src/engine/shared-resources.js';
import type { RunReport, SinkStep } from '../src/index.js';
import { pipeline, ref, sink, source, transform } from '../src/index.js';
import { readNDJSON, runIn, sqlFromText, tempDir } from './helpers.js';
import type { ClickHouseTestDatabase } from './support/clickhouse.js';
import {
  CLICKHOUSE_URL,
  clickhouseUnavailable,
  createClickHouseDatabase,
} from './support/clickhouse.js';

const unavailable = await clickhouseUnavailable();
if (unavailable !== undefined) console.warn(`ClickHouse connector tests skipped: ${unavailable}`);

const OLD: ClickHouseFeatures = { dateTime64: false };
const NEW: ClickHouseFeatures = { dateTime64: true };

describe('clickhouse types and config (no server)', () => {
  const samples: Record<TypeKind, LogicalType> = {
    bool: { kind: 'bool' },
    int8: { kind: 'int8' },
    int16: { kind: 'int16' },
    int32: { kind: 'int32' },
    int64: { kind: 'int64' },
    float32: { kind: 'float32' },
    float64: { kind: 'float64' },
    decimal: { kind: 'decimal', precision: 38, scale: 10 },
    string: { kind: 'string' },
    binary: { kind: 'binary' },
    date: { kind: 'date' },
    timestamp: { kind: 'timestamp', tz: true },
    list: { kind: 'list', element: { kind: 'list', element: { kind: 'int32' } } },
    struct: { kind: 'struct', fields: [{ name: 'a', type: { kind: 'int32' }, nullable: true }] },
    map: { kind: 'map', key: { kind: 'string' }, value: { kind: 'int32' } },
    json: { kind: 'json' },
  };

  it('maps every logical type, with instants by server version', () => {
    const mapped = (features: ClickHouseFeatures) =>
      Object.fromEntries(
        Object.entries(samples).map(([kind, type]) => [
          kind,
          mapType(clickhouseTypeMapping(features), type),
        ]),
      );
    expect(mapped(OLD)).toEqual({
      bool: 'UInt8',
      int8: 'Int8',
      int16: 'Int16',
      int32: 'Int32',
      int64: 'Int64',
      float32: 'Float32',
      float64: 'Float64',
      decimal: 'Decimal(38, 10)',
      string: 'String',
      binary: 'String',
      date: 'Date',
      timestamp: "DateTime('UTC')",
      list: 'Array(Array(Nullable(Int32)))',
      struct: 'String',
      map: 'String',
      json: 'String',
    });
    expect(mapped(NEW)['timestamp']).toBe("DateTime64(6, 'UTC')");
    expect(mapType(clickhouseTypeMapping(NEW), { kind: 'timestamp', tz: false })).toBe(
      "DateTime64(6, 'UTC')",
    );
    expect(mapType(clickhouseTypeMapping(OLD), { kind: 'list', element: samples.struct })).toBe(
      'String',
    );
  });

  it('reads ClickHouse types as logical types, unknown ones as text', () => {
    const read = (type: string): string => formatType(logicalTypeOfClickHouse(type));
    expect(read('Nullable(Int8)')).toBe('int8');
    expect(read('UInt8')).toBe('int16');
    expect(read('UInt32')).toBe('int64');
    expect(read('UInt64')).toBe('decimal(20,0)');
    expect(read('Decimal(38, 10)')).toBe('decimal(38,10)');
    expect(read('Decimal64(4)')).toBe('decimal(18,4)');
    expect(read('Decimal(76, 2)')).toBe('string');
    expect(read('LowCardinality(Nullable(String))')).toBe('string');
    expect(read('Bool')).toBe('bool');
    expect(read('Date')).toBe('date');
    expect(read("DateTime('Europe/Paris')")).toBe('timestamp(tz)');
    expect(read("DateTime64(3, 'UTC')")).toBe('timestamp(tz)');
    expect(read('Array(Nullable(Float64))')).toBe('list<float64>');
    expect(read('Array(Array(Int8))')).toBe('string');
    expect(read("Enum8('a' = 1)")).toBe('string');
    expect(read('UUID')).toBe('string');
    expect(read('Tuple(Int8, String)')).toBe('string');
  });

  it('wraps nullable columns in Nullable, except arrays', () => {
    expect(clickhouseColumnType({ kind: 'int64' }, true, OLD)).toBe('Nullable(Int64)');
    expect(clickhouseColumnType({ kind: 'int64' }, false, OLD)).toBe('Int64');
    expect(clickhouseColumnType(samples.list, true, OLD)).toBe('Array(Array(Nullable(Int32)))');
  });

  it('uses DateTime64 from ClickHouse 20.1', () => {
    expect(clickhouseFeatures({ text: '18.16.1', major: 18, minor: 16 })).toEqual(OLD);
    expect(clickhouseFeatures({ text: '19.17.4', major: 19, minor: 17 })).toEqual(OLD);
    expect(clickhouseFeatures({ text: '20.1.2', major: 20, minor: 1 })).toEqual(NEW);
    expect(clickhouseFeatures({ text: '24.8.1', major: 24, minor: 8 })).toEqual(NEW);
  });

  it('reads percent-encoded credentials from the url and never describes the password', () => {
    const address = parseClickHouseURL('https://etl%40corp:p%40ss%2Fw0rd@ch.internal:8443/shop');
    expect(address).toEqual({
      origin: 'https://ch.internal:8443',
      username: 'etl@corp',
      password: 'p@ss/w0rd',
      database: 'shop',
    });
    expect(describeClickHouse(address)).toBe('etl@corp@ch.internal:8443/shop');
    expect(parseClickHouseURL('http://127.0.0.1:8123')).toMatchObject({
      username: 'default',
      password: '',
      database: 'default',
    });
    expect(() => parseClickHouseURL('http://h:8123/a/b')).toThrow(/one database name/);
  });

  it('names staging tables after the target and the run start', () => {
    const names = stageNames('orders', 'run_20261122T160512Z_3f9a1c7e', 'out');
    expect(names.prefix).toBe('orders__sluice_stage_');
    expect(names.rows).toMatch(/^orders__sluice_stage_20261122T160512Z_[0-9a-f]{8}_rows$/);
    expect(names.input.replace(/_in$/, '')).toBe(names.rows.replace(/_rows$/, ''));
    expect(stageNames('orders', 'run_20261122T160512Z_3f9a1c7e', 'other').rows).not.toBe(
      names.rows,
    );
  });

  it('validates the config: keys for merge, MergeTree engines, merge-only options', () => {
    const parse = (config: Record<string, unknown>) =>
      clickhouseSink.config.safeParse({ url: 'http://127.0.0.1:8123/db', table: 't', ...config });
    expect(parse({}).success).toBe(true);
    expect(parse({ mode: 'merge' }).error?.issues[0]?.message).toMatch(/need keys/);
    expect(parse({ engine: 'ReplacingMergeTree(version)' }).success).toBe(true);
    expect(parse({ engine: 'Log' }).success).toBe(false);
    expect(parse({ engine: "ReplicatedMergeTree('/p', 'r')" }).success).toBe(false);
    expect(parse({ latestBy: 'v' }).error?.issues[0]?.message).toMatch(/go with mode: 'merge'/);
    expect(parse({ url: 'clickhouse://h/db' }).success).toBe(false);
    expect(parse({ table: 'a.b.c' }).success).toBe(false);
    expect(parse({ extra: 1 }).success).toBe(false);
  });

  it('names the package to install when @clickhouse/client is missing', async () => {
    vi.resetModules();
    vi.doMock('@clickhouse/client', () => {
      throw new Error("Cannot find package '@clickhouse/client'");
    });
    try {
      const { loadClickHouseDriver } =
        await import('../src/connectors/clickhouse/clickhouse-client.js');
      const error = await loadClickHouseDriver('out').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
      expect((error as Error).message).toContain('needs the npm package "@clickhouse/client"');
      expect((error as ConfigError).diagnostics[0]?.hint).toBe(
        'run: npm install @clickhouse/client',
      );
    } finally {
      vi.doUnmock('@clickhouse/client');
      vi.resetModules();
    }
  });
});

describe.skipIf(unavailable !== undefined)('clickhouse sink against a real server', () => {
  let db: ClickHouseTestDatabase;
  beforeAll(async () => {
    db = await createClickHouseDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  const out = (config: Record<string, unknown>): SinkStep =>
    sink.clickhouse({
      input: ref('rows'),
      url: db.url,
      table: 'unset',
      ...config,
    } as Parameters<typeof sink.clickhouse>[0]);

  /** Runs `rows` (DuckDB SQL) into a clickhouse sink with `config`. */
  const write = async (rowsSQL: string, config: Record<string, unknown>): Promise<RunReport> =>
    runIn(
      await tempDir(),
      pipeline('ch_write', { steps: { rows: sqlFromText(rowsSQL), out: out(config) } }),
    );

  const stageTables = async (): Promise<string[]> =>
    (await db.tables()).filter((t) => t.includes('__sluice_stage_'));

  /** Calls the sink's write directly, as the executor does, on `rowsSQL`. */
  async function stage(
    config: Record<string, unknown>,
    rowsSQL: string,
  ): Promise<{ staged: StagedOutput; close: () => Promise<void> }> {
    const session = await DuckDBSession.create();
    const shared = new SharedResources();
    const close = async (): Promise<void> => {
      await shared.closeAll();
      session.close();
    };
    try {
      const connection = await session.connect('out');
      await connection.run(`CREATE TABLE input AS ${rowsSQL}`);
      const described = await connection.raw.runAndReadAll('SELECT * FROM input LIMIT 0');
      const staged = await clickhouseSink.write(
        clickhouseSink.config.parse({ url: db.url, ...config }),
        {
          stepId: 'out',
          runId: newRunId(),
          baseDir: await tempDir(),
          connection,
          input: '"input"',
          inputFields: fieldsFromColumns(described.columnNames(), described.columnTypes()),
          logger: silentLogger,
          signal: new AbortController().signal,
          shared: shared.open,
        },
      );
      return { staged, close };
    } catch (error) {
      await close();
      throw error;
    }
  }

  it('round-trips every mapped type: nulls, unicode, escapes, decimals, dates, instants', async () => {
    const report = await write(
      `SELECT * FROM (
        SELECT 1::BIGINT AS id, true AS b, (-128)::TINYINT AS i8, 32767::SMALLINT AS i16,
          (-2147483648)::INTEGER AS i32, 9223372036854775807::BIGINT AS i64, 1.5::FLOAT AS f32,
          0.1::DOUBLE AS f64, 12345678901234567890123456.0123456789::DECIMAL(38,10) AS dec,
          (-1.5)::DECIMAL(12,2) AS dec2,
          'Grüße 👋 "q" tab' || chr(9) || 'nl' || chr(10) || 'cr' || chr(13) || 'bs \\ lit \\N' AS s,
          '\\xAB\\x00A\\x5C'::BLOB AS bin, DATE '2024-02-29' AS d,
          TIMESTAMP '2024-01-02 03:04:05.678' AS ts, TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tstz,
          [1, NULL, 3]::INTEGER[] AS li, ['a''b', NULL, 'x' || chr(10) || 'y\\z']::VARCHAR[] AS ls,
          [[1], [], NULL]::INTEGER[][] AS ll, [DATE '2024-01-01', NULL] AS ld,
          {'a': 1, 'b': 'x'} AS st, MAP {'k': 1} AS m, '{"x": [1, 2]}'::JSON AS j
        UNION ALL
        SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
          NULL, NULL, NULL, NULL, NULL, NULL, NULL
        UNION ALL
        SELECT 3, false, 0::TINYINT, 0::SMALLINT, 0, -9223372036854775808, 'inf'::FLOAT, 'nan'::DOUBLE, 0, 0, '',
          ''::BLOB, DATE '1970-01-02', TIMESTAMP '2105-12-31 23:59:59',
          TIMESTAMPTZ '1970-01-01 00:00:01+00', [], [''], [[]], [], {'a': NULL, 'b': NULL},
          MAP {}, 'null'::JSON
      ) ORDER BY id`,
      { table: 'types', keys: ['id'] },
    );
    expect(report.error).toBeUndefined();
    expect(
      await db.text(
        "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'types'",
      ),
    ).toEqual([
      { name: 'id', type: 'Int64' },
      { name: 'b', type: 'Nullable(UInt8)' },
      { name: 'i8', type: 'Nullable(Int8)' },
      { name: 'i16', type: 'Nullable(Int16)' },
      { name: 'i32', type: 'Nullable(Int32)' },
      { name: 'i64', type: 'Nullable(Int64)' },
      { name: 'f32', type: 'Nullable(Float32)' },
      { name: 'f64', type: 'Nullable(Float64)' },
      { name: 'dec', type: 'Nullable(Decimal(38, 10))' },
      { name: 'dec2', type: 'Nullable(Decimal(12, 2))' },
      { name: 's', type: 'Nullable(String)' },
      { name: 'bin', type: 'Nullable(String)' },
      { name: 'd', type: 'Nullable(Date)' },
      { name: 'ts', type: "Nullable(DateTime('UTC'))" },
      { name: 'tstz', type: "Nullable(DateTime('UTC'))" },
      { name: 'li', type: 'Array(Nullable(Int32))' },
      { name: 'ls', type: 'Array(Nullable(String))' },
      { name: 'll', type: 'Array(Array(Nullable(Int32)))' },
      { name: 'ld', type: 'Array(Nullable(Date))' },
      { name: 'st', type: 'Nullable(String)' },
      { name: 'm', type: 'Nullable(String)' },
      { name: 'j', type: 'Nullable(String)' },
    ]);
    const rows = await db.text(
      'SELECT id, b, i8, i16, i32, i64, f32, f64, dec, dec2, s, hex(bin) AS bin, d, ts, tstz, li, length(ls) AS ls, ll, ld, st, m, j FROM types ORDER BY id',
    );
    expect(rows[0]).toEqual({
      id: '1',
      b: '1',
      i8: '-128',
      i16: '32767',
      i32: '-2147483648',
      i64: '9223372036854775807',
      f32: '1.5',
      f64: '0.1',
      dec: '12345678901234567890123456.0123456789',
      dec2: '-1.50',
      s: 'Grüße 👋 "q" tab\tnl\ncr\rbs \\ lit \\N',
      bin: 'AB00415C',
      d: '2024-02-29',
      // DateTime on servers before 20.1 keeps whole seconds.
      ts: '2024-01-02 03:04:05',
      tstz: '2024-01-02 01:04:05',
      li: '[1,NULL,3]',
      ls: '3',
      ll: '[[1],[],[]]',
      ld: "['2024-01-01',NULL]",
      st: '{"a":1,"b":"x"}',
      m: '{"k":1}',
      j: '{"x": [1, 2]}',
    });
    // Array text is printed unescaped by TabSeparated; read the string elements one by one.
    expect(
      await db.text(
        'SELECT ls[1] AS a, isNull(ls[2]) AS b, ls[3] AS c FROM types WHERE id IN (1, 3) ORDER BY id',
      ),
    ).toEqual([
      { a: "a'b", b: '1', c: 'x\ny\\z' },
      { a: '', b: '1', c: null },
    ]);
    expect(rows[1]).toEqual({
      id: '2',
      b: null,
      i8: null,
      i16: null,
      i32: null,
      i64: null,
      f32: null,
      f64: null,
      dec: null,
      dec2: null,
      s: null,
      bin: null,
      d: null,
      ts: null,
      tstz: null,
      // ClickHouse arrays cannot be NULL: a null list is stored as an empty array.
      li: '[]',
      ls: '0',
      ll: '[]',
      ld: '[]',
      st: null,
      m: null,
      j: null,
    });
    expect(rows[2]).toMatchObject({
      i64: '-9223372036854775808',
      f32: 'inf',
      f64: 'nan',
      s: '',
      bin: '',
      d: '1970-01-02',
      ts: '2105-12-31 23:59:59',
      tstz: '1970-01-01 00:00:01',
      li: '[]',
      ls: '1',
      ll: '[[]]',
      st: '{"a":null,"b":null}',
      m: '{}',
      j: 'null',
    });
    expect(await stageTables()).toEqual([]);
  });

  describe('modes through pipelines', () => {
    const rows = async (table: string): Promise<Record<string, string | null>[]> =>
      db.text(`SELECT * FROM ${table} ORDER BY id, name`);

    it('append creates the table, then adds rows', async () => {
      const first = await write(`SELECT 1::BIGINT AS id, 'a' AS name`, { table: 'app' });
      expect(first.error).toBeUndefined();
      const second = await write(`SELECT * FROM (VALUES (2::BIGINT, 'b'), (3, NULL)) t(id, name)`, {
        table: 'app',
      });
      expect(second.error).toBeUndefined();
      expect(second.steps.find((s) => s.id === 'out')?.rowsOut).toBe(2);
      expect(await rows('app')).toEqual([
        { id: '1', name: 'a' },
        { id: '2', name: 'b' },
        { id: '3', name: null },
      ]);
      expect(await stageTables()).toEqual([]);
    });

    it('append attaches every partition of a partitioned table', async () => {
      const config = {
        table: 'parts',
        partitionBy: 'toYYYYMM(day)',
        orderBy: ['id'],
      };
      const data = (from: number) =>
        `SELECT range::BIGINT AS id, 'n' || range AS name, DATE '2024-01-15' + INTERVAL (range * 20) DAY AS day FROM range(${from}, ${from + 6})`;
      expect((await write(data(0), config)).error).toBeUndefined();
      expect((await write(data(6), config)).error).toBeUndefined();
      const partitions = await db.text(
        "SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND table = 'parts' AND active ORDER BY partition",
      );
      expect(partitions.length).toBeGreaterThan(5);
      expect(await db.text('SELECT count() AS n, uniqExact(id) AS u FROM parts')).toEqual([
        { n: '12', u: '12' },
      ]);
    });

    it('overwrite replaces the contents and keeps the table definition', async () => {
      await db.command(
        'CREATE TABLE ow (id Int64, name Nullable(String)) ENGINE = ReplacingMergeTree ORDER BY id',
      );
      await db.command("INSERT INTO ow VALUES (1, 'old'), (2, 'old')");
      const report = await write(`SELECT 3::BIGINT AS id, 'new' AS name`, {
        table: 'ow',
        mode: 'overwrite',
      });
      expect(report.error).toBeUndefined();
      expect(await rows('ow')).toEqual([{ id: '3', name: 'new' }]);
      expect(
        (
          await db.text(
            "SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'ow'",
          )
        )[0],
      ).toEqual({ engine: 'ReplacingMergeTree' });
      expect(await stageTables()).toEqual([]);
    });

    it('merge upserts by key: latest row per key by latestBy, deletes by deleteWhen', async () => {
      await db.command(
        'CREATE TABLE mg (id Int64, name Nullable(String), v Int64) ENGINE = MergeTree ORDER BY id',
      );
      await db.command("INSERT INTO mg VALUES (1, 'keep', 1), (2, 'old', 1), (3, 'gone', 1)");
      const report = await write(
        `SELECT * FROM (VALUES
          (2::BIGINT, 'older', 5::BIGINT, 'u'),
          (2, 'newest', 9, 'u'),
          (2, 'middle', 7, 'u'),
          (3, 'x', 2, 'd'),
          (4, 'first', 1, 'u'),
          (4, 'second', 2, 'u'),
          (5, 'dropped', 1, 'd')
        ) t(id, name, v, op)`,
        {
          table: 'mg',
          mode: 'merge',
          keys: ['id'],
          latestBy: 'v',
          deleteWhen: { column: 'op', equals: 'd' },
          exclude: ['op'],
        },
      );
      expect(report.error).toBeUndefined();
      expect(report.steps.find((s) => s.id === 'out')?.rowsOut).toBe(7);
      expect(await rows('mg')).toEqual([
        { id: '1', name: 'keep', v: '1' },
        { id: '2', name: 'newest', v: '9' },
        { id: '4', name: 'second', v: '2' },
      ]);
      expect(await stageTables()).toEqual([]);
    });

    it('merge without latestBy keeps the last input row per key, null keys included', async () => {
      const first = await write(
        `SELECT * FROM (VALUES (1::BIGINT, 'a'), (NULL, 'null key')) t(id, name)`,
        { table: 'mg2', mode: 'merge', keys: ['name'] },
      );
      expect(first.error).toBeUndefined();
      const second = await write(
        `SELECT * FROM (VALUES (7::BIGINT, 'a'), (8, 'a'), (9, 'b')) t(id, name)`,
        { table: 'mg2', mode: 'merge', keys: ['name'] },
      );
      expect(second.error).toBeUndefined();
      expect(await db.text('SELECT id, name FROM mg2 ORDER BY name')).toEqual([
        { id: '8', name: 'a' },
        { id: '9', name: 'b' },
        { id: null, name: 'null key' },
      ]);
    });

    it('delete_insert replaces the rows of the input keys with all input rows', async () => {
      await db.command(
        'CREATE TABLE di (id Nullable(Int64), name String) ENGINE = MergeTree ORDER BY name',
      );
      await db.command(
        "INSERT INTO di VALUES (1, 'a1'), (1, 'a2'), (2, 'b'), (NULL, 'n1'), (3, 'c')",
      );
      const report = await write(
        `SELECT * FROM (VALUES (1::BIGINT, 'new1'), (1, 'new2'), (NULL, 'new null'), (4, 'd')) t(id, name)`,
        { table: 'di', mode: 'delete_insert', keys: ['id'] },
      );
      expect(report.error).toBeUndefined();
      expect(await db.text('SELECT id, name FROM di ORDER BY name')).toEqual([
        { id: '2', name: 'b' },
        { id: '3', name: 'c' },
        { id: '4', name: 'd' },
        { id: null, name: 'new null' },
        { id: '1', name: 'new1' },
        { id: '1', name: 'new2' },
      ]);
    });

    it('adds input columns the table lacks as Nullable columns', async () => {
      expect((await write(`SELECT 1::BIGINT AS id`, { table: 'grow' })).error).toBeUndefined();
      const report = await write(`SELECT 2::BIGINT AS id, 'x' AS note, [1, 2] AS tags`, {
        table: 'grow',
      });
      expect(report.error).toBeUndefined();
      expect(
        await db.text(
          "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'grow'",
        ),
      ).toEqual([
        { name: 'id', type: 'Nullable(Int64)' },
        { name: 'note', type: 'Nullable(String)' },
        { name: 'tags', type: 'Array(Nullable(Int32))' },
      ]);
      expect(await db.text('SELECT id, note, tags FROM grow ORDER BY id')).toEqual([
        { id: '1', note: null, tags: '[]' },
        { id: '2', note: 'x', tags: '[1,2]' },
      ]);
    });

    it('converts into an existing table whose column types differ from the mapping', async () => {
      await db
        .command(
          'CREATE TABLE conv (id Int32, amount Decimal(18, 4), at DateTime, label LowCardinality(String)) ENGINE = MergeTree ORDER BY id',
        )
        .catch(async () =>
          // LowCardinality needs a setting on old servers; a plain String still needs converting.
          db.command(
            'CREATE TABLE conv (id Int32, amount Decimal(18, 4), at DateTime, label FixedString(3)) ENGINE = MergeTree ORDER BY id',
          ),
        );
      const report = await write(
        `SELECT 7::BIGINT AS id, 12.5::DECIMAL(12,2) AS amount, TIMESTAMPTZ '2024-05-06 07:08:09+00' AS at, 'abc' AS label`,
        { table: 'conv' },
      );
      expect(report.error).toBeUndefined();
      expect(
        await db.text(
          'SELECT id, amount, toUnixTimestamp(at) AS at, toString(label) AS label FROM conv',
        ),
      ).toEqual([{ id: '7', amount: '12.5000', at: '1714979289', label: 'abc' }]);
      expect(await stageTables()).toEqual([]);
    });
  });

  describe('refusals', () => {
    it('refuses a missing table when createTable is false', async () => {
      const report = await write(`SELECT 1 AS id`, { table: 'nope', createTable: false });
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('SINK_FAILED');
      expect(report.error?.message).toMatch(
        /table \S+\.nope does not exist .*createTable is false/,
      );
      expect(report.error?.hint).toMatch(/createTable: true/);
      expect(await db.tables()).not.toContain('nope');
    });

    it('refuses new columns when createTable is false', async () => {
      await db.command('CREATE TABLE fixed (id Int64) ENGINE = MergeTree ORDER BY id');
      const report = await write(`SELECT 1::BIGINT AS id, 'x' AS extra`, {
        table: 'fixed',
        createTable: false,
      });
      expect(report.status).toBe('failed');
      expect(report.error?.message).toMatch(/lacks column\(s\) "extra"/);
      expect(await stageTables()).toEqual([]);
    });

    it('refuses dates ClickHouse cannot store, before loading anything', async () => {
      const report = await write(
        `SELECT * FROM (VALUES (1::BIGINT, DATE '1969-12-31'), (2, DATE '2024-01-01')) t(id, d)`,
        { table: 'early' },
      );
      expect(report.status).toBe('failed');
      expect(report.error?.message).toMatch(
        /column "d" has 1 value\(s\) ClickHouse cannot store \(Date holds 1970-01-01/,
      );
      expect(await db.tables()).not.toContain('early');
      expect(await stageTables()).toEqual([]);
    });

    it('refuses nulls in sort-key columns', async () => {
      const report = await write(
        `SELECT * FROM (VALUES (1::BIGINT, 'a'), (NULL, 'b')) t(id, name)`,
        { table: 'nullkey', keys: ['id'] },
      );
      expect(report.status).toBe('failed');
      expect(report.error?.message).toMatch(/column "id" has 1 null value\(s\).*not Nullable/);
      expect(await stageTables()).toEqual([]);
    });

    it('refuses a table that is not MergeTree', async () => {
      await db.command('CREATE TABLE mem (id Int64) ENGINE = Memory');
      const report = await write(`SELECT 1::BIGINT AS id`, { table: 'mem' });
      expect(report.error?.message).toMatch(/engine Memory; the sink writes only .*MergeTree/);
    });

    it('refuses keys that are not written columns before connecting', async () => {
      const report = await write(`SELECT 1 AS id, 'x' AS op`, {
        table: 'k',
        mode: 'merge',
        keys: ['op'],
        exclude: ['op'],
      });
      expect(report.error?.message).toMatch(/key column\(s\) "op" are not written columns/);
    });
  });

  describe('atomicity', () => {
    it('append: readers see nothing until publish; the relation reads the table as it will be', async () => {
      await db.command(
        'CREATE TABLE seen (id Int64, name Nullable(String)) ENGINE = MergeTree ORDER BY id',
      );
      await db.command("INSERT INTO seen VALUES (1, 'before')");
      const { staged, close } = await stage(
        { table: 'seen' },
        `SELECT * FROM (VALUES (2::BIGINT, 'staged', 'extra')) t(id, name, note)`,
      );
      try {
        expect(staged.rowsWritten).toBe(1);
        expect(await db.text('SELECT id, name FROM seen')).toEqual([{ id: '1', name: 'before' }]);
        expect(
          await db.text(
            "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'seen'",
          ),
        ).toEqual([{ name: 'id' }, { name: 'name' }]);
        expect(await db.text(`SELECT * FROM ${staged.warehouseRelation} ORDER BY id`)).toEqual([
          { id: '1', name: 'before', note: null },
          { id: '2', name: 'staged', note: 'extra' },
        ]);
        await staged.publish();
        expect(await db.text('SELECT * FROM seen ORDER BY id')).toEqual([
          { id: '1', name: 'before', note: null },
          { id: '2', name: 'staged', note: 'extra' },
        ]);
        expect(await stageTables()).toEqual([]);
      } finally {
        await close();
      }
    });

    it('merge: the relation is the full new contents; discard leaves the target as it was', async () => {
      await db.command('CREATE TABLE keep (id Int64, name String) ENGINE = MergeTree ORDER BY id');
      await db.command("INSERT INTO keep VALUES (1, 'one'), (2, 'two')");
      const { staged, close } = await stage(
        { table: 'keep', mode: 'merge', keys: ['id'] },
        `SELECT * FROM (VALUES (2::BIGINT, 'TWO'), (3, 'three')) t(id, name)`,
      );
      try {
        expect(await db.text(`SELECT * FROM ${staged.warehouseRelation} ORDER BY id`)).toEqual([
          { id: '1', name: 'one' },
          { id: '2', name: 'TWO' },
          { id: '3', name: 'three' },
        ]);
        expect(await stageTables()).toHaveLength(1);
        await staged.discard();
        await staged.discard();
        expect(await db.text('SELECT * FROM keep ORDER BY id')).toEqual([
          { id: '1', name: 'one' },
          { id: '2', name: 'two' },
        ]);
        expect(await stageTables()).toEqual([]);
      } finally {
        await close();
      }
    });

    it('leaves the target unchanged when a later step fails', async () => {
      await db.command(
        'CREATE TABLE atomic (id Int64, name String) ENGINE = MergeTree ORDER BY id',
      );
      await db.command("INSERT INTO atomic VALUES (1, 'kept')");
      const report = await runIn(
        await tempDir(),
        pipeline('ch_atomic', {
          steps: {
            rows: sqlFromText(`SELECT 2::BIGINT AS id, 'new' AS name`),
            out: sink.clickhouse({
              input: ref('rows'),
              url: db.url,
              table: 'atomic',
              mode: 'overwrite',
            }),
            boom: transform({
              input: ref('rows'),
              map: () => {
                throw new Error('transform bug');
              },
            }),
            after: sink.clickhouse({ input: ref('boom'), url: db.url, table: 'atomic_never' }),
          },
        }),
      );
      expect(report.status).toBe('failed');
      expect(await db.text('SELECT * FROM atomic')).toEqual([{ id: '1', name: 'kept' }]);
      expect(await db.tables()).not.toContain('atomic_never');
      expect(await stageTables()).toEqual([]);
    });

    it('drops staging tables a crashed run left, and restores a table left mid-swap', async () => {
      const stale = 'crash__sluice_stage_20000101T000000Z_deadbeef';
      await db.command(`CREATE TABLE ${stale}_old (id Int64) ENGINE = MergeTree ORDER BY id`);
      await db.command(`INSERT INTO ${stale}_old VALUES (1)`);
      await db.command(`CREATE TABLE ${stale}_rows (id Int64) ENGINE = MergeTree ORDER BY id`);
      await db.command(`CREATE TABLE ${stale}_in (id Int64) ENGINE = MergeTree ORDER BY id`);
      const report = await write(`SELECT 2::BIGINT AS id`, { table: 'crash' });
      expect(report.error).toBeUndefined();
      expect(await db.text('SELECT id FROM crash ORDER BY id')).toEqual([{ id: '1' }, { id: '2' }]);
      expect(await stageTables()).toEqual([]);
    });
  });

  describe('source', () => {
    const read = async (config: Record<string, unknown>) => {
      const dir = await tempDir();
      const report = await runIn(
        dir,
        pipeline('ch_read', {
          steps: {
            rows: source.clickhouse({ url: db.url, ...config } as Parameters<
              typeof source.clickhouse
            >[0]),
            out: sink.ndjson({ input: ref('rows'), path: 'out.ndjson' }),
          },
        }),
      );
      const success = report.status === 'success';
      const rows = success ? await readNDJSON(`${dir}/out.ndjson`) : [];
      const text = success ? await readFile(`${dir}/out.ndjson`, 'utf8') : '';
      return { report, rows, text };
    };

    it('reads every type exactly, with nulls, day 0 and arrays', async () => {
      await db.command(
        `CREATE TABLE src (id UInt64, i8 Nullable(Int8), u32 UInt32, f Float64, dec Nullable(Decimal(38, 10)),
          s Nullable(String), fs FixedString(2), e Enum8('a' = 1, 'b' = 2), u UUID, d Nullable(Date),
          t Nullable(DateTime('Europe/Paris')), arr Array(Nullable(String)), nums Array(Int32),
          days Array(Date)) ENGINE = MergeTree ORDER BY id`,
      );
      await db.command(
        `INSERT INTO src VALUES (18446744073709551615, -128, 4294967295, -0.5, 12345678901234567890123456.0123456789,
          'a,"b"\\nc', 'xy', 'b', '01234567-89ab-cdef-0123-456789abcdef', '1970-01-01', '2024-06-01 12:00:00',
          ['p,q', NULL, ''], [1, -2], ['2024-01-02']),
          (2, NULL, 0, 1e300, NULL, NULL, 'ab', 'a', '00000000-0000-0000-0000-000000000000', NULL, NULL, [], [], [])`,
      );
      const { report, rows, text } = await read({ table: 'src' });
      expect(report.error).toBeUndefined();
      expect(rows).toHaveLength(2);
      expect(rows.find((r) => r['id'] === 2 || r['id'] === '2')).toMatchObject({
        i8: null,
        u32: 0,
        f: 1e300,
        dec: null,
        s: null,
        d: null,
        t: null,
        arr: [],
        nums: [],
        days: [],
      });
      const first = rows.find((r) => r['id'] !== 2 && r['id'] !== '2');
      expect(first).toMatchObject({
        i8: -128,
        u32: 4294967295,
        f: -0.5,
        s: 'a,"b"\nc',
        fs: 'xy',
        e: 'b',
        u: '01234567-89ab-cdef-0123-456789abcdef',
        d: '1970-01-01',
        arr: ['p,q', null, ''],
        nums: [1, -2],
        days: ['2024-01-02'],
      });
      // Exact in the dataset; JSON.parse would round these, so look at the text.
      expect(text).toContain('18446744073709551615');
      expect(text).toContain('12345678901234567890123456.0123456789');
      expect(
        new Date(String(first?.['t']).replace(' ', 'T').replace(/\+00$/, 'Z')).toISOString(),
      ).toBe('2024-06-01T10:00:00.000Z');
    });

    it('reads chosen columns with a predicate, or a query', async () => {
      await db.command('CREATE TABLE pick (id Int64, name String) ENGINE = MergeTree ORDER BY id');
      await db.command("INSERT INTO pick VALUES (1, 'a'), (2, 'b'), (3, 'c')");
      const some = await read({ table: 'pick', columns: ['name'], where: 'id >= 2' });
      expect(some.report.error).toBeUndefined();
      expect(some.rows.map((r) => r['name']).sort()).toEqual(['b', 'c']);
      expect(Object.keys(some.rows[0] ?? {})).toEqual(['name']);
      const query = await read({ query: 'SELECT count() AS n, max(id) AS top FROM pick' });
      expect(query.report.error).toBeUndefined();
      expect(query.rows).toEqual([{ n: 3, top: 3 }]);
    });

    it('says how to read String bytes that are not UTF-8', async () => {
      await db.command('CREATE TABLE bytes (id Int64, b String) ENGINE = MergeTree ORDER BY id');
      await db.command("INSERT INTO bytes VALUES (1, unhex('FF00AB'))");
      const { report } = await read({ table: 'bytes' });
      expect(report.error?.code).toBe('SOURCE_FAILED');
      expect(report.error?.message).toMatch(/cannot load the rows of bytes/);
      expect(report.error?.hint).toMatch(/hex\(column\)/);
      const hex = await read({ query: 'SELECT id, hex(b) AS b FROM bytes' });
      expect(hex.rows).toEqual([{ id: 1, b: 'FF00AB' }]);
    });

    it('names a missing table in its error', async () => {
      const { report } = await read({ table: 'missing_table' });
      expect(report.error?.code).toBe('SOURCE_FAILED');
      expect(report.error?.message).toMatch(/missing_table/);
      expect(report.error?.hint).toMatch(/table name/);
    });
  });

  describe('errors', () => {
    it('fails on a wrong password without printing it', async () => {
      const url = new URL(db.url);
      url.username = 'default';
      url.password = 'wrong-secret-pw';
      const report = await write(`SELECT 1 AS id`, { url: url.toString(), table: 'x' });
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('SINK_FAILED');
      expect(report.error?.message).toMatch(/cannot log in to ClickHouse at default@[^ ]+:8123/);
      expect(report.error?.hint).toMatch(/user and password in the url/);
      expect(JSON.stringify(report)).not.toContain('wrong-secret-pw');
    });

    it('marks an unreachable server as retryable, with a clear message', async () => {
      const report = await write(`SELECT 1 AS id`, {
        url: 'http://default:some-secret@127.0.0.1:1/db',
        table: 'x',
      });
      expect(report.status).toBe('failed');
      expect(report.error?.message).toMatch(
        /cannot reach ClickHouse at default@127\.0\.0\.1:1\/db \(ECONNREFUSED\)/,
      );
      expect(report.error?.hint).toMatch(/host and port/);
      expect(JSON.stringify(report)).not.toContain('some-secret');
      const error = await stage(
        { url: 'http://default:some-secret@127.0.0.1:1/db', table: 'x' },
        'SELECT 1 AS id',
      ).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SINK_FAILED', retryable: true });
    });

    it('says when the database does not exist', async () => {
      const url = new URL(CLICKHOUSE_URL);
      url.pathname = '/sluice_no_such_db';
      const report = await write(`SELECT 1 AS id`, { url: url.toString(), table: 'x' });
      expect(report.status).toBe('failed');
      expect(report.error?.message).toMatch(/sluice_no_such_db/);
      expect(report.error?.hint).toMatch(/create the database/);
    });
  });
});
