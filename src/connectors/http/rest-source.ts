import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { childTableSuffixes } from './child-tables.js';
import { restSourceConfig } from './rest-config.js';

const reader = () => import('./rest-reader.js');

/**
 * Reads records from an HTTP JSON API into the step's dataset, following pagination, with
 * authentication, retries, a rate limit and a per-request timeout. Records are staged as JSON
 * text and typed (and flattened, or their arrays unnested into child datasets `<step>__<path>`)
 * inside DuckDB; records that do not fit the schema are quarantined.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(restSource);
 * const orders = source.custom('rest', {
 *   url: 'https://api.example.com/v1/orders',
 *   recordsPath: '$.data',
 *   pagination: { type: 'cursor', cursorPath: '$.meta.next_cursor', cursorParam: 'cursor' },
 *   auth: { type: 'bearer', token: { env: 'ORDERS_API_TOKEN' } },
 *   nested: 'child_tables',
 *   childTables: ['items'], // read with ref('orders__items')
 * });
 * ```
 */
export const restSource = defineSource({
  name: 'rest',
  summary: 'Records from an HTTP JSON API, page by page (auth, retries, rate limit).',
  config: restSourceConfig,
  // With `incrementalParam` the API filters. Without it the engine keeps rows past the
  // watermark, except with child tables, whose rows must go with their records: then the source
  // filters.
  readsIncrementally: (config) =>
    config.incrementalParam !== undefined || config.nested === 'child_tables',
  incrementalDefaults: (config) =>
    config.primaryKey === undefined
      ? {}
      : {
          primaryKey:
            typeof config.primaryKey === 'string' ? [config.primaryKey] : config.primaryKey,
        },
  childDatasets: (config) =>
    config.nested === 'child_tables' ? childTableSuffixes(config.childTables) : [],
  read: lazy(reader, 'readREST'),
});
