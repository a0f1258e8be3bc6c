import type { WarehouseAdapter } from '../../contracts/warehouse.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import {
  quoteClickHouseIdentifier,
  quoteClickHouseName,
  quoteClickHouseString,
} from './clickhouse-client.js';

const runner = () => import('./clickhouse-model-runner.js');

/**
 * Runs `sql` steps in ClickHouse. ClickHouse has no transactions, so every model is built in a
 * staging table beside its target during the run (`<table>__sluice_stage_..._rows`), later steps
 * of the run read the staged table, and the run's publish swaps it in (one `RENAME`) or, for
 * `append`, attaches its partitions to the target. A failed run drops the staging tables and
 * leaves every target as it was.
 *
 * @example
 * ```ts
 * sql`select country, count() as orders from ${ref('raw_orders')} group by country`.options({
 *   warehouse: { engine: 'clickhouse', url: 'http://default@127.0.0.1:8123/shop' },
 *   table: 'shop.orders_by_country', materialize: 'table',
 * });
 * ```
 */
export const clickhouseWarehouse: WarehouseAdapter = {
  role: 'warehouse',
  name: 'clickhouse',
  quoteLiteral: quoteClickHouseString,
  quoteTable: (name) => {
    const dot = name.indexOf('.');
    return dot < 0
      ? quoteClickHouseIdentifier(name)
      : quoteClickHouseName(name.slice(0, dot), name.slice(dot + 1));
  },
  run: lazy(runner, 'runClickHouseModel'),
};
