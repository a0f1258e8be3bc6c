import { resolve } from 'node:path';
import { duckdb } from '../../contracts/duckdb-api.js';
import { DuckDBSession } from '../../contracts/duckdb-session.js';
import type { LookupTable } from '../../contracts/lookup-table.js';
import type { StreamRow } from '../../contracts/stream-connector.js';
import { loadDeltaSnapshot } from '../../table/delta-log.js';
import { deltaScanSQL, fetchDeltaFiles } from '../../table/delta-scan.js';

/**
 * A Delta table (its latest version) as a stream's lookup table (for `enrich`): read whole, and
 * again on every refresh, so new versions of the table are picked up.
 *
 * @example
 * ```ts
 * enrich({ lookup: deltaLookup({ path: 'lake/customers' }), on: { record: 'customer_id', table: 'id' } });
 * ```
 */
export function deltaLookup(config: { readonly path: string }): LookupTable {
  const location = config.path.includes('://') ? config.path : resolve(config.path);
  return {
    describe: location,
    async load(): Promise<readonly StreamRow[]> {
      const session = await DuckDBSession.create();
      const connection = await session.connect('lookup');
      try {
        const snapshot = await loadDeltaSnapshot(connection, location);
        await fetchDeltaFiles(snapshot);
        const reader = await connection.raw.runAndReadAll(
          `SELECT * FROM ${deltaScanSQL(snapshot)}`,
        );
        return reader.convertRowObjects(duckdb().JSDuckDBValueConverter) as StreamRow[];
      } finally {
        connection.close();
        session.close();
      }
    },
  };
}
