import { stream, streamSink, streamSource } from 'sluice/stream';

const url =
  process.env['SLUICE_EXAMPLE_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/sluice_example';

/**
 * Every insert, update and delete of `accounts` as it commits, merged into a Delta table that
 * mirrors it: the latest change of each account in a checkpoint wins (by log position), deletes
 * delete. One Delta commit per checkpoint with txn(appId, version): exactly once.
 */
export default stream('accounts_replica', {
  description: 'A Delta mirror of the accounts table, kept by change data capture.',
  source: streamSource.postgresCdc({ url, table: 'public.accounts' }),
  eventTime: '_committed_at',
  sink: streamSink.delta({
    path: 'lake/accounts',
    mode: 'merge',
    keys: ['id'],
    latestBy: '_lsn',
    deleteWhen: { column: '_op', equals: 'delete' },
    exclude: ['_op', '_lsn', '_committed_at'],
  }),
  checkpoint: { every: '2s' },
});
