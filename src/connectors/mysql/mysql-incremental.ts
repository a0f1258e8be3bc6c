import { parseDuration } from '../../core/duration.js';
import type { LogicalType } from '../../core/types.js';
import { quoteMySQLIdentifier } from './mysql-client.js';

/**
 * A predicate in MySQL syntax with its `?` parameters.
 *
 * @example
 * ```ts
 * const after: MySQLPredicate = { sql: '`id` > ?', values: ['41'] };
 * ```
 */
export interface MySQLPredicate {
  readonly sql: string;
  readonly values: readonly unknown[];
}

// DuckDB renders a timestamp watermark as `2026-03-01 10:00:00[.ffffff][+HH[:MM]]`.
const TIMESTAMP_WATERMARK =
  /^(\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?)(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const NUMBER_TEXT = /^[+-]?\d+(\.\d+)?$/;

/**
 * The `WHERE` part of an incremental read: rows whose cursor is at or past the last watermark
 * minus the lag window (inclusive, so rows sharing the watermark and rows committed late with a
 * cursor a little behind are read; the engine drops those an earlier run read).
 * Timestamp watermarks with an offset are compared in UTC (the session's zone).
 *
 * @example
 * ```ts
 * cursorPredicate('updated_at', { kind: 'timestamp', tz: false }, '2026-03-01 10:00:00', '5m');
 * // { sql: '`updated_at` >= CAST(? AS DATETIME(6)) - INTERVAL ? MICROSECOND', values: ['2026-03-01 10:00:00', 300000000] }
 * ```
 */
export function cursorPredicate(
  cursor: string,
  type: LogicalType,
  watermark: string,
  lagWindow: string | number | undefined,
): MySQLPredicate {
  const column = quoteMySQLIdentifier(cursor);
  switch (type.kind) {
    case 'date':
    case 'timestamp': {
      const match = TIMESTAMP_WATERMARK.exec(watermark.trim());
      if (match === null)
        throw new Error(`watermark ${JSON.stringify(watermark)} is not a date or timestamp`);
      const [, local, , sign, hours, minutes] = match;
      const offsetMinutes =
        sign === undefined
          ? 0
          : (sign === '-' ? -1 : 1) * (Number(hours) * 60 + Number(minutes ?? 0));
      const lagMicros = lagWindow === undefined ? 0 : parseDuration(lagWindow) * 1000;
      const shiftMicros = lagMicros + offsetMinutes * 60_000_000;
      const bound = 'CAST(? AS DATETIME(6))';
      return shiftMicros === 0
        ? { sql: `${column} >= ${bound}`, values: [local] }
        : { sql: `${column} >= ${bound} - INTERVAL ? MICROSECOND`, values: [local, shiftMicros] };
    }
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'decimal':
    case 'float32':
    case 'float64': {
      if (!NUMBER_TEXT.test(watermark.trim()) && !Number.isFinite(Number(watermark)))
        throw new Error(`watermark ${JSON.stringify(watermark)} is not a number`);
      if (typeof lagWindow === 'string')
        throw new Error(
          `lagWindow of a numeric cursor is a number, got ${JSON.stringify(lagWindow)}`,
        );
      const exact = 'CAST(? AS DECIMAL(65,30))';
      return lagWindow === undefined || lagWindow === 0
        ? { sql: `${column} >= ${exact}`, values: [watermark.trim()] }
        : {
            sql: `${column} >= ${exact} - ${exact}`,
            values: [watermark.trim(), String(lagWindow)],
          };
    }
    case 'string': {
      if (lagWindow !== undefined)
        throw new Error('a lagWindow needs a numeric or date/time cursor, not a text one');
      return { sql: `${column} >= ?`, values: [watermark] };
    }
    default:
      throw new Error(`a ${type.kind} column cannot be an incremental cursor`);
  }
}
