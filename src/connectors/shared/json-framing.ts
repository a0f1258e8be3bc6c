import { isUtf8 } from 'node:buffer';

/** How records are laid out in a JSON file: one per line, or as JSON documents. */
export type JSONLayout = 'lines' | 'documents';

export type { InputCompression } from './file-bytes.js';

/** A record found in a file: where its original bytes are, and where they start in the file. */
export interface FramedRecord {
  /** The record's bytes are `buffer[start, end)`, without the line break or separators. */
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
  /** True when the bytes are known to be UTF-8 already. */
  readonly utf8: boolean;
  /** 1-based line the record starts on. */
  readonly line: number;
  /** 0-based byte offset of the record (in the decompressed bytes of a compressed file). */
  readonly offset: number;
}

/** The longest record read (DuckDB's own limit for one value is 4 GB; JS strings stop sooner). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/**
 * Thrown when a file cannot be split into records (it ends inside a record, a bracket does not
 * match, a record is too long): the message says where.
 *
 * @example
 * ```ts
 * throw new RecordFramingError('the file ends inside record 3', { line: 4, offset: 120 });
 * ```
 */
export class RecordFramingError extends Error {
  readonly line: number;
  readonly offset: number;

  constructor(message: string, where: { line: number; offset: number }) {
    super(`${message} (line ${where.line}, byte ${where.offset})`);
    this.line = where.line;
    this.offset = where.offset;
  }
}

/**
 * Splits a byte stream into records: a splitter for each layout.
 *
 * @example
 * ```ts
 * const splitter = recordSplitter('lines');
 * for (const r of splitter.push(Buffer.from('{"a":1}\n{"a":2}'))) use(r);
 * for (const r of splitter.end()) use(r);
 * ```
 */
export interface RecordSplitter {
  push(chunk: Buffer): Iterable<FramedRecord>;
  end(): Iterable<FramedRecord>;
}

/**
 * A splitter for `layout`: NDJSON lines, or JSON documents.
 *
 * @example
 * ```ts
 * recordSplitter('documents'); // splits `[{...}, {...}]` and `{...} {...}` into records
 * ```
 */
export function recordSplitter(
  layout: JSONLayout,
  maxRecordBytes: number = MAX_RECORD_BYTES,
): RecordSplitter {
  return layout === 'lines'
    ? new LineSplitter(maxRecordBytes)
    : new DocumentSplitter(maxRecordBytes);
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/** The UTF-8 byte order mark some writers put first in a file; it is not part of a record. */
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function startsWithBom(buffer: Buffer, start: number, end: number): boolean {
  return (
    end - start >= BOM.length && buffer.compare(BOM, 0, BOM.length, start, start + BOM.length) === 0
  );
}

/** JSON whitespace: space, tab, line feed, carriage return. */
function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === NEWLINE || byte === CR;
}

/** True when every byte is JSON whitespace (such a line is no record). */
function isBlank(buffer: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isWhitespace(buffer[i] as number)) return false;
  return true;
}

/**
 * NDJSON: each line feed ends a record; a carriage return right before it is part of the line
 * break, and lines of whitespace only are not records. Nothing else is looked at, so a record
 * with a raw carriage return or control byte inside stays one record.
 */
class LineSplitter implements RecordSplitter {
  readonly #max: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #lineStart = 0;
  #position = 0;
  #line = 0;

  constructor(maxRecordBytes: number) {
    this.#max = maxRecordBytes;
  }

  *push(chunk: Buffer): Iterable<FramedRecord> {
    let from = 0;
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= 0 && this.#pending.length > 0) {
      const nl = chunk.indexOf(NEWLINE);
      const line = Buffer.concat([...this.#pending, chunk.subarray(0, nl)]);
      this.#pending = [];
      this.#pendingBytes = 0;
      const record = this.#finish(line, 0, line.length, false);
      if (record !== undefined) yield record;
      this.#lineStart = this.#position + nl + 1;
      from = nl + 1;
    }
    // One UTF-8 check for all the complete lines of the chunk; lines are checked one by one
    // only where it fails.
    const utf8 = from < last && isUtf8(chunk.subarray(from, last));
    while (from <= last) {
      const nl = chunk.indexOf(NEWLINE, from);
      const record = this.#finish(chunk, from, nl, utf8);
      if (record !== undefined) yield record;
      this.#lineStart = this.#position + nl + 1;
      from = nl + 1;
    }
    if (from < chunk.length) {
      this.#pending.push(chunk.subarray(from));
      this.#pendingBytes += chunk.length - from;
      if (this.#pendingBytes > this.#max)
        throw new RecordFramingError(`a line is longer than ${this.#max} bytes`, {
          line: this.#line + 1,
          offset: this.#lineStart,
        });
    }
    this.#position += chunk.length;
  }

  *end(): Iterable<FramedRecord> {
    if (this.#pending.length === 0) return;
    const line = Buffer.concat(this.#pending);
    this.#pending = [];
    const record = this.#finish(line, 0, line.length, false);
    if (record !== undefined) yield record;
  }

  #finish(buffer: Buffer, start: number, end: number, utf8: boolean): FramedRecord | undefined {
    this.#line++;
    const stop = end > start && buffer[end - 1] === CR ? end - 1 : end;
    const bom = this.#line === 1 && startsWithBom(buffer, start, stop) ? BOM.length : 0;
    if (isBlank(buffer, start + bom, stop)) return undefined;
    return {
      buffer,
      start: start + bom,
      end: stop,
      utf8,
      line: this.#line,
      offset: this.#lineStart + bom,
    };
  }
}

type OpenRecord = 'container' | 'string' | 'scalar' | 'element';

/**
 * JSON documents: the elements of top-level arrays are records, and every other top-level value
 * (an object, one after another or alone) is one. Records are found by brackets and string
 * quotes, without parsing their contents, so an element that is not valid JSON is still one
 * record; a file whose brackets do not balance cannot be split and fails. Empty array slots
 * (`[1,,2]`, a trailing comma) hold no bytes and are no records.
 */
class DocumentSplitter implements RecordSplitter {
  readonly #max: number;
  #depth = 0;
  #unpacking = false;
  #inString = false;
  #escaped = false;
  #open: OpenRecord | undefined;
  #recordStart = 0;
  #recordLine = 0;
  #contentEnd = 0;
  /** Bytes of the open record in earlier chunks. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #position = 0;
  #newlines = 0;
  #arrayStart = { line: 1, offset: 0 };

  constructor(maxRecordBytes: number) {
    this.#max = maxRecordBytes;
  }

  *push(chunk: Buffer): Iterable<FramedRecord> {
    const base = this.#position;
    const bom = base === 0 && startsWithBom(chunk, 0, chunk.length) ? BOM.length : 0;
    for (let i = bom; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (byte === NEWLINE) this.#newlines++;
      if (this.#inString) {
        this.#contentEnd = base + i + 1;
        if (this.#escaped) this.#escaped = false;
        else if (byte === 0x5c) this.#escaped = true;
        else if (byte === 0x22) {
          this.#inString = false;
          if (this.#open === 'string') yield this.#close(chunk, base);
        }
        continue;
      }
      if (isWhitespace(byte)) {
        if (this.#open === 'scalar') yield this.#close(chunk, base);
        continue;
      }
      if (this.#open === 'scalar' && isStructural(byte)) yield this.#close(chunk, base);
      const at = base + i;
      if (this.#depth === 0) {
        if (byte === 0x5b) {
          this.#unpacking = true;
          this.#depth = 1;
          this.#arrayStart = { line: this.#newlines + 1, offset: at };
        } else if (byte === 0x7b) {
          this.#start('container', at);
          this.#depth = 1;
        } else if (byte === 0x22) {
          this.#start('string', at);
          this.#inString = true;
        } else if (byte === 0x5d || byte === 0x7d || byte === 0x2c) {
          throw this.#unexpected(byte, at);
        } else if (this.#open === undefined) this.#start('scalar', at);
      } else if (this.#depth === 1 && this.#unpacking) {
        if (byte === 0x2c || byte === 0x5d) {
          if (this.#open !== undefined) yield this.#close(chunk, base);
          if (byte === 0x5d) {
            this.#depth = 0;
            this.#unpacking = false;
          }
          continue;
        }
        if (byte === 0x7d) throw this.#unexpected(byte, at);
        if (this.#open === undefined) this.#start('element', at);
        if (byte === 0x7b || byte === 0x5b) this.#depth++;
        else if (byte === 0x22) this.#inString = true;
      } else {
        if (byte === 0x7b || byte === 0x5b) this.#depth++;
        else if (byte === 0x7d || byte === 0x5d) this.#depth--;
        else if (byte === 0x22) this.#inString = true;
        if (this.#depth === 0) {
          this.#contentEnd = at + 1;
          yield this.#close(chunk, base);
          continue;
        }
      }
      this.#contentEnd = at + 1;
    }
    if (this.#open !== undefined) {
      const from = Math.max(0, this.#recordStart - base);
      this.#held.push(chunk.subarray(from));
      this.#heldBytes += chunk.length - from;
      if (this.#heldBytes > this.#max)
        throw new RecordFramingError(`a record is longer than ${this.#max} bytes`, {
          line: this.#recordLine,
          offset: this.#recordStart,
        });
    }
    this.#position += chunk.length;
  }

  *end(): Iterable<FramedRecord> {
    if (this.#open === 'scalar' && !this.#inString) {
      yield this.#close(Buffer.alloc(0), this.#position);
      return;
    }
    if (this.#open !== undefined)
      throw new RecordFramingError('the file ends inside a record', {
        line: this.#recordLine,
        offset: this.#recordStart,
      });
    if (this.#depth > 0)
      throw new RecordFramingError('the file ends before the array is closed', this.#arrayStart);
  }

  #start(kind: OpenRecord, at: number): void {
    this.#open = kind;
    this.#recordStart = at;
    this.#recordLine = this.#newlines + 1;
    this.#held = [];
    this.#heldBytes = 0;
  }

  /** The open record, from its start up to its last byte that is not whitespace. */
  #close(chunk: Buffer, base: number): FramedRecord {
    const length = this.#contentEnd - this.#recordStart;
    const end = Math.max(0, this.#contentEnd - base);
    const inChunk = chunk.subarray(Math.min(end, Math.max(0, this.#recordStart - base)), end);
    const bytes =
      this.#held.length === 0
        ? inChunk
        : Buffer.concat([...this.#held, inChunk]).subarray(0, length);
    this.#open = undefined;
    this.#held = [];
    this.#heldBytes = 0;
    return {
      buffer: bytes,
      start: 0,
      end: bytes.length,
      utf8: false,
      line: this.#recordLine,
      offset: this.#recordStart,
    };
  }

  #unexpected(byte: number, at: number): RecordFramingError {
    return new RecordFramingError(`unexpected '${String.fromCharCode(byte)}' between records`, {
      line: this.#newlines + 1,
      offset: at,
    });
  }
}

function isStructural(byte: number): boolean {
  return (
    byte === 0x7b ||
    byte === 0x7d ||
    byte === 0x5b ||
    byte === 0x5d ||
    byte === 0x22 ||
    byte === 0x2c
  );
}
