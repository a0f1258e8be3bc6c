/** A value the canonical encoding accepts: what JSON can hold, with finite numbers only. */
export type CanonicalValue =
  | string
  | number
  | boolean
  | null
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

/**
 * The one text of a JSON value whatever the order its object keys were built in: keys sorted by
 * UTF-16 code units (as RFC 8785 does), no spaces, strings and numbers as `JSON.stringify`
 * writes them. Refuses what JSON cannot hold unchanged (NaN, infinities, undefined, functions,
 * class instances such as Date), so two encoders never disagree about the same entry.
 *
 * @example
 * ```ts
 * canonicalJSON({ b: 1, a: [true, null, 'x'] }); // '{"a":[true,null,"x"],"b":1}'
 * ```
 */
export function canonicalJSON(value: unknown): string {
  return encode(value, '$');
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`${path} is ${String(value)}, which JSON cannot hold`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((item, i) => encode(item, `${path}[${i}]`)).join(',')}]`;
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null)
        throw new TypeError(`${path} is not a plain object`);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${encode(record[key], `${path}.${key}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${path} is ${typeof value}, which JSON cannot hold`);
  }
}
