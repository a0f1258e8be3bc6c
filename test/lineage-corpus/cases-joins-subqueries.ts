import type { CorpusCase } from './corpus-case.js';

/** Self joins, lateral joins, USING/NATURAL, `*` over joins, EXCLUDE/REPLACE, subqueries, CASE. */
export const JOIN_SUBQUERY_CASES: readonly CorpusCase[] = [
  {
    name: 'self join to the manager',
    dialect: 'duckdb',
    inputs: { employees: ['id', 'name', 'manager_id'] },
    sql: `select e.id, e.name, m.name as manager_name
          from employees e left join employees m on e.manager_id = m.id`,
    fields: {
      id: ['employees id IDENTITY'],
      name: ['employees name IDENTITY'],
      manager_name: ['employees name IDENTITY'],
    },
    dataset: ['employees manager_id JOIN', 'employees id JOIN'],
  },
  {
    name: 'self join counting peers on the same day',
    dialect: 'duckdb',
    inputs: { sessions: ['user_id', 'session_date'] },
    sql: `select a.user_id, count(distinct b.user_id) as peers
          from sessions a join sessions b
            on a.session_date = b.session_date and a.user_id <> b.user_id
          group by a.user_id`,
    fields: {
      user_id: ['sessions user_id IDENTITY'],
      peers: ['sessions user_id AGGREGATION'],
    },
    dataset: ['sessions session_date JOIN', 'sessions user_id JOIN', 'sessions user_id GROUP_BY'],
  },
  {
    name: 'comma LATERAL subquery for the last order',
    dialect: 'duckdb',
    inputs: { customers: ['id', 'name'], orders: ['id', 'customer_id', 'order_date'] },
    sql: `select c.id, l.last_order
          from customers c,
            lateral (select max(o.order_date) as last_order from orders o where o.customer_id = c.id) l`,
    fields: {
      id: ['customers id IDENTITY'],
      last_order: ['orders order_date AGGREGATION'],
    },
    dataset: ['orders customer_id FILTER', 'customers id FILTER'],
  },
  {
    name: 'LEFT JOIN LATERAL top 3 recent orders',
    dialect: 'postgresql',
    inputs: {
      customers: ['id', 'name'],
      orders: ['id', 'customer_id', 'amount', 'created_at'],
    },
    sql: `SELECT c.id AS customer_id, recent.order_id, recent.amount
          FROM customers c
          LEFT JOIN LATERAL (
            SELECT o.id AS order_id, o.amount FROM orders o
            WHERE o.customer_id = c.id ORDER BY o.created_at DESC LIMIT 3
          ) recent ON true`,
    fields: {
      customer_id: ['customers id IDENTITY'],
      order_id: ['orders id IDENTITY'],
      amount: ['orders amount IDENTITY'],
    },
    dataset: ['orders customer_id FILTER', 'customers id FILTER', 'orders created_at SORT'],
  },
  {
    name: 'SELECT * over an ON join',
    dialect: 'duckdb',
    inputs: {
      orders: ['order_id', 'customer_id', 'amount'],
      customers: ['cust_id', 'name', 'country'],
    },
    sql: 'select * from orders o join customers c on o.customer_id = c.cust_id',
    fields: {
      order_id: ['orders order_id IDENTITY'],
      customer_id: ['orders customer_id IDENTITY'],
      amount: ['orders amount IDENTITY'],
      cust_id: ['customers cust_id IDENTITY'],
      name: ['customers name IDENTITY'],
      country: ['customers country IDENTITY'],
    },
    dataset: ['orders customer_id JOIN', 'customers cust_id JOIN'],
  },
  {
    name: 'SELECT * over a USING join (DuckDB column order)',
    dialect: 'duckdb',
    inputs: { orders: ['order_id', 'customer_id', 'amount'], customers: ['customer_id', 'name'] },
    sql: 'select * from orders join customers using (customer_id)',
    fields: {
      order_id: ['orders order_id IDENTITY'],
      customer_id: ['orders customer_id IDENTITY'],
      amount: ['orders amount IDENTITY'],
      name: ['customers name IDENTITY'],
    },
    dataset: ['orders customer_id JOIN', 'customers customer_id JOIN'],
  },
  {
    name: 'SELECT * over a USING join (PostgreSQL column order)',
    dialect: 'postgresql',
    inputs: { orders: ['order_id', 'customer_id', 'amount'], customers: ['customer_id', 'name'] },
    sql: 'SELECT * FROM orders JOIN customers USING (customer_id)',
    fields: {
      customer_id: ['orders customer_id IDENTITY'],
      order_id: ['orders order_id IDENTITY'],
      amount: ['orders amount IDENTITY'],
      name: ['customers name IDENTITY'],
    },
    dataset: ['orders customer_id JOIN', 'customers customer_id JOIN'],
  },
  {
    name: 'two USING joins in a chain',
    dialect: 'duckdb',
    inputs: {
      orders: ['order_id', 'customer_id'],
      order_items: ['order_id', 'product_id', 'quantity'],
      products: ['product_id', 'name'],
    },
    sql: `select order_id, customer_id, product_id, quantity
          from orders join order_items using (order_id) join products using (product_id)`,
    fields: {
      order_id: ['orders order_id IDENTITY'],
      customer_id: ['orders customer_id IDENTITY'],
      product_id: ['order_items product_id IDENTITY'],
      quantity: ['order_items quantity IDENTITY'],
    },
    dataset: [
      'orders order_id JOIN',
      'order_items order_id JOIN',
      'order_items product_id JOIN',
      'products product_id JOIN',
    ],
  },
  {
    name: 'FULL OUTER JOIN USING merges both keys',
    dialect: 'duckdb',
    inputs: { a: ['id', 'x'], b: ['id', 'y'] },
    sql: 'select id, a.x, b.y from a full join b using (id)',
    fields: {
      id: ['a id TRANSFORMATION', 'b id TRANSFORMATION'],
      x: ['a x IDENTITY'],
      y: ['b y IDENTITY'],
    },
    dataset: ['a id JOIN', 'b id JOIN'],
  },
  {
    name: 'NATURAL JOIN with *',
    dialect: 'duckdb',
    inputs: { dept: ['dept_id', 'dept_name'], emp: ['emp_id', 'dept_id', 'emp_name'] },
    sql: 'select * from dept natural join emp',
    fields: {
      dept_id: ['dept dept_id IDENTITY'],
      dept_name: ['dept dept_name IDENTITY'],
      emp_id: ['emp emp_id IDENTITY'],
      emp_name: ['emp emp_name IDENTITY'],
    },
    dataset: ['dept dept_id JOIN', 'emp dept_id JOIN'],
  },
  {
    name: '* EXCLUDE of PII columns',
    dialect: 'duckdb',
    inputs: { users: ['id', 'name', 'ssn', 'email', 'created_at'] },
    sql: 'select * exclude (ssn, email) from users',
    fields: {
      id: ['users id IDENTITY'],
      name: ['users name IDENTITY'],
      created_at: ['users created_at IDENTITY'],
    },
  },
  {
    name: '* REPLACE with cleaned values',
    dialect: 'duckdb',
    inputs: { users: ['id', 'name', 'amount'] },
    sql: 'select * replace (upper(name) as name, round(amount, 2) as amount) from users',
    fields: {
      id: ['users id IDENTITY'],
      name: ['users name TRANSFORMATION'],
      amount: ['users amount TRANSFORMATION'],
    },
  },
  {
    name: 't.* plus a joined column',
    dialect: 'duckdb',
    inputs: { orders: ['id', 'customer_id', 'amount'], customers: ['id', 'name'] },
    sql: `select o.*, c.name as customer_name
          from orders o left join customers c on c.id = o.customer_id`,
    fields: {
      id: ['orders id IDENTITY'],
      customer_id: ['orders customer_id IDENTITY'],
      amount: ['orders amount IDENTITY'],
      customer_name: ['customers name IDENTITY'],
    },
    dataset: ['customers id JOIN', 'orders customer_id JOIN'],
  },
  {
    name: 'CASE buckets by amount',
    dialect: 'duckdb',
    inputs: { orders: ['order_id', 'amount'] },
    sql: `select order_id,
            case when amount >= 100 then 'large' when amount >= 10 then 'medium' else 'small' end as size_bucket
          from orders`,
    fields: { order_id: ['orders order_id IDENTITY'], size_bucket: ['orders amount CONDITIONAL'] },
  },
  {
    name: 'simple CASE choosing between columns',
    dialect: 'duckdb',
    inputs: { orders: ['id', 'status', 'shipped_at', 'returned_at'] },
    sql: `select id,
            case status when 'shipped' then shipped_at when 'returned' then returned_at else null end as status_changed_at
          from orders`,
    fields: {
      id: ['orders id IDENTITY'],
      status_changed_at: [
        'orders status CONDITIONAL',
        'orders shipped_at TRANSFORMATION',
        'orders returned_at TRANSFORMATION',
      ],
    },
  },
  {
    name: 'correlated scalar subquery counting orders',
    dialect: 'duckdb',
    inputs: { customers: ['id'], orders: ['id', 'customer_id'] },
    sql: `select c.id, (select count(*) from orders o where o.customer_id = c.id) as order_count
          from customers c`,
    fields: {
      id: ['customers id IDENTITY'],
      order_count: ['orders customer_id FILTER', 'customers id FILTER'],
    },
  },
  {
    name: 'uncorrelated scalar subquery in arithmetic',
    dialect: 'duckdb',
    inputs: { products: ['id', 'price'] },
    sql: 'select p.id, p.price - (select avg(price) from products) as price_vs_avg from products p',
    fields: {
      id: ['products id IDENTITY'],
      price_vs_avg: ['products price TRANSFORMATION', 'products price AGGREGATION'],
    },
  },
  {
    name: 'IN subquery filter',
    dialect: 'duckdb',
    inputs: { users: ['id', 'email'], orders: ['user_id', 'amount'] },
    sql: 'select id, email from users where id in (select user_id from orders where amount > 50)',
    fields: { id: ['users id IDENTITY'], email: ['users email IDENTITY'] },
    dataset: ['users id FILTER', 'orders user_id FILTER', 'orders amount FILTER'],
  },
  {
    name: 'EXISTS filter',
    dialect: 'duckdb',
    inputs: { customers: ['id'], orders: ['customer_id', 'status'] },
    sql: `select c.id from customers c
          where exists (select 1 from orders o where o.customer_id = c.id and o.status = 'paid')`,
    fields: { id: ['customers id IDENTITY'] },
    dataset: ['orders customer_id FILTER', 'customers id FILTER', 'orders status FILTER'],
  },
  {
    name: 'NOT EXISTS anti join with ORDER BY',
    dialect: 'duckdb',
    inputs: { products: ['sku', 'name'], inventory: ['sku', 'qty'] },
    sql: `select p.sku, p.name from products p
          where not exists (select 1 from inventory i where i.sku = p.sku) order by p.name`,
    fields: { sku: ['products sku IDENTITY'], name: ['products name IDENTITY'] },
    dataset: ['inventory sku FILTER', 'products sku FILTER', 'products name SORT'],
  },
  {
    name: 'aggregated subquery in FROM joined and filtered',
    dialect: 'duckdb',
    inputs: { customers: ['id', 'name'], payments: ['customer_id', 'amount'] },
    sql: `select c.name, t.total
          from customers c
          join (select customer_id, sum(amount) as total from payments group by customer_id) t
            on t.customer_id = c.id
          where t.total > 100`,
    fields: { name: ['customers name IDENTITY'], total: ['payments amount AGGREGATION'] },
    dataset: [
      'payments customer_id GROUP_BY',
      'payments customer_id JOIN',
      'customers id JOIN',
      'payments amount FILTER',
    ],
  },
  {
    name: 'correlated subquery against the department average',
    dialect: 'duckdb',
    inputs: { employees: ['id', 'dept', 'salary'] },
    sql: `select e.id, e.salary from employees e
          where e.salary > (select avg(i.salary) from employees i where i.dept = e.dept)`,
    fields: { id: ['employees id IDENTITY'], salary: ['employees salary IDENTITY'] },
    dataset: ['employees salary FILTER', 'employees dept FILTER'],
  },
  {
    name: 'DuckDB select-list alias reused by a later item',
    dialect: 'duckdb',
    inputs: { orders: ['id', 'net', 'tax'] },
    sql: 'select id, net + tax as gross, gross * 0.9 as discounted from orders',
    fields: {
      id: ['orders id IDENTITY'],
      gross: ['orders net TRANSFORMATION', 'orders tax TRANSFORMATION'],
      discounted: ['orders net TRANSFORMATION', 'orders tax TRANSFORMATION'],
    },
  },
  {
    name: 'three-way join of a star schema with aliases on every table',
    dialect: 'duckdb',
    inputs: {
      fct_sales: ['sale_id', 'date_key', 'store_key', 'amount'],
      dim_date: ['date_key', 'year', 'month'],
      dim_store: ['store_key', 'region'],
    },
    sql: `select d.year, s.region, sum(f.amount) as revenue
          from fct_sales f
          join dim_date d on d.date_key = f.date_key
          join dim_store s on s.store_key = f.store_key
          where d.year >= 2020
          group by d.year, s.region`,
    fields: {
      year: ['dim_date year IDENTITY'],
      region: ['dim_store region IDENTITY'],
      revenue: ['fct_sales amount AGGREGATION'],
    },
    dataset: [
      'dim_date date_key JOIN',
      'fct_sales date_key JOIN',
      'dim_store store_key JOIN',
      'fct_sales store_key JOIN',
      'dim_date year FILTER',
      'dim_date year GROUP_BY',
      'dim_store region GROUP_BY',
    ],
  },
];
