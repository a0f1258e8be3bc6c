import { pipeline, ref, schema, sink, source, sql, t } from 'sluice';
import type { Warehouse } from 'sluice';

/** The shop API (`demo-api.ts` serves one) and the warehouse the data is loaded into. */
const api = process.env['SLUICE_EXAMPLE_API'] ?? 'http://127.0.0.1:8787';
const url =
  process.env['SLUICE_EXAMPLE_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432/sluice_example';
const warehouse: Warehouse = { engine: 'postgres', url };

/** What the API returns; records that do not fit are quarantined with the reason. */
const customer = schema({
  id: t.int64().notNull(),
  name: t.string(),
  email: t.string(),
  country: t.string(),
  tier: t.string(),
  updated_at: t.timestamptz().notNull(),
});
const order = schema({
  order_id: t.int64().notNull(),
  customer_id: t.int64().notNull(),
  amount: t.decimal(12, 2),
  status: t.string(),
  items: t.json(),
  updated_at: t.timestamptz().notNull(),
});

export default pipeline('api_to_warehouse', {
  description:
    'Customers and orders from a REST API, loaded into PostgreSQL and modelled there: an incremental merge and an SCD2 snapshot.',
  schedule: { every: '1h' },
  retries: { retries: 2, delay: '30s' },
  maxActiveRuns: 1,
  steps: {
    // Extract: only what changed since the last successful run (`updated_since`), every page.
    customers: source.rest({
      url: `${api}/customers`,
      recordsPath: '$.data',
      schema: customer,
      pagination: { type: 'cursor', cursorPath: '$.next_cursor', cursorParam: 'cursor' },
      incrementalParam: 'updated_since',
      incremental: { cursor: 'updated_at' },
    }),
    orders: source.rest({
      url: `${api}/orders`,
      recordsPath: '$.data',
      schema: order,
      pagination: { type: 'page', pageSize: 2 },
      incrementalParam: 'updated_since',
      incremental: { cursor: 'updated_at' },
    }),

    // Load: upsert into raw tables, in the run's transaction on the warehouse.
    raw_customers: sink.postgres({
      input: ref('customers'),
      url,
      table: 'raw.customers',
      mode: 'merge',
      keys: ['id'],
    }),
    raw_orders: sink.postgres({
      input: ref('orders'),
      url,
      table: 'raw.orders',
      mode: 'merge',
      keys: ['order_id'],
    }),

    // Transform in the warehouse. Orders with their customer's country, merged by order id:
    // each run touches only orders updated after the newest one already in the table.
    orders_enriched: sql`
      select o.order_id, o.customer_id, c.country, o.status, o.amount,
             jsonb_array_length(o.items::jsonb) as item_count, o.updated_at
        from ${ref('raw_orders')} o
        join ${ref('raw_customers')} c on c.id = o.customer_id`.options({
      warehouse,
      table: 'analytics.orders_enriched',
      materialize: 'incremental',
      incremental: { strategy: 'merge', uniqueKey: ['order_id'], cursor: 'updated_at' },
    }),
    // Revenue per country, rebuilt every run from the enriched orders.
    revenue_by_country: sql`
      select country, count(*)::int as orders, sum(amount) as revenue
        from ${ref('orders_enriched')} where status <> 'canceled' group by country`.options({
      warehouse,
      table: 'analytics.revenue_by_country',
      materialize: 'table',
    }),
    // Every version of every customer (type-2 history), with validity columns.
    customers_history:
      sql`select id, name, email, country, tier, updated_at from ${ref('raw_customers')}`.options({
        warehouse,
        table: 'snapshots.customers',
        materialize: 'snapshot',
        snapshot: { uniqueKey: ['id'], strategy: 'timestamp', updatedAt: 'updated_at' },
      }),
  },
});
