import type { BatchConnector } from '../../contracts/batch-connector.js';
import { csvSource, tsvSource } from './csv-source.js';
import { csvSink, deltaSink, duckDBSink, ndjsonSink, parquetSink } from './file-sinks.js';
import { jsonSource, ndjsonSource } from './json-source.js';
import { parquetSource } from './parquet-source.js';
import { deltaSource } from './delta-source.js';

export { csvSource, tsvSource } from './csv-source.js';
export { csvSink, deltaSink, duckDBSink, ndjsonSink, parquetSink } from './file-sinks.js';
export { jsonSource, ndjsonSource } from './json-source.js';
export { parquetSource } from './parquet-source.js';
export { deltaSource } from './delta-source.js';
export * from './file-configs.js';

/**
 * Every file connector: sources csv, tsv, json, ndjson, parquet, delta; sinks parquet, csv,
 * ndjson, duckdb, delta. The default registry holds these.
 *
 * @example
 * ```ts
 * const registry = createRegistry(fileConnectors);
 * ```
 */
export const fileConnectors: readonly BatchConnector[] = [
  csvSource,
  tsvSource,
  jsonSource,
  ndjsonSource,
  parquetSource,
  deltaSource,
  parquetSink,
  csvSink,
  ndjsonSink,
  duckDBSink,
  deltaSink,
];
