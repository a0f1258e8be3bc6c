/**
 * The quality job done three ways over orders already loaded: Sluice's `validateSuite` over a
 * DuckDB table, the same checks hand-written as DuckDB SQL over that table, and in pandas over a
 * DataFrame already in memory. Each reports, per check, whether it passed, how many values
 * failed, how many were missing and up to 20 failing values, so the variants can be compared.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fieldsFromColumns } from '../src/contracts/duckdb-types.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import type { ExpectationResult, Suite } from '../src/quality/index.js';
import { expect, suite, validateSuite } from '../src/quality/index.js';
import type { Field } from '../src/index.js';
import { assert, firstRow, runCount, sqlString } from './common.js';

/** The arguments of the ten checks; every variant checks exactly these. */
export interface CheckParams {
  readonly amount: { readonly min: number; readonly max: number };
  readonly statuses: readonly string[];
  readonly customerRegex: string;
  readonly countryLength: number;
  readonly meanAmount: { readonly min: number; readonly max: number };
  readonly rowCount: { readonly min: number; readonly max: number };
}

/** The checks for an orders file of `rows` rows (the row count may be 10% off). */
export function checkParams(rows: number): CheckParams {
  return {
    amount: { min: 0, max: 10_000 },
    statuses: ['paid', 'shipped', 'canceled', 'refunded'],
    customerRegex: '^c-\\d+$',
    countryLength: 2,
    meanAmount: { min: 200, max: 300 },
    rowCount: { min: Math.floor(rows * 0.9), max: Math.ceil(rows * 1.1) },
  };
}

/** The ten checks, in the order every variant reports them. */
export const CHECK_IDS = [
  'not_null(order_id)',
  'not_null(customer_id)',
  'unique(order_id)',
  'between(amount)',
  'in_set(status)',
  'regex(customer_id)',
  'length(country)',
  'mean(amount)',
  'row_count',
  'compound_unique(order_id,customer_id)',
] as const;

/** What one variant found for one check. */
export interface CheckOutcome {
  readonly id: string;
  readonly success: boolean;
  /** Failing values (row checks); null for aggregate checks. */
  readonly failures: number | null;
  /** Values not checked because they are missing (row checks); null for aggregate checks. */
  readonly missing: number | null;
  /** How many failing values came back (at most 20). */
  readonly sampled: number;
  /** The measured figure of an aggregate check (mean, row count); null for row checks. */
  readonly observed: number | null;
}

/** Every check's outcome, and the time the checks took when the variant timed itself. */
export interface QualityOutcome {
  readonly checks: readonly CheckOutcome[];
  readonly seconds?: number;
  readonly note?: string;
}

const SAMPLE = 20;

/**
 * Loads the orders CSV into table `orders` with types: order_id BIGINT, customer_id VARCHAR
 * (empty is NULL), amount DECIMAL(12,2) and ordered_at TIMESTAMP (values that do not convert are
 * NULL), quantity INTEGER. Every row of the file is kept. Returns the row count.
 */
export async function loadOrdersTable(connection: DuckDBConnection, csv: string): Promise<number> {
  return runCount(
    connection,
    `CREATE TABLE orders AS
     SELECT CAST(order_id AS BIGINT) AS order_id, customer_id, country,
            TRY_CAST(amount AS DECIMAL(12,2)) AS amount, currency, status,
            TRY_CAST(ordered_at AS TIMESTAMP) AS ordered_at, CAST(quantity AS INTEGER) AS quantity
     FROM read_csv(${sqlString(csv)}, header = true, all_varchar = true)`,
  );
}

/** The suite Sluice runs: the ten checks with GX semantics, in {@link CHECK_IDS} order. */
export function qualitySuite(params: CheckParams): Suite {
  return suite('bench_orders', [
    expect.notNull('order_id'),
    expect.notNull('customer_id'),
    expect.unique('order_id'),
    expect.between('amount', params.amount),
    expect.inSet('status', params.statuses),
    expect.matchesRegex('customer_id', params.customerRegex),
    expect.lengthEquals('country', params.countryLength),
    expect.meanBetween('amount', params.meanAmount),
    expect.rowCountBetween(params.rowCount),
    expect.compoundUnique(['order_id', 'customer_id']),
  ]);
}

/** The columns of table `orders` as Sluice's source step reports them. */
export async function ordersFields(connection: DuckDBConnection): Promise<Field[]> {
  const reader = await connection.runAndReadAll('SELECT * FROM orders LIMIT 0');
  return fieldsFromColumns(reader.columnNames(), reader.columnTypes());
}

/** Sluice: `validateSuite` over table `orders`, result format BASIC. */
export async function runSluiceChecks(
  connection: EngineConnection,
  columns: readonly Field[],
  checks: Suite,
): Promise<QualityOutcome> {
  const result = await validateSuite({ connection, relation: '"orders"', columns }, checks, {
    resultFormat: 'BASIC',
  });
  return { checks: result.results.map((r, i) => sluiceOutcome(CHECK_IDS[i] ?? `#${i}`, r)) };
}

function sluiceOutcome(id: string, result: ExpectationResult): CheckOutcome {
  assert(
    !result.exception_info.raised_exception,
    `Sluice check ${id} raised: ${result.exception_info.exception_message ?? ''}`,
  );
  const r = result.result;
  const rowCheck = r.unexpected_count !== undefined;
  return {
    id,
    success: result.success,
    failures: rowCheck ? (r.unexpected_count ?? 0) : null,
    missing: rowCheck ? (r.missing_count ?? 0) : null,
    sampled: r.partial_unexpected_list?.length ?? 0,
    observed: rowCheck ? null : Number(r.observed_value),
  };
}

/**
 * By hand: the row checks that look at one row at a time, the mean and the row count in one
 * aggregate query (failures, missing values and up to 20 failing values per check), then one
 * GROUP BY query per uniqueness check.
 */
export async function runDuckDBChecks(
  connection: DuckDBConnection,
  params: CheckParams,
): Promise<QualityOutcome> {
  const statuses = params.statuses.map(sqlString).join(', ');
  const rowChecks: readonly [id: string, value: string, present: string, bad: string][] = [
    ['not_null(order_id)', 'order_id', 'true', 'order_id IS NULL'],
    ['not_null(customer_id)', 'customer_id', 'true', 'customer_id IS NULL'],
    [
      'between(amount)',
      'amount',
      'amount IS NOT NULL',
      `amount NOT BETWEEN ${params.amount.min} AND ${params.amount.max}`,
    ],
    ['in_set(status)', 'status', 'status IS NOT NULL', `status NOT IN (${statuses})`],
    [
      'regex(customer_id)',
      'customer_id',
      'customer_id IS NOT NULL',
      `NOT regexp_matches(customer_id, ${sqlString(params.customerRegex)})`,
    ],
    [
      'length(country)',
      'country',
      'country IS NOT NULL',
      `length(country) <> ${params.countryLength}`,
    ],
  ];
  const row = await firstRow(
    connection,
    `SELECT count(*) AS rows, avg(amount) AS mean_amount,
            count(*) FILTER (WHERE order_id IS NULL) AS order_id_missing,
            count(*) FILTER (WHERE order_id IS NULL AND customer_id IS NULL) AS both_ids_missing,
            ${rowChecks
              .map(
                ([, value, present, bad], i) =>
                  `count(*) FILTER (WHERE ${present}) AS c${i}_present,
            count(*) FILTER (WHERE ${bad}) AS c${i}_failures,
            list(${value}) FILTER (WHERE ${bad})[1:${SAMPLE}] AS c${i}_values`,
              )
              .join(',\n            ')}
     FROM orders`,
  );
  const rows = Number(row['rows']);
  const outcomes = new Map<string, CheckOutcome>();
  rowChecks.forEach(([id], i) => {
    const failures = Number(row[`c${i}_failures`]);
    outcomes.set(id, {
      id,
      success: failures === 0,
      failures,
      missing: rows - Number(row[`c${i}_present`]),
      sampled: (row[`c${i}_values`] as unknown[] | null)?.length ?? 0,
      observed: null,
    });
  });
  const mean = row['mean_amount'] === null ? null : Number(row['mean_amount']);
  outcomes.set('mean(amount)', {
    id: 'mean(amount)',
    success: mean !== null && mean >= params.meanAmount.min && mean <= params.meanAmount.max,
    failures: null,
    missing: null,
    sampled: 0,
    observed: mean,
  });
  outcomes.set('row_count', {
    id: 'row_count',
    success: rows >= params.rowCount.min && rows <= params.rowCount.max,
    failures: null,
    missing: null,
    sampled: 0,
    observed: rows,
  });
  outcomes.set(
    'unique(order_id)',
    await duplicates(connection, 'unique(order_id)', 'order_id', 'order_id IS NOT NULL', {
      missing: Number(row['order_id_missing']),
    }),
  );
  outcomes.set(
    'compound_unique(order_id,customer_id)',
    await duplicates(
      connection,
      'compound_unique(order_id,customer_id)',
      'order_id, customer_id',
      'NOT (order_id IS NULL AND customer_id IS NULL)',
      { missing: Number(row['both_ids_missing']) },
    ),
  );
  return { checks: CHECK_IDS.map((id) => outcomes.get(id) as CheckOutcome) };
}

/** Rows whose (non-missing) key occurs more than once, and up to 20 such keys. */
async function duplicates(
  connection: DuckDBConnection,
  id: string,
  key: string,
  present: string,
  { missing }: { readonly missing: number },
): Promise<CheckOutcome> {
  const row = await firstRow(
    connection,
    `SELECT coalesce(sum(n), 0) AS failures, list(k)[1:${SAMPLE}] AS sample
     FROM (SELECT (${key}) AS k, count(*) AS n FROM orders WHERE ${present}
           GROUP BY ALL HAVING count(*) > 1)`,
  );
  const failures = Number(row['failures']);
  return {
    id,
    success: failures === 0,
    failures,
    missing,
    sampled: (row['sample'] as unknown[] | null)?.length ?? 0,
    observed: null,
  };
}

const PANDAS_SCRIPT = fileURLToPath(new URL('./pandas_quality.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

/**
 * pandas (bench/pandas_quality.py): loads the CSV into a typed DataFrame (not timed), then runs
 * the ten checks `rounds` times in the same process, timing each with time.perf_counter; the
 * best run counts. Its progress goes to stderr.
 */
export function runPandasChecks(csv: string, params: CheckParams, rounds: number): QualityOutcome {
  const child = spawnSync(PYTHON, [PANDAS_SCRIPT, csv, JSON.stringify(params), String(rounds)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * 2 ** 20,
  });
  assert(child.status === 0, `pandas_quality.py exited with ${child.status ?? child.signal}`);
  const output = JSON.parse(child.stdout) as {
    seconds: number;
    check_seconds: Record<string, number>;
    load_seconds: number;
    checks: CheckOutcome[];
  };
  const slowest = Object.entries(output.check_seconds)
    .sort(([, a], [, b]) => b - a)
    .slice(0, 3)
    .map(([id, seconds]) => `${id} ${seconds.toFixed(2)} s`)
    .join(', ');
  return {
    checks: output.checks,
    seconds: output.seconds,
    note: `slowest ${slowest}; read_csv and typing ${output.load_seconds.toFixed(2)} s, not timed`,
  };
}
