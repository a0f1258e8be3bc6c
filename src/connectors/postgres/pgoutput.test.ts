import { describe, expect, it } from 'vitest';
import { PgOutputDecoder, lsnToBigInt, parsePostgresArray } from './pgoutput.js';

/** Builds a pgoutput message from its parts, as the server would send it. */
function message(parts: readonly (string | number | [number, number])[]): Buffer {
  const chunks = parts.map((part) => {
    if (typeof part === 'string') return Buffer.from(part, 'utf8');
    if (Array.isArray(part)) {
      const [value, bytes] = part;
      const buffer = Buffer.alloc(bytes);
      if (bytes === 1) buffer.writeUInt8(value);
      else if (bytes === 2) buffer.writeInt16BE(value);
      else buffer.writeInt32BE(value);
      return buffer;
    }
    return Buffer.from([part]);
  });
  return Buffer.concat(chunks);
}

describe('pgoutput', () => {
  const relation = message([
    'R',
    [16384, 4],
    'public\0',
    'items\0',
    [100, 1],
    [2, 2],
    [1, 1],
    'id\0',
    [23, 4],
    [-1, 4],
    [0, 1],
    'body\0',
    [25, 4],
    [-1, 4],
  ]);

  it('decodes relations and the row changes that refer to them', () => {
    const decoder = new PgOutputDecoder();
    const announced = decoder.decode(relation);
    expect(announced).toMatchObject({
      type: 'relation',
      relation: {
        schema: 'public',
        name: 'items',
        columns: [
          { name: 'id', isKey: true },
          { name: 'body', isKey: false },
        ],
      },
    });
    const insert = decoder.decode(message(['I', [16384, 4], 'N', [2, 2], 't', [1, 4], '7', 'n']));
    expect(insert).toMatchObject({ type: 'insert', new: ['7', null] });
    const update = decoder.decode(
      message([
        'U',
        [16384, 4],
        'O',
        [2, 2],
        't',
        [1, 4],
        '7',
        't',
        [3, 4],
        'old',
        'N',
        [2, 2],
        't',
        [1, 4],
        '7',
        'u',
      ]),
    );
    expect(update).toMatchObject({
      type: 'update',
      old: ['7', 'old'],
      new: ['7', { unchanged: true }],
    });
    const removed = decoder.decode(message(['D', [16384, 4], 'K', [2, 2], 't', [1, 4], '7', 'n']));
    expect(removed).toMatchObject({ type: 'delete', old: ['7', null] });
  });

  it('fails clearly on a change to an unannounced relation or a cut message', () => {
    const decoder = new PgOutputDecoder();
    expect(() => decoder.decode(message(['I', [9, 4], 'N', [0, 2]]))).toThrow(
      /relation 9, which was never announced/,
    );
    decoder.decode(relation);
    expect(() =>
      decoder.decode(message(['I', [16384, 4], 'N', [2, 2], 't', [10, 4], 'ab'])),
    ).toThrow(/ends early/);
  });

  it('parses array literals: quotes, escapes, commas, NULL and empty arrays', () => {
    expect(parsePostgresArray('{}')).toEqual([]);
    expect(parsePostgresArray('{1,NULL,3}')).toEqual(['1', null, '3']);
    expect(parsePostgresArray('{"a,b","say \\"hi\\"","NULL",x}')).toEqual([
      'a,b',
      'say "hi"',
      'NULL',
      'x',
    ]);
    expect(() => parsePostgresArray('1,2')).toThrow(/not an array literal/);
  });

  it('turns LSNs into ordered numbers', () => {
    expect(lsnToBigInt('0/16B3748')).toBe(23803720n);
    expect(lsnToBigInt('1/0')).toBeGreaterThan(lsnToBigInt('0/FFFFFFFF'));
  });
});
