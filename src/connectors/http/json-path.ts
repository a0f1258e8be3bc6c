import { JSONPath } from 'jsonpath-plus';

/**
 * Every value `path` matches in `json` (JSONPath, as implemented by `jsonpath-plus`).
 *
 * @example
 * ```ts
 * matchPath('$.meta.next', { meta: { next: 'abc' } }); // ['abc']
 * ```
 */
export function matchPath(path: string, json: unknown): unknown[] {
  return JSONPath({ path, json: json as object, wrap: true, eval: false }) as unknown[];
}

/**
 * The single value `path` points at, or undefined when it matches nothing (or only null).
 *
 * @example
 * ```ts
 * valueAt('$.total', { total: 42 }); // 42
 * ```
 */
export function valueAt(path: string, json: unknown): unknown {
  const [first] = matchPath(path, json);
  return first === null ? undefined : first;
}

/**
 * The records of a response body: what `recordsPath` matches (one array, or each match), or
 * the body itself when no path is given. Undefined when the body holds no records where
 * expected (the path matches nothing, or the body is not an array); `null` counts as no records.
 *
 * @example
 * ```ts
 * recordsOf({ data: [{ id: 1 }] }, '$.data'); // [{ id: 1 }]
 * ```
 */
export function recordsOf(body: unknown, recordsPath: string | undefined): unknown[] | undefined {
  if (recordsPath === undefined) return Array.isArray(body) ? body : undefined;
  const matches = matchPath(recordsPath, body);
  if (matches.length === 1) {
    const [only] = matches;
    if (Array.isArray(only)) return only;
    if (only === null) return [];
  }
  return matches.length === 0 ? undefined : matches;
}
