import { avroConnectors } from './connectors/avro/index.js';
import { clickhouseWarehouse } from './connectors/clickhouse/clickhouse-warehouse.js';
import { clickhouseConnectors } from './connectors/clickhouse/index.js';
import { fileConnectors } from './connectors/files/index.js';
import { restSource, webhookSource } from './connectors/http/index.js';
import { mysqlConnectors } from './connectors/mysql/index.js';
import { postgresConnectors, postgresWarehouse } from './connectors/postgres/index.js';
import { createRegistry } from './contracts/batch-connector.js';

/**
 * The registry runs use unless given another: the file (with Delta), Avro, PostgreSQL, MySQL,
 * ClickHouse, REST API and webhook connectors, and PostgreSQL and ClickHouse as warehouses for
 * `sql` steps. A new connector is added here, in one line.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(myApiSource);
 * ```
 */
export const defaultRegistry = createRegistry([
  ...fileConnectors,
  ...avroConnectors,
  ...postgresConnectors,
  postgresWarehouse,
  ...mysqlConnectors,
  ...clickhouseConnectors,
  clickhouseWarehouse,
  restSource,
  webhookSource,
]);
