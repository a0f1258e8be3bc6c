import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipeline, ref, schema, sink, source, t } from '../src/index.js';
import { query, runIn, stepOf, tempDir } from './helpers.js';

describe('inferring JSON numbers never loses precision', () => {
  const CASES = {
    // ids above 2^53 next to fractions: a double would round them
    mixed: ['{"id": 9007199254740993}', '{"id": 1.5}'],
    // between 2^63 and 2^64: does not fit int64
    unsigned: ['{"id": 9223372036854775808}', '{"id": 1}'],
    // below -2^63
    negative: ['{"id": -9223372036854775809}', '{"id": 2}'],
    // more digits than any decimal holds
    huge: ['{"id": 123456789012345678901234567890123456789012}', '{"id": 3}'],
    // a literal beyond the range of a double
    overflow: ['{"id": 1e400}', '{"id": 0.5}'],
    // nested in lists and objects
    nested: ['{"id": [9007199254740993, 0.5]}', '{"id": [18446744073709551616]}'],
    // keys that look like JSONPath syntax
    oddKeys: ['{"id": {"a[*]": 9223372036854775808, "b\\"c": 1}}', '{"id": {"a[*]": 1}}'],
  };
  const EXPECTED: Record<keyof typeof CASES, string[]> = {
    mixed: ['9007199254740993', '1.5'],
    unsigned: ['9223372036854775808', '1'],
    negative: ['-9223372036854775809', '2'],
    huge: ['123456789012345678901234567890123456789012', '3'],
    overflow: ['1e400', '0.5'],
    nested: ['[9007199254740993,0.5]', '[18446744073709551616]'],
    oddKeys: ["{'a[*]':9223372036854775808,'b\"c':1}", "{'a[*]':1,'b\"c':NULL}"],
  };

  for (const layout of ['ndjson', 'json'] as const) {
    it(`source.${layout} keeps big integers exactly (as int64, decimal(38,0) or JSON text)`, async () => {
      const dir = await tempDir();
      for (const [name, lines] of Object.entries(CASES)) {
        const text = layout === 'ndjson' ? `${lines.join('\n')}\n` : `[${lines.join(',\n')}]`;
        await writeFile(join(dir, `${name}.${layout}`), text);
        const report = await runIn(
          dir,
          pipeline('numbers', {
            steps: {
              input: source[layout]({ path: `${name}.${layout}` }),
              out: sink.parquet({ input: ref('input'), path: `out/${name}.parquet` }),
            },
          }),
        );
        expect(report.status, name).toBe('success');
        expect(stepOf(report, 'input'), name).toMatchObject({ rowsOut: 2, rowsQuarantined: 0 });
        const rows = await query(
          `SELECT CAST(id AS VARCHAR) AS id FROM '${join(dir, `out/${name}.parquet`)}'`,
        );
        const texts = rows.map((r) => String(r['id']).replaceAll(' ', ''));
        expect(texts, name).toEqual(EXPECTED[name as keyof typeof CASES]);
      }
    });
  }

  it('keeps int64 ids as int64 and plain fractions as float64', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'plain.ndjson'),
      '{"id": 9007199254740993, "neg": -5, "x": 0.1}\n{"id": 1, "neg": 7, "x": 2}\n',
    );
    const report = await runIn(
      dir,
      pipeline('plain', {
        steps: {
          input: source.ndjson({ path: 'plain.ndjson' }),
          out: sink.parquet({ input: ref('input'), path: 'out/plain.parquet' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(
      await query(
        `SELECT typeof(id) AS id, typeof(neg) AS neg, typeof(x) AS x, CAST(id AS VARCHAR) AS v FROM '${join(dir, 'out/plain.parquet')}' LIMIT 1`,
      ),
    ).toEqual([{ id: 'BIGINT', neg: 'BIGINT', x: 'DOUBLE', v: '9007199254740993' }]);
  });
});

describe('typing JSON numbers never rounds them', () => {
  it('quarantines a fraction in an integer or a narrower decimal column instead of rounding it', async () => {
    const dir = await tempDir();
    await writeFile(
      join(dir, 'declared.ndjson'),
      [
        '{"id": 1.5, "amount": 1}',
        '{"id": 2, "amount": 1.25}',
        '{"id": "3", "amount": "2.50"}',
        '{"id": 4, "amount": 1.555}',
        '{"id": "5.5", "amount": 1}',
        '{"id": 6.0, "amount": 2}',
      ].join('\n'),
    );
    const report = await runIn(
      dir,
      pipeline('declared', {
        steps: {
          input: source.ndjson({
            path: 'declared.ndjson',
            schema: schema({ id: t.int64(), amount: t.decimal(10, 2) }),
          }),
          out: sink.parquet({ input: ref('input'), path: 'out/declared.parquet' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'input')).toMatchObject({ rowsOut: 3, rowsQuarantined: 3 });
    expect(
      await query(
        `SELECT CAST(id AS VARCHAR) AS id, CAST(amount AS VARCHAR) AS amount FROM '${join(dir, 'out/declared.parquet')}' ORDER BY id`,
      ),
    ).toEqual([
      { id: '2', amount: '1.25' },
      { id: '3', amount: '2.50' },
      { id: '6', amount: '2.00' },
    ]);
  });

  it('converts a decimal sent as a JSON string exactly, beyond the digits of a double', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'money.ndjson'), '{"amount": "12345678901234567890.12"}\n');
    const report = await runIn(
      dir,
      pipeline('money', {
        steps: {
          input: source.ndjson({
            path: 'money.ndjson',
            schema: schema({ amount: t.decimal(38, 2) }),
          }),
          out: sink.parquet({ input: ref('input'), path: 'out/money.parquet' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(
      await query(
        `SELECT CAST(amount AS VARCHAR) AS amount FROM '${join(dir, 'out/money.parquet')}'`,
      ),
    ).toEqual([{ amount: '12345678901234567890.12' }]);
  });

  it('quarantines a fraction after the inference sample in a column inferred as int64', async () => {
    const dir = await tempDir();
    const lines = Array.from({ length: 10_000 }, (_, i) => `{"n": ${i}}`);
    await writeFile(join(dir, 'late.ndjson'), `${[...lines, '{"n": 0.5}'].join('\n')}\n`);
    const report = await runIn(
      dir,
      pipeline('late', {
        steps: {
          input: source.ndjson({ path: 'late.ndjson' }),
          out: sink.parquet({ input: ref('input'), path: 'out/late.parquet' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(stepOf(report, 'input')).toMatchObject({ rowsOut: 10_000, rowsQuarantined: 1 });
  });
});
