import { pipeline, ref, sink, source, sql } from 'sluice';

/**
 * Gold: revenue, orders and customers per day and country, computed again from the whole
 * silver table on every run, so late orders land in the day they belong to.
 */
export default pipeline('gold_revenue', {
  description: 'Revenue per day and country from the silver orders.',
  triggers: [{ afterPipeline: 'silver_orders' }],
  maxActiveRuns: 1,
  steps: {
    orders: source.delta({ path: '../out/lake/silver/orders' }),
    daily_revenue: sql`
      select
        order_date,
        country,
        count(*) as orders,
        count(distinct customer_id) as customers,
        sum(amount) as revenue
      from ${ref('orders')}
      group by order_date, country
      order by order_date, country`,
    gold: sink.delta({
      input: ref('daily_revenue'),
      path: '../out/lake/gold/daily_revenue',
      mode: 'overwrite',
    }),
  },
});
