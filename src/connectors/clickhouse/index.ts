import type { BatchConnector } from '../../contracts/batch-connector.js';
import { clickhouseSink } from './clickhouse-sink.js';
import { clickhouseSource } from './clickhouse-source.js';

export { clickhouseSink } from './clickhouse-sink.js';
export { clickhouseSource } from './clickhouse-source.js';
export { clickhouseSinkConfig, clickhouseSourceConfig } from './clickhouse-configs.js';
export type { ClickHouseSinkConfig, ClickHouseSourceConfig } from './clickhouse-configs.js';
export { clickhouseReading, logicalTypeOfClickHouse } from './clickhouse-read-types.js';
export type { ClickHouseReading } from './clickhouse-read-types.js';
export {
  ClickHouseConnection,
  clickhouseError,
  describeClickHouse,
  loadClickHouseDriver,
  parseClickHouseURL,
  quoteClickHouseIdentifier,
  quoteClickHouseName,
  quoteClickHouseString,
  splitClickHouseTable,
} from './clickhouse-client.js';
export type {
  ClickHouseAddress,
  ClickHouseCaller,
  ClickHouseColumn,
  ClickHouseOpenOptions,
  ClickHouseVersion,
} from './clickhouse-client.js';
export {
  clickhouseColumnType,
  clickhouseFeatures,
  clickhouseText,
  clickhouseTypeMapping,
} from './clickhouse-types.js';
export type { ClickHouseFeatures } from './clickhouse-types.js';

/**
 * The ClickHouse connectors: `source.clickhouse` and `sink.clickhouse`. They load the `@clickhouse/client` package only
 * when a step uses them.
 *
 * @example
 * ```ts
 * const registry = createRegistry([...fileConnectors, ...clickhouseConnectors]);
 * ```
 */
export const clickhouseConnectors: readonly BatchConnector[] = [clickhouseSource, clickhouseSink];
