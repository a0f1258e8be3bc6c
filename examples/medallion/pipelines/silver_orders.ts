import { check, expect, pipeline, ref, sink, source, sql, suite } from 'sluice';

/** What a clean order is; the rows that are not are quarantined with the failed expectation. */
const orderContract = suite('silver_orders', [
  expect.notNull('order_id', { severity: 'quarantine' }),
  expect.notNull('customer_id', { severity: 'quarantine' }),
  expect.matchesRegex('country', '^[A-Z]{2}$', { severity: 'quarantine' }),
  expect.notNull('amount', { severity: 'quarantine' }),
  expect.between('amount', { min: 0 }, { severity: 'quarantine' }),
  expect.notNull('ordered_at', { severity: 'quarantine' }),
]);

/**
 * Silver: the orders bronze received since the last successful run, typed and conformed
 * (country codes in upper case, times in UTC), checked, one row per order (a producer's retry
 * counts once), merged by order id into the silver Delta table.
 */
export default pipeline('silver_orders', {
  description: 'New bronze orders, conformed, checked, deduplicated and merged into silver.',
  schedule: { every: '5m' },
  maxActiveRuns: 1,
  steps: {
    // Only the rows bronze committed after the newest one the last successful run read.
    bronze: source.delta({
      path: '../out/lake/bronze/orders',
      incremental: { cursor: '_ingested_at' },
    }),

    // Text that does not convert becomes NULL here, and the contract below quarantines the row.
    conformed: sql`
      select
        try_cast(payload ->> '$.order_id' as bigint) as order_id,
        nullif(trim(payload ->> '$.customer_id'), '') as customer_id,
        upper(trim(payload ->> '$.country')) as country,
        try_cast(payload ->> '$.amount' as decimal(12, 2)) as amount,
        try_cast(payload ->> '$.ordered_at' as timestamptz) as ordered_at,
        payload,
        _ingested_at
      from ${ref('bronze')}`,

    checked: check({ input: ref('conformed'), suite: orderContract }),

    // An order is a fact and a retry repeats it: one row per order here, and the merge by key
    // below turns a retry that comes in a later run into an update of the same row.
    deduplicated: sql`
      select
        order_id, customer_id, country, amount, ordered_at,
        cast(ordered_at at time zone 'UTC' as date) as order_date
      from ${ref('checked')}
      qualify row_number() over (partition by order_id order by _ingested_at) = 1`,

    silver: sink.delta({
      input: ref('deduplicated'),
      path: '../out/lake/silver/orders',
      mode: 'merge',
      keys: ['order_id'],
    }),
  },
});
