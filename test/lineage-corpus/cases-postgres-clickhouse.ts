import type { CorpusCase } from './corpus-case.js';

/** PostgreSQL- and ClickHouse-flavoured statements, name matching of each dialect included. */
export const POSTGRES_CLICKHOUSE_CASES: readonly CorpusCase[] = [
  {
    name: 'PostgreSQL quoted mixed-case names, :: casts and ILIKE',
    dialect: 'postgresql',
    inputs: { RawUsers: ['UserId', 'Email', 'created_at'] },
    sql: `SELECT "UserId" AS user_id, "Email"::text AS email, created_at::date AS signup_date
          FROM "RawUsers" WHERE "Email" ILIKE '%@example.com'`,
    fields: {
      user_id: ['RawUsers UserId IDENTITY'],
      email: ['RawUsers Email TRANSFORMATION'],
      signup_date: ['RawUsers created_at TRANSFORMATION'],
    },
    dataset: ['RawUsers Email FILTER'],
  },
  {
    name: 'PostgreSQL folds unquoted names to lower case',
    dialect: 'postgresql',
    inputs: { orders: ['id', 'total'] },
    sql: 'SELECT Id, TOTAL FROM Orders',
    fields: { id: ['orders id IDENTITY'], total: ['orders total IDENTITY'] },
  },
  {
    name: 'PostgreSQL dense_rank in a CTE, filtered and sorted by rank',
    dialect: 'postgresql',
    inputs: { accounts: ['account_id', 'balance', 'owner'] },
    sql: `WITH ranked AS (
            SELECT account_id, balance, dense_rank() OVER (ORDER BY balance DESC) AS r FROM accounts
          )
          SELECT account_id, balance FROM ranked WHERE r <= 10 ORDER BY r`,
    fields: {
      account_id: ['accounts account_id IDENTITY'],
      balance: ['accounts balance IDENTITY'],
    },
    dataset: ['accounts balance FILTER', 'accounts balance SORT'],
  },
  {
    name: 'PostgreSQL GROUP BY ROLLUP',
    dialect: 'postgresql',
    inputs: { sales: ['region', 'country', 'amount'] },
    sql: 'SELECT region, country, sum(amount) AS total FROM sales GROUP BY ROLLUP (region, country)',
    fields: {
      region: ['sales region IDENTITY'],
      country: ['sales country IDENTITY'],
      total: ['sales amount AGGREGATION'],
    },
    dataset: ['sales region GROUP_BY', 'sales country GROUP_BY'],
  },
  {
    name: 'PostgreSQL schema-qualified relations with a correlated EXISTS',
    dialect: 'postgresql',
    inputs: { 'public.orders': ['id', 'amount'], 'public.refunds': ['order_id'] },
    sql: `SELECT o.id FROM public.orders o
          WHERE EXISTS (SELECT 1 FROM public.refunds r WHERE r.order_id = o.id)`,
    fields: { id: ['public.orders id IDENTITY'] },
    dataset: ['public.refunds order_id FILTER', 'public.orders id FILTER'],
  },
  {
    name: 'PostgreSQL percentile_cont WITHIN GROUP',
    dialect: 'postgresql',
    inputs: { deliveries: ['region', 'minutes'] },
    sql: `SELECT region, percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) AS median_minutes
          FROM deliveries GROUP BY region`,
    fields: {
      region: ['deliveries region IDENTITY'],
      median_minutes: ['deliveries minutes AGGREGATION'],
    },
    dataset: ['deliveries region GROUP_BY'],
  },
  {
    name: 'PostgreSQL COALESCE over a LEFT JOIN with a CASE flag',
    dialect: 'postgresql',
    inputs: { accounts: ['id', 'plan'], usage: ['account_id', 'events'] },
    sql: `SELECT a.id, COALESCE(u.events, 0) AS events,
                 CASE WHEN a.plan = 'free' AND u.events > 1000 THEN true ELSE false END AS upsell
          FROM accounts a LEFT JOIN usage u ON u.account_id = a.id`,
    fields: {
      id: ['accounts id IDENTITY'],
      events: ['usage events TRANSFORMATION'],
      upsell: ['accounts plan CONDITIONAL', 'usage events CONDITIONAL'],
    },
    dataset: ['usage account_id JOIN', 'accounts id JOIN'],
  },
  {
    name: 'ClickHouse daily metrics with combinators, alias GROUP BY and ORDER BY',
    dialect: 'clickhouse',
    inputs: { events: ['event_time', 'user_id', 'event_type', 'revenue'] },
    sql: `SELECT toStartOfDay(event_time) AS day, uniqExact(user_id) AS dau,
                 countIf(event_type = 'purchase') AS purchases,
                 sumIf(revenue, event_type = 'purchase') AS purchase_revenue
          FROM events GROUP BY day ORDER BY day`,
    fields: {
      day: ['events event_time TRANSFORMATION'],
      dau: ['events user_id AGGREGATION'],
      purchases: ['events event_type AGGREGATION'],
      purchase_revenue: ['events revenue AGGREGATION', 'events event_type AGGREGATION'],
    },
    dataset: ['events event_time GROUP_BY', 'events event_time SORT'],
  },
  {
    name: 'ClickHouse names are case sensitive',
    dialect: 'clickhouse',
    inputs: { Events: ['UserID', 'userid'] },
    sql: 'SELECT UserID, userid AS lower_id FROM Events',
    fields: { UserID: ['Events UserID IDENTITY'], lower_id: ['Events userid IDENTITY'] },
  },
  {
    name: 'ClickHouse argMax over FINAL with PREWHERE',
    dialect: 'clickhouse',
    inputs: { subscriptions: ['user_id', 'plan', 'updated_at', 'active'] },
    sql: `SELECT user_id, argMax(plan, updated_at) AS current_plan
          FROM subscriptions FINAL PREWHERE active = 1 GROUP BY user_id`,
    fields: {
      user_id: ['subscriptions user_id IDENTITY'],
      current_plan: ['subscriptions plan AGGREGATION', 'subscriptions updated_at AGGREGATION'],
    },
    dataset: ['subscriptions active FILTER', 'subscriptions user_id GROUP_BY'],
  },
  {
    name: 'ClickHouse parametric quantile',
    dialect: 'clickhouse',
    inputs: { requests: ['service', 'latency_ms', 'status'] },
    sql: `SELECT service, quantile(0.9)(latency_ms) AS p90, avg(latency_ms) AS mean_latency
          FROM requests WHERE status >= 500 GROUP BY service`,
    fields: {
      service: ['requests service IDENTITY'],
      p90: ['requests latency_ms AGGREGATION'],
      mean_latency: ['requests latency_ms AGGREGATION'],
    },
    dataset: ['requests status FILTER', 'requests service GROUP_BY'],
  },
  {
    name: 'ClickHouse subquery with a join and if()',
    dialect: 'clickhouse',
    inputs: { orders: ['order_id', 'user_id', 'amount'], users: ['user_id', 'country'] },
    sql: `SELECT o.order_id, if(u.country = 'DE', o.amount * 1.19, o.amount) AS gross
          FROM (SELECT order_id, user_id, amount FROM orders WHERE amount > 0) AS o
          INNER JOIN users AS u ON o.user_id = u.user_id`,
    fields: {
      order_id: ['orders order_id IDENTITY'],
      gross: ['users country CONDITIONAL', 'orders amount TRANSFORMATION'],
    },
    dataset: ['orders amount FILTER', 'orders user_id JOIN', 'users user_id JOIN'],
  },
  {
    name: 'ClickHouse alias that repeats its own column, used in WHERE',
    dialect: 'clickhouse',
    inputs: { t: ['id', 'amount'] },
    sql: 'SELECT id AS id, amount * 2 AS doubled FROM t WHERE doubled > 10',
    fields: { id: ['t id IDENTITY'], doubled: ['t amount TRANSFORMATION'] },
    dataset: ['t amount FILTER'],
  },
];
