import { param, pipeline, ref, schema, sink, source, sql, t, transform } from 'sluice';

const orders = schema({
  order_id: t.int64().notNull(),
  customer: t.string().notNull(),
  amount: t.decimal(12, 2).notNull(),
  ordered_at: t.timestamp().notNull(),
});

export default pipeline('orders_daily', {
  params: { min_amount: '0' },
  steps: {
    orders: source.csv({ path: 'data/orders_*.csv', schema: orders, metadata: ['_source_file'] }),
    daily: sql`
      select customer, cast(ordered_at as date) as order_date, sum(amount) as revenue
      from ${ref('orders')}
      where amount >= cast(${param('min_amount')} as decimal(12, 2))
      group by all`,
    tiers: transform({
      input: ref('daily'),
      schema: schema({
        customer: t.string(),
        order_date: t.date(),
        revenue: t.decimal(14, 2),
        tier: t.string(),
      }),
      map: (row) => ({ ...row, tier: Number(row.revenue) >= 1000 ? 'gold' : 'standard' }),
    }),
    out: sink.parquet({ input: ref('tiers'), path: 'out/daily', partitionBy: ['order_date'] }),
  },
});
