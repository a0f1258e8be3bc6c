import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect as assert, it } from 'vitest';
import { check, expect, pipeline, ref, sink, source, sql, suite, transform } from '../src/index.js';
import type { RunReport } from '../src/index.js';
import type { RunEvent } from '../src/observe/lineage/openlineage-event.js';
import { TERMINAL_EVENT_TYPES } from '../src/observe/lineage/openlineage-event.js';
import { lineageRunId } from '../src/observe/lineage/run-uuid.js';
import type { ColumnLineageDeriver } from '../src/observe/lineage/column-lineage-hook.js';
import { runIn, tempDir } from './helpers.js';
import { memoryEmitter } from './support/lineage-memory.js';
import { openLineageSchemas } from './support/openlineage-schemas.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const schemas = openLineageSchemas();
const ORDERS_CSV = 'order_id,customer,amount\n1,ann,10.5\n2,bob,-3\n3,cy,7\n';

/** Runs a pipeline with lineage on and returns its report and every event, once delivered. */
async function runWithLineage(
  dir: string,
  p: Parameters<typeof runIn>[1],
  options: Parameters<typeof runIn>[2] & { columnLineage?: ColumnLineageDeriver | false } = {},
): Promise<{ report: RunReport; events: RunEvent[]; refused: number; omitted: number }> {
  const { emitter, events } = memoryEmitter({
    namespace: 'sluice-test',
    ...(options.columnLineage === undefined ? {} : { columnLineage: options.columnLineage }),
  });
  const report = await runIn(dir, p, { ...options, lineage: emitter });
  assert(await emitter.flush(10_000)).toBe(0);
  assert(emitter.dropped).toBe(0);
  return { report, events, refused: emitter.refused, omitted: emitter.columnLineageOmitted };
}

/** Every event valid, each run id one START first and one terminal event last. */
function assertWellFormed(events: readonly RunEvent[]): void {
  assert(events.length).toBeGreaterThan(0);
  if (schemas !== undefined)
    for (const event of events) assert(schemas.problems(event), JSON.stringify(event)).toEqual([]);
  const byRun = new Map<string, RunEvent[]>();
  for (const event of events)
    byRun.set(event.run.runId, [...(byRun.get(event.run.runId) ?? []), event]);
  for (const [runId, runEvents] of byRun) {
    const types = runEvents.map((event) => event.eventType);
    assert(types[0], runId).toBe('START');
    assert(types.filter((type) => type === 'START')).toHaveLength(1);
    assert(types.filter((type) => TERMINAL_EVENT_TYPES.has(type))).toHaveLength(1);
    assert(TERMINAL_EVENT_TYPES.has(types.at(-1)!)).toBe(true);
  }
}

const ended = (events: readonly RunEvent[], job: string) =>
  events.find((event) => event.job.name === job && TERMINAL_EVENT_TYPES.has(event.eventType));

describe('OpenLineage events of batch runs', () => {
  if (schemas === undefined)
    it.skip('the OpenLineage schemas in ../shared/fixtures are absent', () => {});

  it('a successful run: pipeline and step runs, parents, nominal time, facets valid', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'orders.csv'), ORDERS_CSV);
    const p = pipeline('orders_daily', {
      description: 'Daily orders',
      owners: ['team:data'],
      steps: {
        orders: source.csv({ path: 'orders.csv' }),
        big: sql`select order_id, amount * 2 as doubled from ${ref('orders')}`.options({
          description: 'doubled amounts',
        }),
        checked: check({
          input: ref('big'),
          suite: suite('big', [
            expect.between('doubled', { min: 0 }, { severity: 'quarantine', id: 'positive' }),
            expect.notNull('order_id', { severity: 'warn' }),
          ]),
        }),
        out: sink.parquet({ input: ref('checked'), path: 'out/big.parquet' }),
      },
    });
    const deriver: ColumnLineageDeriver = (query, inputs) =>
      query.includes('doubled') && inputs[0]?.fields.some((f) => f.name === 'amount')
        ? {
            fields: {
              doubled: {
                inputFields: [
                  {
                    namespace: inputs[0].namespace,
                    name: inputs[0].name,
                    field: 'amount',
                    transformations: [{ type: 'DIRECT', subtype: 'TRANSFORMATION' }],
                  },
                ],
              },
            },
          }
        : { unresolved: true, reason: 'unknown' };
    const { report, events, refused } = await runWithLineage(dir, p, {
      interval: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
      columnLineage: deriver,
    });
    assert(report.status).toBe('success');
    assert(refused).toBe(0);
    assertWellFormed(events);
    assert(events).toHaveLength(2 + 2 * 4);

    const runUUID = lineageRunId(report.runId);
    const run = ended(events, 'orders_daily')!;
    assert(run.eventType).toBe('COMPLETE');
    assert(run.run.runId).toBe(runUUID);
    assert(run.run.facets['nominalTime']).toMatchObject({
      nominalStartTime: '2026-01-01T00:00:00Z',
      nominalEndTime: '2026-01-02T00:00:00Z',
    });
    assert(run.job.facets['jobType']).toMatchObject({
      processingType: 'BATCH',
      integration: 'SLUICE',
      jobType: 'PIPELINE',
    });
    assert(run.job.facets['documentation']).toMatchObject({ description: 'Daily orders' });
    assert(run.job.facets['ownership']).toMatchObject({ owners: [{ name: 'team:data' }] });
    assert(String(run.job.facets['sourceCodeLocation']?.['url'])).toContain(
      'lineage-events.test.ts',
    );
    assert(run.inputs.map((d) => [d.namespace, d.name])).toEqual([
      ['file', join(dir, 'orders.csv')],
    ]);
    assert(run.outputs.map((d) => [d.namespace, d.name])).toEqual([
      ['file', join(dir, 'out/big.parquet')],
    ]);
    assert(run.outputs[0]?.facets?.['lifecycleStateChange']).toMatchObject({
      lifecycleStateChange: 'OVERWRITE',
    });
    assert(run.outputs[0]?.outputFacets?.['outputStatistics']).toMatchObject({ rowCount: 2 });

    for (const step of ['orders', 'big', 'checked', 'out']) {
      const stepEnd = ended(events, `orders_daily.${step}`)!;
      assert(stepEnd.eventType, step).toBe('COMPLETE');
      assert(stepEnd.run.facets['parent']).toMatchObject({
        run: { runId: runUUID },
        job: { namespace: 'sluice-test', name: 'orders_daily' },
      });
      assert(stepEnd.run.facets['nominalTime']).toBeDefined();
    }
    const sourceEnd = ended(events, 'orders_daily.orders')!;
    assert(sourceEnd.inputs[0]?.inputFacets?.['dataQualityMetrics']).toMatchObject({ rowCount: 3 });
    assert(sourceEnd.inputs[0]?.facets?.['schema']?.['fields']).toEqual([
      { name: 'order_id', type: 'int64', ordinal_position: 1 },
      { name: 'customer', type: 'string', ordinal_position: 2 },
      { name: 'amount', type: 'float64', ordinal_position: 3 },
    ]);
    const big = ended(events, 'orders_daily.big')!;
    assert(big.job.facets['sql']).toMatchObject({
      query: 'select order_id, amount * 2 as doubled from "orders"',
    });
    assert(big.job.facets['documentation']).toMatchObject({ description: 'doubled amounts' });
    assert(big.inputs.map((d) => d.name)).toEqual(['orders_daily.orders']);
    assert(big.outputs[0]?.facets?.['columnLineage']).toMatchObject({ fields: { doubled: {} } });
    const checked = ended(events, 'orders_daily.checked')!;
    assert(checked.inputs[0]?.facets?.['dataQualityAssertions']).toMatchObject({
      assertions: [
        {
          assertion: 'expect_column_values_to_be_between',
          success: false,
          name: 'positive',
          severity: 'quarantine',
          column: 'doubled',
        },
        {
          assertion: 'expect_column_values_to_not_be_null',
          success: true,
          severity: 'warn',
          column: 'order_id',
        },
      ],
    });
    assert(checked.outputs[0]?.outputFacets?.['outputStatistics']).toMatchObject({ rowCount: 2 });
  });
  it('a failed run with quarantined rows: FAIL with errorMessage, no outputs, assertions kept', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'orders.csv'), ORDERS_CSV);
    const p = pipeline('gate_fails', {
      steps: {
        orders: source.csv({ path: 'orders.csv' }),
        checked: check({
          input: ref('orders'),
          suite: suite('orders', [
            expect.between('amount', { min: 0 }, { severity: 'quarantine', id: 'positive' }),
            expect.rowCountBetween({ min: 10 }, { id: 'enough_rows' }),
          ]),
        }),
        out: sink.ndjson({ input: ref('checked'), path: 'out.ndjson' }),
      },
    });
    const { report, events, refused } = await runWithLineage(dir, p);
    assert(report.status).toBe('failed');
    assert(report.rowsQuarantined).toBe(1);
    assert(refused).toBe(0);
    assertWellFormed(events);
    const run = ended(events, 'gate_fails')!;
    assert(run.eventType).toBe('FAIL');
    assert(run.outputs).toEqual([]);
    assert(run.run.facets['errorMessage']).toMatchObject({
      message: assert.stringContaining('QUALITY_GATE_FAILED'),
      programmingLanguage: 'TypeScript',
    });
    assert(run.run.facets['errorMessage']).not.toHaveProperty('stackTrace');
    const checked = ended(events, 'gate_fails.checked')!;
    assert(checked.eventType).toBe('FAIL');
    assert(checked.inputs[0]?.facets?.['dataQualityAssertions']).toMatchObject({
      assertions: [
        { name: 'positive', success: false, severity: 'quarantine' },
        { name: 'enough_rows', success: false, severity: 'error' },
      ],
    });
    // The sink never ran: no step run, so no events for it.
    assert(events.filter((e) => e.job.name === 'gate_fails.out')).toEqual([]);
  });

  it('a canceled run ends with ABORT', async () => {
    const dir = await tempDir();
    const abort = new AbortController();
    const p = pipeline('canceled', {
      steps: {
        rows: sql`select * from range(5) t(n)`,
        slow: transform({
          input: ref('rows'),
          map: async (row) => {
            abort.abort(new Error('stop'));
            await sleep(50);
            return row;
          },
        }),
        out: sink.ndjson({ input: ref('slow'), path: 'out.ndjson' }),
      },
    });
    const { report, events } = await runWithLineage(dir, p, { signal: abort.signal });
    assert(report.status).toBe('canceled');
    assertWellFormed(events);
    assert(ended(events, 'canceled')?.eventType).toBe('ABORT');
    assert(ended(events, 'canceled.rows')?.eventType).toBe('COMPLETE');
    assert(['ABORT', 'FAIL']).toContain(ended(events, 'canceled.slow')?.eventType);
  });

  it('a Delta sink and source: the table by its location, overwrite, then its version', async () => {
    const dir = await tempDir();
    const write = pipeline('to_delta', {
      steps: {
        rows: sql`select n, n * 10 as v from range(4) t(n)`,
        lake: sink.delta({ input: ref('rows'), path: 'lake/numbers', mode: 'overwrite' }),
      },
    });
    const first = await runWithLineage(dir, write);
    assert(first.report.status).toBe('success');
    assertWellFormed(first.events);
    const out = ended(first.events, 'to_delta.lake')!.outputs[0]!;
    assert([out.namespace, out.name]).toEqual(['file', join(dir, 'lake/numbers')]);
    assert(out.facets?.['lifecycleStateChange']).toMatchObject({
      lifecycleStateChange: 'OVERWRITE',
    });
    assert(out.facets?.['schema']?.['fields']).toMatchObject([{ name: 'n' }, { name: 'v' }]);
    assert(out.outputFacets?.['outputStatistics']).toMatchObject({ rowCount: 4 });

    const read = pipeline('from_delta', {
      steps: {
        numbers: source.delta({ path: 'lake/numbers' }),
        out: sink.csv({ input: ref('numbers'), path: 'numbers.csv' }),
      },
    });
    const second = await runWithLineage(dir, read);
    assert(second.report.status).toBe('success');
    assertWellFormed(second.events);
    const input = ended(second.events, 'from_delta.numbers')!.inputs[0]!;
    assert([input.namespace, input.name]).toEqual(['file', join(dir, 'lake/numbers')]);
    assert(input.facets?.['version']).toMatchObject({ datasetVersion: '0' });
  });

  it('a PostgreSQL sink: postgres://host:port and db.schema.table, never the credentials', async (context) => {
    const why = await postgresUnavailable();
    if (why !== undefined) return context.skip(why);
    const database = await createTestDatabase();
    try {
      const url = new URL(database.url);
      url.password = 'pa:ss@w0rd';
      const dir = await tempDir();
      const table = 'public."Wéird ""tbl"""';
      const p = pipeline('to_postgres', {
        steps: {
          rows: sql`select n from range(3) t(n)`,
          load: sink.postgres({
            input: ref('rows'),
            url: url.toString(),
            table,
            mode: 'overwrite',
          }),
        },
      });
      const { report, events } = await runWithLineage(dir, p);
      assert(report.status, JSON.stringify(report.error)).toBe('success');
      assertWellFormed(events);
      const out = ended(events, 'to_postgres')!.outputs[0]!;
      const db = url.pathname.slice(1);
      assert(out.namespace).toBe(`postgres://${url.hostname}:${url.port || '5432'}`);
      assert(out.name).toBe(`${db}.${table}`);
      assert(JSON.stringify(events)).not.toContain('pa:ss');
      assert(JSON.stringify(events)).not.toContain(url.password);
      assert(out.facets?.['lifecycleStateChange']).toMatchObject({
        lifecycleStateChange: 'OVERWRITE',
      });
    } finally {
      await database.drop();
    }
  });

  it('omits the column lineage facet when the derivation is absent, unresolved or throws', async () => {
    const dir = await tempDir();
    const p = pipeline('no_columns', {
      steps: {
        rows: sql`select 1 as a`,
        out: sink.ndjson({ input: ref('rows'), path: 'out.ndjson' }),
      },
    });
    const derivers: [ColumnLineageDeriver | false, number][] = [
      [false, 0],
      [() => ({ unresolved: true, reason: 'not derived' }), 1],
      [
        () => {
          throw new Error('parser crashed');
        },
        1,
      ],
    ];
    for (const [columnLineage, omissions] of derivers) {
      const { report, events, omitted } = await runWithLineage(dir, p, { columnLineage });
      assert(report.status).toBe('success');
      assertWellFormed(events);
      // The SQL step's own output has none; the sink still maps its columns one to one.
      const rows = events.filter((event) => event.job.name === 'no_columns.rows');
      assert(rows.length).toBeGreaterThan(0);
      assert(JSON.stringify(rows)).not.toContain('columnLineage');
      assert(omitted).toBe(omissions);
    }
  });

  it("derives a SQL step's column lineage from its compiled SQL by default", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'orders.csv'), ORDERS_CSV);
    const p = pipeline('columns', {
      steps: {
        orders: source.csv({ path: 'orders.csv' }),
        big: sql`select order_id, amount * 2 as doubled from ${ref('orders')} where customer <> 'x'`,
        out: sink.ndjson({ input: ref('big'), path: 'out.ndjson' }),
      },
    });
    const { report, events, omitted } = await runWithLineage(dir, p);
    assert(report.status).toBe('success');
    assertWellFormed(events);
    assert(omitted).toBe(0);
    const complete = events.find((e) => e.eventType === 'COMPLETE' && e.job.name === 'columns.big');
    const facet = complete?.outputs?.[0]?.facets?.['columnLineage'] as
      | {
          fields: Record<string, { inputFields: { name: string; field: string }[] }>;
          dataset?: { name: string; field: string; transformations: { subtype: string }[] }[];
        }
      | undefined;
    assert(facet?.fields['order_id']?.inputFields).toMatchObject([
      { name: 'columns.orders', field: 'order_id', transformations: [{ subtype: 'IDENTITY' }] },
    ]);
    assert(facet?.fields['doubled']?.inputFields).toMatchObject([
      { name: 'columns.orders', field: 'amount', transformations: [{ subtype: 'TRANSFORMATION' }] },
    ]);
    assert(facet?.dataset).toMatchObject([
      { name: 'columns.orders', field: 'customer', transformations: [{ subtype: 'FILTER' }] },
    ]);
  });

  it.runIf(schemas !== undefined)(
    'the validator itself rejects a malformed event and facet',
    () => {
      const broken = {
        eventType: 'START',
        eventTime: 'yesterday',
        producer: 'x',
        schemaURL: 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent',
        run: {
          runId: 'run_1',
          facets: {
            nominalTime: {
              _producer: 'https://example.com',
              _schemaURL:
                'https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet',
            },
          },
        },
        job: { namespace: 'n', name: 'j', facets: {} },
        inputs: [],
        outputs: [],
      } as unknown as RunEvent;
      const problems = schemas!.problems(broken);
      assert(problems.some((p) => p.startsWith('RunEvent'))).toBe(true);
      assert(problems.some((p) => p.startsWith('run.nominalTime'))).toBe(true);
    },
  );
});
