import type { DuckDBAppender } from '@duckdb/node-api';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../engine/duckdb-session.js';

/**
 * Raw records on their way into DuckDB: one row per record holding its JSON text and the URL
 * of its page. Typing and flattening then happen in SQL over this table, not record by record
 * in JS.
 *
 * @example
 * ```ts
 * const stage = await RecordStage.create(connection, 'orders');
 * stage.add([{ id: 1 }], 'https://api.x/orders?page=1');
 * const rows = stage.close(); // 1
 * ```
 */
export class RecordStage {
  /** The quoted name of the staging table. */
  readonly table: string;
  readonly #appender: DuckDBAppender;
  #rows = 0;

  private constructor(table: string, appender: DuckDBAppender) {
    this.table = table;
    this.#appender = appender;
  }

  static async create(connection: EngineConnection, stepId: string): Promise<RecordStage> {
    const name = `__sluice_rest_raw_${stepId}`;
    await connection.run(
      `CREATE OR REPLACE TABLE ${quoteIdentifier(name)} (__sluice_line VARCHAR, __sluice_url VARCHAR)`,
    );
    return new RecordStage(quoteIdentifier(name), await connection.raw.createAppender(name));
  }

  /** Appends the records of one page. */
  add(records: readonly unknown[], url: string): void {
    const appender = this.#appender;
    for (const record of records) {
      appender.appendVarchar(JSON.stringify(record) ?? 'null');
      appender.appendVarchar(url);
      appender.endRow();
    }
    this.#rows += records.length;
  }

  /** Flushes what was appended; returns the number of records staged. */
  close(): number {
    this.#appender.closeSync();
    return this.#rows;
  }
}
