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
export { clickhouseConnectors } from './clickhouse-connectors.js';
