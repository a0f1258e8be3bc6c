/**
 * A copy of `record` without a prototype, so looking up a name it does not hold (`constructor`,
 * `toString`, `__proto__`) gives undefined rather than a member of `Object.prototype`. Use it
 * for records keyed by names users choose (step ids, params, columns) before indexing them.
 *
 * @example
 * ```ts
 * const state = ownKeysOnly({ orders: '42' });
 * state['constructor']; // undefined
 * ```
 */
export function ownKeysOnly<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  // Object.assign onto a prototype-less target keeps a `__proto__` key as a plain own key.
  return Object.assign(Object.create(null) as Record<string, T>, record);
}

/**
 * The value `record` holds under `key` itself: undefined for a key it only inherits, such as
 * `constructor` or `toString` on a record without that column. Inherited members of
 * `Object.prototype` are functions or objects, so plain values skip the own-property check.
 *
 * @example
 * ```ts
 * ownValue({ page: 'a' }, 'constructor'); // undefined
 * ownValue({ constructor: 'c' }, 'constructor'); // 'c'
 * ```
 */
export function ownValue(record: Readonly<Record<string, unknown>>, key: string): unknown {
  const value = record[key];
  return (typeof value === 'function' || (typeof value === 'object' && value !== null)) &&
    !Object.hasOwn(record, key)
    ? undefined
    : value;
}

/**
 * Sets `record[key] = value` as an own property, also for `__proto__`, which assignment would
 * take as a change of prototype (the value lost).
 *
 * @example
 * ```ts
 * const row = {};
 * setOwn(row, '__proto__', 'p'); // Object.keys(row) is ['__proto__']
 * ```
 */
export function setOwn(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else record[key] = value;
}
