/**
 * What a source connector may declare for its incremental reads in its own config (a primary
 * key, a lag window); the step's `incremental` options take precedence.
 *
 * @example
 * ```ts
 * const defaults: IncrementalDefaults = { primaryKey: ['id'], lagWindow: '5m' };
 * ```
 */
export interface IncrementalDefaults {
  readonly primaryKey?: readonly string[] | undefined;
  readonly lagWindow?: string | number | undefined;
}
