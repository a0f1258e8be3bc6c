import { isUtf8 } from 'node:buffer';
import type { DuckDBAppender } from '@duckdb/node-api';
import { duckdb } from '../../contracts/duckdb-api.js';
import { quoteIdentifier, quoteLiteral } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../contracts/engine-connection.js';
import type { RawQuarantinedRecord } from '../../contracts/quarantine-store.js';
import { QuarantineStore } from '../../contracts/quarantine-store.js';
import type { FramedRecord, InputCompression, JSONLayout } from './json-framing.js';
import { fileBytes } from './file-bytes.js';
import { recordSplitter } from './json-framing.js';

const CHUNK_ROWS = 2048;
const QUARANTINE_FLUSH = 1000;

/** What {@link stageJSONRecords} found. */
export interface StagedJSONRecords {
  /** Records in the files, counted by their framing (lines, or array elements). */
  readonly records: number;
  /** Records quarantined while staging (bytes that are not UTF-8). */
  readonly unreadable: number;
}

/** Inputs of {@link stageJSONRecords}. */
export interface StageJSONRecordsOptions {
  readonly connection: EngineConnection;
  /**
   * The table to create: `__sluice_file_no` (0-based index into `files`), `__sluice_line_no`,
   * `__sluice_offset` (numbers kept as DOUBLE: exact, and cheaper to append) and `__sluice_line`.
   */
  readonly table: string;
  readonly files: readonly string[];
  readonly compression: InputCompression;
  readonly layout: JSONLayout;
  readonly signal: AbortSignal;
  /** Receives records whose bytes are not UTF-8 (not JSON text), in batches. */
  readonly unreadable: (records: readonly RawQuarantinedRecord[]) => Promise<void>;
}

/**
 * Splits JSON files into records by their framing (see `recordSplitter`) and stages each record's
 * text with its file, line and byte offset in a table, one row per record. Records that are not
 * UTF-8 go to `unreadable` with their bytes instead. Fails with a `RecordFramingError` when a
 * file cannot be split (it ends inside a record).
 *
 * @example
 * ```ts
 * const { records } = await stageJSONRecords({ connection, table: 'staged', files: ['a.ndjson'],
 *   compression: 'auto', layout: 'lines', signal, unreadable: (r) => store.appendRaw('s', r) });
 * ```
 */
export async function stageJSONRecords(
  options: StageJSONRecordsOptions,
): Promise<StagedJSONRecords> {
  const { connection, table, signal } = options;
  await connection.run(
    `CREATE OR REPLACE TABLE ${quoteIdentifier(table)} (__sluice_file_no INTEGER,
       __sluice_line_no DOUBLE, __sluice_offset DOUBLE, __sluice_line VARCHAR)`,
  );
  const appender = await connection.raw.createAppender(table);
  const rows = new StagedRows(appender);
  let records = 0;
  let unreadable: RawQuarantinedRecord[] = [];
  let unreadableCount = 0;
  try {
    for (const [fileNumber, file] of options.files.entries()) {
      const splitter = recordSplitter(options.layout);
      const take = async (found: Iterable<FramedRecord>): Promise<void> => {
        for (const record of found) {
          records++;
          const { buffer, start, end } = record;
          if (record.utf8 || isUtf8(buffer.subarray(start, end))) {
            rows.add(fileNumber, record.line, record.offset, buffer.toString('utf8', start, end));
          } else {
            unreadableCount++;
            unreadable.push({
              bytes: Buffer.from(buffer.subarray(start, end)),
              reason: 'not valid UTF-8 text',
              sourceFile: file,
              line: record.line,
              offset: record.offset,
            });
          }
        }
        if (unreadable.length >= QUARANTINE_FLUSH) {
          await options.unreadable(unreadable);
          unreadable = [];
        }
      };
      try {
        for await (const chunk of fileBytes(file, options.compression)) {
          signal.throwIfAborted();
          await take(splitter.push(chunk));
        }
        await take(splitter.end());
      } catch (cause) {
        if (signal.aborted) throw cause;
        throw new JSONFileError(file, cause);
      }
    }
    rows.flush();
    appender.closeSync();
  } catch (error) {
    try {
      appender.closeSync();
    } catch {
      // The read already failed; the appender's own error adds nothing.
    }
    throw error;
  } finally {
    await options.unreadable(unreadable);
  }
  return { records, unreadable: unreadableCount };
}

/**
 * Reading one file failed (it cannot be split into records, or it is not what its compression
 * says); the message is the cause's, and `file` says which.
 *
 * @example
 * ```ts
 * throw new JSONFileError('/data/a.json', new RecordFramingError('the file ends inside a record', at));
 * ```
 */
export class JSONFileError extends Error {
  readonly file: string;

  constructor(file: string, cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.file = file;
  }
}

/** Rows appended column by column, a DuckDB chunk at a time. */
class StagedRows {
  readonly #appender: DuckDBAppender;
  #files: number[] = [];
  #lines: number[] = [];
  #offsets: number[] = [];
  #texts: string[] = [];

  constructor(appender: DuckDBAppender) {
    this.#appender = appender;
  }

  add(file: number, line: number, offset: number, text: string): void {
    this.#files.push(file);
    this.#lines.push(line);
    this.#offsets.push(offset);
    this.#texts.push(text);
    if (this.#texts.length >= CHUNK_ROWS) this.flush();
  }

  flush(): void {
    if (this.#texts.length === 0) return;
    const { DOUBLE, DuckDBDataChunk, INTEGER, VARCHAR } = duckdb();
    const chunk = DuckDBDataChunk.create([INTEGER, DOUBLE, DOUBLE, VARCHAR], this.#texts.length);
    chunk.setColumns([this.#files, this.#lines, this.#offsets, this.#texts]);
    this.#appender.appendDataChunk(chunk);
    this.#files = [];
    this.#lines = [];
    this.#offsets = [];
    this.#texts = [];
  }
}

/**
 * The columns of a staged table as the typing scan reads them: the file's path, the line and
 * offset as BIGINT, and the text.
 *
 * @example
 * ```ts
 * `SELECT ${stagedColumns(files)} FROM staged`;
 * ```
 */
export function stagedColumns(files: readonly string[]): string {
  const paths = `[${files.map((f) => quoteLiteral(f)).join(', ')}]`;
  return `__sluice_line, ${paths}[__sluice_file_no + 1] AS __sluice_file,
    CAST(__sluice_line_no AS BIGINT) AS __sluice_line_no, CAST(__sluice_offset AS BIGINT) AS __sluice_offset`;
}

/**
 * The `originalJSON` expression for a staged record: its line, byte offset and text, so the
 * quarantine can keep the record's original bytes (see {@link RawRecordQuarantine}).
 *
 * @example
 * ```ts
 * enforceSchema({ ..., originalJSON: STAGED_ORIGINAL });
 * ```
 */
export const STAGED_ORIGINAL = `json_object('line', __sluice_line_no, 'offset', __sluice_offset, 'text', __sluice_line)`;

/**
 * A quarantine store for staged JSON records: the rows the engine quarantines carry
 * {@link STAGED_ORIGINAL} as their record, and this writes them to `target` as raw records
 * (the original text, byte for byte, with line and offset).
 *
 * @example
 * ```ts
 * await enforceSchema({ ..., quarantine: new RawRecordQuarantine(context.quarantine), originalJSON: STAGED_ORIGINAL });
 * ```
 */
export class RawRecordQuarantine extends QuarantineStore {
  readonly #target: QuarantineStore;

  constructor(target: QuarantineStore) {
    super(target.directory, target.runId);
    this.#target = target;
  }

  override async writeQuery(
    connection: EngineConnection,
    stepId: string,
    selectSQL: string,
  ): Promise<number> {
    const result = await connection.stream(
      `SELECT source_file, "column", reason, CAST(record AS VARCHAR) AS record FROM (${selectSQL})`,
    );
    let written = 0;
    let batch: RawQuarantinedRecord[] = [];
    for (;;) {
      const chunk = await result.fetchChunk();
      if (chunk === null || chunk.rowCount === 0) break;
      for (const row of chunk.getRowObjects(result.deduplicatedColumnNames())) {
        batch.push(rawRecordOf(row));
      }
      if (batch.length >= QUARANTINE_FLUSH) {
        await this.#target.appendRaw(stepId, batch);
        written += batch.length;
        batch = [];
      }
    }
    await this.#target.appendRaw(stepId, batch);
    return written + batch.length;
  }
}

function rawRecordOf(row: Record<string, unknown>): RawQuarantinedRecord {
  const original = JSON.parse(String(row['record'])) as {
    line: number;
    offset: number;
    text: string;
  };
  const column = row['column'];
  const sourceFile = row['source_file'];
  return {
    bytes: Buffer.from(original.text, 'utf8'),
    reason: String(row['reason']),
    line: Number(original.line),
    offset: Number(original.offset),
    ...(typeof sourceFile === 'string' ? { sourceFile } : {}),
    ...(typeof column === 'string' ? { column } : {}),
  };
}
