import { describe, expect, it } from 'vitest';
import { ExactNumber, parseExactJSON, stringifyExactJSON } from './exact-json.js';

describe('parseExactJSON', () => {
  it('keeps numbers a double would round as their text, and parses the rest as JSON.parse does', () => {
    const text =
      '{"id": 9007199254740993, "n": 1, "f": 0.30000000000000004, "d": 12345678901234567.123456789, "e": 1e400, "s": "9007199254740993", "list": [18446744073709551616, -0]}';
    const parsed = parseExactJSON(text) as Record<string, unknown>;
    expect(parsed['id']).toBeInstanceOf(ExactNumber);
    expect(String(parsed['id'])).toBe('9007199254740993');
    expect(parsed['n']).toBe(1);
    expect(parsed['f']).toBe(0.30000000000000004);
    expect(String(parsed['d'])).toBe('12345678901234567.123456789');
    expect(String(parsed['e'])).toBe('1e400');
    expect(parsed['s']).toBe('9007199254740993');
    expect(String((parsed['list'] as unknown[])[0])).toBe('18446744073709551616');
    expect(Number(parsed['id'])).toBe(9007199254740992);
  });

  it('leaves numbers inside strings (with escaped quotes) alone', () => {
    const text = '["say \\"12345678901234567890\\" twice", 12345678901234567890]';
    const parsed = parseExactJSON(text) as unknown[];
    expect(parsed[0]).toBe('say "12345678901234567890" twice');
    expect(String(parsed[1])).toBe('12345678901234567890');
  });

  it("fails on invalid JSON with JSON.parse's own error", () => {
    expect(() => parseExactJSON('{"id": 12345678901234567890')).toThrow(SyntaxError);
  });

  it('round-trips through stringifyExactJSON, fractions as text when asked', () => {
    const parsed = parseExactJSON('{"id":9007199254740993,"d":0.12345678901234567891,"x":"a"}');
    expect(stringifyExactJSON(parsed)).toBe(
      '{"id":9007199254740993,"d":0.12345678901234567891,"x":"a"}',
    );
    expect(stringifyExactJSON(parsed, { fractionsAsText: true })).toBe(
      '{"id":9007199254740993,"d":"0.12345678901234567891","x":"a"}',
    );
    expect(stringifyExactJSON({ plain: 1 })).toBe('{"plain":1}');
  });
});
