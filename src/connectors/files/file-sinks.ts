import { defineSink } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import {
  csvSinkConfig,
  duckDBSinkConfig,
  ndjsonSinkConfig,
  parquetSinkConfig,
} from '../shared/file-configs.js';

const writers = () => import('./file-writers.js');

/**
 * Writes Parquet: one file when the path ends in `.parquet` and nothing asks for more, else a
 * folder of files, hive-partitioned by `partitionBy`, split at `targetFileSize`.
 *
 * @example
 * ```ts
 * sink.parquet({ input: ref('daily'), path: 'out/daily', partitionBy: ['order_date'] });
 * ```
 */
export const parquetSink = defineSink({
  name: 'parquet',
  summary: 'Parquet file or hive-partitioned folder, replaced atomically.',
  config: parquetSinkConfig,
  write: lazy(writers, 'writeParquet'),
});

/**
 * Writes one CSV file (optionally compressed), replaced atomically.
 *
 * @example
 * ```ts
 * sink.csv({ input: ref('daily'), path: 'out/daily.csv' });
 * ```
 */
export const csvSink = defineSink({
  name: 'csv',
  summary: 'One CSV file, replaced atomically.',
  config: csvSinkConfig,
  write: lazy(writers, 'writeCSV'),
});

/**
 * Writes one NDJSON file (optionally compressed), replaced atomically.
 *
 * @example
 * ```ts
 * sink.ndjson({ input: ref('daily'), path: 'out/daily.ndjson' });
 * ```
 */
export const ndjsonSink = defineSink({
  name: 'ndjson',
  summary: 'One newline-delimited JSON file, replaced atomically.',
  config: ndjsonSinkConfig,
  write: lazy(writers, 'writeNDJSON'),
});

/**
 * Writes a table of a DuckDB database file inside one transaction that commits only when the
 * whole run succeeded.
 *
 * @example
 * ```ts
 * sink.duckdb({ input: ref('daily'), path: 'warehouse.duckdb', table: 'daily_revenue' });
 * ```
 */
export const duckDBSink = defineSink({
  name: 'duckdb',
  summary: 'A table in a DuckDB database file, written in one transaction.',
  config: duckDBSinkConfig,
  publishedRun: lazy(writers, 'duckDBSinkPublishedRun'),
  write: lazy(writers, 'writeDuckDB'),
});
