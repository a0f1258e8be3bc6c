import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { postgresCdcSourceConfig } from './postgres-configs.js';

const reader = () => import('./postgres-cdc-reader.js');

/**
 * Change data capture from PostgreSQL's logical replication (`pgoutput`). Each run emits the
 * table's changes since the last successful run as rows: the table's columns plus `_op`
 * (`snapshot`, `insert`, `update`, `delete`) and `_lsn` (the change's log position, a number
 * that orders changes). A run without state (the first, or `--full-refresh`) reads the whole
 * table as `snapshot` rows instead, which hold every change before it. A TRUNCATE of the table
 * fails the run ({@link truncatedError}): start over with `--full-refresh`, which also has the
 * run's append and merge sinks replace their targets' rows with the snapshot. The position is the
 * step's state: it is confirmed to the server (the replication slot advances, freeing WAL) only
 * at the start of the run after the one that read it succeeded, so a failed run reads the same
 * changes again. Applied as a merge by key in `_lsn` order
 * (`sink.postgres({ mode: 'merge', keys, latestBy: '_lsn', deleteWhen: { column: '_op', equals: 'delete' } })`),
 * the target converges to the source table, also where the snapshot and the next run's changes
 * overlap.
 *
 * Needs `wal_level = logical` on the server and a role allowed to replicate (or the owner with
 * REPLICATION). Creates the publication and the replication slot when missing.
 *
 * @example
 * ```ts
 * source.postgresCdc({ url: 'postgres://127.0.0.1/shop', table: 'public.orders' });
 * ```
 */
export const postgresCdcSource = defineSource({
  name: 'postgres_cdc',
  summary: 'Changes of a PostgreSQL table from logical replication (pgoutput), after a snapshot.',
  config: postgresCdcSourceConfig,
  read: lazy(reader, 'readPostgresChanges'),
});
