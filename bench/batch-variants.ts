/**
 * The batch job of DESIGN.md done three ways: with Sluice, by hand on @duckdb/node-api, and in
 * pandas. Each reads the orders CSV with types, sets aside bad rows (with the reason) as NDJSON,
 * and writes per (order_date, country) count, sum and average of the amount and the sum of the
 * quantity, for orders not canceled, partitioned by order_date.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunOptions, RunReport } from '../src/index.js';
import { pipeline, ref, runPipeline, schema, sink, source, sql, t } from '../src/index.js';
import { assert, runCount, sqlString, stepTimes } from './common.js';

/** What a variant did, for checking that all of them did the same work. */
export interface BatchOutcome {
  readonly rowsRead: number;
  readonly rowsQuarantined: number;
  /** Folder of `order_date=YYYY-MM-DD/` partitions. */
  readonly outputDir: string;
  readonly outputFormat: 'parquet' | 'csv';
  /** NDJSON file of the bad rows, one per line; none when there were none (Sluice). */
  readonly quarantineFile: string | undefined;
  /** Milliseconds per pipeline step (Sluice only). */
  readonly stepMs?: Readonly<Record<string, number>>;
}

const ORDERS = schema({
  order_id: t.int64().notNull(),
  customer_id: t.string().notNull(),
  country: t.string(),
  amount: t.decimal(12, 2).notNull(),
  currency: t.string(),
  status: t.string(),
  ordered_at: t.timestamp().notNull(),
  quantity: t.int32(),
});

/**
 * The job as a Sluice pipeline; the source quarantines bad rows by itself. `onReport` sees the
 * run's report before the outcome is checked (the observe group records metrics from it).
 */
export async function runSluiceBatch(
  csvPath: string,
  dir: string,
  onReport?: (report: RunReport) => Promise<void>,
  runOptions: Pick<RunOptions, 'lineage'> = {},
): Promise<BatchOutcome> {
  const outputDir = join(dir, 'daily');
  const job = pipeline('bench_orders_daily', {
    steps: {
      orders: source.csv({ path: csvPath, schema: ORDERS }),
      daily: sql`
        SELECT CAST(ordered_at AS DATE) AS order_date, country,
               count(*) AS orders, sum(amount) AS revenue, avg(amount) AS avg_amount,
               sum(quantity) AS quantity
        FROM ${ref('orders')}
        WHERE status <> 'canceled'
        GROUP BY ALL`,
      out: sink.parquet({ input: ref('daily'), path: outputDir, partitionBy: ['order_date'] }),
    },
  });
  const report = await runPipeline(job, {
    stateDir: join(dir, 'state'),
    baseDir: dir,
    ...runOptions,
  });
  await onReport?.(report);
  assert(
    report.status === 'success',
    `Sluice run ended ${report.status}: ${report.error?.message ?? ''}`,
  );
  const orders = report.steps.find((s) => s.id === 'orders');
  assert(orders !== undefined, 'no report of step "orders"');
  const { rowsIn, rowsOut, rowsQuarantined, quarantineFile } = orders;
  assert(
    rowsIn !== null && rowsOut !== null && rowsIn === rowsOut + rowsQuarantined,
    `source rows in ${rowsIn} != out ${rowsOut} + quarantined ${rowsQuarantined}`,
  );
  return {
    rowsRead: rowsIn,
    rowsQuarantined,
    outputDir,
    outputFormat: 'parquet',
    quarantineFile,
    stepMs: stepTimes(report),
  };
}

const REQUIRED = ['order_id', 'customer_id', 'amount', 'ordered_at'] as const;

/** The job written by hand against @duckdb/node-api, as a competent engineer would. */
export async function runDuckDBBatch(csvPath: string, dir: string): Promise<BatchOutcome> {
  const outputDir = join(dir, 'daily');
  const quarantineFile = join(dir, 'bad.ndjson');
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const loaded = await runCount(
      connection,
      `CREATE TABLE orders AS SELECT * FROM read_csv(${sqlString(csvPath)},
         header = true,
         types = {'order_id': 'BIGINT', 'customer_id': 'VARCHAR', 'country': 'VARCHAR',
                  'amount': 'DECIMAL(12,2)', 'currency': 'VARCHAR', 'status': 'VARCHAR',
                  'ordered_at': 'TIMESTAMP', 'quantity': 'INTEGER'},
         store_rejects = true, rejects_table = 'rejects', rejects_scan = 'reject_scans')`,
    );
    const rowsQuarantined = await runCount(
      connection,
      `COPY (
         SELECT ${sqlString(csvPath)} AS source_file, NULL::BIGINT AS line,
                concat_ws(',', ${REQUIRED.map((c) => `CASE WHEN ${c} IS NULL THEN '${c}' END`).join(', ')}) AS "column",
                'required value is missing' AS reason, to_json(o) AS record
         FROM orders o
         WHERE ${REQUIRED.map((c) => `${c} IS NULL`).join(' OR ')}
         UNION ALL
         SELECT s.file_path, e.line, string_agg(DISTINCT e.column_name, ','),
                string_agg(e.error_type || ': ' || e.error_message, '; '),
                to_json(any_value(e.csv_line))
         FROM rejects e JOIN reject_scans s USING (scan_id, file_id)
         GROUP BY s.file_path, e.line
       ) TO ${sqlString(quarantineFile)} (FORMAT json)`,
    );
    await connection.run(
      `COPY (
         SELECT CAST(ordered_at AS DATE) AS order_date, country,
                count(*) AS orders, sum(amount) AS revenue, avg(amount) AS avg_amount,
                sum(quantity) AS quantity
         FROM orders
         WHERE ${REQUIRED.map((c) => `${c} IS NOT NULL`).join(' AND ')} AND status <> 'canceled'
         GROUP BY ALL
       ) TO ${sqlString(outputDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (order_date))`,
    );
    const rejectedLines = await runCount(
      connection,
      'SELECT count(*) FROM (SELECT DISTINCT scan_id, file_id, line FROM rejects)',
    );
    return {
      rowsRead: loaded + rejectedLines,
      rowsQuarantined,
      outputDir,
      outputFormat: 'parquet',
      quarantineFile,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const PANDAS_SCRIPT = fileURLToPath(new URL('./pandas_batch.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Whether Debian's python3 with pandas is there to run the pandas variant. */
export function pandasAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0;
}

/**
 * The job in pandas (bench/pandas_batch.py), run as its own process so the time includes the
 * interpreter start. It writes CSV partitions: this pandas has no Parquet engine.
 */
export async function runPandasBatch(csvPath: string, dir: string): Promise<BatchOutcome> {
  const outputDir = join(dir, 'daily');
  const quarantineFile = join(dir, 'bad.ndjson');
  const child = spawnSync(PYTHON, [PANDAS_SCRIPT, csvPath, outputDir, quarantineFile], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  assert(child.status === 0, `pandas_batch.py exited with ${child.status ?? child.signal}`);
  const counts = JSON.parse(child.stdout) as { rows_read: number; rows_quarantined: number };
  return {
    rowsRead: counts.rows_read,
    rowsQuarantined: counts.rows_quarantined,
    outputDir,
    outputFormat: 'csv',
    quarantineFile,
  };
}
