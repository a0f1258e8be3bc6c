import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../contracts/engine-connection.js';

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

/** One record the CSV reader rejected, with every problem it found in it. */
export interface RejectedRecord {
  readonly file: string;
  /** The reader's line number (it counts records, not lines a quoted value spans). */
  readonly readerLine: number;
  /** 0-based offset of the record in the file's (decoded) bytes (the reader reports it 1-based). */
  readonly offset: number | undefined;
  readonly column: string | null;
  readonly reason: string;
  /** The reader's copy of the record (cut at 10,000 characters, decoded). */
  readonly readerText: string;
  /** Whether a quoted value in it is never closed. */
  readonly unterminatedQuote: boolean;
}

/**
 * The records the CSV reader rejected, one per record (a record with several bad values lists
 * them all), in file and line order.
 *
 * @example
 * ```ts
 * const rejected = await rejectedRecords(connection, rejectsTables('orders', 'read'));
 * ```
 */
export async function rejectedRecords(
  connection: EngineConnection,
  tables: RejectsTables,
): Promise<RejectedRecord[]> {
  const rows = await connection.rows(`
    SELECT s.file_path AS file, CAST(e.line AS BIGINT) AS line,
           CAST(min(e.line_byte_position) AS BIGINT) - 1 AS "offset",
           string_agg(DISTINCT e.column_name, ',') AS "column",
           string_agg(e.error_type || ': ' || e.error_message, '; ') AS reason,
           any_value(e.csv_line) AS text,
           bool_or(e.error_type = 'UNQUOTED VALUE' AND e.error_message ILIKE '%unterminated%') AS unterminated
    FROM ${quoteIdentifier(tables.errors)} e
    JOIN ${quoteIdentifier(tables.scans)} s USING (scan_id, file_id)
    GROUP BY s.file_path, e.line
    ORDER BY s.file_path, e.line`);
  return rows.map((row) => ({
    file: String(row['file']),
    readerLine: Number(row['line']),
    offset:
      row['offset'] === null || row['offset'] === undefined ? undefined : Number(row['offset']),
    column: row['column'] === null || row['column'] === undefined ? null : String(row['column']),
    reason: String(row['reason']),
    readerText: String(row['text'] ?? ''),
    unterminatedQuote: row['unterminated'] === true,
  }));
}
