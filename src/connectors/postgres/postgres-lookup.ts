import type { StreamRow } from '../../contracts/stream-connector.js';
import type { LookupTable } from '../../contracts/lookup-table.js';
import { connectPostgres, describeServer, postgresError } from './pg-connection.js';
import { quoteTableName } from './pg-names.js';

/**
 * A PostgreSQL table or query as a stream's lookup table (for `enrich`): read whole, and again
 * on every refresh.
 *
 * @example
 * ```ts
 * enrich({ lookup: postgresLookup({ url, table: 'public.customers' }), on: { record: 'customer_id', table: 'id' } });
 * ```
 */
export function postgresLookup(config: {
  readonly url: string;
  /** A table (`schema.table`) or a SELECT giving the rows. */
  readonly table?: string;
  readonly query?: string;
}): LookupTable {
  if ((config.table === undefined) === (config.query === undefined))
    throw new Error('lookup.postgres needs either table or query');
  const sql = config.query ?? `SELECT * FROM ${quoteTableName(config.table as string)}`;
  const describe = `${describeServer(config.url)}/${config.table ?? 'query'}`;
  return {
    describe,
    async load(): Promise<readonly StreamRow[]> {
      const where = { role: 'source' as const, stepId: 'lookup' };
      const client = await connectPostgres(config.url, where);
      try {
        return (await client.query(sql)).rows as StreamRow[];
      } catch (cause) {
        throw postgresError(where, `cannot read the lookup table ${describe}`, cause);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}
