import { defineSink } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { postgresSinkConfig } from './postgres-configs.js';

const writer = () => import('./postgres-writer.js');

/**
 * Writes the input into a PostgreSQL table inside the run's transaction on that server (shared
 * with the run's other PostgreSQL sinks and `sql` steps, committed when the run succeeds).
 * Append and overwrite copy the rows (`COPY FROM STDIN`) straight into the table; merge and
 * delete+insert copy them into a temporary table first and apply the mode from there (`MERGE`,
 * or `INSERT ... ON CONFLICT` before PostgreSQL 15). The target is created or widened as needed.
 * Readers see all of the run's rows or none; a failed run rolls everything back. On a full
 * refresh (`context.fullRefresh`) every mode first deletes the table's rows in that transaction,
 * so append, merge and delete+insert leave exactly the run's rows.
 *
 * @example
 * ```ts
 * sink.postgres({ input: ref('orders'), url: 'postgres://127.0.0.1/shop', table: 'orders', mode: 'merge', keys: ['id'] });
 * ```
 */
export const postgresSink = defineSink({
  name: 'postgres',
  summary: 'A PostgreSQL table: append, overwrite, merge or delete+insert, in one transaction.',
  config: postgresSinkConfig,
  warehouseTable: (config) => ({ engine: 'postgres', url: config.url, table: config.table }),
  publishedRun: lazy(writer, 'postgresSinkPublishedRun'),
  write: lazy(writer, 'writePostgres'),
});
