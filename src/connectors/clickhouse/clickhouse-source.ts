import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { clickhouseSourceConfig } from './clickhouse-configs.js';

const reader = () => import('./clickhouse-reader.js');

/**
 * Reads a ClickHouse table or query into the step's dataset. The server sends the rows as CSV
 * (numbers and decimals as exact text, dates as day numbers, instants in UTC, arrays of scalars
 * in an encoding no value can break) into a temporary file, which DuckDB loads with every column
 * converted to its logical type.
 *
 * @example
 * ```ts
 * source.clickhouse({ url: 'http://127.0.0.1:8123/shop', table: 'orders', where: 'amount > 0' });
 * ```
 */
export const clickhouseSource = defineSource({
  name: 'clickhouse',
  summary: 'A ClickHouse table or query, read over HTTP.',
  config: clickhouseSourceConfig,
  read: lazy(reader, 'readClickHouse'),
});
