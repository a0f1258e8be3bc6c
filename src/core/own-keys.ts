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
