import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, source, t } from '../src/index.js';
import type { SchemaPolicy } from '../src/core/schema-evolution.js';
import { query, readNDJSON, runIn, stepOf, tempDir } from './helpers.js';

const declared = schema({ id: t.int32().notNull(), amount: t.decimal(6, 2), note: t.string() });

async function csvRun(dir: string, policy: SchemaPolicy) {
  return runIn(
    dir,
    pipeline('policy', {
      steps: {
        input: source.csv({ path: 'data.csv', schema: declared, schemaPolicy: policy }),
        out: sink.ndjson({ input: ref('input'), path: 'out.ndjson' }),
      },
    }),
  );
}

describe('schema policies on CSV', () => {
  it('apply each policy to an added column, a missing column and a value that does not fit', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'data.csv'),
      'id,amount,coupon\n1,10.50,X1\n3000000000,2.00,\n3,abc,Y\n',
    );

    const strict = await csvRun(dir, 'strict');
    expect(strict.status).toBe('failed');
    expect(strict.error?.message).toContain(
      'declared column "note" is missing from the input; column "coupon" is not declared',
    );
    expect(strict.error?.code).toBe('SCHEMA_MISMATCH');

    const additive = await csvRun(dir, 'additive');
    expect(additive.status).toBe('success');
    expect(stepOf(additive, 'input')).toMatchObject({ rowsIn: 3, rowsOut: 1, rowsQuarantined: 2 });
    expect(stepOf(additive, 'input').schemaChanges).toEqual([
      'declared column "note" is missing from the input; filled with nulls',
      'new column "coupon" (string) added',
    ]);
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { id: 1, amount: 10.5, note: null, coupon: 'X1' },
    ]);

    const widen = await csvRun(dir, 'widen');
    expect(widen.status).toBe('success');
    expect(stepOf(widen, 'input').schemaChanges).toContain(
      'column "id" widened from int32 to int64',
    );
    expect((await readNDJSON(join(dir, 'out.ndjson'))).map((r) => r['id'])).toEqual([
      1, 3000000000,
    ]);

    await writeFile(
      join(dir, 'data.csv'),
      'id,amount,note,extra\n1,10.50,a,z\n2,abc,b,z\n3000000000,1.00,c,z\n',
    );
    const discardRow = await csvRun(dir, 'discard_row');
    expect(stepOf(discardRow, 'input')).toMatchObject({
      rowsOut: 1,
      rowsQuarantined: 2,
      schemaChanges: ['column "extra" is not declared; left out'],
    });

    const discardColumn = await csvRun(dir, 'discard_column');
    expect(discardColumn.status).toBe('success');
    // The bad amount becomes null; the id that does not fit a required int32 still quarantines its row.
    expect(stepOf(discardColumn, 'input')).toMatchObject({
      rowsIn: 3,
      rowsOut: 2,
      rowsQuarantined: 1,
      valuesDiscarded: 1,
    });
    expect(await readNDJSON(join(dir, 'out.ndjson'))).toEqual([
      { id: 1, amount: 10.5, note: 'a' },
      { id: 2, amount: null, note: 'b' },
    ]);
  });
});

describe('schema policies on JSON and Parquet', () => {
  it('add new keys and columns under additive, and null bad values under discard_column', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'data.ndjson'),
      '{"id": 1, "amount": 2.5, "tag": "a"}\n{"id": 2, "amount": "x"}\n',
    );
    await query(
      `COPY (SELECT 1 AS id, 'v' AS extra) TO '${join(dir, 'data.parquet')}' (FORMAT parquet)`,
    );
    const run = (input: ReturnType<typeof source.ndjson>) =>
      runIn(
        dir,
        pipeline('p', {
          steps: { input, out: sink.ndjson({ input: ref('input'), path: 'out.ndjson' }) },
        }),
      );

    const json = await run(
      source.ndjson({ path: 'data.ndjson', schema: declared, schemaPolicy: 'additive' }),
    );
    expect(json.status).toBe('success');
    expect(stepOf(json, 'input').schemaChanges).toEqual([
      'declared column "note" is missing from the input; filled with nulls',
      'new column "tag" (string) added',
    ]);
    expect(stepOf(json, 'input')).toMatchObject({ rowsOut: 1, rowsQuarantined: 1 });

    const discard = await run(
      source.ndjson({ path: 'data.ndjson', schema: declared, schemaPolicy: 'discard_column' }),
    );
    expect(stepOf(discard, 'input')).toMatchObject({
      rowsOut: 2,
      rowsQuarantined: 0,
      valuesDiscarded: 1,
    });

    const parquet = await run(
      source.parquet({
        path: 'data.parquet',
        schema: schema({ id: t.int32() }),
        schemaPolicy: 'strict',
      }) as never,
    );
    expect(parquet.status).toBe('failed');
    expect(parquet.error?.message).toContain('column "extra" is not declared');
  });
});
