import type { StreamRow } from './stream-connector.js';

/**
 * A table streams look records up in: `load` reads all of its rows (kept in memory by the
 * operator and read again every `refresh`). Made by `lookup.postgres(...)` or `lookup.delta(...)`.
 *
 * @example
 * ```ts
 * const customers: LookupTable = { describe: 'customers', load: async () => [{ id: 1, tier: 'gold' }] };
 * ```
 */
export interface LookupTable {
  /** What is read, for messages: `postgres://db/public.customers`. */
  readonly describe: string;
  load(): Promise<readonly StreamRow[]>;
}
