import type { OperatorSpec } from './operator-spec.js';
import type { StreamRow } from '../contracts/stream-connector.js';

/**
 * Sets the key of the keyed steps after it (`window`, `dedupe`) that do not name their own: a
 * column, several columns, or a function of the record. A function's value is stored in a
 * column (`as`, default `key`) so windows can output it. The key holds until the next `keyBy`.
 *
 * @example
 * ```ts
 * steps: [
 *   keyBy('page'),
 *   dedupe({ ttl: '10m' }), // by page
 *   window({ window: tumbling('1m'), aggregate: { views: count() } }), // per page
 * ]
 * keyBy((r) => String(r.url).split('/')[2], { as: 'host' })
 * ```
 */
export function keyBy(
  key: string | readonly string[] | ((row: StreamRow) => unknown),
  options: { readonly as?: string } = {},
): OperatorSpec {
  if (typeof key === 'function') return { kind: 'keyBy', key: [options.as ?? 'key'], fn: key };
  return { kind: 'keyBy', key: typeof key === 'string' ? [key] : key };
}

/** Where {@link resolveKeys} reports a problem: the step's path and what to do. */
export type KeyProblem = (message: string, path: string, hint: string) => void;

/**
 * The steps with every keyed step that names no key given the key of the `keyBy` before it.
 * A `dedupe` without a key from either, and a `keyBy` without columns, are problems.
 *
 * @example
 * ```ts
 * resolveKeys([keyBy('page'), dedupe({ ttl: '1m' })], report);
 * // [keyBy('page'), { kind: 'dedupe', key: ['page'], ttlMs: 60000 }]
 * ```
 */
export function resolveKeys(steps: readonly OperatorSpec[], problem: KeyProblem): OperatorSpec[] {
  let current: readonly string[] | undefined;
  return steps.map((step, i) => {
    const path = `steps[${i}]`;
    switch (step.kind) {
      case 'keyBy':
        if (
          step.key.length === 0 ||
          step.key.some((c) => typeof c !== 'string' || c === '') ||
          (step.fn !== undefined && typeof step.fn !== 'function')
        ) {
          problem(
            'keyBy needs a column, a list of columns or a function of the record',
            path,
            "keyBy('page'), keyBy(['page', 'country']) or keyBy((r) => r.page)",
          );
          return step;
        }
        current = step.key;
        return step;
      case 'dedupe':
        if (step.key !== undefined && step.key.length > 0) return step;
        if (current === undefined) {
          problem(
            'dedupe has no key: it names none and no keyBy comes before it',
            path,
            "name the key (dedupe({ key: 'event_id', ttl: '10m' })) or put keyBy('event_id') before it",
          );
          return step;
        }
        return { ...step, key: current };
      case 'window':
        if (step.options.key !== undefined || current === undefined) return step;
        return { ...step, options: { ...step.options, key: current } };
      default:
        return step;
    }
  });
}
