import type { DuckDBAppender, DuckDBResult, DuckDBType } from '@duckdb/node-api';
import { duckdb } from '../contracts/duckdb-api.js';
import { RowsUnaccountedError, SluiceError, UserCodeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Field } from '../core/types.js';
import { quoteIdentifier, toDuckDBType } from '../core/type-mappings.js';
import type { Row, TransformContext, TransformStep } from '../define/steps.js';
import { ColumnInference } from './column-inference.js';
import type { DuckDBSession } from '../contracts/duckdb-session.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { fromDuckDBType, isExactLogicalType } from '../contracts/duckdb-types.js';
import type { QuarantineStore } from '../contracts/quarantine-store.js';
import { RowWriter } from '../contracts/row-writer.js';
import { enforceSchema } from '../contracts/schema-enforcement.js';

/** Inputs of {@link runTransform}. */
export interface TransformRun {
  readonly session: DuckDBSession;
  readonly stepId: string;
  readonly runId: string;
  readonly step: TransformStep;
  /** Quoted name of the input relation. */
  readonly input: string;
  readonly outputFields: readonly Field[];
  /**
   * When true (a transform without `schema`), keys the output rows add to `outputFields` become
   * columns too (see {@link ColumnInference}); when false, keys outside `outputFields` are left out.
   */
  readonly inferColumns?: boolean;
  readonly params: Readonly<Record<string, string>>;
  readonly quarantine: QuarantineStore;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Called as rows stream through, for progress displays. */
  readonly onRows?: (rowsIn: number, rowsOut: number) => void;
}

/** Row counts of a finished transform. */
export interface TransformResult {
  /** Rows handed to the transform. */
  readonly rowsIn: number;
  readonly rowsOut: number;
  readonly rowsQuarantined: number;
  /** False when the transform stopped reading before the end of its input. */
  readonly readAllInput: boolean;
  /** The columns of the step's table: `outputFields` plus any the rows added. */
  readonly fields: readonly Field[];
}

const QUARANTINE_FLUSH_ROWS = 1000;

/**
 * Streams a dataset out of DuckDB through a user's TypeScript transform and appends the result
 * back as the step's table. Reading and appending use separate connections (an appender on the
 * reading connection would end the stream early). Output rows that do not fit the declared
 * schema, and records the user quarantines, go to the quarantine store; nested columns are
 * staged as JSON and converted in one pass afterwards, quarantining what does not convert.
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
  const staged = writer.hasNestedColumns;
  const table = staged ? `__sluice_staged_${stepId}` : stepId;
  await output.run(`CREATE TABLE ${quoteIdentifier(table)} (${writer.stagingColumns()})`);
  let appender: DuckDBAppender = await output.raw.createAppender(table);
  const inference =
    options.inferColumns === true ? new ColumnInference(stepId, options.outputFields) : undefined;
  /** Adds columns to the table; rows appended before hold null there. */
  const addColumns = async (fields: readonly Field[]): Promise<void> => {
    appender.closeSync();
    for (const field of fields) {
      await output.run(
        `ALTER TABLE ${quoteIdentifier(table)} ADD COLUMN ${quoteIdentifier(field.name)} ${toDuckDBType(field.type)}`,
      );
      writer.addField(field);
    }
    appender = await output.raw.createAppender(table);
  };

  let rowsIn = 0;
  let rowsOut = 0;
  let readAllInput = false;
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
    const result = await reader.stream(
      `SELECT ${await logicalSelectList(reader, options.input)} FROM ${options.input}`,
    );
    let batch: Row[] = [];
    const emit = (rows: Row[]): Row[] => {
      rowsIn += rows.length;
      return rows;
    };
    for await (const rows of rowObjects(result)) {
      signal.throwIfAborted();
      if (rows.length === step.batchSize && batch.length === 0) {
        yield emit(rows);
        continue;
      }
      for (const row of rows) {
        batch.push(row);
        if (batch.length === step.batchSize) {
          yield emit(batch);
          batch = [];
          signal.throwIfAborted();
        }
      }
    }
    if (batch.length > 0) yield emit(batch);
    readAllInput = true;
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
        let problem: { column?: string | undefined; reason: string } | undefined;
        if (typeof row !== 'object' || row === null)
          problem = { reason: `a transform must yield objects, got ${typeof row}` };
        else {
          const found = inference?.newColumns(row);
          if (found !== undefined && 'reason' in found) problem = found;
          else {
            if (found !== undefined && found.fields.length > 0) await addColumns(found.fields);
            problem = writer.write(appender, row);
          }
        }
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
    const unseen = inference?.remainingColumns() ?? [];
    if (unseen.length > 0) await addColumns(unseen);
    appender.closeSync();
    await flushQuarantine();
    await assertRowsStored(output, stepId, table, rowsOut);
    if (staged) {
      const converted = await enforceSchema({
        connection: output,
        stepId,
        quarantine,
        scan: quoteIdentifier(table),
        columns: writer.convertStagedColumns(),
        metadata: [],
        sourceFile: 'NULL',
      });
      rowsOut -= converted.rowsQuarantined;
    }
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
  return {
    rowsIn,
    rowsOut,
    rowsQuarantined: quarantine.count(stepId),
    readAllInput,
    fields: writer.fields,
  };
}

/**
 * The result's rows as objects. A column named `__proto__` would set the prototype of an object
 * built by assignment (and its value be lost), so with one the rows are built from entries.
 */
function rowObjects(result: DuckDBResult): AsyncIterable<Row[]> {
  const names = result.deduplicatedColumnNames();
  if (!names.includes('__proto__'))
    return result.yieldConvertedRowObjects(duckdb().JSDuckDBValueConverter);
  return (async function* ownKeyRows() {
    for await (const rows of result.yieldConvertedRows(duckdb().JSDuckDBValueConverter))
      yield rows.map((values) => Object.fromEntries(names.map((name, i) => [name, values[i]])));
  })();
}

/** Every row the writer accepted is in the table: the appender lost none. */
async function assertRowsStored(
  connection: EngineConnection,
  stepId: string,
  table: string,
  rowsWritten: number,
): Promise<void> {
  const reader = await connection.raw.runAndReadAll(
    `SELECT count(*)::BIGINT AS n FROM ${quoteIdentifier(table)}`,
  );
  const stored = Number(reader.getRows()[0]?.[0] ?? 0);
  if (stored !== rowsWritten)
    throw new RowsUnaccountedError(
      stepId,
      `the transform's output table holds ${stored} rows, but ${rowsWritten} rows were written to it`,
    );
}

/**
 * A select list reading `relation` with every column in its logical type's DuckDB form, so a
 * TIME column arrives as text (its logical type) rather than as microseconds.
 */
async function logicalSelectList(connection: EngineConnection, relation: string): Promise<string> {
  const reader = await connection.raw.runAndReadAll(`SELECT * FROM ${relation} LIMIT 0`);
  const types = reader.columnTypes();
  return reader
    .columnNames()
    .map((name, i) => {
      const type = types[i] as DuckDBType;
      const column = quoteIdentifier(name);
      return isExactLogicalType(type)
        ? column
        : `CAST(${column} AS ${toDuckDBType(fromDuckDBType(type))}) AS ${column}`;
    })
    .join(', ');
}
