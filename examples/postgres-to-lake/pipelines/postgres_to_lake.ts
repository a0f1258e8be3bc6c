import { check, expect, pipeline, ref, sink, source, suite } from 'sluice';

/** The source database; `setup.sql` creates its tables. */
const url =
  process.env['SLUICE_EXAMPLE_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/sluice_example';

/** Orders must have a known status and a non-negative amount; the others are set aside. */
const ordersSuite = suite('orders', [
  expect.notNull('order_id'),
  expect.inSet('status', ['pending', 'paid', 'shipped', 'canceled'], { severity: 'quarantine' }),
  expect.between('amount', { min: 0 }, { severity: 'quarantine' }),
]);

export default pipeline('postgres_to_lake', {
  description:
    'Orders read incrementally and customers followed by CDC, from PostgreSQL into Delta tables.',
  schedule: { every: '15m' },
  retries: { retries: 2, delay: '10s' },
  maxActiveRuns: 1,
  steps: {
    // Only orders updated since the last successful run, re-reading 5 minutes for late commits.
    orders: source.postgres({
      url,
      table: 'public.orders',
      incremental: { cursor: 'updated_at' },
      lagWindow: '5 minutes',
    }),
    checked_orders: check({ input: ref('orders'), suite: ordersSuite }),
    // Re-read rows replace themselves: the merge keeps the latest version of each order.
    orders_lake: sink.delta({
      input: ref('checked_orders'),
      path: '../out/lake/orders',
      mode: 'merge',
      keys: ['order_id'],
      latestBy: 'updated_at',
    }),

    // Every insert, update and delete of customers since the last run (a snapshot the first time).
    customers: source.postgresCdc({ url, table: 'public.customers' }),
    customers_lake: sink.delta({
      input: ref('customers'),
      path: '../out/lake/customers',
      mode: 'merge',
      keys: ['customer_id'],
      latestBy: '_lsn',
      deleteWhen: { column: '_op', equals: 'delete' },
      exclude: ['_op', '_lsn'],
    }),
  },
});
