import type { BatchConnector } from '../../contracts/batch-connector.js';
import { mysqlSink } from './mysql-sink.js';
import { mysqlSource } from './mysql-source.js';

/**
 * The MySQL/MariaDB source and sink, to add to a registry (they need the `mysql2` package).
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(...mysqlConnectors);
 * ```
 */
export const mysqlConnectors: readonly BatchConnector[] = [mysqlSource, mysqlSink];
