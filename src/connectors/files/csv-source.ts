import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { csvSourceConfig } from '../shared/file-configs.js';
import { fingerprintFiles } from '../shared/files-fingerprint.js';

const reader = () => import('./csv-reader.js');

/**
 * Reads CSV files with DuckDB's parallel reader. Declared columns are parsed to their types
 * while reading; lines that do not parse (a bad value, too many or too few fields) are kept by
 * the reader with their line number and quarantined, or fail the run with `onMalformed: 'fail'`.
 *
 * @example
 * ```ts
 * source.csv({ path: 'data/orders_*.csv', schema: orders, nullStrings: ['', 'NA'] });
 * ```
 */
export const csvSource = defineSource({
  name: 'csv',
  summary: 'CSV files (one or many, by glob), typed against a declared or inferred schema.',
  config: csvSourceConfig,
  read: lazy(reader, 'readCSV'),
  fingerprint: fingerprintFiles,
});

/**
 * Tab-separated files: the CSV source with a tab delimiter by default.
 *
 * @example
 * ```ts
 * source.tsv({ path: 'data/events.tsv' });
 * ```
 */
export const tsvSource = defineSource({
  name: 'tsv',
  summary: 'Tab-separated files; the csv source with a tab delimiter.',
  config: csvSourceConfig,
  read: lazy(reader, 'readTSV'),
  fingerprint: fingerprintFiles,
});
