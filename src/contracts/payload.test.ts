import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload, parseJSONExactIntegers, parseJSONObject } from './payload.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('parseJSONExactIntegers', () => {
  it('reads integers beyond 2^53 exactly, as their text, and leaves every other value as JSON.parse does', () => {
    expect(
      parseJSONExactIntegers(
        '{"id": 9007199254740993, "neg": -9007199254740993, "max": 9007199254740991, "n": 1, "f": 1.5, "e": 1e300, "u64": 18446744073709551615, "wide": 123456789012345678901234567890, "s": "9007199254740993", "nested": {"list": [1, 9223372036854775807]}}',
      ),
    ).toEqual({
      id: '9007199254740993',
      neg: '-9007199254740993',
      max: 9007199254740991,
      n: 1,
      f: 1.5,
      e: 1e300,
      u64: '18446744073709551615',
      wide: '123456789012345678901234567890',
      s: '9007199254740993',
      nested: { list: [1, '9223372036854775807'] },
    });
    // Fractions and exponents stay doubles, as JSON.parse makes them.
    expect(parseJSONExactIntegers('[90071992547409930.5, 9007199254740993e0]')).toEqual([
      Number('90071992547409930.5'),
      Number('9007199254740993'),
    ]);
  });

  it('keeps strings that look like marked numbers, escapes and __proto__ keys as they are', () => {
    const text =
      '{"a": "\\u0000sluice-integer:x:9007199254740993", "b": "q\\"9007199254740993\\"", "__proto__": 9007199254740993}';
    const value = parseJSONExactIntegers(text) as Record<string, unknown>;
    expect(value['a']).toBe('\u0000sluice-integer:x:9007199254740993');
    expect(value['b']).toBe('q"9007199254740993"');
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(value['__proto__']).toBe('9007199254740993');
  });

  it('fails on invalid JSON with the message JSON.parse gives', () => {
    const text = '{"id": 9007199254740993,}';
    let expected = '';
    try {
      JSON.parse(text);
    } catch (error) {
      expected = (error as Error).message;
    }
    expect(() => parseJSONExactIntegers(text)).toThrow(expected);
    expect(String(parseJSONObject(text, 'the line')['_sluice_invalid'])).toBe(
      `the line is not JSON: ${expected}`,
    );
  });

  it('agrees with JSON.parse on any JSON, but for integers a double rounds (property)', () => {
    // A double that JSON.stringify writes as digits beyond 2^53 reads back as that text.
    const exact = (value: unknown): unknown =>
      JSON.parse(
        JSON.stringify(value, (_key, v: unknown) =>
          typeof v === 'number' && /^-?\d+$/.test(String(v)) && !Number.isSafeInteger(v)
            ? String(v)
            : v,
        ),
      );
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
        (value, big) => {
          const text = JSON.stringify({ value, big: 0 }).replace(/"big":0}$/, `"big":${big}}`);
          const parsed = parseJSONExactIntegers(text) as { value: unknown; big: unknown };
          expect(parsed.value).toEqual(exact(JSON.parse(JSON.stringify(value))));
          expect(parsed.big).toBe(
            big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
              ? Number(big)
              : String(big),
          );
        },
      ),
      { numRuns: 2000, seed: 14 },
    );
  });
});

describe('decodePayload', () => {
  it('keeps an id beyond 2^53 exact', () => {
    expect(decodePayload(bytes('{"id":9007199254740993}'))).toEqual({ id: '9007199254740993' });
  });
});
