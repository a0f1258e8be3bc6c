import { readFile } from 'node:fs/promises';
import type { BatchOutcome } from './batch-variants.js';
import {
  pandasAvailable,
  runDuckDBBatch,
  runPandasBatch,
  runSluiceBatch,
} from './batch-variants.js';
import type { BenchResult, Timed } from './common.js';
import {
  alternate,
  assert,
  benchRounds,
  fastest,
  firstRow,
  formatSteps,
  log,
  removeRunDirs,
  sqlString,
  timeInFreshDir,
  withDuckDB,
} from './common.js';
import { generateOrders, ordersRowCount } from './generate-orders.js';

/**
 * The batch group: the orders job with Sluice and by hand on DuckDB (best of `BENCH_ROUNDS`,
 * alternating), and once in pandas when it is installed. Checks that every variant read every
 * row, set aside the same bad rows and wrote the same figures before reporting the ratios.
 */
export async function runBatchGroup(): Promise<BenchResult[]> {
  const rows = ordersRowCount();
  const rounds = benchRounds();
  const csv = await generateOrders(rows);
  const runs = await alternate('batch', rounds, {
    sluice: (dir) => runSluiceBatch(csv, dir),
    duckdb: (dir) => runDuckDBBatch(csv, dir),
  });
  const all: Timed<BatchOutcome>[] = [...runs.sluice, ...runs.duckdb];
  try {
    const sluice = fastest(runs.sluice);
    const duckdb = fastest(runs.duckdb);
    let pandas: Timed<BatchOutcome> | undefined;
    if (pandasAvailable()) {
      pandas = await timeInFreshDir('batch: pandas', (dir) => runPandasBatch(csv, dir));
      all.push(pandas);
    } else {
      log('  batch: pandas skipped (/usr/bin/python3 cannot import pandas)');
    }

    const expected = await summarize(duckdb.value);
    assert(expected.rowsRead === rows, `raw DuckDB read ${expected.rowsRead} of ${rows} rows`);
    for (const [name, run] of [
      ['Sluice', sluice],
      ['pandas', pandas],
    ] as const) {
      if (run === undefined) continue;
      const actual = await summarize(run.value);
      assert(
        sameSummary(actual, expected),
        `${name} did different work than raw DuckDB: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`,
      );
    }
    return results(rows, rounds, expected, sluice, duckdb, pandas);
  } finally {
    await removeRunDirs(all);
  }
}

function results(
  rows: number,
  rounds: number,
  summary: Summary,
  sluice: Timed<BatchOutcome>,
  duckdb: Timed<BatchOutcome>,
  pandas: Timed<BatchOutcome> | undefined,
): BenchResult[] {
  const size = `${rows.toLocaleString('en')} rows, ${summary.rowsQuarantined} quarantined`;
  const measured: BenchResult[] = [
    {
      id: 'batch.sluice_over_duckdb',
      value: sluice.seconds / duckdb.seconds,
      unit: 'ratio',
      note: `best of ${rounds} each; ${size}`,
    },
    {
      id: 'batch.sluice_s',
      value: sluice.seconds,
      unit: 's',
      note: `best of ${rounds}; steps ${formatSteps(sluice.value.stepMs)}`,
    },
    { id: 'batch.duckdb_s', value: duckdb.seconds, unit: 's', note: `best of ${rounds}` },
  ];
  if (pandas === undefined) return measured;
  return [
    ...measured,
    {
      id: 'batch.pandas_over_sluice',
      value: pandas.seconds / sluice.seconds,
      unit: 'ratio',
      note: 'pandas writes CSV partitions (no Parquet engine installed), Sluice Parquet',
    },
    {
      id: 'batch.pandas_s',
      value: pandas.seconds,
      unit: 's',
      note: 'one run, including interpreter start; CSV partitions',
    },
  ];
}

/** What a variant's outputs hold, read back from its files. */
interface Summary {
  readonly rowsRead: number;
  readonly rowsQuarantined: number;
  readonly quarantineLines: number;
  readonly groups: number;
  readonly orders: number;
  readonly revenue: number;
  readonly quantity: number;
}

async function summarize(outcome: BatchOutcome): Promise<Summary> {
  const files = `${outcome.outputDir}/*/*.${outcome.outputFormat}`;
  const reader = outcome.outputFormat === 'parquet' ? 'read_parquet' : 'read_csv';
  const totals = await withDuckDB((connection) =>
    firstRow(
      connection,
      `SELECT count(*) AS groups,
              sum(orders)::BIGINT AS orders, sum(revenue)::DOUBLE AS revenue,
              sum(quantity)::BIGINT AS quantity
       FROM ${reader}(${sqlString(files)}, hive_partitioning = true)`,
    ),
  );
  const quarantined =
    outcome.quarantineFile === undefined ? '' : await readFile(outcome.quarantineFile, 'utf8');
  return {
    rowsRead: outcome.rowsRead,
    rowsQuarantined: outcome.rowsQuarantined,
    quarantineLines: quarantined.split('\n').filter((line) => line !== '').length,
    groups: Number(totals['groups']),
    orders: Number(totals['orders']),
    revenue: Number(totals['revenue']),
    quantity: Number(totals['quantity']),
  };
}

function sameSummary(a: Summary, b: Summary): boolean {
  return (
    a.rowsRead === b.rowsRead &&
    a.rowsQuarantined === b.rowsQuarantined &&
    a.quarantineLines === b.quarantineLines &&
    a.groups === b.groups &&
    a.orders === b.orders &&
    Math.abs(a.revenue - b.revenue) < 0.01 &&
    a.quantity === b.quantity
  );
}
