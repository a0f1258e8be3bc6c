import { JSDuckDBValueConverter } from '@duckdb/node-api';
import { SluiceError, UserCodeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Field } from '../core/types.js';
import { quoteIdentifier } from '../core/type-mappings.js';
import type { Row, TransformContext, TransformStep } from '../define/steps.js';
import type { DuckDBSession } from './duckdb-session.js';
import type { QuarantineStore } from './quarantine-store.js';
import { RowWriter } from './row-writer.js';

/** Inputs of {@link runTransform}. */
export interface TransformRun {
  readonly session: DuckDBSession;
  readonly stepId: string;
  readonly runId: string;
  readonly step: TransformStep;
  /** Quoted name of the input relation. */
  readonly input: string;
  readonly outputFields: readonly Field[];
  readonly params: Readonly<Record<string, string>>;
  readonly quarantine: QuarantineStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Called as rows stream through, for progress displays. */
  readonly onRows?: (rowsIn: number, rowsOut: number) => void;
}

/** Row counts of a finished transform. */
export interface TransformResult {
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsQuarantined: number;
}

const QUARANTINE_FLUSH_ROWS = 1000;

/**
 * Streams a dataset out of DuckDB through a user's TypeScript transform and appends the result
 * back as the step's table. Reading and appending use separate connections (an appender on the
 * reading connection would end the stream early). Output rows that do not fit the declared
 * schema, and records the user quarantines, go to the quarantine store.
 *
 * @example
 * ```ts
 * const counts = await runTransform({ session, stepId: 'enrich', step, input: '"orders"', ... });
 * ```
 */
export async function runTransform(options: TransformRun): Promise<TransformResult> {
  const { session, stepId, step, quarantine, signal } = options;
  const writer = new RowWriter(options.outputFields);
  const reader = await session.connect(stepId);
  const output = await session.connect(stepId);
  const table = writer.hasNestedColumns ? `__sluice_staged_${stepId}` : stepId;
  await output.run(`CREATE TABLE ${quoteIdentifier(table)} (${writer.stagingColumns()})`);
  if (writer.hasNestedColumns) {
    await output.run(
      `CREATE VIEW ${quoteIdentifier(stepId)} AS SELECT ${writer.selectTyped()} FROM ${quoteIdentifier(table)}`,
    );
  }
  const appender = await output.raw.createAppender(table);

  let rowsIn = 0;
  let rowsOut = 0;
  let pending: { record: unknown; reason: string; column?: string }[] = [];
  const flushQuarantine = async (): Promise<void> => {
    const batch = pending;
    pending = [];
    await quarantine.append(stepId, batch);
  };
  const context: TransformContext = {
    runId: options.runId,
    stepId,
    params: options.params,
    signal,
    quarantine(record, reason) {
      pending.push({ record, reason });
    },
  };

  async function* inputBatches(): AsyncGenerator<Row[]> {
    const result = await reader.stream(`SELECT * FROM ${options.input}`);
    let batch: Row[] = [];
    for await (const rows of result.yieldConvertedRowObjects(JSDuckDBValueConverter)) {
      signal.throwIfAborted();
      rowsIn += rows.length;
      if (rows.length === step.batchSize && batch.length === 0) {
        yield rows;
        continue;
      }
      for (const row of rows) {
        batch.push(row);
        if (batch.length === step.batchSize) {
          yield batch;
          batch = [];
          signal.throwIfAborted();
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  try {
    let outputBatches: AsyncIterable<Row[]>;
    try {
      outputBatches = step.run(inputBatches(), context);
    } catch (cause) {
      throw new UserCodeError(stepId, cause);
    }
    const iterator = outputBatches[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Row[]>;
      try {
        next = await iterator.next();
      } catch (cause) {
        throw cause instanceof SluiceError || signal.aborted
          ? cause
          : new UserCodeError(stepId, cause);
      }
      if (next.done === true) break;
      const batch = next.value;
      if (!Array.isArray(batch)) {
        throw new UserCodeError(
          stepId,
          new TypeError(`a transform must yield arrays of rows, got ${typeof batch}`),
        );
      }
      for (const row of batch) {
        const problem =
          typeof row === 'object' && row !== null
            ? writer.write(appender, row)
            : { column: undefined, reason: `a transform must yield objects, got ${typeof row}` };
        if (problem === undefined) rowsOut++;
        else
          pending.push({
            record: row,
            reason: problem.reason,
            ...(problem.column === undefined ? {} : { column: problem.column }),
          });
      }
      if (pending.length >= QUARANTINE_FLUSH_ROWS) await flushQuarantine();
      options.onRows?.(rowsIn, rowsOut);
    }
    appender.closeSync();
    await flushQuarantine();
  } catch (error) {
    try {
      appender.closeSync();
    } catch {
      // The step already failed; the appender's own error adds nothing.
    }
    await flushQuarantine();
    throw error;
  } finally {
    reader.close();
    output.close();
  }
  return { rowsIn, rowsOut, rowsQuarantined: quarantine.count(stepId) };
}
