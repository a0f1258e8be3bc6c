import type { Field } from '../../core/types.js';
import { quoteIdentifier, quoteLiteral, toDuckDBType } from '../../core/type-mappings.js';
import type { SourceReadContext } from '../../engine/connector.js';

/**
 * Replaces the step's dataset with its rows whose cursor is past the watermark, as the engine
 * does for sources that do not read incrementally; returns how many rows were left out. A cursor
 * that is not a column leaves the dataset as it is (the engine then reports the unknown cursor).
 *
 * @example
 * ```ts
 * const skipped = await keepRowsAfterWatermark(context, { fields, rows: 3, cursor: 'seq', watermark: '10' });
 * ```
 */
export async function keepRowsAfterWatermark(
  context: SourceReadContext,
  options: {
    readonly fields: readonly Field[];
    /** Rows in the dataset now. */
    readonly rows: number;
    readonly cursor: string;
    readonly watermark: string;
  },
): Promise<number> {
  const { connection, stepId } = context;
  const field = options.fields.find((f) => f.name === options.cursor);
  if (field === undefined) return 0;
  const name = quoteIdentifier(stepId);
  const kept = quoteIdentifier(`__sluice_rest_kept_${stepId}`);
  const rows = await connection.run(
    `CREATE OR REPLACE TABLE ${kept} AS SELECT * FROM ${name}
     WHERE ${quoteIdentifier(field.name)} > CAST(${quoteLiteral(options.watermark)} AS ${toDuckDBType(field.type)})`,
  );
  await connection.run(`DROP VIEW ${name}`);
  await connection.run(`ALTER TABLE ${kept} RENAME TO ${name}`);
  const skipped = options.rows - rows;
  context.logger.info(
    { step: stepId, cursor: options.cursor, watermark: options.watermark, skipped },
    'records at or before the watermark skipped',
  );
  return skipped;
}
