import { describe, expect, it } from 'vitest';
import { schema, t } from './schema.js';
import { isWidening, resolveSchema } from './schema-evolution.js';

const declared = schema({
  id: t.int32().notNull(),
  note: t.string(),
  price: t.decimal(8, 2),
}).fields;
const data = [
  { name: 'ID', type: { kind: 'int64' } as const },
  { name: 'price', type: { kind: 'decimal', precision: 12, scale: 2 } as const },
  { name: 'coupon', type: { kind: 'string' } as const },
];

describe('resolveSchema', () => {
  it('strict refuses added and missing columns', () => {
    expect(resolveSchema(declared, data, 'strict').problems).toEqual([
      'declared column "note" is missing from the input',
      'column "coupon" is not declared',
    ]);
  });

  it('additive adds new columns, null-fills missing nullable ones and keeps declared types', () => {
    const r = resolveSchema(declared, data, 'additive');
    expect(r.problems).toEqual([]);
    expect(r.columns.map((c) => [c.field.name, c.field.type.kind, c.sourceName])).toEqual([
      ['id', 'int32', 'ID'],
      ['note', 'string', undefined],
      ['price', 'decimal', 'price'],
      ['coupon', 'string', 'coupon'],
    ]);
    expect(r.changes).toEqual([
      'declared column "note" is missing from the input; filled with nulls',
      'new column "coupon" (string) added',
    ]);
    expect(r.badValues).toBe('quarantine');
  });

  it('widen also widens types of the same family', () => {
    const r = resolveSchema(declared, data, 'widen');
    expect(r.columns.map((c) => [c.field.name, c.field.type])).toContainEqual([
      'id',
      { kind: 'int64' },
    ]);
    expect(r.changes).toContain('column "id" widened from int32 to int64');
    expect(r.changes).toContain('column "price" widened from decimal(8,2) to decimal(12,2)');
  });

  it('discard policies leave undeclared columns out and refuse missing ones', () => {
    const row = resolveSchema(declared, data, 'discard_row');
    expect(row.problems).toEqual(['declared column "note" is missing from the input']);
    expect(row.changes).toEqual(['column "coupon" is not declared; left out']);
    expect(resolveSchema(declared, data, 'discard_column').badValues).toBe('null');
  });

  it('refuses a missing required column even when evolving', () => {
    expect(
      resolveSchema(declared, [{ name: 'note', type: { kind: 'string' } }], 'additive').problems,
    ).toEqual(['declared column "id" is missing from the input']);
  });
});

describe('isWidening', () => {
  it.each([
    [{ kind: 'int8' }, { kind: 'int64' }, true],
    [{ kind: 'int64' }, { kind: 'int32' }, false],
    [{ kind: 'int32' }, { kind: 'float64' }, true],
    [{ kind: 'float32' }, { kind: 'float64' }, true],
    [
      { kind: 'decimal', precision: 10, scale: 2 },
      { kind: 'decimal', precision: 12, scale: 4 },
      true,
    ],
    [
      { kind: 'decimal', precision: 10, scale: 2 },
      { kind: 'decimal', precision: 10, scale: 4 },
      false,
    ],
    [{ kind: 'date' }, { kind: 'timestamp', tz: false }, true],
    [{ kind: 'string' }, { kind: 'json' }, false],
  ] as const)('%j -> %j is %s', (from, to, expected) => {
    expect(isWidening(from, to)).toBe(expected);
  });
});
