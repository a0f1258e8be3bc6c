import { join } from 'node:path';
import { DATA_DIR, envInteger, sqlString } from './common.js';
import { generateOnce } from './synthetic-data.js';

const DEFAULT_ROWS = 5_000_000;

/** Rows of the orders file: 5,000,000, or `BENCH_ROWS` for a quick run. */
export function ordersRowCount(): number {
  return envInteger('BENCH_ROWS', DEFAULT_ROWS);
}

/**
 * Writes `bench/data/orders-<rows>.csv` (reused when present): order_id, customer_id, country,
 * amount, currency, status, ordered_at, quantity over 90 days of 2024. About one row in a
 * thousand is bad, in one of three ways: a non-numeric amount, an empty customer_id or a
 * timestamp that does not parse. The same row count always gives the same bytes.
 *
 * @example
 * ```ts
 * const csv = await generateOrders(200_000); // .../bench/data/orders-200000.csv
 * ```
 */
export function generateOrders(rows: number): Promise<string> {
  return generateOnce(join(DATA_DIR, `orders-${rows}.csv`), async (connection, path) => {
    await connection.run(`COPY (
      WITH r AS (
        SELECT range AS i,
          bench_rand(range, 1) AS h_customer, bench_rand(range, 2) AS h_country,
          bench_rand(range, 3) AS h_amount, bench_rand(range, 4) AS h_currency,
          bench_rand(range, 5) AS h_status, bench_rand(range, 6) AS h_time,
          bench_rand(range, 7) AS h_quantity,
          CASE WHEN bench_rand(range, 8) % 1000 = 0 THEN bench_rand(range, 9) % 3 END AS bad
        FROM range(${rows})
      )
      SELECT
        i + 1 AS order_id,
        CASE WHEN bad = 1 THEN NULL ELSE printf('c-%05d', h_customer % 50000) END AS customer_id,
        ['DE', 'FR', 'NL', 'BE', 'ES', 'IT', 'GB', 'US', 'PL', 'SE'][1 + h_country % 10] AS country,
        CASE WHEN bad = 0 THEN 'n/a'
             ELSE printf('%.2f', (100 + h_amount % 50000) / 100) END AS amount,
        ['EUR', 'USD', 'GBP'][1 + h_currency % 3] AS currency,
        ['paid', 'paid', 'shipped', 'shipped', 'shipped', 'canceled', 'refunded'][1 + h_status % 7]
          AS status,
        CASE WHEN bad = 2 THEN 'not-a-date'
             ELSE strftime(TIMESTAMP '2024-01-01' + to_seconds(h_time % (90 * 86400)),
                           '%Y-%m-%d %H:%M:%S') END AS ordered_at,
        1 + h_quantity % 5 AS quantity
      FROM r
      ORDER BY i
    ) TO ${sqlString(path)} (FORMAT csv, HEADER true)`);
  });
}
