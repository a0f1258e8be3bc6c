import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../core/errors.js';
import { decodePayload, isInvalidRecord } from '../../contracts/payload.js';
import { compareSequences } from './nats-records.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('compareSequences', () => {
  it('orders sequences numerically, beyond the range of doubles', () => {
    expect(compareSequences('9', '10')).toBeLessThan(0);
    expect(compareSequences('10', '9')).toBeGreaterThan(0);
    expect(compareSequences('42', '42')).toBe(0);
    expect(compareSequences('007', '7')).toBe(0);
    expect(compareSequences('0', '0')).toBe(0);
    expect(compareSequences('18446744073709551615', '18446744073709551614')).toBeGreaterThan(0);
    expect(compareSequences('9007199254740993', '9007199254740992')).toBeGreaterThan(0);
  });

  it('refuses text that is not a sequence', () => {
    expect(() => compareSequences('1-0', '2')).toThrow(SluiceError);
    expect(() => compareSequences('2', '')).toThrow(/"" is not a JetStream stream sequence/);
  });
});

describe('decodePayload', () => {
  it('returns the fields of a JSON object', () => {
    expect(decodePayload(bytes('{"id":1,"tags":["a"],"n":null}'))).toEqual({
      id: 1,
      tags: ['a'],
      n: null,
    });
  });

  it('keeps anything else whole, with the reason', () => {
    const cases: [Uint8Array, string, string][] = [
      [bytes('{"id":'), 'the payload is not JSON: ', '{"id":'],
      [bytes('"text"'), 'the payload is a JSON string, not an object', '"text"'],
      [bytes('null'), 'the payload is JSON null, not an object', 'null'],
      [bytes('  '), 'the payload is empty', '  '],
      [new Uint8Array([0xc3, 0x28]), 'the payload is not UTF-8 text', 'wyg='],
    ];
    for (const [payload, reason, kept] of cases) {
      const value = decodePayload(payload);
      expect(isInvalidRecord(value)).toBe(true);
      expect(String(value['_sluice_invalid'])).toContain(reason);
      expect(value['_sluice_payload']).toBe(kept);
    }
    expect(isInvalidRecord({ id: 1 })).toBe(false);
  });
});
