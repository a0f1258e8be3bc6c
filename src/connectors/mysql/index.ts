export { mysqlSink } from './mysql-sink.js';
export { mysqlSource } from './mysql-source.js';
export { mysqlSinkConfig, mysqlSourceConfig } from './mysql-configs.js';
export type { MySQLSinkConfig, MySQLSourceConfig } from './mysql-configs.js';
export { mysqlColumnTypes, mysqlTypeReadings } from './mysql-types.js';
export { mysqlConnectors } from './mysql-connectors.js';
