import { avroConnectors } from './connectors/avro/avro-connectors.js';
import { clickhouseConnectors } from './connectors/clickhouse/clickhouse-connectors.js';
import { clickhouseWarehouse } from './connectors/clickhouse/clickhouse-warehouse.js';
import { deltaConnectors } from './connectors/delta/delta-connectors.js';
import { fileFormatConnectors } from './connectors/files/file-connectors.js';
import { httpConnectors } from './connectors/http/http-connectors.js';
import { mysqlConnectors } from './connectors/mysql/mysql-connectors.js';
import { postgresConnectors } from './connectors/postgres/postgres-connectors.js';
import { postgresWarehouse } from './connectors/postgres/postgres-warehouse.js';
import { createRegistry } from './contracts/batch-connector.js';

/**
 * The registry runs use unless given another: the file (with Delta), Avro, PostgreSQL, MySQL,
 * ClickHouse, REST API and webhook connectors, and PostgreSQL and ClickHouse as warehouses for
 * `sql` steps. A new connector is added here, in one line. Each entry is a spec (name, config
 * schema, planner hooks); a connector's implementation and drivers load when a run first uses it.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(myApiSource);
 * ```
 */
export const defaultRegistry = createRegistry([
  ...fileFormatConnectors,
  ...deltaConnectors,
  ...avroConnectors,
  ...postgresConnectors,
  postgresWarehouse,
  ...mysqlConnectors,
  ...clickhouseConnectors,
  clickhouseWarehouse,
  ...httpConnectors,
]);
