/**
 * The values of `@duckdb/node-api` the engine, the table format and connectors use, loaded with
 * `require` on first use.
 * An ES `import` of this CommonJS package makes Node parse each of the ~180 files it re-exports
 * (to learn their export names) before loading them, which doubled the package's load time; and
 * loading it at all (180 files and the native binding) is most of the start of a command that
 * never opens a database, such as `sluice check`. Types come from the package as usual.
 */
import { createRequire } from 'node:module';
import type * as DuckDBAPI from '@duckdb/node-api';

let loaded: typeof DuckDBAPI | undefined;

/**
 * The `@duckdb/node-api` module, loaded (with its native binding) by the first call.
 *
 * @example
 * ```ts
 * const instance = await duckdb().DuckDBInstance.create(':memory:');
 * const rows = reader.convertRowObjects(duckdb().JSDuckDBValueConverter);
 * ```
 */
export function duckdb(): typeof DuckDBAPI {
  loaded ??= createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDBAPI;
  return loaded;
}

export type DuckDBDataChunk = DuckDBAPI.DuckDBDataChunk;
export type DuckDBDateValue = DuckDBAPI.DuckDBDateValue;
export type DuckDBInstance = DuckDBAPI.DuckDBInstance;
export type DuckDBTimestampTZValue = DuckDBAPI.DuckDBTimestampTZValue;
export type DuckDBTimestampValue = DuckDBAPI.DuckDBTimestampValue;
export type DuckDBTypeId = DuckDBAPI.DuckDBTypeId;
