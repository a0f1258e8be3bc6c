-- The serving layer of the lambda example: the batch view, the speed view and the view that
-- merges them. Run with: psql "$SLUICE_EXAMPLE_POSTGRES" -f setup.sql
DROP SCHEMA IF EXISTS serving CASCADE;
CREATE SCHEMA serving;

-- Batch view: exact totals per store and minute for the windows before the cutoff, replaced as
-- a whole (with the cutoff, in the same transaction) by every run of pipelines/batch_sales.ts.
CREATE TABLE serving.batch_sales (
  store text NOT NULL,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  sales bigint NOT NULL,
  revenue_cents bigint NOT NULL,
  PRIMARY KEY (store, window_start)
);
CREATE TABLE serving.batch_cutoff (cutoff timestamptz);

-- Speed view: the same totals from the live stream (streams/speed_sales.ts), upserted per store
-- and minute as events arrive.
CREATE TABLE serving.speed_sales (
  store text NOT NULL,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  sales bigint NOT NULL,
  revenue_cents bigint NOT NULL,
  PRIMARY KEY (store, window_start)
);

-- What queries read: batch totals before the cutoff, speed totals from it on. Before the first
-- batch run there is no cutoff and everything comes from the speed view.
CREATE VIEW serving.sales_per_minute AS
WITH cutoff AS (
  SELECT coalesce(max(cutoff), '-infinity'::timestamptz) AS at FROM serving.batch_cutoff
)
SELECT b.store, b.window_start, b.window_end, b.sales, b.revenue_cents, 'batch' AS layer
FROM serving.batch_sales b, cutoff
WHERE b.window_start < cutoff.at
UNION ALL
SELECT s.store, s.window_start, s.window_end, s.sales, s.revenue_cents, 'speed' AS layer
FROM serving.speed_sales s, cutoff
WHERE s.window_start >= cutoff.at;
