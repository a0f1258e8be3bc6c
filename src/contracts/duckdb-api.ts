/**
 * The values of `@duckdb/node-api` the engine, the table format and connectors use, loaded with
 * `require`.
 * An ES `import` of this CommonJS package makes Node parse each of the ~180 files it re-exports
 * (to learn their export names) before loading them, which doubled the package's load time and
 * so the start of every command that runs a pipeline. Types come from the package as usual.
 */
import { createRequire } from 'node:module';
import type * as DuckDBAPI from '@duckdb/node-api';

const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDBAPI;

export const {
  DOUBLE,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBInstance,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  INTEGER,
  JSDuckDBValueConverter,
  VARCHAR,
} = duckdb;
export type DuckDBDataChunk = DuckDBAPI.DuckDBDataChunk;
export type DuckDBDateValue = DuckDBAPI.DuckDBDateValue;
export type DuckDBInstance = DuckDBAPI.DuckDBInstance;
export type DuckDBTimestampTZValue = DuckDBAPI.DuckDBTimestampTZValue;
export type DuckDBTimestampValue = DuckDBAPI.DuckDBTimestampValue;
export type DuckDBTypeId = DuckDBAPI.DuckDBTypeId;
