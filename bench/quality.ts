import { DuckDBInstance } from '@duckdb/node-api';
import { EngineConnection } from '../src/contracts/engine-connection.js';
import { pandasAvailable } from './batch-variants.js';
import type { BenchResult, Timed } from './common.js';
import { alternate, assert, benchRounds, fastest, log, removeRunDirs } from './common.js';
import { generateOrders, ordersRowCount } from './generate-orders.js';
import type { CheckOutcome, QualityOutcome } from './quality-variants.js';
import {
  CHECK_IDS,
  checkParams,
  loadOrdersTable,
  ordersFields,
  qualitySuite,
  runDuckDBChecks,
  runPandasChecks,
  runSluiceChecks,
} from './quality-variants.js';

/**
 * The quality group: ten expectations over the orders, with Sluice's `validateSuite` and as
 * hand-written DuckDB SQL over the same loaded table (best of `BENCH_ROUNDS`, alternating), and
 * in pandas over a DataFrame already in memory when pandas is installed. Loading the CSV is not
 * timed. Checks that every variant found the same passes, failures and missing values.
 */
export async function runQualityGroup(): Promise<BenchResult[]> {
  const rows = ordersRowCount();
  const rounds = benchRounds();
  const csv = await generateOrders(rows);
  const params = checkParams(rows);
  const instance = await DuckDBInstance.create(':memory:');
  const handConnection = await instance.connect();
  const sluiceConnection = new EngineConnection(await instance.connect());
  let runs: Record<'sluice' | 'duckdb', Timed<QualityOutcome>[]>;
  try {
    log('  quality: loading the CSV into a DuckDB table (not timed) ...');
    const began = performance.now();
    const loaded = await loadOrdersTable(handConnection, csv);
    log(`  quality: loaded ${loaded} rows in ${((performance.now() - began) / 1000).toFixed(2)} s`);
    assert(loaded === rows, `loaded ${loaded} of ${rows} rows`);
    const columns = await ordersFields(handConnection);
    const suite = qualitySuite(params);
    runs = await alternate('quality', rounds, {
      sluice: () => runSluiceChecks(sluiceConnection, columns, suite),
      duckdb: () => runDuckDBChecks(handConnection, params),
    });
  } finally {
    sluiceConnection.close();
    handConnection.closeSync();
    instance.closeSync();
  }
  try {
    const sluice = fastest(runs.sluice);
    const duckdb = fastest(runs.duckdb);
    let pandas: QualityOutcome | undefined;
    if (pandasAvailable()) {
      log('  quality: pandas (loads the CSV, then times the checks) ...');
      pandas = runPandasChecks(csv, params, rounds);
    } else {
      log('  quality: pandas skipped (/usr/bin/python3 cannot import pandas)');
    }

    const expected = duckdb.value.checks;
    assert(
      expected.some((check) => (check.failures ?? 0) > 0),
      `no check failed on data with bad rows: ${JSON.stringify(expected)}`,
    );
    const variants: [string, QualityOutcome][] = [
      ...runs.duckdb.map((run, i): [string, QualityOutcome] => [
        `raw DuckDB run ${i + 1}`,
        run.value,
      ]),
      ...runs.sluice.map((run, i): [string, QualityOutcome] => [`Sluice run ${i + 1}`, run.value]),
      ...(pandas === undefined ? [] : [['pandas', pandas] as [string, QualityOutcome]]),
    ];
    for (const [name, outcome] of variants) sameChecks(name, outcome.checks, expected);
    return results(rows, rounds, expected, sluice, duckdb, pandas);
  } finally {
    await removeRunDirs([...runs.sluice, ...runs.duckdb]);
  }
}

/** Asserts that a variant reports every check as the reference does. */
function sameChecks(
  name: string,
  actual: readonly CheckOutcome[],
  expected: readonly CheckOutcome[],
): void {
  assert(
    actual.length === CHECK_IDS.length,
    `${name} reported ${actual.length} of ${CHECK_IDS.length} checks`,
  );
  CHECK_IDS.forEach((id, i) => {
    const a = actual[i] as CheckOutcome;
    const e = expected[i] as CheckOutcome;
    const same =
      a.id === id &&
      a.success === e.success &&
      a.failures === e.failures &&
      a.missing === e.missing &&
      a.sampled <= 20 &&
      a.sampled > 0 === (a.failures ?? 0) > 0 &&
      sameObserved(a.observed, e.observed);
    assert(
      same,
      `${name} disagrees with raw DuckDB on ${id}: ${JSON.stringify(a)} vs ${JSON.stringify(e)}`,
    );
  });
}

function sameObserved(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

function results(
  rows: number,
  rounds: number,
  checks: readonly CheckOutcome[],
  sluice: Timed<QualityOutcome>,
  duckdb: Timed<QualityOutcome>,
  pandas: QualityOutcome | undefined,
): BenchResult[] {
  const failing = checks
    .filter((c) => !c.success)
    .map((c) => `${c.id} ${c.failures ?? 'failed'}`)
    .join(', ');
  const size = `${rows.toLocaleString('en')} rows in a DuckDB table loaded before timing (CSV parsing not timed); failing: ${failing || 'none'}`;
  const measured: BenchResult[] = [
    {
      id: 'quality.sluice_over_duckdb',
      value: sluice.seconds / duckdb.seconds,
      unit: 'ratio',
      note: `best of ${rounds} each, alternating; 10 checks; ${size}`,
    },
    {
      id: 'quality.sluice_s',
      value: sluice.seconds,
      unit: 's',
      note: `best of ${rounds}; validateSuite, result format BASIC`,
    },
    {
      id: 'quality.duckdb_s',
      value: duckdb.seconds,
      unit: 's',
      note: `best of ${rounds}; one aggregate query and one GROUP BY query per uniqueness check`,
    },
  ];
  if (pandas?.seconds === undefined) return measured;
  return [
    ...measured,
    {
      id: 'quality.pandas_over_sluice',
      value: pandas.seconds / sluice.seconds,
      unit: 'ratio',
      note: 'checks only on both sides: DataFrame and DuckDB table loaded before timing',
    },
    {
      id: 'quality.pandas_s',
      value: pandas.seconds,
      unit: 's',
      note: `best of ${rounds} in one process (time.perf_counter, checks only); ${pandas.note ?? ''}`,
    },
  ];
}
