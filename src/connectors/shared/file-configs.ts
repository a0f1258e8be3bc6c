import { z } from 'zod';
import type { Schema } from '../../core/schema.js';
import { isSchema } from '../../core/schema.js';

const schemaField = z
  .custom<Schema>(isSchema, { message: 'expected a schema built with schema({...})' })
  .optional()
  .describe('Declared columns. Rows that do not fit are quarantined. Inferred when omitted.');

const pathField = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe(
    'File path, glob (`data/*.csv`, `logs/**/*.ndjson`) or list of them, relative to the pipeline file.',
  );

const metadataColumns = z
  .array(z.enum(['_source_file', '_extracted_at', '_run_id']))
  .default([])
  .describe(
    'Metadata columns to add: `_source_file` (the file a row came from), `_extracted_at` (run start), `_run_id`.',
  );

const onMalformed = z
  .enum(['quarantine', 'fail'])
  .default('quarantine')
  .describe(
    'What to do with lines that cannot be parsed at all: quarantine them (default) or fail the run.',
  );

const schemaPolicy = z
  .enum(['strict', 'additive', 'widen', 'discard_row', 'discard_column'])
  .default('discard_row')
  .describe(
    'When the data differs from the declared schema: `strict` fails on added or missing columns; `additive` adds new columns and null-fills missing nullable ones; `widen` also widens types (int32 to int64, ...); `discard_row` (default) leaves undeclared columns out and quarantines rows with values that do not fit; `discard_column` sets such values to null and keeps the row. Changes are reported.',
  );

const inputCompression = z
  .enum(['auto', 'none', 'gzip', 'zstd'])
  .default('auto')
  .describe('Compression of the input files; `auto` decides from the extension (.gz, .zst).');

/** Config of the `csv` and `tsv` sources. */
export const csvSourceConfig = z
  .strictObject({
    path: pathField,
    schema: schemaField,
    header: z.boolean().default(true).describe('Whether the first line holds column names.'),
    delimiter: z.string().min(1).max(4).default(',').describe('Field separator.'),
    quote: z.string().max(1).default('"').describe('Quote character; empty for none.'),
    escape: z.string().max(1).default('"').describe('Escape character inside quoted fields.'),
    nullStrings: z
      .array(z.string())
      .default([''])
      .describe('Field values read as null (an empty field by default).'),
    encoding: z
      .enum(['utf-8', 'utf-16', 'latin-1'])
      .default('utf-8')
      .describe('Text encoding of the files.'),
    compression: inputCompression,
    skipRows: z.int().min(0).default(0).describe('Lines to skip before the header.'),
    dateFormat: z.string().optional().describe('strftime format of date columns, e.g. `%d/%m/%Y`.'),
    timestampFormat: z
      .string()
      .optional()
      .describe('strftime format of timestamp columns, e.g. `%d/%m/%Y %H:%M`.'),
    metadata: metadataColumns,
    onMalformed,
    schemaPolicy,
  })
  .describe('Reads CSV files (one or many, by glob).');

/** Config of the `json` and `ndjson` sources. */
export const jsonSourceConfig = z
  .strictObject({
    path: pathField,
    schema: schemaField,
    compression: inputCompression,
    metadata: metadataColumns,
    onMalformed,
    schemaPolicy,
  })
  .describe('Reads JSON documents (an array of records or one record per file) or NDJSON lines.');

/** Config of the `parquet` source. */
export const parquetSourceConfig = z
  .strictObject({
    path: pathField,
    schema: schemaField,
    hivePartitioning: z
      .boolean()
      .default(true)
      .describe('Read `key=value` folder names as partition columns.'),
    metadata: metadataColumns,
    schemaPolicy,
  })
  .describe('Reads Parquet files.');

/** The `path` option of the file sinks: a file or folder the sink replaces. */
export const sinkPath = z
  .string()
  .min(1)
  .describe(
    'Output path, relative to the pipeline file. Replaced atomically when the run succeeds.',
  );

const byteSize = z
  .union([z.int().positive(), z.string().regex(/^\d+(\.\d+)?\s*(B|KB|MB|GB|KiB|MiB|GiB)$/i)])
  .describe('A size in bytes, or with a unit: `64MB`, `1GiB`.');

/** Config of the `parquet` sink. */
export const parquetSinkConfig = z
  .strictObject({
    path: sinkPath,
    partitionBy: z
      .array(z.string().min(1))
      .default([])
      .describe('Columns to partition by, written as hive-style `col=value/` folders.'),
    compression: z
      .enum(['zstd', 'snappy', 'gzip', 'lz4', 'uncompressed'])
      .default('zstd')
      .describe('Parquet compression codec.'),
    targetFileSize: byteSize
      .optional()
      .describe('Start a new file once one reaches about this size (e.g. `128MB`).'),
    rowGroupSize: z.int().positive().optional().describe('Rows per row group.'),
  })
  .refine((config) => config.targetFileSize === undefined || config.partitionBy.length === 0, {
    message:
      'targetFileSize cannot be combined with partitionBy: the partitioned writer writes one file per partition and thread',
    path: ['targetFileSize'],
  })
  .describe('Writes Parquet: one file, or a folder of files with optional hive partitioning.');

/** Config of the `csv` sink. */
export const csvSinkConfig = z
  .strictObject({
    path: sinkPath,
    header: z.boolean().default(true).describe('Write a header line.'),
    delimiter: z.string().min(1).max(4).default(',').describe('Field separator.'),
    compression: z
      .enum(['none', 'gzip', 'zstd'])
      .default('none')
      .describe('Compress the output file.'),
  })
  .describe('Writes one CSV file.');

/** Config of the `ndjson` sink. */
export const ndjsonSinkConfig = z
  .strictObject({
    path: sinkPath,
    compression: z
      .enum(['none', 'gzip', 'zstd'])
      .default('none')
      .describe('Compress the output file.'),
  })
  .describe('Writes one newline-delimited JSON file.');

/** Config of the `duckdb` sink. */
export const duckDBSinkConfig = z
  .strictObject({
    path: sinkPath.describe('The DuckDB database file; created when missing.'),
    table: z.string().min(1).describe('Table to write, optionally `schema.table`.'),
    mode: z
      .enum(['replace', 'append'])
      .default('replace')
      .describe('`replace` swaps the table for the new rows; `append` adds them.'),
  })
  .describe('Writes a table in a DuckDB database file, in one transaction.');

export type CSVSourceConfig = z.input<typeof csvSourceConfig>;
export type JSONSourceConfig = z.input<typeof jsonSourceConfig>;
export type ParquetSourceConfig = z.input<typeof parquetSourceConfig>;
export type ParquetSinkConfig = z.input<typeof parquetSinkConfig>;
export type CSVSinkConfig = z.input<typeof csvSinkConfig>;
export type NDJSONSinkConfig = z.input<typeof ndjsonSinkConfig>;
export type DuckDBSinkConfig = z.input<typeof duckDBSinkConfig>;
