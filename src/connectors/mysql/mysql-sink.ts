import { defineSink } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { mysqlSinkConfig } from './mysql-configs.js';

const writer = () => import('./mysql-writer.js');

/**
 * Writes a MySQL/MariaDB table. `write` stages the rows in a side table (with
 * `LOAD DATA LOCAL INFILE` when the server allows it, else multi-row INSERTs);
 * `publish` creates or widens the target and applies the mode in one transaction, so readers
 * see all of a run's rows or none; `discard` drops the side table. On a full refresh
 * (`context.fullRefresh`) every mode deletes the table's rows in that transaction first, so the
 * table holds exactly the run's rows.
 *
 * @example
 * ```ts
 * sink.custom('mysql', { input: ref('orders'), url: 'mysql://etl@db/shop', table: 'orders', mode: 'merge', keys: ['order_id'] });
 * ```
 */
export const mysqlSink = defineSink({
  name: 'mysql',
  summary:
    'A MySQL or MariaDB table: append, overwrite, merge or delete+insert in one transaction.',
  config: mysqlSinkConfig,
  write: lazy(writer, 'writeMySQL'),
  publishedRun: lazy(writer, 'mysqlSinkPublishedRun'),
});
