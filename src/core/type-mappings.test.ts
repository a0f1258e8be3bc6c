import { describe, expect, it } from 'vitest';
import { schema, t, validateSchema } from './schema.js';
import type { LogicalType, TypeKind } from './types.js';
import { formatType } from './types.js';
import {
  fieldsToJSONSchema,
  quoteIdentifier,
  quoteLiteral,
  toDuckDBType,
  toJSONSchema,
  toParquetType,
} from './type-mappings.js';

const samples: Record<TypeKind, LogicalType> = {
  bool: { kind: 'bool' },
  int8: { kind: 'int8' },
  int16: { kind: 'int16' },
  int32: { kind: 'int32' },
  int64: { kind: 'int64' },
  float32: { kind: 'float32' },
  float64: { kind: 'float64' },
  decimal: { kind: 'decimal', precision: 12, scale: 2 },
  string: { kind: 'string' },
  binary: { kind: 'binary' },
  date: { kind: 'date' },
  timestamp: { kind: 'timestamp', tz: true },
  list: { kind: 'list', element: { kind: 'int32' } },
  struct: { kind: 'struct', fields: [{ name: 'a b', type: { kind: 'string' }, nullable: true }] },
  map: { kind: 'map', key: { kind: 'string' }, value: { kind: 'float64' } },
  json: { kind: 'json' },
};

describe('type mappings', () => {
  it('map every logical type to DuckDB', () => {
    expect(
      Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, toDuckDBType(v)])),
    ).toEqual({
      bool: 'BOOLEAN',
      int8: 'TINYINT',
      int16: 'SMALLINT',
      int32: 'INTEGER',
      int64: 'BIGINT',
      float32: 'FLOAT',
      float64: 'DOUBLE',
      decimal: 'DECIMAL(12,2)',
      string: 'VARCHAR',
      binary: 'BLOB',
      date: 'DATE',
      timestamp: 'TIMESTAMPTZ',
      list: 'INTEGER[]',
      struct: 'STRUCT("a b" VARCHAR)',
      map: 'MAP(VARCHAR, DOUBLE)',
      json: 'JSON',
    });
  });

  it('map every logical type to Parquet', () => {
    expect(toParquetType(samples.decimal)).toEqual({ physical: 'INT64', logical: 'DECIMAL(12,2)' });
    expect(toParquetType({ kind: 'decimal', precision: 9, scale: 0 }).physical).toBe('INT32');
    expect(toParquetType({ kind: 'decimal', precision: 30, scale: 0 }).physical).toBe(
      'FIXED_LEN_BYTE_ARRAY',
    );
    expect(toParquetType(samples.timestamp)).toEqual({
      physical: 'INT64',
      logical: 'TIMESTAMP(isAdjustedToUTC=true, unit=MICROS)',
    });
    expect(toParquetType(samples.list)).toEqual({
      physical: 'GROUP',
      logical: 'LIST',
      children: [{ name: 'element', type: { physical: 'INT32' } }],
    });
    for (const type of Object.values(samples)) expect(toParquetType(type).physical).toBeTruthy();
  });

  it('map every logical type to JSON Schema', () => {
    expect(toJSONSchema(samples.date)).toEqual({ type: 'string', format: 'date' });
    expect(toJSONSchema(samples.map)).toEqual({
      type: 'object',
      additionalProperties: { type: 'number' },
    });
    expect(toJSONSchema(samples.decimal)).toEqual({ type: 'number', multipleOf: 0.01 });
    const orders = schema({ id: t.int64().notNull(), note: t.string() });
    expect(fieldsToJSONSchema(orders.fields)).toEqual({
      type: 'object',
      properties: {
        id: { type: 'integer' },
        note: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      },
      required: ['id'],
    });
  });

  it('formats types the way users write them', () => {
    expect(formatType(samples.struct)).toBe('struct<a b: string>');
    expect(formatType(samples.map)).toBe('map<string, float64>');
    expect(formatType({ kind: 'timestamp', tz: false })).toBe('timestamp');
  });

  it('quotes identifiers and literals so any name or value is safe', () => {
    expect(quoteIdentifier('a"; drop table x; --')).toBe('"a""; drop table x; --"');
    expect(quoteLiteral("O'Brien")).toBe("'O''Brien'");
  });
});

describe('schema', () => {
  it('keeps columns in declared order with nullability and descriptions', () => {
    const s = schema({ id: t.int64().notNull().describe('key'), tags: t.list(t.string()) });
    expect(s.names).toEqual(['id', 'tags']);
    expect(s.field('id')).toEqual({
      name: 'id',
      type: { kind: 'int64' },
      nullable: false,
      description: 'key',
    });
    expect(s.toJSON()).toEqual([
      { name: 'id', type: 'int64', nullable: false },
      { name: 'tags', type: 'list<string>', nullable: true },
    ]);
  });

  it('reports every problem of a schema', () => {
    const s = schema({ a: t.decimal(50, 2), A: t.string(), b: t.list(t.decimal(10, 11)) });
    expect(validateSchema(s)).toEqual([
      'column "a": decimal precision must be 1..38, got 50',
      'column "A" is declared twice (names are case-insensitive)',
      'column "b[]": decimal scale must be 0..precision (10), got 11',
    ]);
  });
});
