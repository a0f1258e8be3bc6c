import type { DuckDBConnection, DuckDBResult, DuckDBValue } from '@duckdb/node-api';
import { duckdb } from './duckdb-api.js';
import { EngineError } from '../core/errors.js';
import { quoteLiteral } from '../core/type-mappings.js';

/**
 * A DuckDB connection whose errors become {@link EngineError}s naming the step.
 *
 * @example
 * ```ts
 * const rows = await conn.rows('select 1 as x'); // [{ x: 1 }]
 * ```
 */
export class EngineConnection {
  readonly raw: DuckDBConnection;
  readonly #stepId: string | undefined;
  #closed = false;

  constructor(raw: DuckDBConnection, stepId?: string) {
    this.raw = raw;
    this.#stepId = stepId;
  }

  /** Runs a statement; returns the number of rows it created, changed or copied. */
  async run(sql: string, values?: Record<string, DuckDBValue>): Promise<number> {
    try {
      const result = await this.raw.run(sql, values);
      if (result.columnCount === 1 && result.columnName(0) === 'Count') {
        const [first] = await result.getRows();
        return first === undefined ? 0 : Number(first[0]);
      }
      return Math.max(0, result.rowsChanged);
    } catch (cause) {
      throw this.#wrap(cause);
    }
  }

  /** Runs a query and returns its rows as plain JS objects (bigint for 64-bit integers). */
  async rows(
    sql: string,
    values?: Record<string, DuckDBValue>,
  ): Promise<Record<string, unknown>[]> {
    try {
      const reader = await this.raw.runAndReadAll(sql, values);
      const names = reader.deduplicatedColumnNames();
      if (!names.includes('__proto__'))
        return reader.convertRowObjects(duckdb().JSDuckDBValueConverter);
      // Built from entries: assigning a `__proto__` column would set the prototype and lose it.
      return reader
        .convertRows(duckdb().JSDuckDBValueConverter)
        .map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]])));
    } catch (cause) {
      throw this.#wrap(cause);
    }
  }

  /** Starts a streaming query; read its chunks with `fetchChunk()` or `for await`. */
  async stream(sql: string): Promise<DuckDBResult> {
    try {
      return await this.raw.stream(sql);
    } catch (cause) {
      throw this.#wrap(cause);
    }
  }

  /** Column names and DuckDB type names a query would produce, without running it. */
  async describe(sql: string): Promise<{ name: string; type: string }[]> {
    const rows = await this.rows(`DESCRIBE ${sql}`);
    return rows.map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }));
  }

  /** Sets a DuckDB option for this connection's session. */
  async set(option: string, value: string): Promise<void> {
    await this.run(`SET ${option} = ${quoteLiteral(value)}`);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.raw.closeSync();
  }

  #wrap(cause: unknown): EngineError {
    return new EngineError(this.#stepId, firstLine(cause), { cause });
  }
}

/**
 * The first line of an error's message; DuckDB appends the SQL and a caret below it.
 *
 * @example
 * ```ts
 * firstLine(new Error('Binder Error: x\n\nLINE 1: ...')); // "Binder Error: x"
 * ```
 */
export function firstLine(cause: unknown): string {
  if (cause instanceof EngineError && cause.cause !== undefined) return firstLine(cause.cause);
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split('\n')[0]?.trim() ?? message;
}
