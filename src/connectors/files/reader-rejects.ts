import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';

/** Names of the tables where DuckDB's CSV reader keeps the lines it rejected. */
export interface RejectsTables {
  readonly errors: string;
  readonly scans: string;
}

/**
 * The rejects tables of one read, named after the step so concurrent steps never share them.
 *
 * @example
 * ```ts
 * rejectsTables('orders', 'read'); // { errors: '__sluice_orders_read_rejects', scans: '__sluice_orders_read_reject_scans' }
 * ```
 */
export function rejectsTables(stepId: string, purpose: string): RejectsTables {
  const base = `__sluice_${stepId}_${purpose}`;
  return { errors: `${base}_rejects`, scans: `${base}_reject_scans` };
}

/**
 * Reader options that keep rejected lines (with file, line and reason) instead of failing.
 *
 * @example
 * ```ts
 * `read_csv('a.csv', ${storeRejects(tables)})`;
 * ```
 */
export function storeRejects(tables: RejectsTables): string {
  return `store_rejects = true, rejects_table = ${quoteLiteral(tables.errors)}, rejects_scan = ${quoteLiteral(tables.scans)}`;
}

/**
 * A query turning rejected lines into quarantine rows, one per line (a line with several bad
 * values gets one row listing them all).
 *
 * @example
 * ```ts
 * enforceSchema({ ..., extraQuarantine: rejectedLinesQuery(tables, '') });
 * ```
 */
export function rejectedLinesQuery(tables: RejectsTables, reasonPrefix: string): string {
  return `
    SELECT s.file_path AS source_file, CAST(e.line AS BIGINT) AS line,
           string_agg(DISTINCT e.column_name, ',') AS "column",
           ${quoteLiteral(reasonPrefix)} || string_agg(e.error_type || ': ' || e.error_message, '; ') AS reason,
           to_json(any_value(e.csv_line)) AS record
    FROM ${quoteIdentifier(tables.errors)} e
    JOIN ${quoteIdentifier(tables.scans)} s USING (scan_id, file_id)
    GROUP BY s.file_path, e.line`;
}
