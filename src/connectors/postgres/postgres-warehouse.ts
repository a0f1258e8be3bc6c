import { quoteLiteral } from '../../core/type-mappings.js';
import type { WarehouseAdapter } from '../../contracts/warehouse.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { quoteTableName } from './pg-names.js';

const runner = () => import('./postgres-model-runner.js');

/**
 * Runs `sql` steps in PostgreSQL, inside the run's transaction on that server (shared with its
 * PostgreSQL sinks): views and tables are rebuilt, incremental tables take the run's rows by
 * their strategy, snapshots record changes. Everything commits when the run succeeds.
 *
 * @example
 * ```ts
 * sql`select id, lower(email) as email from ${ref('raw_users')}`.options({
 *   warehouse: { engine: 'postgres', url }, table: 'analytics.users', materialize: 'table',
 * });
 * ```
 */
export const postgresWarehouse: WarehouseAdapter = {
  role: 'warehouse',
  name: 'postgres',
  quoteLiteral,
  quoteTable: quoteTableName,
  run: lazy(runner, 'runPostgresModel'),
};
