import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import type { ColumnLineageResult, DerivedColumnLineage, SQLLineageDialect } from './index.js';
import {
  COLUMN_LINEAGE_FACET_SCHEMA_URL,
  SQL_LINEAGE_DIALECTS,
  buildColumnLineageFacet,
  deriveColumnLineage,
  deriveDeclaredSchemaLineage,
} from './index.js';

function derived(result: ColumnLineageResult): DerivedColumnLineage {
  if (result.status !== 'derived')
    throw new Error(`unresolved: ${result.reason}: ${result.message}`);
  return result;
}

/** `output <- dataset field SUBTYPE` for every edge, dataset-level ones as `(dataset)`. */
function edges(result: ColumnLineageResult): string[] {
  const lineage = derived(result);
  const lines: string[] = [];
  const add = (output: string, inputs: DerivedColumnLineage['dataset']): void => {
    for (const input of inputs) {
      for (const t of input.transformations) {
        lines.push(`${output} <- ${input.dataset} ${input.field} ${t.subtype}`);
      }
    }
  };
  for (const field of lineage.fields) add(field.name, field.inputFields);
  add('(dataset)', lineage.dataset);
  return lines.sort();
}

describe('deriveColumnLineage: hostile identifiers', () => {
  it('resolves quoted names with spaces, doubled quotes and reserved words', async () => {
    const result = await deriveColumnLineage(
      'SELECT "my col" AS "out ""q""", t."select" FROM "my table" AS "t t" JOIN t ON t."from" = "t t"."my col"',
      { 'my table': ['my col'], t: ['select', 'from'] },
      { dialect: 'duckdb' },
    );
    expect(edges(result)).toEqual([
      '(dataset) <- my table my col JOIN',
      '(dataset) <- t from JOIN',
      'out "q" <- my table my col IDENTITY',
      'select <- t select IDENTITY',
    ]);
  });

  it('resolves unicode names in every dialect', async () => {
    for (const dialect of SQL_LINEAGE_DIALECTS) {
      const result = await deriveColumnLineage(
        'SELECT "Ünïcødé 名前" AS "名前", "ß" FROM "tåble"',
        { tåble: ['Ünïcødé 名前', 'ß'] },
        { dialect },
      );
      expect(edges(result), dialect).toEqual([
        'ß <- tåble ß IDENTITY',
        '名前 <- tåble Ünïcødé 名前 IDENTITY',
      ]);
    }
  });

  it('folds only ASCII letters of unquoted PostgreSQL names', async () => {
    // PostgreSQL (UTF8) stores unquoted ÉT as "Ét": É has no ASCII lower case.
    const folded = await deriveColumnLineage(
      'SELECT ÉT, Total FROM t',
      { t: ['Ét', 'total'] },
      {
        dialect: 'postgresql',
      },
    );
    expect(edges(folded)).toEqual(['total <- t total IDENTITY', 'Ét <- t Ét IDENTITY']);
    const quotedOnly = await deriveColumnLineage(
      'SELECT ÉT FROM t',
      { t: ['ÉT'] },
      {
        dialect: 'postgresql',
      },
    );
    expect(quotedOnly).toMatchObject({ status: 'unresolved', reason: 'unknown-column' });
  });

  it('matches DuckDB names without case, and refuses when two columns differ only by case', async () => {
    const one = await deriveColumnLineage(
      'SELECT AMOUNT FROM T',
      { t: ['Amount'] },
      { dialect: 'duckdb' },
    );
    expect(edges(one)).toEqual(['Amount <- t Amount IDENTITY']);
    const two = await deriveColumnLineage(
      'SELECT amount FROM t',
      { t: ['Amount', 'amount'] },
      {
        dialect: 'duckdb',
      },
    );
    expect(two).toMatchObject({ status: 'unresolved', reason: 'ambiguous-column' });
    const exact = await deriveColumnLineage(
      'SELECT amount FROM t',
      { t: ['Amount', 'amount'] },
      {
        dialect: 'clickhouse',
      },
    );
    expect(edges(exact)).toEqual(['amount <- t amount IDENTITY']);
  });

  it('keeps a 10,000-character quoted name intact', async () => {
    const name = `${'x'.repeat(5_000)} ${'é'.repeat(4_999)}`;
    const result = await deriveColumnLineage(
      `SELECT "${name}" AS v FROM t`,
      { t: [name] },
      {
        dialect: 'postgresql',
      },
    );
    expect(derived(result).fields[0]?.inputFields[0]?.field).toBe(name);
  });

  it('treats a quoted keyword and an output named like an input column correctly', async () => {
    const result = await deriveColumnLineage(
      'SELECT "order" AS "group", "group" AS "order" FROM "where" ORDER BY "order"',
      { where: ['order', 'group'] },
      { dialect: 'postgresql' },
    );
    // ORDER BY prefers the output name: "order" is the output fed by "group".
    expect(edges(result)).toEqual([
      '(dataset) <- where group SORT',
      'group <- where order IDENTITY',
      'order <- where group IDENTITY',
    ]);
  });
});

describe('deriveColumnLineage: output names', () => {
  it('names unaliased expressions from outputColumns and checks the names the SQL gives', async () => {
    const sql = 'SELECT id, upper(name) FROM users';
    const inputs = { users: ['id', 'name'] };
    expect(await deriveColumnLineage(sql, inputs, { dialect: 'duckdb' })).toMatchObject({
      status: 'unresolved',
      reason: 'unnamed-column',
    });
    const named = await deriveColumnLineage(sql, inputs, {
      dialect: 'duckdb',
      outputColumns: ['id', 'upper(name)'],
    });
    expect(edges(named)).toEqual([
      'id <- users id IDENTITY',
      'upper(name) <- users name TRANSFORMATION',
    ]);
    for (const outputColumns of [['user_id', 'x'], ['id']]) {
      expect(
        await deriveColumnLineage(sql, inputs, { dialect: 'duckdb', outputColumns }),
      ).toMatchObject({
        status: 'unresolved',
        reason: 'output-mismatch',
      });
    }
  });

  it('throws a clear error for a dialect it does not know', async () => {
    const error = await deriveColumnLineage(
      'SELECT 1 AS a',
      {},
      {
        dialect: 'oracle' as SQLLineageDialect,
      },
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SluiceError);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((error as Error).message).toContain('"oracle"');
  });
});

describe('deriveColumnLineage: huge statements', () => {
  it('derives 1,500 computed columns over one wide input', async () => {
    const columns = Array.from({ length: 1_500 }, (_, i) => `c${i}`);
    const sql = `SELECT ${columns.map((c) => `${c} * 2 AS out_${c}`).join(', ')} FROM wide WHERE c0 > 0`;
    const lineage = derived(
      await deriveColumnLineage(sql, { wide: columns }, { dialect: 'duckdb' }),
    );
    expect(lineage.fields).toHaveLength(1_500);
    expect(lineage.fields[1_499]).toEqual({
      name: 'out_c1499',
      inputFields: [
        {
          dataset: 'wide',
          field: 'c1499',
          transformations: [{ type: 'DIRECT', subtype: 'TRANSFORMATION', masking: false }],
        },
      ],
    });
  });

  it('derives a UNION ALL of 400 relations (a chain is not a depth)', async () => {
    const names = Array.from({ length: 400 }, (_, i) => `part_${i}`);
    const sql = names.map((name) => `SELECT id FROM ${name}`).join(' UNION ALL ');
    const inputs = Object.fromEntries(names.map((name) => [name, ['id']]));
    const lineage = derived(await deriveColumnLineage(sql, inputs, { dialect: 'duckdb' }));
    expect(lineage.fields[0]?.inputFields.map((input) => input.dataset)).toEqual(names);
  });

  it('refuses statements nested past the limits and stays usable afterwards', async () => {
    const parens = `SELECT ${'('.repeat(3_000)}a${')'.repeat(3_000)} AS x FROM t`;
    expect(await deriveColumnLineage(parens, { t: ['a'] }, { dialect: 'duckdb' })).toMatchObject({
      status: 'unresolved',
    });
    let nested = 'SELECT a FROM t';
    for (let i = 0; i < 100; i++) nested = `SELECT a FROM (${nested}) s${i}`;
    expect(await deriveColumnLineage(nested, { t: ['a'] }, { dialect: 'duckdb' })).toMatchObject({
      status: 'unresolved',
    });
    const long = `SELECT a FROM t WHERE a IN (${'1,'.repeat(200_000)}1)`;
    expect(await deriveColumnLineage(long, { t: ['a'] }, { dialect: 'duckdb' })).toMatchObject({
      status: 'unresolved',
      reason: 'parse-failed',
    });
    expect(
      edges(await deriveColumnLineage('SELECT a FROM t', { t: ['a'] }, { dialect: 'duckdb' })),
    ).toEqual(['a <- t a IDENTITY']);
  });
});

describe('deriveColumnLineage: garbage', () => {
  const inputs = { orders: ['id', 'amount'] };
  const tokens = [
    'SELECT',
    'FROM',
    'WHERE',
    'JOIN',
    'ON',
    'USING',
    'WITH',
    'AS',
    '(',
    ')',
    ',',
    '*',
    'orders',
    'id',
    'amount',
    'x',
    '"q""',
    "'s'",
    '1',
    'UNION',
    'GROUP BY',
    'ORDER BY',
    'OVER',
    'CASE',
    'WHEN',
    'THEN',
    'END',
    ';',
    '.',
    '->',
    '::',
    'EXCLUDE',
    'QUALIFY',
    'LATERAL',
    '$1',
    '--',
    '/*',
  ];

  it('returns a result for random text, never a stack trace', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.constantFrom(...SQL_LINEAGE_DIALECTS),
        async (sql, dialect) => {
          const result = await deriveColumnLineage(sql, inputs, { dialect });
          expect(['derived', 'unresolved']).toContain(result.status);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns a result for random SQL token soup, and derived ones only name real inputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...tokens), { maxLength: 40 }),
        fc.constantFrom(...SQL_LINEAGE_DIALECTS),
        async (words, dialect) => {
          const result = await deriveColumnLineage(words.join(' '), inputs, { dialect });
          if (result.status === 'derived') {
            for (const field of [
              ...result.fields.flatMap((f) => f.inputFields),
              ...result.dataset,
            ]) {
              expect(field.dataset).toBe('orders');
              expect(['id', 'amount']).toContain(field.field);
            }
          } else {
            expect(result.message.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('deriveDeclaredSchemaLineage', () => {
  it('maps pass-through columns as IDENTITY and omits the rest', () => {
    const lineage = deriveDeclaredSchemaLineage(
      { orders: ['order_id', 'amount', 'status'], rates: ['currency', 'rate', 'status'] },
      ['order_id', 'amount', 'amount_eur', 'status'],
    );
    expect(lineage.fields).toEqual([
      {
        name: 'order_id',
        inputFields: [
          {
            dataset: 'orders',
            field: 'order_id',
            transformations: [{ type: 'DIRECT', subtype: 'IDENTITY', masking: false }],
          },
        ],
      },
      {
        name: 'amount',
        inputFields: [
          {
            dataset: 'orders',
            field: 'amount',
            transformations: [{ type: 'DIRECT', subtype: 'IDENTITY', masking: false }],
          },
        ],
      },
    ]);
    // `status` is in both inputs: which one passes through cannot be known.
    expect(lineage.omittedColumns).toEqual(['amount_eur', 'status']);
    expect(lineage.dataset).toEqual([]);
  });
});

describe('buildColumnLineageFacet', () => {
  it('maps relations to dataset identities and sets _producer and _schemaURL', async () => {
    const lineage = derived(
      await deriveColumnLineage(
        "SELECT customer_id, sum(amount) AS total FROM orders WHERE status = 'paid' GROUP BY 1",
        { orders: ['order_id', 'customer_id', 'amount', 'status'] },
        { dialect: 'duckdb' },
      ),
    );
    const facet = buildColumnLineageFacet(lineage, {
      producer: 'https://github.com/sluice-data/sluice/tree/v0.1.0',
      datasetOf: (relation) => ({ namespace: 'duckdb://warehouse', name: `main.${relation}` }),
    });
    expect(facet._schemaURL).toBe(COLUMN_LINEAGE_FACET_SCHEMA_URL);
    expect(facet._producer).toBe('https://github.com/sluice-data/sluice/tree/v0.1.0');
    expect(facet.fields['total']).toEqual({
      inputFields: [
        {
          namespace: 'duckdb://warehouse',
          name: 'main.orders',
          field: 'amount',
          transformations: [{ type: 'DIRECT', subtype: 'AGGREGATION', masking: false }],
        },
      ],
    });
    expect(
      facet.dataset.map((input) => `${input.field} ${input.transformations[0]?.subtype}`),
    ).toEqual(['status FILTER', 'customer_id GROUP_BY']);
  });
});
