import type { CorpusCase } from './corpus-case.js';

const RAW = {
  raw_customers: ['id', 'first_name', 'last_name'],
  raw_orders: ['id', 'user_id', 'order_date', 'status'],
  raw_payments: ['id', 'order_id', 'payment_method', 'amount'],
};

const STAGED = {
  stg_customers: ['customer_id', 'first_name', 'last_name'],
  stg_orders: ['order_id', 'customer_id', 'order_date', 'status'],
  stg_payments: ['payment_id', 'order_id', 'payment_method', 'amount'],
};

/** dbt-style staging and marts, shaped like dbt's jaffle shop. */
export const JAFFLE_DBT_CASES: readonly CorpusCase[] = [
  {
    name: 'stg_customers',
    dialect: 'duckdb',
    inputs: RAW,
    sql: 'SELECT id AS customer_id, first_name, last_name FROM raw_customers',
    fields: {
      customer_id: ['raw_customers id IDENTITY'],
      first_name: ['raw_customers first_name IDENTITY'],
      last_name: ['raw_customers last_name IDENTITY'],
    },
  },
  {
    name: 'stg_orders',
    dialect: 'duckdb',
    inputs: RAW,
    sql: 'select id as order_id, user_id as customer_id, order_date, status from raw_orders',
    fields: {
      order_id: ['raw_orders id IDENTITY'],
      customer_id: ['raw_orders user_id IDENTITY'],
      order_date: ['raw_orders order_date IDENTITY'],
      status: ['raw_orders status IDENTITY'],
    },
  },
  {
    name: 'stg_payments (cents to dollars)',
    dialect: 'duckdb',
    inputs: RAW,
    sql: 'select id as payment_id, order_id, payment_method, amount / 100 as amount from raw_payments',
    fields: {
      payment_id: ['raw_payments id IDENTITY'],
      order_id: ['raw_payments order_id IDENTITY'],
      payment_method: ['raw_payments payment_method IDENTITY'],
      amount: ['raw_payments amount TRANSFORMATION'],
    },
  },
  {
    name: 'dbt source/renamed staging',
    dialect: 'duckdb',
    inputs: RAW,
    sql: `
      with source as (select * from raw_orders),
      renamed as (
        select id as order_id, user_id as customer_id,
          cast(order_date as date) as order_date, lower(status) as status
        from source
      )
      select * from renamed`,
    fields: {
      order_id: ['raw_orders id IDENTITY'],
      customer_id: ['raw_orders user_id IDENTITY'],
      order_date: ['raw_orders order_date TRANSFORMATION'],
      status: ['raw_orders status TRANSFORMATION'],
    },
  },
  {
    name: 'jaffle customers mart',
    dialect: 'duckdb',
    inputs: STAGED,
    sql: `
      with customers as (select * from stg_customers),
      orders as (select * from stg_orders),
      payments as (select * from stg_payments),
      customer_orders as (
        select customer_id, min(order_date) as first_order,
          max(order_date) as most_recent_order, count(order_id) as number_of_orders
        from orders group by customer_id
      ),
      customer_payments as (
        select orders.customer_id, sum(amount) as total_amount
        from payments left join orders on payments.order_id = orders.order_id
        group by orders.customer_id
      ),
      final as (
        select customers.customer_id, customers.first_name, customers.last_name,
          customer_orders.first_order, customer_orders.most_recent_order,
          customer_orders.number_of_orders,
          customer_payments.total_amount as customer_lifetime_value
        from customers
        left join customer_orders on customers.customer_id = customer_orders.customer_id
        left join customer_payments on customers.customer_id = customer_payments.customer_id
      )
      select * from final`,
    fields: {
      customer_id: ['stg_customers customer_id IDENTITY'],
      first_name: ['stg_customers first_name IDENTITY'],
      last_name: ['stg_customers last_name IDENTITY'],
      first_order: ['stg_orders order_date AGGREGATION'],
      most_recent_order: ['stg_orders order_date AGGREGATION'],
      number_of_orders: ['stg_orders order_id AGGREGATION'],
      customer_lifetime_value: ['stg_payments amount AGGREGATION'],
    },
    dataset: [
      'stg_orders customer_id GROUP_BY',
      'stg_payments order_id JOIN',
      'stg_orders order_id JOIN',
      'stg_customers customer_id JOIN',
      'stg_orders customer_id JOIN',
    ],
  },
  {
    name: 'jaffle orders mart (payment method pivot)',
    dialect: 'duckdb',
    inputs: STAGED,
    sql: `
      with orders as (select * from stg_orders),
      payments as (select * from stg_payments),
      order_payments as (
        select order_id,
          sum(case when payment_method = 'credit_card' then amount else 0 end) as credit_card_amount,
          sum(case when payment_method = 'coupon' then amount else 0 end) as coupon_amount,
          sum(amount) as total_amount
        from payments group by order_id
      ),
      final as (
        select orders.order_id, orders.customer_id, orders.order_date, orders.status,
          order_payments.credit_card_amount, order_payments.coupon_amount,
          order_payments.total_amount as amount
        from orders left join order_payments on orders.order_id = order_payments.order_id
      )
      select * from final`,
    fields: {
      order_id: ['stg_orders order_id IDENTITY'],
      customer_id: ['stg_orders customer_id IDENTITY'],
      order_date: ['stg_orders order_date IDENTITY'],
      status: ['stg_orders status IDENTITY'],
      credit_card_amount: [
        'stg_payments amount AGGREGATION',
        'stg_payments payment_method CONDITIONAL',
      ],
      coupon_amount: ['stg_payments amount AGGREGATION', 'stg_payments payment_method CONDITIONAL'],
      amount: ['stg_payments amount AGGREGATION'],
    },
    dataset: [
      'stg_payments order_id GROUP_BY',
      'stg_orders order_id JOIN',
      'stg_payments order_id JOIN',
    ],
  },
  {
    name: 'incremental filter on the target watermark',
    dialect: 'duckdb',
    inputs: {
      events: ['event_id', 'user_id', 'event_time'],
      events_target: ['event_id', 'event_time'],
    },
    sql: 'select * from events where event_time > (select max(event_time) from events_target)',
    fields: {
      event_id: ['events event_id IDENTITY'],
      user_id: ['events user_id IDENTITY'],
      event_time: ['events event_time IDENTITY'],
    },
    dataset: ['events event_time FILTER', 'events_target event_time FILTER'],
  },
  {
    name: 'staging with coalesce, concatenation and try_cast',
    dialect: 'duckdb',
    inputs: { raw_users: ['id', 'first_name', 'last_name', 'nickname', 'age'] },
    sql: `select id as user_id, coalesce(nickname, first_name) as display_name,
            first_name || ' ' || last_name as full_name, try_cast(age as integer) as age
          from raw_users`,
    fields: {
      user_id: ['raw_users id IDENTITY'],
      display_name: ['raw_users nickname TRANSFORMATION', 'raw_users first_name TRANSFORMATION'],
      full_name: ['raw_users first_name TRANSFORMATION', 'raw_users last_name TRANSFORMATION'],
      age: ['raw_users age TRANSFORMATION'],
    },
  },
  {
    name: 'weekly revenue with count_if and an aggregate FILTER',
    dialect: 'duckdb',
    inputs: { orders: ['id', 'status', 'amount', 'created_at'] },
    sql: `select date_trunc('week', created_at) as week,
            count_if(status = 'paid') as paid_orders,
            sum(amount) filter (where status = 'refunded') as refunded_amount
          from orders group by 1`,
    fields: {
      week: ['orders created_at TRANSFORMATION'],
      paid_orders: ['orders status AGGREGATION'],
      refunded_amount: ['orders amount AGGREGATION', 'orders status FILTER'],
    },
    dataset: ['orders created_at GROUP_BY'],
  },
  {
    name: 'ordered string_agg per customer',
    dialect: 'duckdb',
    inputs: { purchases: ['customer_id', 'product_name', 'purchased_at'] },
    sql: `select customer_id, string_agg(product_name, ', ' order by purchased_at) as products
          from purchases group by customer_id`,
    fields: {
      customer_id: ['purchases customer_id IDENTITY'],
      products: ['purchases product_name AGGREGATION', 'purchases purchased_at SORT'],
    },
    dataset: ['purchases customer_id GROUP_BY'],
  },
  {
    name: 'monthly revenue growth over a CTE joined to itself',
    dialect: 'duckdb',
    inputs: { payments: ['id', 'amount', 'paid_at'] },
    sql: `with monthly as (
            select date_trunc('month', paid_at) as month, sum(amount) as revenue
            from payments group by 1
          )
          select cur.month, cur.revenue, cur.revenue - prev.revenue as growth
          from monthly cur left join monthly prev on prev.month = cur.month - interval 1 month`,
    fields: {
      month: ['payments paid_at TRANSFORMATION'],
      revenue: ['payments amount AGGREGATION'],
      growth: ['payments amount AGGREGATION'],
    },
    dataset: ['payments paid_at GROUP_BY', 'payments paid_at JOIN'],
  },
  {
    name: 'GROUP BY ALL with date_trunc and count distinct',
    dialect: 'duckdb',
    inputs: { signups: ['user_id', 'country', 'created_at'] },
    sql: `select country, date_trunc('month', created_at) as month, count(distinct user_id) as users
          from signups group by all`,
    fields: {
      country: ['signups country IDENTITY'],
      month: ['signups created_at TRANSFORMATION'],
      users: ['signups user_id AGGREGATION'],
    },
    dataset: ['signups country GROUP_BY', 'signups created_at GROUP_BY'],
  },
  {
    name: 'aggregates with HAVING',
    dialect: 'duckdb',
    inputs: { orders: ['order_id', 'customer_id', 'amount'] },
    sql: `select customer_id, count(*) as orders_count, sum(amount) as total
          from orders group by customer_id having sum(amount) > 1000 and count(*) > 2`,
    fields: {
      customer_id: ['orders customer_id IDENTITY'],
      orders_count: [],
      total: ['orders amount AGGREGATION'],
    },
    dataset: ['orders customer_id GROUP_BY', 'orders amount FILTER'],
  },
  {
    name: 'DISTINCT with a transformation',
    dialect: 'duckdb',
    inputs: { contacts: ['id', 'customer_id', 'email'] },
    sql: 'select distinct customer_id, lower(email) as email from contacts',
    fields: {
      customer_id: ['contacts customer_id IDENTITY'],
      email: ['contacts email TRANSFORMATION'],
    },
  },
  {
    name: 'top customers ORDER BY and LIMIT',
    dialect: 'duckdb',
    inputs: { customer_ltv: ['customer_id', 'lifetime_value', 'segment'] },
    sql: `select customer_id, lifetime_value from customer_ltv
          order by lifetime_value desc, customer_id limit 10`,
    fields: {
      customer_id: ['customer_ltv customer_id IDENTITY'],
      lifetime_value: ['customer_ltv lifetime_value IDENTITY'],
    },
    dataset: ['customer_ltv lifetime_value SORT', 'customer_ltv customer_id SORT'],
  },
];
