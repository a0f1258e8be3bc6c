import { DuckDBInstance, JSDuckDBValueConverter } from '@duckdb/node-api';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Row } from '../src/index.js';
import { pipeline, ref, runPipeline, schema, sink, source, t, transform } from '../src/index.js';
import { newRunId } from '../src/core/ids.js';
import { runIsolated } from '../src/orchestrator/isolated-run.js';
import type { BenchResult } from './common.js';
import {
  alternate,
  assert,
  benchRounds,
  DATA_DIR,
  fastest,
  firstRow,
  formatSteps,
  removeRunDirs,
  runCount,
  sqlString,
  stepTimes,
  withDuckDB,
} from './common.js';
import { generateOnce } from './synthetic-data.js';

const ROWS = 2_000_000;
const EUR_PER_UNIT: Readonly<Record<string, number>> = { EUR: 1, USD: 0.92, GBP: 1.17 };

/** The record step both variants run: the amount in euros, by the currency's rate. */
function toEUR(row: Row): Row {
  return {
    ...row,
    amount_eur: (row['amount'] as number) * (EUR_PER_UNIT[row['currency'] as string] ?? NaN),
  };
}

/** Where a variant wrote its Parquet output, and the Sluice run's step times. */
interface TSStepOutcome {
  readonly output: string;
  readonly stepMs?: Readonly<Record<string, number>>;
}

/**
 * The tsstep group: a TypeScript record step in a Sluice pipeline (Parquet source, transform
 * with `map`, Parquet sink) against the same map in a hand-written loop over a DuckDB stream and
 * an appender. Best of `BENCH_ROUNDS` each, alternating; both outputs must be the same.
 */
export async function runTSStepGroup(): Promise<BenchResult[]> {
  const rounds = benchRounds();
  const input = await generatePayments();
  const runs = await alternate('tsstep', rounds, {
    sluice: (dir) => runSluice(input, dir),
    isolated: (dir) => runSluiceIsolated(input, dir),
    node: (dir) => runNodeLoop(input, dir),
  });
  try {
    const sluice = fastest(runs.sluice);
    const isolated = fastest(runs.isolated);
    const node = fastest(runs.node);
    const [sluiceOut, isolatedOut, nodeOut] = [
      await totals(sluice.value),
      await totals(isolated.value),
      await totals(node.value),
    ];
    assert(
      sluiceOut.rows === ROWS && isolatedOut.rows === ROWS && nodeOut.rows === ROWS,
      `rows written: Sluice ${sluiceOut.rows}, isolated ${isolatedOut.rows}, Node ${nodeOut.rows}, expected ${ROWS}`,
    );
    assert(
      Math.abs(sluiceOut.amountEUR - nodeOut.amountEUR) <= 1e-9 * Math.abs(nodeOut.amountEUR),
      `sum(amount_eur): Sluice ${sluiceOut.amountEUR}, Node ${nodeOut.amountEUR}`,
    );
    return [
      {
        id: 'tsstep.sluice_over_node',
        value: sluice.seconds / node.seconds,
        unit: 'ratio',
        note: `best of ${rounds} each; ${ROWS.toLocaleString('en')} rows, Parquet in and out`,
      },
      {
        id: 'tsstep.isolated_over_node',
        value: isolated.seconds / node.seconds,
        unit: 'ratio',
        note: `as sluice run and the workers run it: in a process of its own (start, pipeline load); best of ${rounds}`,
      },
      {
        id: 'tsstep.isolation_overhead_s',
        value: isolated.seconds - sluice.seconds,
        unit: 's',
        note: `best isolated run minus best in-process run (${isolated.seconds.toFixed(2)} s - ${sluice.seconds.toFixed(2)} s)`,
      },
      {
        id: 'tsstep.sluice_rows_per_s',
        value: ROWS / sluice.seconds,
        unit: 'rows/s',
        note: `${sluice.seconds.toFixed(2)} s; steps ${formatSteps(sluice.value.stepMs)}`,
      },
      {
        id: 'tsstep.node_rows_per_s',
        value: ROWS / node.seconds,
        unit: 'rows/s',
        note: `${node.seconds.toFixed(2)} s`,
      },
    ];
  } finally {
    await removeRunDirs([...runs.sluice, ...runs.isolated, ...runs.node]);
  }
}

/** `bench/data/payments-<rows>.parquet`: id, customer, amount (double), currency. */
function generatePayments(): Promise<string> {
  return generateOnce(join(DATA_DIR, `payments-${ROWS}.parquet`), async (connection, path) => {
    await connection.run(`COPY (
      SELECT range::BIGINT AS id,
             printf('c-%05d', bench_rand(range, 11) % 50000) AS customer,
             (bench_rand(range, 12) % 100000) / 100 AS amount,
             ['EUR', 'USD', 'GBP'][1 + bench_rand(range, 13) % 3] AS currency
      FROM range(${ROWS})
      ORDER BY range
    ) TO ${sqlString(path)} (FORMAT parquet)`);
  });
}

/** Sluice: Parquet source, the record step with a declared output schema, Parquet sink. */
async function runSluice(input: string, dir: string): Promise<TSStepOutcome> {
  const output = join(dir, 'payments_eur.parquet');
  const job = pipeline('bench_tsstep', {
    steps: {
      payments: source.parquet({ path: input }),
      in_eur: transform({
        input: ref('payments'),
        schema: schema({
          id: t.int64().notNull(),
          customer: t.string(),
          amount: t.float64(),
          currency: t.string(),
          amount_eur: t.float64(),
        }),
        map: toEUR,
      }),
      out: sink.parquet({ input: ref('in_eur'), path: output }),
    },
  });
  const report = await runPipeline(job, { stateDir: join(dir, 'state'), baseDir: dir });
  assert(
    report.status === 'success',
    `Sluice run ended ${report.status}: ${report.error?.message ?? ''}`,
  );
  const step = report.steps.find((s) => s.id === 'in_eur');
  assert(
    step?.rowsIn === ROWS && step.rowsOut === ROWS,
    `transform rows in ${step?.rowsIn}, out ${step?.rowsOut}, expected ${ROWS}`,
  );
  return { output, stepMs: stepTimes(report) };
}

/** The same pipeline as a file, run the way `sluice run` and the workers run it: in a child process. */
async function runSluiceIsolated(input: string, dir: string): Promise<TSStepOutcome> {
  const output = join(dir, 'payments_eur.parquet');
  const file = join(dir, 'bench_tsstep.ts');
  await writeFile(
    file,
    `import { pipeline, ref, schema, sink, source, t, transform } from 'sluice';
const EUR_PER_UNIT = ${JSON.stringify(EUR_PER_UNIT)};
export default pipeline('bench_tsstep', {
  steps: {
    payments: source.parquet({ path: ${JSON.stringify(input)} }),
    in_eur: transform({
      input: ref('payments'),
      schema: schema({ id: t.int64().notNull(), customer: t.string(), amount: t.float64(), currency: t.string(), amount_eur: t.float64() }),
      map: (row) => ({ ...row, amount_eur: row.amount * (EUR_PER_UNIT[row.currency] ?? NaN) }),
    }),
    out: sink.parquet({ input: ref('in_eur'), path: ${JSON.stringify(output)} }),
  },
});
`,
  );
  const report = await runIsolated({
    file,
    pipeline: 'bench_tsstep',
    runId: newRunId(),
    params: {},
    stateDir: join(dir, 'state'),
    baseDir: dir,
    commitSourceState: true,
  });
  assert(
    report.status === 'success',
    `isolated Sluice run ended ${report.status}: ${report.error?.message ?? ''}`,
  );
  return { output, stepMs: stepTimes(report) };
}

/**
 * By hand: stream the Parquet file, map each chunk of rows, append them to a table on a second
 * connection (an appender on the streaming connection would end the stream early), copy the
 * table to Parquet. Mapping a whole chunk before appending it measured about 10% faster here than
 * mapping and appending row by row, so the baseline uses it.
 */
async function runNodeLoop(input: string, dir: string): Promise<TSStepOutcome> {
  const output = join(dir, 'payments_eur.parquet');
  const instance = await DuckDBInstance.create(':memory:');
  const reader = await instance.connect();
  const writer = await instance.connect();
  try {
    await writer.run(
      'CREATE TABLE payments_eur (id BIGINT NOT NULL, customer VARCHAR, amount DOUBLE, currency VARCHAR, amount_eur DOUBLE)',
    );
    const appender = await writer.createAppender('payments_eur');
    const result = await reader.stream(`SELECT * FROM read_parquet(${sqlString(input)})`);
    let rows = 0;
    for await (const chunk of result.yieldConvertedRowObjects(JSDuckDBValueConverter)) {
      const mapped: Row[] = [];
      for (const row of chunk) mapped.push(toEUR(row));
      for (const out of mapped) {
        appender.appendBigInt(out['id'] as bigint);
        appender.appendVarchar(out['customer'] as string);
        appender.appendDouble(out['amount'] as number);
        appender.appendVarchar(out['currency'] as string);
        appender.appendDouble(out['amount_eur'] as number);
        appender.endRow();
      }
      rows += chunk.length;
    }
    appender.closeSync();
    assert(rows === ROWS, `streamed ${rows} of ${ROWS} rows`);
    const copied = await runCount(
      writer,
      `COPY payments_eur TO ${sqlString(output)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    assert(copied === ROWS, `copied ${copied} of ${ROWS} rows`);
    return { output };
  } finally {
    reader.closeSync();
    writer.closeSync();
    instance.closeSync();
  }
}

async function totals({ output }: TSStepOutcome): Promise<{ rows: number; amountEUR: number }> {
  const row = await withDuckDB((connection) =>
    firstRow(
      connection,
      `SELECT count(*) AS n, sum(amount_eur) AS s FROM read_parquet(${sqlString(output)})`,
    ),
  );
  return { rows: Number(row['n']), amountEUR: Number(row['s']) };
}
