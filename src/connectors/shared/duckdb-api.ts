/**
 * The values of `@duckdb/node-api` connectors use, loaded with `require`. An ES `import` of this
 * CommonJS package makes Node parse each of the ~180 files it re-exports (to learn their export
 * names) before loading them, which doubled the package's load time and so the start of every
 * command that loads connectors. Types come from the package as usual.
 */
import { createRequire } from 'node:module';
import type * as DuckDBAPI from '@duckdb/node-api';

const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDBAPI;

export const { DOUBLE, DuckDBDataChunk, INTEGER, JSDuckDBValueConverter, VARCHAR } = duckdb;
export type DuckDBDataChunk = DuckDBAPI.DuckDBDataChunk;
