import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, source, t } from '../src/index.js';
import { query, runIn, tempDir } from './helpers.js';

/**
 * Issue 14: the REST source parsed pages with JSON.parse, so an id above 2^53 arrived rounded
 * (9007199254740993 became ...992) and a long decimal lost its digits. Pages are written here
 * by hand, so the numbers on the wire are exactly these texts.
 */
const PAGES: Readonly<Record<string, string>> = {
  '/orders': `{"data": [
    {"id": 9007199254740993, "amount": 12345678901234567.123456789, "qty": 1, "note": "12345678901234567890"},
    {"id": -9223372036854775808, "amount": 0.1, "qty": 2, "note": "x"},
    {"id": 42, "amount": 99999999999999999999999999999.999999999, "qty": 3, "note": "y"}
  ], "next": 18014398509481985}`,
  '/nested': `[
    {"id": 1, "items": [{"sku": 9007199254740993, "units": 18446744073709551616}, {"sku": 2, "units": 1}]}
  ]`,
  '/wide': `[
    {"id": 9007199254740993, "big": 123456789012345678901234567890, "ratio": 0.30000000000000004},
    {"id": 18014398509481985, "big": 1, "ratio": 1e-7}
  ]`,
};

let server: ReturnType<typeof createServer>;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const page = PAGES[path];
    res.writeHead(page === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(page ?? '{"error": "no route"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('REST source: numbers arrive exactly', () => {
  it('into int64 and decimal(38,9) columns of a declared schema, through Parquet', async () => {
    const dir = await tempDir();
    const out = join(dir, 'orders.parquet');
    const report = await runIn(
      dir,
      pipeline('rest_exact', {
        steps: {
          orders: source.rest({
            url: `${base}/orders`,
            recordsPath: '$.data',
            schema: schema({
              id: t.int64(),
              amount: t.decimal(38, 9),
              qty: t.int32(),
              note: t.string(),
            }),
          }),
          out: sink.parquet({ input: ref('orders'), path: out }),
        },
      }),
    );
    expect(report.error).toBeUndefined();
    expect(report.steps.find((s) => s.id === 'orders')?.rowsQuarantined).toBe(0);
    const rows = await query(
      `SELECT CAST(id AS VARCHAR) AS id, CAST(amount AS VARCHAR) AS amount, qty, note
       FROM read_parquet('${out}') ORDER BY qty`,
    );
    expect(rows).toEqual([
      {
        id: '9007199254740993',
        amount: '12345678901234567.123456789',
        qty: 1,
        note: '12345678901234567890',
      },
      { id: '-9223372036854775808', amount: '0.100000000', qty: 2, note: 'x' },
      { id: '42', amount: '99999999999999999999999999999.999999999', qty: 3, note: 'y' },
    ]);
  });

  it('without a schema: ids beyond 2^53 as int64, beyond int64 as decimal(38,0)', async () => {
    const dir = await tempDir();
    const out = join(dir, 'wide.parquet');
    const report = await runIn(
      dir,
      pipeline('rest_exact_inferred', {
        steps: {
          wide: source.rest({ url: `${base}/wide` }),
          out: sink.parquet({ input: ref('wide'), path: out }),
        },
      }),
    );
    expect(report.error).toBeUndefined();
    const rows = await query(
      `SELECT CAST(id AS VARCHAR) AS id, CAST(big AS VARCHAR) AS big, ratio,
         typeof(id) AS id_type, typeof(big) AS big_type
       FROM read_parquet('${out}') ORDER BY ratio DESC`,
    );
    expect(rows).toEqual([
      {
        id: '9007199254740993',
        big: '123456789012345678901234567890',
        ratio: 0.30000000000000004,
        id_type: 'BIGINT',
        big_type: 'DECIMAL(38,0)',
      },
      {
        id: '18014398509481985',
        big: '1',
        ratio: 1e-7,
        id_type: 'BIGINT',
        big_type: 'DECIMAL(38,0)',
      },
    ]);
  });

  it('in child tables made from arrays', async () => {
    const dir = await tempDir();
    const out = join(dir, 'items.parquet');
    const report = await runIn(
      dir,
      pipeline('rest_exact_children', {
        steps: {
          orders: source.rest({
            url: `${base}/nested`,
            nested: 'child_tables',
            childTables: ['items'],
            primaryKey: 'id',
          }),
          out: sink.parquet({ input: ref('orders__items'), path: out }),
        },
      }),
    );
    expect(report.error).toBeUndefined();
    const rows = await query(
      `SELECT CAST(sku AS VARCHAR) AS sku, CAST(units AS VARCHAR) AS units
       FROM read_parquet('${out}') ORDER BY sku DESC`,
    );
    expect(rows).toEqual([
      { sku: '9007199254740993', units: '18446744073709551616' },
      { sku: '2', units: '1' },
    ]);
  });
});
