import { cp } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publish, readMessages } from '../examples/medallion/publish.js';
import { ROOT, readNDJSON, tempDir } from './helpers.js';
import { appendedRows } from './support/delta-rows.js';
import { NATS_URL, createTestStream, natsUnavailable } from './support/nats.js';
import { readDeltaTable } from './support/orchestrator-project.js';
import { runSluice, startSluice, waitFor } from './support/sluice-process.js';

const missing = await natsUnavailable();
if (missing !== undefined) console.warn(`medallion example skipped: ${missing}`);

const EXAMPLE = join(ROOT, 'examples', 'medallion');

interface StepReport {
  readonly id: string;
  readonly rowsIn: number;
  readonly rowsOut: number | null;
  readonly rowsQuarantined: number;
  readonly quarantineFile?: string;
}

/** A DuckDB timestamp with time zone as printed by `sluice table read`, as ISO text in UTC. */
function instant(text: unknown): string {
  return new Date(
    String(text)
      .replace(' ', 'T')
      .replace(/([+-]\d\d)$/, '$1:00'),
  ).toISOString();
}

describe.skipIf(missing !== undefined)('examples/medallion', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('lands raw orders in bronze once, conforms, checks and merges them into silver, and aggregates gold', async () => {
    const nats = await createTestStream();
    cleanups.push(() => nats.drop());
    const dir = await tempDir('sluice-example-');
    await cp(EXAMPLE, dir, {
      recursive: true,
      filter: (path) => !/^(out|\.sluice)(\/|$)/.test(relative(EXAMPLE, path)),
    });
    const env = { SLUICE_EXAMPLE_NATS: NATS_URL, SLUICE_EXAMPLE_STREAM: nats.name };
    const subject = `${nats.prefix}.orders`;
    const first = await readMessages(join(EXAMPLE, 'data', 'orders-1.ndjson'));
    const second = await readMessages(join(EXAMPLE, 'data', 'orders-2.ndjson'));
    await publish({ servers: NATS_URL, stream: nats.name, subject, messages: first });

    const bronzeTable = join(dir, 'out', 'lake', 'bronze', 'orders');
    const stream = startSluice(['stream', 'streams/bronze_orders.ts'], { cwd: dir, env });
    cleanups.push(() => stream.stop('SIGKILL'));
    await waitFor(
      () => `bronze to hold the first 7 orders (${stream.stderr().slice(-500)})`,
      async () => (await appendedRows(bronzeTable)) === 7,
    );

    // The line that is not JSON is the bronze stream's only reject, kept with the reason.
    const invalid = await readNDJSON(
      join(dir, '.sluice', 'streams', 'bronze_orders', 'quarantine', 'invalid.ndjson'),
    );
    expect(invalid.map((r) => (r['record'] as Record<string, unknown>)['_sluice_payload'])).toEqual(
      ['order 1006 was typed by hand'],
    );
    expect(String(invalid[0]?.['reason'])).toMatch(/not JSON/);

    const runPipeline = async (file: string): Promise<Map<string, StepReport>> => {
      const run = await runSluice(['run', file, '--json'], { cwd: dir, env });
      expect(run.code, run.stderr.slice(-2000)).toBe(0);
      const report = JSON.parse(run.stdout) as { status: string; steps: StepReport[] };
      expect(report.status).toBe('success');
      return new Map(report.steps.map((s) => [s.id, s]));
    };
    const quarantined = async (step: StepReport | undefined): Promise<unknown[][]> =>
      (await readNDJSON(String(step?.quarantineFile))).map((q) => {
        const record = q['record'] as Record<string, unknown>;
        return [record['order_id'], q['reason'], record['payload']];
      });
    const silver = async (): Promise<unknown[][]> =>
      (await readDeltaTable(dir, join(dir, 'out', 'lake', 'silver', 'orders')))
        .map((r) => [
          r['order_id'],
          r['customer_id'],
          r['country'],
          r['amount'],
          instant(r['ordered_at']),
          r['order_date'],
        ])
        .sort((a, b) => Number(a[0]) - Number(b[0]));
    const gold = async (): Promise<unknown[][]> =>
      (await readDeltaTable(dir, join(dir, 'out', 'lake', 'gold', 'daily_revenue'))).map((r) => [
        r['order_date'],
        r['country'],
        r['orders'],
        r['customers'],
        r['revenue'],
      ]);

    // Silver, first run: 7 bronze rows; 1005 ("twelve" euros) is quarantined, the retry of 1002
    // counts once, "fr" becomes FR, and 1003 at 00:40+02:00 is on 1 November in UTC.
    let steps = await runPipeline('pipelines/silver_orders.ts');
    expect(steps.get('bronze')?.rowsOut).toBe(7);
    expect(steps.get('checked')?.rowsQuarantined).toBe(1);
    expect(steps.get('silver')?.rowsOut).toBe(5);
    expect(await quarantined(steps.get('checked'))).toEqual([
      [
        1005,
        'expectation "column_values_to_not_be_null(amount)" (expect_column_values_to_not_be_null) failed',
        first[5],
      ],
    ]);
    expect(await silver()).toEqual([
      [1001, 'c-001', 'DE', 120.5, '2026-11-01T09:15:00.000Z', '2026-11-01'],
      [1002, 'c-002', 'FR', 75, '2026-11-01T10:02:00.000Z', '2026-11-01'],
      [1003, 'c-003', 'DE', 19.99, '2026-11-01T22:40:00.000Z', '2026-11-01'],
      [1004, 'c-001', 'NL', 250, '2026-11-02T08:30:00.000Z', '2026-11-02'],
      [1006, 'c-002', 'FR', 42, '2026-11-02T11:45:00.000Z', '2026-11-02'],
    ]);
    await runPipeline('pipelines/gold_revenue.ts');
    expect(await gold()).toEqual([
      ['2026-11-01', 'DE', 2, 2, 140.49],
      ['2026-11-01', 'FR', 1, 1, 75],
      ['2026-11-02', 'FR', 1, 1, 42],
      ['2026-11-02', 'NL', 1, 1, 250],
    ]);

    // The second batch arrives while the stream runs: 1007 is late (1 November, after orders
    // of the 2nd), 1004 is a retry of an order silver already has, 1009 has no time.
    await publish({ servers: NATS_URL, stream: nats.name, subject, messages: second });
    await waitFor(
      () => `bronze to hold all 11 orders (${stream.stderr().slice(-500)})`,
      async () => (await appendedRows(bronzeTable)) === 11,
    );
    steps = await runPipeline('pipelines/silver_orders.ts');
    expect(steps.get('bronze')?.rowsOut).toBe(4);
    expect(steps.get('checked')?.rowsQuarantined).toBe(1);
    expect(steps.get('silver')?.rowsOut).toBe(3);
    expect(await quarantined(steps.get('checked'))).toEqual([
      [
        1009,
        'expectation "column_values_to_not_be_null(ordered_at)" (expect_column_values_to_not_be_null) failed',
        second[3],
      ],
    ]);
    expect(await silver()).toEqual([
      [1001, 'c-001', 'DE', 120.5, '2026-11-01T09:15:00.000Z', '2026-11-01'],
      [1002, 'c-002', 'FR', 75, '2026-11-01T10:02:00.000Z', '2026-11-01'],
      [1003, 'c-003', 'DE', 19.99, '2026-11-01T22:40:00.000Z', '2026-11-01'],
      [1004, 'c-001', 'NL', 250, '2026-11-02T08:30:00.000Z', '2026-11-02'],
      [1006, 'c-002', 'FR', 42, '2026-11-02T11:45:00.000Z', '2026-11-02'],
      [1007, 'c-005', 'NL', 60, '2026-11-01T22:10:00.000Z', '2026-11-01'],
      [1008, 'c-003', 'DE', 99.9, '2026-11-02T15:20:00.000Z', '2026-11-02'],
    ]);
    await runPipeline('pipelines/gold_revenue.ts');
    expect(await gold()).toEqual([
      ['2026-11-01', 'DE', 2, 2, 140.49],
      ['2026-11-01', 'FR', 1, 1, 75],
      ['2026-11-01', 'NL', 1, 1, 60],
      ['2026-11-02', 'DE', 1, 1, 99.9],
      ['2026-11-02', 'FR', 1, 1, 42],
      ['2026-11-02', 'NL', 1, 1, 250],
    ]);

    await expectGoldLineage(dir, env);

    const stopped = await stream.stop();
    expect(stopped.code, stopped.stderr.slice(-2000)).toBe(0);
    expect(stopped.stdout).toMatch(
      /stream bronze_orders stopped at checkpoint \d+: 12 records in, 11 out, 0 late, 1 invalid/,
    );
    // Bronze holds every JSON message exactly once, as it was sent, with where it came from.
    const rows = await readDeltaTable(dir, bronzeTable);
    expect(rows.map((r) => r['payload']).sort()).toEqual(
      [...first.filter((m) => m.startsWith('{')), ...second].sort(),
    );
    expect(new Set(rows.map((r) => r['_subject']))).toEqual(new Set([subject]));
    expect(rows.every((r) => typeof r['_ingested_at'] === 'string')).toBe(true);
  }, 120_000);
});

/**
 * The run store's lineage after the batch runs (each `sluice run` records its OpenLineage
 * events): gold's revenue column goes back, edge by edge, through the gold pipeline's SQL and
 * source, the silver table, the silver pipeline's dedup, check and conforming SQL, to the
 * payload column of the bronze table.
 */
async function expectGoldLineage(dir: string, env: Record<string, string>): Promise<void> {
  const lake = join(dir, 'out', 'lake');
  const result = await runSluice(
    [
      'lineage',
      `${join(lake, 'gold', 'daily_revenue')}.revenue`,
      '--upstream',
      '--depth',
      '20',
      '--json',
    ],
    { cwd: dir, env },
  );
  expect(result.code, result.stderr).toBe(0);
  const { graph } = JSON.parse(result.stdout) as {
    graph: {
      id: string;
      data: { inputFields: { dataset: string; field: string; transformationSubtype: string }[] };
    }[];
  };
  const file = (table: string, field: string): string =>
    `datasetField:file:${join(lake, table)}:${field}`;
  const step = (name: string, field: string): string => `datasetField:sluice:${name}:${field}`;
  // The direct chain, edge by edge; the columns that group, order or filter the way join it.
  expect(graph.map((node) => node.id)).toEqual(
    expect.arrayContaining([
      file('gold/daily_revenue', 'revenue'),
      step('gold_revenue.daily_revenue', 'revenue'),
      step('gold_revenue.orders', 'amount'),
      file('silver/orders', 'amount'),
      step('silver_orders.deduplicated', 'amount'),
      step('silver_orders.checked', 'amount'),
      step('silver_orders.conformed', 'amount'),
      step('silver_orders.bronze', 'payload'),
      file('bronze/orders', 'payload'),
    ]),
  );
  const inputsOf = (id: string): string[] =>
    (graph.find((node) => node.id === id)?.data.inputFields ?? []).map(
      (input) => `${input.dataset}:${input.field}:${input.transformationSubtype}`,
    );
  expect(inputsOf(step('gold_revenue.daily_revenue', 'revenue')).sort()).toEqual([
    'gold_revenue.orders:amount:AGGREGATION',
    'gold_revenue.orders:country:GROUP_BY',
    'gold_revenue.orders:country:SORT',
    'gold_revenue.orders:order_date:GROUP_BY',
    'gold_revenue.orders:order_date:SORT',
  ]);
  // QUALIFY row_number() over (partition by order_id order by _ingested_at) = 1 keeps a row.
  expect(inputsOf(step('silver_orders.deduplicated', 'amount')).sort()).toEqual([
    'silver_orders.checked:_ingested_at:FILTER',
    'silver_orders.checked:amount:IDENTITY',
    'silver_orders.checked:order_id:FILTER',
  ]);
  expect(inputsOf(file('gold/daily_revenue', 'revenue'))).toEqual([
    'gold_revenue.daily_revenue:revenue:IDENTITY',
  ]);
  expect(inputsOf(step('silver_orders.conformed', 'amount'))).toEqual([
    'silver_orders.bronze:payload:TRANSFORMATION',
  ]);
}
