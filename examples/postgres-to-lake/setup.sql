-- The source database of the postgres-to-lake example: customers (followed by CDC) and orders
-- (read incrementally by updated_at). Run with: psql "$SLUICE_EXAMPLE_POSTGRES" -f setup.sql
DROP TABLE IF EXISTS orders;
DROP TABLE IF EXISTS customers;

CREATE TABLE customers (
  customer_id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  country char(2) NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  order_id bigint PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers,
  status text NOT NULL,
  amount numeric(12,2) NOT NULL,
  items jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (customer_id, name, email, country) VALUES
  (1, 'Ada Lovelace', 'ada@example.com', 'GB'),
  (2, 'Grace Hopper', 'grace@example.com', 'US'),
  (3, 'Émilie du Châtelet', NULL, 'FR'),
  (4, 'Hedy Lamarr', 'hedy@example.com', 'AT');

INSERT INTO orders (order_id, customer_id, status, amount, items, updated_at) VALUES
  (1001, 1, 'paid', 120.50, '[{"sku": "A-1", "qty": 2}]', '2026-11-01 09:00:00+00'),
  (1002, 2, 'paid', 75.00, '[{"sku": "B-7", "qty": 1}]', '2026-11-01 09:05:00+00'),
  (1003, 3, 'pending', 310.25, '[{"sku": "C-3", "qty": 5}]', '2026-11-01 09:10:00+00'),
  (1004, 1, 'refunded', -20.00, '[]', '2026-11-01 09:12:00+00');
