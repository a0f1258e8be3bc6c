import type { BatchConnector } from '../../contracts/batch-connector.js';
import { csvSource, tsvSource } from './csv-source.js';
import { csvSink, duckDBSink, ndjsonSink, parquetSink } from './file-sinks.js';
import { jsonSource, ndjsonSource } from '../shared/json-source.js';
import { parquetSource } from './parquet-source.js';
import { deltaSink, deltaSource } from '../delta/index.js';

export { csvSource, tsvSource } from './csv-source.js';
export { csvSink, duckDBSink, ndjsonSink, parquetSink } from './file-sinks.js';
export { jsonSource, ndjsonSource } from '../shared/json-source.js';
export { parquetSource } from './parquet-source.js';
export * from '../shared/file-configs.js';
/**
 * @deprecated The Delta connectors moved to `sluice/connectors/delta`; these re-exports go in the
 * next release.
 */
export { deltaSink, deltaSource, deltaSinkConfig, deltaSourceConfig } from '../delta/index.js';
/** @deprecated Import from `sluice/connectors/delta`. */
export type { DeltaSinkConfig, DeltaSourceConfig } from '../delta/index.js';

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
export { fileFormatConnectors } from './file-connectors.js';
