import { isUtf8 } from 'node:buffer';
import type { DuckDBAppender } from '@duckdb/node-api';
import { BIGINT, DuckDBDataChunk, VARCHAR } from '@duckdb/node-api';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { EngineConnection } from '../../engine/duckdb-session.js';
import type { RawQuarantinedRecord } from '../../engine/quarantine-store.js';
import { QuarantineStore } from '../../engine/quarantine-store.js';
import type { FramedRecord, InputCompression, JSONLayout } from './json-framing.js';
import { fileBytes, recordSplitter } from './json-framing.js';

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
  /** The table to create, with `__sluice_file`, `__sluice_line_no`, `__sluice_offset`, `__sluice_line`. */
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
    `CREATE OR REPLACE TABLE ${quoteIdentifier(table)} (__sluice_file VARCHAR, __sluice_line_no BIGINT,
       __sluice_offset BIGINT, __sluice_line VARCHAR)`,
  );
  const appender = await connection.raw.createAppender(table);
  const rows = new StagedRows(appender);
  let records = 0;
  let unreadable: RawQuarantinedRecord[] = [];
  let unreadableCount = 0;
  try {
    for (const file of options.files) {
      const splitter = recordSplitter(options.layout);
      const take = async (found: Iterable<FramedRecord>): Promise<void> => {
        for (const record of found) {
          records++;
          if (isUtf8(record.bytes)) {
            rows.add(file, record.line, record.offset, record.bytes.toString('utf8'));
          } else {
            unreadableCount++;
            unreadable.push({
              bytes: Buffer.from(record.bytes),
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
  #files: string[] = [];
  #lines: bigint[] = [];
  #offsets: bigint[] = [];
  #texts: string[] = [];

  constructor(appender: DuckDBAppender) {
    this.#appender = appender;
  }

  add(file: string, line: number, offset: number, text: string): void {
    this.#files.push(file);
    this.#lines.push(BigInt(line));
    this.#offsets.push(BigInt(offset));
    this.#texts.push(text);
    if (this.#texts.length >= CHUNK_ROWS) this.flush();
  }

  flush(): void {
    if (this.#texts.length === 0) return;
    const chunk = DuckDBDataChunk.create([VARCHAR, BIGINT, BIGINT, VARCHAR], this.#texts.length);
    chunk.setColumns([this.#files, this.#lines, this.#offsets, this.#texts]);
    this.#appender.appendDataChunk(chunk);
    this.#files = [];
    this.#lines = [];
    this.#offsets = [];
    this.#texts = [];
  }
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
