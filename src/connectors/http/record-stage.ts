import type { DuckDBAppender } from '@duckdb/node-api';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../contracts/engine-connection.js';
import { stringifyExactJSON } from '../shared/exact-json.js';

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
  readonly #fractionsAsText: boolean;
  #rows = 0;

  private constructor(table: string, appender: DuckDBAppender, fractionsAsText: boolean) {
    this.table = table;
    this.#appender = appender;
    this.#fractionsAsText = fractionsAsText;
  }

  /**
   * Creates the staging table. Numbers a double cannot hold (`ExactNumber`s) are staged as their
   * own text: integers as JSON numbers, which DuckDB reads exactly into integer and decimal
   * columns; fractions as numbers too, or with `fractionsAsText` as JSON strings of their digits,
   * since DuckDB reads JSON fractions as doubles but casts text exactly to a decimal.
   */
  static async create(
    connection: EngineConnection,
    stepId: string,
    options: { readonly fractionsAsText?: boolean } = {},
  ): Promise<RecordStage> {
    const name = `__sluice_rest_raw_${stepId}`;
    await connection.run(
      `CREATE OR REPLACE TABLE ${quoteIdentifier(name)} (__sluice_line VARCHAR, __sluice_url VARCHAR)`,
    );
    return new RecordStage(
      quoteIdentifier(name),
      await connection.raw.createAppender(name),
      options.fractionsAsText === true,
    );
  }

  /** Appends the records of one page. */
  add(records: readonly unknown[], url: string): void {
    const appender = this.#appender;
    for (const record of records) {
      appender.appendVarchar(
        stringifyExactJSON(record, { fractionsAsText: this.#fractionsAsText }) ?? 'null',
      );
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
