import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll } from 'vitest';
import { randomHex } from '../src/core/ids.js';
import type { DatasetRef, SinkStep } from '../src/index.js';
import { pipeline, ref, schema, sink, source, t } from '../src/index.js';
import { query, readNDJSON, runIn, tempDir } from './helpers.js';
import { readDeltaTable } from './support/orchestrator-project.js';
import type { ConformanceRow, ConformanceTarget } from './support/connector-conformance.js';
import type { ClickHouseTestDatabase } from './support/clickhouse.js';
import { clickhouseUnavailable, createClickHouseDatabase } from './support/clickhouse.js';
import { asConformanceRow, describeConformance } from './support/connector-conformance.js';
import { MYSQL_ADMIN_URL, mysqlUnavailable } from './support/mysql.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** The declared schema of the conformance rows, for sources that need one. */
const ROWS_SCHEMA = schema({
  id: t.int64().notNull(),
  name: t.string(),
  amount: t.decimal(12, 2),
  active: t.bool(),
  created: t.timestamptz(),
  day: t.date(),
});

const newName = (): string => `conf_${randomHex(6)}`;

// ---- PostgreSQL ----

const postgresSkip = await postgresUnavailable();
const postgres = postgresSkip === undefined ? await createTestDatabase() : undefined;
if (postgres !== undefined) cleanups.push(postgres.drop);

async function withPostgres<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgres?.url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const postgresInsert = async (table: string, rows: readonly ConformanceRow[]): Promise<void> =>
  withPostgres(async (client) => {
    await client.query(
      `INSERT INTO ${table} SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::boolean[], $5::timestamptz[], $6::date[])`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.name),
        rows.map((r) => r.amount),
        rows.map((r) => r.active),
        rows.map((r) => r.created),
        rows.map((r) => r.day),
      ],
    );
  });

const postgresTarget: ConformanceTarget = {
  name: 'postgres',
  async seed(rows) {
    const table = newName();
    await withPostgres((client) =>
      client.query(
        `CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, amount numeric(12,2), active boolean, created timestamptz, day date)`,
      ),
    );
    await postgresInsert(table, rows);
    return table;
  },
  append: postgresInsert,
  source: (table, options) =>
    source.postgres({
      url: postgres?.url ?? '',
      table,
      ...(options?.incremental === true ? { incremental: { cursor: 'id' } } : {}),
    }),
  freshTarget: async () => newName(),
  sink: (input, table) => sink.postgres({ input, url: postgres?.url ?? '', table }),
  readBack: (table) =>
    withPostgres(async (client) => {
      const exists = await client.query('SELECT 1 FROM pg_tables WHERE tablename = $1', [table]);
      if (exists.rowCount === 0) return [];
      const result = await client.query(
        `SELECT id, name, amount::text AS amount, active, created, day::text AS day FROM ${table}`,
      );
      return result.rows.map(asConformanceRow);
    }),
  badCredentials: () => {
    const url = new URL(postgres?.url ?? 'postgres://127.0.0.1/x');
    url.pathname = '/sluice_no_such_database';
    url.password = 'conformance-secret';
    return {
      step: source.postgres({ url: url.toString(), table: 'anything' }),
      secret: 'conformance-secret',
    };
  },
};

describeConformance(postgresTarget, postgresSkip);

// ---- MySQL / MariaDB ----

const mysqlSkip = await mysqlUnavailable();
const mysqlDatabase = `sluice_conf_${randomHex(6)}`;
const mysqlURL = new URL(MYSQL_ADMIN_URL);
mysqlURL.pathname = `/${mysqlDatabase}`;
if (mysqlSkip === undefined) {
  const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
  await admin.query(`CREATE DATABASE \`${mysqlDatabase}\` CHARACTER SET utf8mb4`);
  await admin.end();
  cleanups.push(async () => {
    const drop = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    await drop.query(`DROP DATABASE IF EXISTS \`${mysqlDatabase}\``);
    await drop.end();
  });
}

async function withMySQL<T>(work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({
    uri: mysqlURL.toString(),
    timezone: 'Z',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

const mysqlInsert = async (table: string, rows: readonly ConformanceRow[]): Promise<void> =>
  withMySQL(async (connection) => {
    for (let i = 0; i < rows.length; i += 2_000) {
      const batch = rows
        .slice(i, i + 2_000)
        .map((r) => [
          r.id,
          r.name,
          r.amount,
          r.active,
          r.created === null ? null : r.created.replace('T', ' ').replace('Z', ''),
          r.day,
        ]);
      await connection.query(`INSERT INTO \`${table}\` VALUES ?`, [batch]);
    }
  });

const mysqlTarget: ConformanceTarget = {
  name: 'mysql',
  async seed(rows) {
    const table = newName();
    await withMySQL((connection) =>
      connection.query(
        `CREATE TABLE \`${table}\` (id BIGINT PRIMARY KEY, name VARCHAR(255), amount DECIMAL(12,2), active BOOLEAN, created TIMESTAMP(6) NULL, day DATE) CHARACTER SET utf8mb4`,
      ),
    );
    await mysqlInsert(table, rows);
    return table;
  },
  append: mysqlInsert,
  source: (table, options) =>
    source.mysql({
      url: mysqlURL.toString(),
      table,
      ...(options?.incremental === true ? { incremental: { cursor: 'id' } } : {}),
    }),
  freshTarget: async () => newName(),
  sink: (input, table) => sink.mysql({ input, url: mysqlURL.toString(), table }),
  readBack: (table) =>
    withMySQL(async (connection) => {
      const [found] = await connection.query<mysql.RowDataPacket[]>(
        'SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?',
        [mysqlDatabase, table],
      );
      if (found.length === 0) return [];
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        `SELECT id, name, amount, active, DATE_FORMAT(created, '%Y-%m-%dT%H:%i:%sZ') AS created, day FROM \`${table}\``,
      );
      return rows.map((row) =>
        asConformanceRow({
          ...row,
          active: row['active'] === null ? null : Number(row['active']) === 1,
        }),
      );
    }),
  badCredentials: () => {
    const url = new URL(mysqlURL.toString());
    url.username = 'root';
    url.password = 'conformance-secret';
    return {
      step: source.mysql({ url: url.toString(), table: 'anything' }),
      secret: 'conformance-secret',
    };
  },
};

describeConformance(mysqlTarget, mysqlSkip);

// ---- ClickHouse (sink only) ----

const clickhouseSkip = await clickhouseUnavailable();
const clickhouse: ClickHouseTestDatabase | undefined =
  clickhouseSkip === undefined ? await createClickHouseDatabase() : undefined;
if (clickhouse !== undefined) cleanups.push(clickhouse.drop);

const clickhouseInsert = async (table: string, rows: readonly ConformanceRow[]): Promise<void> =>
  clickhouse?.insert(
    table,
    rows.map((r) => [
      String(r.id),
      r.name,
      r.amount,
      r.active === null ? null : r.active ? '1' : '0',
      r.created === null ? null : r.created.replace('T', ' ').replace('Z', ''),
      r.day,
    ]),
  );

const clickhouseTarget: ConformanceTarget = {
  name: 'clickhouse',
  async seed(rows) {
    const table = newName();
    await clickhouse?.command(
      `CREATE TABLE ${table} (id Int64, name Nullable(String), amount Nullable(Decimal(12, 2)), active Nullable(UInt8), created Nullable(DateTime('UTC')), day Nullable(Date)) ENGINE = MergeTree ORDER BY id`,
    );
    await clickhouseInsert(table, rows);
    return table;
  },
  append: clickhouseInsert,
  source: (table, options) =>
    source.clickhouse({
      url: clickhouse?.url ?? '',
      table,
      ...(options?.incremental === true ? { incremental: { cursor: 'id' } } : {}),
    }),
  freshTarget: async () => newName(),
  sink: (input, table) => sink.clickhouse({ input, url: clickhouse?.url ?? '', table }),
  readBack: async (table) => {
    if (clickhouse === undefined || !(await clickhouse.tables()).includes(table)) return [];
    const rows = await clickhouse.text(
      `SELECT id, name, amount, active, concat(replaceOne(toString(created), ' ', 'T'), 'Z') AS created, day FROM ${table}`,
    );
    return rows.map((row) =>
      asConformanceRow({ ...row, active: row['active'] === null ? null : row['active'] === '1' }),
    );
  },
  badCredentials: () => {
    const url = new URL(clickhouse?.url ?? 'http://127.0.0.1:8123/x');
    url.username = 'default';
    url.password = 'conformance-secret';
    return {
      step: sink.clickhouse({ input: ref('rows'), url: url.toString(), table: 'anything' }),
      secret: 'conformance-secret',
    };
  },
};

describeConformance(clickhouseTarget, clickhouseSkip);

// ---- Files: Parquet, CSV, Avro and Delta (through DuckDB and the table API) ----

/** Writes `rows` as a Parquet file with DuckDB, the seed for the file-backed sources. */
async function parquetOf(rows: readonly ConformanceRow[]): Promise<string> {
  const dir = await tempDir('sluice-conf-');
  const json = join(dir, 'rows.json');
  await writeFile(json, JSON.stringify(rows));
  const file = join(dir, 'rows.parquet');
  await query(
    `COPY (SELECT CAST(id AS BIGINT) AS id, CAST(name AS VARCHAR) AS name, CAST(amount AS DECIMAL(12,2)) AS amount, CAST(active AS BOOLEAN) AS active, CAST(created AS TIMESTAMPTZ) AS created, CAST(day AS DATE) AS day FROM read_json('${json}', columns = {id: 'BIGINT', name: 'VARCHAR', amount: 'VARCHAR', active: 'BOOLEAN', created: 'VARCHAR', day: 'VARCHAR'})) TO '${file}' (FORMAT parquet)`,
  );
  return file;
}

const readFileRows = async (sql: string): Promise<ConformanceRow[]> =>
  (await query(sql)).map(asConformanceRow);

const parquetTarget: ConformanceTarget = {
  name: 'parquet',
  seed: parquetOf,
  source: (file) => source.parquet({ path: file }),
  freshTarget: async () => join(await tempDir('sluice-conf-'), 'out.parquet'),
  sink: (input, file) => sink.parquet({ input, path: file }),
  readBack: async (file) => {
    const exists = await query(`SELECT count(*) AS n FROM glob('${file}')`);
    return Number(exists[0]?.['n']) === 0 ? [] : readFileRows(`SELECT * FROM '${file}'`);
  },
};

describeConformance(parquetTarget, undefined);

/** Writes `rows` with a sink of the connector under test, for formats DuckDB cannot write. */
async function seedWith(
  rows: readonly ConformanceRow[],
  write: (input: DatasetRef, path: string) => SinkStep,
  name: string,
): Promise<string> {
  const dir = await tempDir('sluice-conf-');
  const report = await runIn(
    dir,
    pipeline('seed', {
      steps: {
        rows: source.parquet({ path: await parquetOf(rows) }),
        out: write(ref('rows'), name),
      },
    }),
  );
  if (report.status !== 'success') throw new Error(`seeding failed: ${report.error?.message}`);
  return join(dir, name);
}

// The source and the sink of a format check each other: what one writes, the other reads back.
const avroTarget: ConformanceTarget = {
  name: 'avro',
  seed: (rows) => seedWith(rows, (input, path) => sink.avro({ input, path }), 'rows.avro'),
  source: (file) => source.avro({ path: file }),
  freshTarget: async () => join(await tempDir('sluice-conf-'), 'out.avro'),
  sink: (input, file) => sink.avro({ input, path: file }),
  readBack: async (file) => {
    const dir = await tempDir('sluice-conf-');
    const exists = await query(`SELECT count(*) AS n FROM glob('${file}')`);
    if (Number(exists[0]?.['n']) === 0) return [];
    await runIn(
      dir,
      pipeline('read_back', {
        steps: {
          rows: source.avro({ path: file }),
          out: sink.ndjson({ input: ref('rows'), path: 'rows.ndjson' }),
        },
      }),
    );
    return (await readNDJSON(join(dir, 'rows.ndjson'))).map(asConformanceRow);
  },
};

describeConformance(avroTarget, undefined);

const deltaTarget: ConformanceTarget = {
  name: 'delta',
  seed: (rows) => seedWith(rows, (input, path) => sink.delta({ input, path }), 'table'),
  source: (table) => source.delta({ path: table }),
  freshTarget: async () => join(await tempDir('sluice-conf-'), 'table'),
  sink: (input, table) => sink.delta({ input, path: table }),
  readBack: async (table) => {
    const exists = await query(`SELECT count(*) AS n FROM glob('${table}/_delta_log/*.json')`);
    if (Number(exists[0]?.['n']) === 0) return [];
    return (await readDeltaTable(table, table)).map(asConformanceRow);
  },
};

describeConformance(deltaTarget, undefined);

// ---- REST (source only): a local server that pages through the rows ----

const restRows = new Map<string, ConformanceRow[]>();
const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const rows = restRows.get(url.pathname.slice(1)) ?? [];
  const after = Number(url.searchParams.get('after') ?? '0');
  const page = Number(url.searchParams.get('page') ?? '1');
  const matching = rows.filter((r) => r.id > after);
  const body = matching.slice((page - 1) * 1_000, page * 1_000);
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ data: body }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
const restBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const restTarget: ConformanceTarget = {
  name: 'rest',
  seed: async (rows) => {
    const name = newName();
    restRows.set(name, [...rows]);
    return name;
  },
  append: async (name, rows) => {
    restRows.set(name, [...(restRows.get(name) ?? []), ...rows]);
  },
  source: (name, options) =>
    source.rest({
      url: `${restBase}/${name}`,
      recordsPath: '$.data',
      pagination: { type: 'page', param: 'page', startAt: 1, pageSize: 1_000 },
      schema: ROWS_SCHEMA,
      ...(options?.incremental === true
        ? { incremental: { cursor: 'id' }, incrementalParam: 'after' }
        : {}),
    }),
};

describeConformance(restTarget, undefined);
