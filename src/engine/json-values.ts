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
