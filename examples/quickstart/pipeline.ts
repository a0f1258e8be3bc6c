import {
  check,
  expect,
  pipeline,
  ref,
  schema,
  sink,
  source,
  sql,
  suite,
  t,
  transform,
} from 'sluice';

/** The contract every order must meet; rows that do not fit are quarantined with the reason. */
const orders = schema({
  order_id: t.int64().notNull(),
  customer_id: t.string().notNull(),
  country: t.string().notNull(),
  amount: t.decimal(12, 2).notNull(),
  currency: t.string().notNull(),
  status: t.string(),
  ordered_at: t.timestamp().notNull(),
});

/** Quality gate on the combined orders: bad customer ids are set aside, duplicates are reported. */
const ordersSuite = suite('orders', [
  expect.matchesRegex('customer_id', '^c-[0-9]{3}$', { severity: 'quarantine' }),
  expect.unique('order_id', { severity: 'warn' }),
  expect.between('amount', { min: 0 }),
  expect.rowCountBetween({ min: 1 }),
]);

const EUR_PER_UNIT: Readonly<Record<string, number>> = { EUR: 1, USD: 0.92, GBP: 1.17 };

export default pipeline('quickstart', {
  description:
    'Orders from CSV and NDJSON, typed and validated, converted to EUR, revenue per day.',
  // Used by `sluice serve`; `sluice run` runs the pipeline once, now.
  schedule: { every: '1h' },
  retries: { retries: 2, delay: '5s' },
  // Its outputs are rewritten as a whole, so its runs take turns.
  maxActiveRuns: 1,
  steps: {
    orders_csv: source.csv({ path: 'data/orders.csv', schema: orders, metadata: ['_source_file'] }),
    orders_ndjson: source.ndjson({
      path: 'data/orders-*.ndjson',
      schema: orders,
      metadata: ['_source_file'],
    }),

    all_orders: sql`
      select * from ${ref('orders_csv')}
      union all by name
      select * from ${ref('orders_ndjson')}`,

    checked_orders: check({ input: ref('all_orders'), suite: ordersSuite }),

    orders_eur: transform({
      input: ref('checked_orders'),
      schema: schema({
        order_id: t.int64().notNull(),
        country: t.string(),
        status: t.string(),
        ordered_at: t.timestamp(),
        amount_eur: t.decimal(14, 2).notNull(),
      }),
      map: (order, ctx) => {
        const rate = EUR_PER_UNIT[String(order.currency)];
        if (rate === undefined) {
          ctx.quarantine(order, `no exchange rate for currency ${String(order.currency)}`);
          return null;
        }
        return { ...order, amount_eur: Math.round(Number(order.amount) * rate * 100) / 100 };
      },
    }),

    daily_revenue: sql`
      select cast(ordered_at as date) as order_date, country,
             count(*) as orders, sum(amount_eur) as revenue_eur
      from ${ref('orders_eur')}
      where status is distinct from 'canceled'
      group by all
      order by order_date, country`,

    revenue_parquet: sink.parquet({
      input: ref('daily_revenue'),
      path: 'out/daily_revenue',
      partitionBy: ['order_date'],
    }),

    // One row per order (the latest version of a repeated order id) for the merge below.
    latest_orders: sql`
      select * from ${ref('orders_eur')}
      qualify row_number() over (partition by order_id order by ordered_at desc) = 1`,

    // A Delta table upserted by order id: running the pipeline again changes nothing.
    orders_delta: sink.delta({
      input: ref('latest_orders'),
      path: 'out/orders_delta',
      mode: 'merge',
      keys: ['order_id'],
    }),
  },
});
