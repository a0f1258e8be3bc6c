import { describe, expect, it } from 'vitest';
import { avroReadColumns, decimalText } from './avro-read-types.js';
import { avroWriteSchema, decimalBytes } from './avro-write-types.js';
import { compressBlock, decompressBlock } from './codecs.js';
import { encodeLong } from './container-writer.js';

describe('decimal bytes', () => {
  it.each([
    ['123.45', 2, '3039'],
    ['-0.01', 2, 'ff'],
    ['0', 0, '00'],
    ['-128', 0, '80'],
    ['128', 0, '0080'],
    ['99999999999999999999999999999999.999999', 6, undefined],
  ])('%s at scale %i', (text, scale, hex) => {
    const bytes = decimalBytes(text, scale);
    if (hex !== undefined) expect(bytes.toString('hex')).toBe(hex);
    expect(decimalText(bytes, scale)).toBe(text);
  });

  it('rejects text that is not a number', () => {
    expect(() => decimalBytes('12,5', 2)).toThrow(/not a decimal number/);
  });
});

describe('zig-zag longs', () => {
  it.each([
    [0n, '00'],
    [-1n, '01'],
    [1n, '02'],
    [-64n, '7f'],
    [64n, '8001'],
    [-(2n ** 63n), 'ffffffffffffffffff01'],
  ])('%s', (value, hex) => {
    expect(encodeLong(value).toString('hex')).toBe(hex);
  });
});

describe('codecs', () => {
  it('round-trips every writable codec and refuses an unknown one', () => {
    const data = Buffer.from('avro '.repeat(100));
    for (const codec of ['null', 'deflate', 'snappy'] as const) {
      expect(decompressBlock(codec, compressBlock(codec, data))).toEqual(data);
    }
    expect(() => decompressBlock('bzip2', data)).toThrow(
      /unsupported codec "bzip2" \(supported: null, deflate, snappy, zstandard\)/,
    );
  });
});

describe('schema mapping', () => {
  it('derives a nullable union with a null default and refuses non-string map keys', () => {
    const { schema } = avroWriteSchema(
      [{ name: 'note', type: { kind: 'string' }, nullable: true }],
      'com.acme.Order',
    );
    expect(schema).toEqual({
      type: 'record',
      name: 'com.acme.Order',
      fields: [{ name: 'note', type: ['null', 'string'], default: null }],
    });
    expect(() =>
      avroWriteSchema(
        [
          {
            name: 'm',
            type: { kind: 'map', key: { kind: 'int32' }, value: { kind: 'string' } },
            nullable: true,
          },
        ],
        'R',
      ),
    ).toThrow(/Avro map keys are strings/);
  });

  it('reads a top-level schema that is not a record as an error', () => {
    expect(() => avroReadColumns('string')).toThrow(/not a record/);
  });

  it('reads an unknown logical type as its underlying type', () => {
    const [column] = avroReadColumns({
      type: 'record',
      name: 'R',
      fields: [{ name: 'x', type: { type: 'long', logicalType: 'nanos-of-something' } }],
    });
    expect(column?.field.type).toEqual({ kind: 'int64' });
  });

  it('reads top-level bytes as binary and nested bytes as base64 text', () => {
    const [top, list, record] = avroReadColumns({
      type: 'record',
      name: 'R',
      fields: [
        { name: 'raw', type: 'bytes' },
        { name: 'parts', type: { type: 'array', items: 'bytes' } },
        {
          name: 'inner',
          type: {
            type: 'record',
            name: 'I',
            fields: [{ name: 'id', type: { type: 'fixed', name: 'F', size: 2 } }],
          },
        },
      ],
    });
    expect(top?.field.type).toEqual({ kind: 'binary' });
    expect(list?.field.type).toEqual({ kind: 'list', element: { kind: 'string' } });
    expect(list?.read.convert([Buffer.from([0, 255])], false)).toEqual(['AP8=']);
    expect(record?.read.convert({ id: Buffer.from([1, 2]) }, false)).toEqual({ id: 'AQI=' });
  });
});
