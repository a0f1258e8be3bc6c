import type { BatchConnector } from '../../contracts/batch-connector.js';
import { jsonSource, ndjsonSource } from '../shared/json-source.js';
import { csvSource, tsvSource } from './csv-source.js';
import { csvSink, duckDBSink, ndjsonSink, parquetSink } from './file-sinks.js';
import { parquetSource } from './parquet-source.js';

/**
 * The file format connectors: sources csv, tsv, json, ndjson, parquet; sinks parquet, csv,
 * ndjson, duckdb. Specs only: each loads its reader or writer on first use.
 *
 * @example
 * ```ts
 * const registry = createRegistry([...fileFormatConnectors, ...deltaConnectors]);
 * ```
 */
export const fileFormatConnectors: readonly BatchConnector[] = [
  csvSource,
  tsvSource,
  jsonSource,
  ndjsonSource,
  parquetSource,
  parquetSink,
  csvSink,
  ndjsonSink,
  duckDBSink,
];
