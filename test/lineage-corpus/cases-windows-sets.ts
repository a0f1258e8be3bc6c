import type { CorpusCase } from './corpus-case.js';

/** Window functions, QUALIFY, unions and other set operations, nested CTEs. */
export const WINDOW_SET_CASES: readonly CorpusCase[] = [
  {
    name: 'running total with a frame',
    dialect: 'duckdb',
    inputs: { orders: ['order_id', 'customer_id', 'order_date', 'amount'] },
    sql: `select order_id, customer_id, amount,
            sum(amount) over (partition by customer_id order by order_date
                              rows between unbounded preceding and current row) as running_total
          from orders`,
    fields: {
      order_id: ['orders order_id IDENTITY'],
      customer_id: ['orders customer_id IDENTITY'],
      amount: ['orders amount IDENTITY'],
      running_total: [
        'orders amount AGGREGATION',
        'orders customer_id WINDOW',
        'orders order_date WINDOW',
      ],
    },
  },
  {
    name: 'QUALIFY deduplication of raw events',
    dialect: 'duckdb',
    inputs: { raw_events: ['event_id', 'payload', 'loaded_at'] },
    sql: `select * from raw_events
          qualify row_number() over (partition by event_id order by loaded_at desc) = 1`,
    fields: {
      event_id: ['raw_events event_id IDENTITY'],
      payload: ['raw_events payload IDENTITY'],
      loaded_at: ['raw_events loaded_at IDENTITY'],
    },
    dataset: ['raw_events event_id FILTER', 'raw_events loaded_at FILTER'],
  },
  {
    name: 'lag for days since the previous order',
    dialect: 'duckdb',
    inputs: { orders: ['order_id', 'customer_id', 'order_date'] },
    sql: `select customer_id, order_date,
            order_date - lag(order_date) over (partition by customer_id order by order_date) as days_since_previous
          from orders`,
    fields: {
      customer_id: ['orders customer_id IDENTITY'],
      order_date: ['orders order_date IDENTITY'],
      days_since_previous: [
        'orders order_date TRANSFORMATION',
        'orders customer_id WINDOW',
        'orders order_date WINDOW',
      ],
    },
  },
  {
    name: 'named WINDOW shared by rank and avg',
    dialect: 'duckdb',
    inputs: { products: ['product_id', 'category', 'price'] },
    sql: `select product_id, rank() over w as price_rank, avg(price) over w as avg_price
          from products window w as (partition by category order by price desc)`,
    fields: {
      product_id: ['products product_id IDENTITY'],
      price_rank: ['products category WINDOW', 'products price WINDOW'],
      avg_price: [
        'products price AGGREGATION',
        'products category WINDOW',
        'products price WINDOW',
      ],
    },
  },
  {
    name: 'sessionization through two CTEs',
    dialect: 'duckdb',
    inputs: { clicks: ['user_id', 'event_time', 'url'] },
    sql: `with ordered as (
            select user_id, event_time,
              lag(event_time) over (partition by user_id order by event_time) as prev_time
            from clicks
          ),
          flagged as (
            select user_id, event_time,
              case when prev_time is null or event_time - prev_time > interval 30 minute
                   then 1 else 0 end as new_session
            from ordered
          )
          select user_id, event_time,
            sum(new_session) over (partition by user_id order by event_time) as session_number
          from flagged`,
    fields: {
      user_id: ['clicks user_id IDENTITY'],
      event_time: ['clicks event_time IDENTITY'],
      session_number: [
        'clicks event_time CONDITIONAL',
        'clicks user_id CONDITIONAL',
        'clicks user_id WINDOW',
        'clicks event_time WINDOW',
      ],
    },
  },
  {
    name: 'top 3 per category through a ranked CTE',
    dialect: 'duckdb',
    inputs: { product_sales: ['category', 'product_id', 'revenue'] },
    sql: `with ranked as (
            select category, product_id, revenue,
              row_number() over (partition by category order by revenue desc) as rn
            from product_sales
          )
          select category, product_id, revenue from ranked where rn <= 3`,
    fields: {
      category: ['product_sales category IDENTITY'],
      product_id: ['product_sales product_id IDENTITY'],
      revenue: ['product_sales revenue IDENTITY'],
    },
    dataset: ['product_sales category FILTER', 'product_sales revenue FILTER'],
  },
  {
    name: 'seven-day moving average with QUALIFY on a plain column',
    dialect: 'duckdb',
    inputs: { daily_sales: ['day', 'sales'] },
    sql: `select day, avg(sales) over (order by day rows between 6 preceding and current row) as ma7
          from daily_sales qualify day >= date '2024-01-07'`,
    fields: {
      day: ['daily_sales day IDENTITY'],
      ma7: ['daily_sales sales AGGREGATION', 'daily_sales day WINDOW'],
    },
    dataset: ['daily_sales day FILTER'],
  },
  {
    name: 'ntile, percent_rank and first_value',
    dialect: 'duckdb',
    inputs: { scores: ['user_id', 'score'] },
    sql: `select user_id, score,
            ntile(4) over (order by score) as quartile,
            percent_rank() over (order by score) as pct,
            first_value(user_id) over (order by score desc) as top_user
          from scores`,
    fields: {
      user_id: ['scores user_id IDENTITY'],
      score: ['scores score IDENTITY'],
      quartile: ['scores score WINDOW'],
      pct: ['scores score WINDOW'],
      top_user: ['scores user_id TRANSFORMATION', 'scores score WINDOW'],
    },
  },
  {
    name: 'UNION ALL of two channels with a literal column',
    dialect: 'duckdb',
    inputs: { web_orders: ['id', 'amount'], store_orders: ['id', 'total'] },
    sql: `select id, amount, 'web' as channel from web_orders
          union all
          select id, total, 'store' from store_orders`,
    fields: {
      id: ['web_orders id IDENTITY', 'store_orders id IDENTITY'],
      amount: ['web_orders amount IDENTITY', 'store_orders total IDENTITY'],
      channel: [],
    },
  },
  {
    name: 'UNION in a CTE, aggregated and sorted by alias',
    dialect: 'duckdb',
    inputs: {
      web_orders: ['customer_id', 'amount', 'created_at'],
      store_orders: ['customer_id', 'amount'],
    },
    sql: `with all_orders as (
            select customer_id, amount from web_orders
            union
            select customer_id, amount from store_orders
          )
          select customer_id, sum(amount) as revenue from all_orders
          group by customer_id order by revenue desc`,
    fields: {
      customer_id: ['web_orders customer_id IDENTITY', 'store_orders customer_id IDENTITY'],
      revenue: ['web_orders amount AGGREGATION', 'store_orders amount AGGREGATION'],
    },
    dataset: [
      'web_orders customer_id GROUP_BY',
      'store_orders customer_id GROUP_BY',
      'web_orders amount SORT',
      'store_orders amount SORT',
    ],
  },
  {
    name: 'EXCEPT removes churned customers',
    dialect: 'duckdb',
    inputs: { customers: ['customer_id', 'name'], churned: ['customer_id', 'churned_at'] },
    sql: 'select customer_id from customers except select customer_id from churned',
    fields: { customer_id: ['customers customer_id IDENTITY'] },
    dataset: ['churned customer_id FILTER'],
  },
  {
    name: 'INTERSECT of newsletter and customers',
    dialect: 'duckdb',
    inputs: { newsletter: ['email'], customers: ['id', 'email'] },
    sql: 'select email from newsletter intersect select email from customers',
    fields: { email: ['newsletter email IDENTITY'] },
    dataset: ['customers email FILTER'],
  },
  {
    name: 'three-way UNION ALL ordered by position',
    dialect: 'duckdb',
    inputs: { t_a: ['id'], t_b: ['id'], t_c: ['id'] },
    sql: `select id, 'a' as src from t_a
          union all select id, 'b' from t_b
          union all select id, 'c' from t_c
          order by 1`,
    fields: {
      id: ['t_a id IDENTITY', 't_b id IDENTITY', 't_c id IDENTITY'],
      src: [],
    },
    dataset: ['t_a id SORT', 't_b id SORT', 't_c id SORT'],
  },
  {
    name: 'CTE nested inside a CTE',
    dialect: 'duckdb',
    inputs: { payments: ['id', 'amount'] },
    sql: `with outer_cte as (
            with inner_cte as (select id, amount * 2 as doubled from payments where amount > 0)
            select id, doubled + 1 as adjusted from inner_cte
          )
          select id, adjusted from outer_cte`,
    fields: {
      id: ['payments id IDENTITY'],
      adjusted: ['payments amount TRANSFORMATION'],
    },
    dataset: ['payments amount FILTER'],
  },
  {
    name: 'CTE chain with a filter at each level',
    dialect: 'duckdb',
    inputs: { events: ['id', 'user_id', 'kind'] },
    sql: `with a as (select * from events where kind = 'click'),
          b as (select user_id, count(*) as clicks from a group by user_id),
          c as (select * from b where clicks > 10)
          select user_id, clicks from c`,
    fields: { user_id: ['events user_id IDENTITY'], clicks: [] },
    dataset: ['events kind FILTER', 'events user_id GROUP_BY'],
  },
  {
    name: 'UNION branches with their own filters, then a window',
    dialect: 'duckdb',
    inputs: { app_events: ['user_id', 'ts', 'kind'], web_events: ['user_id', 'ts', 'kind'] },
    sql: `with unioned as (
            select user_id, ts from app_events where kind = 'open'
            union all
            select user_id, ts from web_events where kind = 'visit'
          )
          select user_id, ts, count(*) over (partition by user_id) as visits from unioned`,
    fields: {
      user_id: ['app_events user_id IDENTITY', 'web_events user_id IDENTITY'],
      ts: ['app_events ts IDENTITY', 'web_events ts IDENTITY'],
      visits: ['app_events user_id WINDOW', 'web_events user_id WINDOW'],
    },
    dataset: ['app_events kind FILTER', 'web_events kind FILTER'],
  },
  {
    name: 'ORDER BY an expression over an alias that is only an alias',
    dialect: 'duckdb',
    inputs: { orders: ['id', 'net', 'tax'] },
    sql: 'select id, net + tax as gross from orders order by abs(gross) desc, abs(id)',
    fields: {
      id: ['orders id IDENTITY'],
      gross: ['orders net TRANSFORMATION', 'orders tax TRANSFORMATION'],
    },
    dataset: ['orders net SORT', 'orders tax SORT', 'orders id SORT'],
  },
];
