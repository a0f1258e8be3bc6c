import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { postgresSourceConfig } from './postgres-configs.js';

const reader = () => import('./postgres-reader.js');

/**
 * Reads a PostgreSQL table or query into the step's dataset. Rows travel with
 * `COPY (...) TO STDOUT (FORMAT csv)`, the server's fastest export, into a temporary file that
 * DuckDB loads with every column converted to its logical type (numeric(p,s) as decimals,
 * timestamptz in UTC, arrays as lists, jsonb as JSON, bytea as binary, uuid and enums as text).
 * With `incremental: { cursor }`, only rows at or past the last watermark (minus `lagWindow`)
 * are read, the predicate running on the server; the engine drops the ones read before.
 *
 * @example
 * ```ts
 * source.postgres({ url: 'postgres://127.0.0.1/shop', table: 'orders', incremental: { cursor: 'updated_at' }, lagWindow: '5 minutes' });
 * ```
 */
export const postgresSource = defineSource({
  name: 'postgres',
  summary: 'A PostgreSQL table or query, fully or incrementally by a cursor column.',
  config: postgresSourceConfig,
  readsIncrementally: true,
  incrementalDefaults: (config) => ({ lagWindow: config.lagWindow }),
  read: lazy(reader, 'readPostgres'),
});
