import { isUtf8 } from 'node:buffer';
import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { quoteLiteral } from '../core/type-mappings.js';
import type { EngineConnection } from './engine-connection.js';
import { toJSONValue } from './json-values.js';

/** One quarantined record, as written to the quarantine file (one JSON object per line). */
export interface QuarantineEntry {
  readonly run_id: string;
  readonly step: string;
  /** The input file the record came from, when it came from a file. */
  readonly source_file: string | null;
  /** 1-based line in that file, when the reader knows it. */
  readonly line: number | null;
  /** 0-based byte offset of the record in that file, when the reader knows it. */
  readonly offset?: number | null;
  /** The column(s) at fault, comma-separated; null when the whole record is. */
  readonly column: string | null;
  readonly reason: string;
  /**
   * The original record: an object, or the raw text of a record that could not be parsed, byte
   * for byte and whole (base64 when `record_encoding` says so).
   */
  readonly record: unknown;
  /** `base64` when `record` holds the base64 of original bytes that are not valid UTF-8. */
  readonly record_encoding?: 'base64';
}

/**
 * The `record` (and `record_encoding`) of a quarantine entry holding original bytes losslessly:
 * the text when the bytes are valid UTF-8, their base64 otherwise.
 *
 * @example
 * ```ts
 * rawRecordFields(Buffer.from('5000,"x')); // { record: '5000,"x' }
 * rawRecordFields(Buffer.from([0xff, 0x41])); // { record: '/0E=', record_encoding: 'base64' }
 * ```
 */
export function rawRecordFields(
  bytes: Uint8Array,
): Pick<QuarantineEntry, 'record' | 'record_encoding'> {
  return isUtf8(bytes)
    ? { record: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') }
    : {
        record: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'),
        record_encoding: 'base64',
      };
}

/**
 * The original bytes of a quarantined record that holds raw text (see {@link rawRecordFields}).
 *
 * @example
 * ```ts
 * originalBytes({ record: '/0E=', record_encoding: 'base64' }); // <Buffer ff 41>
 * ```
 */
export function originalBytes(entry: Pick<QuarantineEntry, 'record' | 'record_encoding'>): Buffer {
  if (typeof entry.record !== 'string')
    throw new TypeError('the quarantined record is not raw text');
  return Buffer.from(entry.record, entry.record_encoding === 'base64' ? 'base64' : 'utf8');
}

/** A record quarantined with its original bytes (a line or record that could not be parsed). */
export interface RawQuarantinedRecord {
  readonly bytes: Uint8Array;
  readonly reason: string;
  readonly sourceFile?: string;
  readonly line?: number;
  readonly offset?: number;
  readonly column?: string;
}

/**
 * The dead-letter store of one run: NDJSON files under `<runDir>/quarantine/<step>.ndjson`.
 * Records that fail typing, required fields or a transform's checks land here with the
 * reason; the run report counts them.
 *
 * @example
 * ```ts
 * const store = new QuarantineStore('.sluice/runs/run_x/quarantine', 'run_x');
 * await store.append('enrich', [{ record: row, reason: 'negative amount' }]);
 * ```
 */
export class QuarantineStore {
  readonly directory: string;
  readonly runId: string;
  readonly #counts = new Map<string, number>();

  constructor(directory: string, runId: string) {
    this.directory = directory;
    this.runId = runId;
  }

  /** The file that holds step `stepId`'s quarantined records. */
  pathFor(stepId: string): string {
    return join(this.directory, `${stepId}.ndjson`);
  }

  /**
   * Appends the rows of `selectSQL` to the step's quarantine file, written by DuckDB. The query
   * must produce the columns of {@link QuarantineEntry} except `run_id` and `step`, with `record`
   * as JSON. Returns how many records were written.
   */
  async writeQuery(
    connection: EngineConnection,
    stepId: string,
    selectSQL: string,
  ): Promise<number> {
    const staged = `__sluice_quarantine_${stepId}`;
    const count = await connection.run(
      `CREATE OR REPLACE TEMP TABLE "${staged}" AS
       SELECT ${quoteLiteral(this.runId)} AS run_id, ${quoteLiteral(stepId)} AS step,
              source_file, line, "column", reason, record
       FROM (${selectSQL})`,
    );
    if (count > 0) {
      await mkdir(this.directory, { recursive: true });
      const part = `${this.pathFor(stepId)}.part`;
      await connection.run(`COPY "${staged}" TO ${quoteLiteral(part)} (FORMAT json)`);
      await appendFile(this.pathFor(stepId), await readFile(part));
      await rm(part);
    }
    await connection.run(`DROP TABLE "${staged}"`);
    this.#add(stepId, count);
    return count;
  }

  /** Appends records quarantined by TypeScript code (with the file they came from, if any). */
  append(
    stepId: string,
    records: readonly { record: unknown; reason: string; column?: string; sourceFile?: string }[],
  ): Promise<void> {
    return this.#appendEntries(
      stepId,
      records.map((r) => ({
        run_id: this.runId,
        step: stepId,
        source_file: r.sourceFile ?? null,
        line: null,
        column: r.column ?? null,
        reason: r.reason,
        record: toJSONValue(r.record),
      })),
    );
  }

  /** Appends records kept as their original bytes, losslessly and whole. */
  appendRaw(stepId: string, records: readonly RawQuarantinedRecord[]): Promise<void> {
    return this.#appendEntries(
      stepId,
      records.map((r) => ({
        run_id: this.runId,
        step: stepId,
        source_file: r.sourceFile ?? null,
        line: r.line ?? null,
        offset: r.offset ?? null,
        column: r.column ?? null,
        reason: r.reason,
        ...rawRecordFields(r.bytes),
      })),
    );
  }

  async #appendEntries(stepId: string, entries: readonly QuarantineEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await mkdir(this.directory, { recursive: true });
    const lines = entries.map((entry) => JSON.stringify(entry));
    await appendFile(this.pathFor(stepId), `${lines.join('\n')}\n`);
    this.#add(stepId, entries.length);
  }

  /** Forgets what `stepId` quarantined, before the step runs again (a step retry). */
  async reset(stepId: string): Promise<void> {
    await rm(this.pathFor(stepId), { force: true });
    this.#counts.delete(stepId);
  }

  /** Records quarantined so far by `stepId`. */
  count(stepId: string): number {
    return this.#counts.get(stepId) ?? 0;
  }

  #add(stepId: string, count: number): void {
    this.#counts.set(stepId, this.count(stepId) + count);
  }
}
