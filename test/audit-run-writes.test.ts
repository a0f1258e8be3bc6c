import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, source, sql, t, transform } from '../src/index.js';
import { runAuditEntries } from '../src/orchestrator/run-audit.js';
import { runIn, tempDir } from './helpers.js';

// What a run's report gives the audit log: one entry per published dataset and one per step
// with accepted schema changes, never one per row.

describe('the audit entries of a run', () => {
  it('record each published dataset with rows and mode, and each accepted schema change', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'data.csv'), 'id,amount,coupon\n1,10.50,X1\n2,3.00,\n');
    const report = await runIn(
      dir,
      pipeline('audited', {
        steps: {
          input: source.csv({
            path: 'data.csv',
            schema: schema({ id: t.int32().notNull(), amount: t.decimal(6, 2) }),
            schemaPolicy: 'additive',
          }),
          file: sink.ndjson({ input: ref('input'), path: 'out/orders.ndjson' }),
          table: sink.duckdb({
            input: ref('input'),
            path: 'warehouse.duckdb',
            table: 'orders',
            mode: 'append',
          }),
        },
      }),
    );
    expect(report.status).toBe('success');
    const entries = runAuditEntries(report);
    const run = { pipeline: 'audited', runId: report.runId };
    expect(entries).toEqual(
      expect.arrayContaining([
        {
          action: 'dataset.schema_change',
          target: { ...run, dataset: join(dir, 'data.csv') },
          detail: { step: 'input', changes: ['new column "coupon" (string) added'] },
        },
        {
          action: 'dataset.write',
          target: { ...run, dataset: join(dir, 'out/orders.ndjson') },
          detail: { step: 'file', connector: 'ndjson', rows: 2 },
        },
        {
          action: 'dataset.write',
          target: { ...run, dataset: `${join(dir, 'warehouse.duckdb')}#orders` },
          detail: { step: 'table', connector: 'duckdb', rows: 2, mode: 'append' },
        },
      ]),
    );
    expect(entries).toHaveLength(3);
  });

  it('record no write for a run that failed before publishing', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('failing', {
        steps: {
          rows: sql`select range as n from range(3)`,
          boom: transform({
            input: ref('rows'),
            map: (row) => {
              if (Number(row['n']) === 2) throw new Error('no');
              return row;
            },
          }),
          out: sink.delta({ input: ref('rows'), path: 'lake/t' }),
          after: sink.ndjson({ input: ref('boom'), path: 'out.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('failed');
    expect(runAuditEntries(report)).toEqual([]);
  });
});
