import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { mysqlSourceConfig } from './mysql-configs.js';

const reader = () => import('./mysql-reader.js');

/**
 * Reads a MySQL/MariaDB table or query into the engine, streaming rows from the server in
 * batches. Column types come from the server's result metadata (see `mysqlTypeReadings`).
 * Incremental steps push `cursor >= watermark - lagWindow` down to the server (the engine then
 * drops the rows an earlier run read) and read in cursor order. With `pageBy`, a table is read in pages by key, each page a short query.
 *
 * @example
 * ```ts
 * source.custom('mysql', { url: 'mysql://etl@db/shop', table: 'orders', incremental: { cursor: 'updated_at' }, lagWindow: '5m' });
 * ```
 */
export const mysqlSource = defineSource({
  name: 'mysql',
  summary: 'A MySQL or MariaDB table or query, read fully or incrementally by a cursor column.',
  config: mysqlSourceConfig,
  readsIncrementally: true,
  incrementalDefaults: (config) => ({ primaryKey: config.primaryKey, lagWindow: config.lagWindow }),
  read: lazy(reader, 'readMySQL'),
  // A live table has no cheap version, so its reads are never taken from the cache.
  fingerprint: () => Promise.resolve(undefined),
});
