import { defineSink } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { clickhouseSinkConfig } from './clickhouse-configs.js';

const writer = () => import('./clickhouse-writer.js');

/**
 * Writes the input into a ClickHouse table over HTTP. `write` loads every row into a staging
 * table beside the target (`<table>__sluice_stage_<run>_rows`, a copy of the target's structure
 * and engine) and, for `overwrite`, `merge` and `delete_insert`, builds the table's complete new
 * contents there. Nothing readers see changes until `publish`: `append` attaches the staged
 * partitions to the target, the other modes swap the staging table in with one multi-table
 * `RENAME` and drop the old table. On a full refresh (`context.fullRefresh`) append, merge and
 * delete+insert stage only the run's rows and swap them in like `overwrite`, so the target holds
 * the run's output alone. `discard` drops the staging tables.
 *
 * @example
 * ```ts
 * sink.clickhouse({ input: ref('orders'), url: 'http://127.0.0.1:8123/shop', table: 'orders', mode: 'merge', keys: ['id'] });
 * ```
 */
export const clickhouseSink = defineSink({
  name: 'clickhouse',
  summary:
    'A ClickHouse table over HTTP: append, overwrite, merge or delete+insert, published atomically when the run succeeds.',
  config: clickhouseSinkConfig,
  warehouseTable: (config) => ({ engine: 'clickhouse', url: config.url, table: config.table }),
  write: lazy(writer, 'writeClickHouse'),
});
