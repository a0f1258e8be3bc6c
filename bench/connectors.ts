/**
 * Connector benchmarks: a PostgreSQL table to Parquet with `source.postgres` against the raw path
 * (COPY TO STDOUT into a file, then DuckDB writing Parquet), Parquet into PostgreSQL with
 * `sink.postgres` against a raw COPY FROM, and the REST source normalising nested JSON from a
 * local server, flattened and as child tables. Sizes: BENCH_PG_ROWS (default 5,000,000),
 * BENCH_REST_RECORDS (default 100,000).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline as pipe } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { pipeline, ref, runPipeline, sink, source } from '../src/index.js';
import { createTestDatabase, postgresUnavailable } from '../test/support/postgres.js';
import type { BenchResult } from './common.js';
import {
  alternate,
  assert,
  benchRounds,
  envInteger,
  fastest,
  firstRow,
  log,
  removeRunDirs,
  sqlString,
  withDuckDB,
} from './common.js';

/** Runs the connector group; skips the PostgreSQL figures (with a note) when it is unreachable. */
export async function runConnectorsGroup(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const unavailable = await postgresUnavailable();
  if (unavailable === undefined) results.push(...(await postgresFigures()));
  else log(`  postgres figures skipped: ${unavailable}`);
  results.push(await restFigure());
  results.push(...(await restChildTablesFigures()));
  return results;
}

const ROWS_SQL = (rows: number): string =>
  `SELECT i AS id, 'customer ' || (i % 100000) AS customer, (i % 10000) / 100.0 AS amount,
          timestamptz '2024-01-01' + i * interval '1 second' AS created, i % 7 = 0 AS flagged
     FROM generate_series(1, ${rows}) AS i`;

async function postgresFigures(): Promise<BenchResult[]> {
  const rows = envInteger('BENCH_PG_ROWS', 5_000_000);
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    log(`  creating a PostgreSQL table of ${rows} rows ...`);
    await client.query(
      `CREATE TABLE orders (id bigint PRIMARY KEY, customer text, amount numeric(12,2), created timestamptz, flagged boolean)`,
    );
    await client.query(`INSERT INTO orders ${ROWS_SQL(rows)}`);
    await client.query('VACUUM ANALYZE orders');

    const extractWith =
      (parallel?: { column: string; partitions: number }) => async (dir: string) => {
        const report = await runPipeline(
          pipeline('pg_extract', {
            steps: {
              orders: source.postgres({
                url: database.url,
                table: 'orders',
                ...(parallel === undefined ? {} : { parallel }),
              }),
              out: sink.parquet({ input: ref('orders'), path: 'orders.parquet' }),
            },
          }),
          { baseDir: dir, stateDir: join(dir, '.sluice') },
        );
        assert(report.status === 'success', `sluice extract failed: ${report.error?.message}`);
        return countParquet(join(dir, 'orders.parquet'));
      };
    const extract = await alternate('connectors extract', benchRounds(), {
      sluice: extractWith(),
      parallel: extractWith({ column: 'id', partitions: 2 }),
      raw: async (dir) => {
        const csv = join(dir, 'orders.csv');
        const raw = new pg.Client({ connectionString: database.url });
        await raw.connect();
        try {
          await pipe(
            raw.query(copyTo('COPY orders TO STDOUT (FORMAT csv)')),
            createWriteStream(csv),
          );
        } finally {
          await raw.end();
        }
        const parquet = join(dir, 'orders.parquet');
        await withDuckDB((duck) =>
          duck.run(
            `COPY (SELECT * FROM read_csv(${sqlString(csv)}, header = false, columns = {'id': 'BIGINT', 'customer': 'VARCHAR', 'amount': 'DECIMAL(12,2)', 'created': 'TIMESTAMPTZ', 'flagged': 'BOOLEAN'})) TO ${sqlString(parquet)} (FORMAT parquet)`,
          ),
        );
        return countParquet(parquet);
      },
    });
    const sluiceExtract = fastest(extract.sluice);
    const parallelExtract = fastest(extract.parallel);
    const rawExtract = fastest(extract.raw);
    assert(
      sluiceExtract.value === rows && rawExtract.value === rows,
      'both extracts read every row',
    );

    const parquet = join(rawExtract.dir, 'orders.parquet');
    const load = await alternate('connectors load', benchRounds(), {
      sluice: async (dir) => {
        const table = `load_${Math.random().toString(36).slice(2, 8)}`;
        const report = await runPipeline(
          pipeline('pg_load', {
            steps: {
              orders: source.parquet({ path: parquet }),
              out: sink.postgres({ input: ref('orders'), url: database.url, table }),
            },
          }),
          { baseDir: dir, stateDir: join(dir, '.sluice') },
        );
        assert(report.status === 'success', `sluice load failed: ${report.error?.message}`);
        return countTable(client, table);
      },
      raw: async (dir) => {
        const table = `raw_${Math.random().toString(36).slice(2, 8)}`;
        const csv = join(dir, 'orders.csv');
        await withDuckDB((duck) =>
          duck.run(
            `COPY (SELECT * FROM ${sqlString(parquet)}) TO ${sqlString(csv)} (FORMAT csv, HEADER false)`,
          ),
        );
        await client.query(
          `CREATE TABLE ${table} (id bigint, customer text, amount numeric(12,2), created timestamptz, flagged boolean)`,
        );
        const raw = new pg.Client({ connectionString: database.url });
        await raw.connect();
        try {
          await pipe(
            createReadStream(csv),
            raw.query(copyFrom(`COPY ${table} FROM STDIN (FORMAT csv)`)),
          );
        } finally {
          await raw.end();
        }
        return countTable(client, table);
      },
    });
    const sluiceLoad = fastest(load.sluice);
    const rawLoad = fastest(load.raw);
    assert(sluiceLoad.value === rows && rawLoad.value === rows, 'both loads wrote every row');
    await removeRunDirs([
      ...extract.sluice,
      ...extract.parallel,
      ...extract.raw,
      ...load.sluice,
      ...load.raw,
    ]);
    return [
      {
        id: 'connectors.pg_extract_rows_per_s',
        value: Math.round(rows / sluiceExtract.seconds),
        unit: 'rows/s',
        note: `${rows} rows PostgreSQL -> Parquet with source.postgres, ${sluiceExtract.seconds.toFixed(2)} s`,
      },
      {
        id: 'connectors.pg_extract_raw_over_sluice',
        value: round(rawExtract.seconds / sluiceExtract.seconds),
        unit: 'ratio (time)',
        note: `raw COPY TO STDOUT + DuckDB to Parquet ${rawExtract.seconds.toFixed(2)} s; 1 = as fast as the raw path`,
      },
      {
        id: 'connectors.pg_extract_parallel2_rows_per_s',
        value: Math.round(rows / parallelExtract.seconds),
        unit: 'rows/s',
        note: `the same with parallel: { column: 'id', partitions: 2 }, ${parallelExtract.seconds.toFixed(2)} s`,
      },
      {
        id: 'connectors.pg_load_rows_per_s',
        value: Math.round(rows / sluiceLoad.seconds),
        unit: 'rows/s',
        note: `${rows} rows Parquet -> PostgreSQL with sink.postgres (stage + commit), ${sluiceLoad.seconds.toFixed(2)} s`,
      },
      {
        id: 'connectors.pg_load_raw_over_sluice',
        value: round(rawLoad.seconds / sluiceLoad.seconds),
        unit: 'ratio (time)',
        note: `raw Parquet -> CSV -> COPY FROM ${rawLoad.seconds.toFixed(2)} s`,
      },
    ];
  } finally {
    await client.end();
    await database.drop();
  }
}

/** Nested records served in pages by a local server, read with `source.rest` and flattened. */
async function restFigure(): Promise<BenchResult> {
  const records = envInteger('BENCH_REST_RECORDS', 100_000);
  const pageSize = 5_000;
  const pages = Array.from({ length: Math.ceil(records / pageSize) }, (_, p) =>
    JSON.stringify({
      data: Array.from({ length: Math.min(pageSize, records - p * pageSize) }, (_, i) => {
        const id = p * pageSize + i + 1;
        return {
          id,
          customer: {
            name: `customer ${id % 1000}`,
            address: { city: `city ${id % 50}`, zip: `${10000 + (id % 9000)}` },
          },
          amount: (id % 10000) / 100,
          tags: ['a', 'b'],
        };
      }),
    }),
  );
  const server = createServer((request, response) => {
    const page = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('page') ?? '1');
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(pages[page - 1] ?? '{"data":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/records`;
  try {
    const runs = await alternate('connectors rest', benchRounds(), {
      sluice: async (dir) => {
        const report = await runPipeline(
          pipeline('rest_read', {
            steps: {
              records: source.rest({
                url,
                recordsPath: '$.data',
                pagination: { type: 'page', param: 'page', startAt: 1, pageSize },
                nested: 'flatten',
              }),
              out: sink.parquet({ input: ref('records'), path: 'records.parquet' }),
            },
          }),
          { baseDir: dir, stateDir: join(dir, '.sluice') },
        );
        assert(report.status === 'success', `rest read failed: ${report.error?.message}`);
        return countParquet(join(dir, 'records.parquet'));
      },
    });
    const best = fastest(runs.sluice);
    assert(best.value === records, 'the REST source read every record');
    await removeRunDirs(runs.sluice);
    return {
      id: 'connectors.rest_records_per_s',
      value: Math.round(records / best.seconds),
      unit: 'records/s',
      note: `${records} nested records over HTTP, flattened into columns and written to Parquet, ${best.seconds.toFixed(2)} s`,
    };
  } finally {
    server.close();
  }
}

/**
 * Orders with three items each (every item with one discount) served in pages, read with
 * `nested: 'child_tables'` into three datasets written to Parquet, against the same records read
 * with `flatten` (items kept as one JSON column) into one file.
 */
async function restChildTablesFigures(): Promise<BenchResult[]> {
  const records = envInteger('BENCH_REST_RECORDS', 100_000);
  const pageSize = 5_000;
  const itemsPerRecord = 3;
  const pages = Array.from({ length: Math.ceil(records / pageSize) }, (_, p) =>
    JSON.stringify({
      data: Array.from({ length: Math.min(pageSize, records - p * pageSize) }, (_, i) => {
        const id = p * pageSize + i + 1;
        return {
          id,
          customer: { name: `customer ${id % 1000}`, city: `city ${id % 50}` },
          amount: (id % 10000) / 100,
          items: Array.from({ length: itemsPerRecord }, (_, n) => ({
            sku: `sku-${(id + n) % 500}`,
            qty: 1 + n,
            price: ((id + n) % 1000) / 10,
            discounts: [{ code: `D${n}`, pct: 0.05 * (n + 1) }],
          })),
        };
      }),
    }),
  );
  const server = createServer((request, response) => {
    const page = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('page') ?? '1');
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(pages[page - 1] ?? '{"data":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  const read = {
    url,
    recordsPath: '$.data',
    pagination: { type: 'page' as const, param: 'page', startAt: 1, pageSize },
  };
  try {
    const runs = await alternate('connectors rest child tables', benchRounds(), {
      child_tables: async (dir) => {
        const report = await runPipeline(
          pipeline('rest_child_tables', {
            steps: {
              orders: source.rest({
                ...read,
                nested: 'child_tables',
                childTables: ['items', 'items.discounts'],
              }),
              orders_out: sink.parquet({ input: ref('orders'), path: 'orders.parquet' }),
              items_out: sink.parquet({ input: ref('orders__items'), path: 'items.parquet' }),
              discounts_out: sink.parquet({
                input: ref('orders__items__discounts'),
                path: 'discounts.parquet',
              }),
            },
          }),
          { baseDir: dir, stateDir: join(dir, '.sluice') },
        );
        assert(report.status === 'success', `rest child tables failed: ${report.error?.message}`);
        return [
          await countParquet(join(dir, 'orders.parquet')),
          await countParquet(join(dir, 'items.parquet')),
          await countParquet(join(dir, 'discounts.parquet')),
        ].join('/');
      },
      flatten: async (dir) => {
        const report = await runPipeline(
          pipeline('rest_flatten', {
            steps: {
              orders: source.rest({ ...read, nested: 'flatten' }),
              orders_out: sink.parquet({ input: ref('orders'), path: 'orders.parquet' }),
            },
          }),
          { baseDir: dir, stateDir: join(dir, '.sluice') },
        );
        assert(report.status === 'success', `rest flatten failed: ${report.error?.message}`);
        return String(await countParquet(join(dir, 'orders.parquet')));
      },
    });
    const children = fastest(runs.child_tables);
    const flat = fastest(runs.flatten);
    const items = records * itemsPerRecord;
    assert(children.value === `${records}/${items}/${items}`, 'every record, item and discount');
    assert(flat.value === String(records), 'the flatten read got every record');
    await removeRunDirs([...runs.child_tables, ...runs.flatten]);
    return [
      {
        id: 'connectors.rest_child_tables_records_per_s',
        value: Math.round(records / children.seconds),
        unit: 'records/s',
        note: `${records} records with ${itemsPerRecord} items (1 discount each) into 3 datasets (child_tables) and Parquet, ${children.seconds.toFixed(2)} s`,
      },
      {
        id: 'connectors.rest_child_tables_over_flatten',
        value: round(children.seconds / flat.seconds),
        unit: 'ratio (time)',
        note: `the same records flattened, items kept as JSON, into one Parquet file: ${flat.seconds.toFixed(2)} s`,
      },
    ];
  } finally {
    server.close();
  }
}

async function countParquet(file: string): Promise<number> {
  return withDuckDB(async (duck) =>
    Number((await firstRow(duck, `SELECT count(*) AS n FROM ${sqlString(file)}`))['n']),
  );
}

async function countTable(client: pg.Client, table: string): Promise<number> {
  const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(result.rows[0]?.n ?? 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
