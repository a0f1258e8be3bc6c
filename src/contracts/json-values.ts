/**
 * Makes a JS value from the engine safe for `JSON.stringify`: bigints become numbers when they
 * fit exactly and strings otherwise; dates become ISO strings; bytes become base64.
 *
 * @example
 * ```ts
 * JSON.stringify(toJSONValue({ id: 12n, at: new Date(0) })); // {"id":12,"at":"1970-01-01T00:00:00.000Z"}
 * ```
 */
export function toJSONValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJSONValue);
  if (typeof value === 'object' && value !== null) {
    // Built from entries so a key such as `__proto__` stays an own key and is not lost.
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, toJSONValue(inner)]),
    );
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

/**
 * How many numbers in a value (at any depth of arrays and objects) are NaN or infinite: the
 * values {@link toJSONValue} turns into null, since JSON has no literal for them. A writer
 * counts them so that the change is reported, never silent.
 *
 * @example
 * ```ts
 * nonFiniteNumbers({ a: NaN, b: [1, Infinity], c: 'x' }); // 2
 * ```
 */
export function nonFiniteNumbers(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? 0 : 1;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + nonFiniteNumbers(v), 0);
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    if (value instanceof Uint8Array) return 0;
    let n = 0;
    for (const inner of Object.values(value)) n += nonFiniteNumbers(inner);
    return n;
  }
  return 0;
}
