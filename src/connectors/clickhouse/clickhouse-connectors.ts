import type { BatchConnector } from '../../contracts/batch-connector.js';
import { clickhouseSink } from './clickhouse-sink.js';
import { clickhouseSource } from './clickhouse-source.js';

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
