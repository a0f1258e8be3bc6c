import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { codecOf, fileBytes } from '../shared/file-bytes.js';
import type { InputCompression } from '../shared/file-bytes.js';

const LF = 0x0a;
const CR = 0x0d;

/** What {@link scanLines} found in one text file. */
export interface LineScan {
  /** Lines holding at least one character (a lone `\r` before `\n` does not count). */
  readonly nonBlankLines: number;
  /** Non-blank lines among the first `skipLines` lines (blank or not) of the file. */
  readonly nonBlankSkipped: number;
  /** The byte that ends lines: `\n`, or `\r` in a file without any `\n`. */
  readonly terminator: 'lf' | 'cr';
  /**
   * Where lines start, about every {@link MARK_SPACING} bytes, with their 1-based line numbers:
   * lets {@link readRecords} read a record back from near it instead of from the file's start.
   */
  readonly marks: readonly LineMark[];
}

/** A line's start in a file (decompressed bytes) and its 1-based line number. */
export interface LineMark {
  readonly offset: number;
  readonly line: number;
}

/** Records read back at the same time from one file. */
const PARALLEL_READS = 32;

/** Bytes between two {@link LineMark}s, at least. */
const MARK_SPACING = 8192;

/**
 * Counts the non-blank lines of a text file in one pass over its (decompressed) bytes, without
 * parsing it: an account of the file that does not depend on the parser that types its records.
 *
 * @example
 * ```ts
 * const { nonBlankLines } = await scanLines('data/orders.csv', { compression: 'auto' });
 * ```
 */
export async function scanLines(
  path: string,
  options: {
    readonly compression: InputCompression;
    readonly skipLines?: number;
    /** Bytes read at a time (tests use small ones to cross chunk boundaries). */
    readonly chunkSize?: number;
  },
): Promise<LineScan> {
  const skipLines = options.skipLines ?? 0;
  const lf = new LineCounter(LF, skipLines);
  const cr = new LineCounter(CR, skipLines);
  let sawLF = false;
  for await (const chunk of fileBytes(path, options.compression, options.chunkSize)) {
    if (!sawLF && chunk.indexOf(LF) !== -1) sawLF = true;
    lf.add(chunk);
    if (!sawLF) cr.add(chunk);
  }
  const counter = sawLF || cr.finish().nonBlank === 0 ? lf : cr;
  const counted = counter.finish();
  return {
    nonBlankLines: counted.nonBlank,
    nonBlankSkipped: counted.nonBlankSkipped,
    terminator: counter === lf ? 'lf' : 'cr',
    marks: counter.marks,
  };
}

class LineCounter {
  readonly #terminator: number;
  readonly #skipLines: number;
  #lines = 0;
  #nonBlank = 0;
  #nonBlankSkipped = 0;
  /** Bytes in the current line so far, capped at 2 (enough to tell a blank line). */
  #pending = 0;
  #pendingIsCR = false;
  /** Bytes of the file before the current chunk. */
  #position = 0;
  #nextMark = MARK_SPACING;
  readonly marks: LineMark[] = [{ offset: 0, line: 1 }];

  constructor(terminator: number, skipLines: number) {
    this.#terminator = terminator;
    this.#skipLines = skipLines;
  }

  add(chunk: Uint8Array): void {
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    let end = buffer.indexOf(this.#terminator, start);
    while (end !== -1) {
      this.#extend(buffer, start, end);
      this.#endLine();
      start = end + 1;
      if (this.#position + start >= this.#nextMark) {
        this.marks.push({ offset: this.#position + start, line: this.#lines + 1 });
        this.#nextMark = this.#position + start + MARK_SPACING;
      }
      end = buffer.indexOf(this.#terminator, start);
    }
    this.#extend(buffer, start, buffer.length);
    this.#position += buffer.length;
  }

  finish(): { nonBlank: number; nonBlankSkipped: number } {
    if (this.#pending > 0) this.#endLine();
    return { nonBlank: this.#nonBlank, nonBlankSkipped: this.#nonBlankSkipped };
  }

  #extend(buffer: Buffer, start: number, end: number): void {
    const length = end - start;
    if (length === 0) return;
    if (this.#pending === 0 && length === 1) this.#pendingIsCR = buffer[start] === CR;
    this.#pending = Math.min(2, this.#pending + length);
  }

  #endLine(): void {
    const blank =
      this.#pending === 0 || (this.#pending === 1 && this.#pendingIsCR && this.#terminator === LF);
    if (!blank) {
      this.#nonBlank++;
      if (this.#lines < this.#skipLines) this.#nonBlankSkipped++;
    }
    this.#lines++;
    this.#pending = 0;
    this.#pendingIsCR = false;
  }
}

/** One stretch of a file to take verbatim: from a byte offset to the end of a line. */
export interface RecordRequest {
  /**
   * 0-based offset in the decompressed bytes where the record starts, or of a line break before
   * it: line breaks (blank lines) there are skipped, since no record starts with one.
   */
  readonly offset: number;
  /** Line ends inside the record (a quoted value spanning lines) before the one that ends it. */
  readonly innerLineEnds: number;
}

/**
 * The original bytes of records of a text file, each from its offset up to (not including) the
 * line end that closes it (`\r\n` or `\n`), or to the end of the file. One pass over the file
 * whatever the number of records; the result is in the order of `requests`.
 *
 * @example
 * ```ts
 * const [{ bytes, line }] = await readRecords('bad.csv', 'none', [{ offset: 52789, innerLineEnds: 0 }]);
 * ```
 */
export async function readRecords(
  path: string,
  compression: InputCompression,
  requests: readonly RecordRequest[],
  options: {
    readonly terminator?: 'lf' | 'cr';
    /** Bytes read at a time. */
    readonly chunkSize?: number;
    /** The line marks of {@link scanLines}: an uncompressed file is then read only near each record. */
    readonly marks?: readonly LineMark[];
  } = {},
): Promise<FoundRecord[]> {
  const end = options.terminator === 'cr' ? CR : LF;
  const { marks } = options;
  if (marks === undefined || marks.length === 0 || codecOf(path, compression) !== 'none')
    return collectRecords(fileBytes(path, compression, options.chunkSize), 0, 1, requests, end);
  const handle = await open(path);
  try {
    const readOne = async (request: RecordRequest): Promise<FoundRecord> => {
      const mark = markBefore(marks, request.offset);
      const chunks = bytesFrom(handle, mark.offset, options.chunkSize ?? 16_384);
      const [record] = await collectRecords(chunks, mark.offset, mark.line, [request], end);
      return record as FoundRecord;
    };
    // Positional reads of one handle may run side by side; a few dozen keep the disk busy.
    const found: FoundRecord[] = [];
    for (let at = 0; at < requests.length; at += PARALLEL_READS)
      found.push(...(await Promise.all(requests.slice(at, at + PARALLEL_READS).map(readOne))));
    return found;
  } finally {
    await handle.close();
  }
}

/** The last mark at or before `offset` (marks are in offset order and start at 0). */
function markBefore(marks: readonly LineMark[], offset: number): LineMark {
  let low = 0;
  let high = marks.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if ((marks[middle] as LineMark).offset <= offset) low = middle;
    else high = middle - 1;
  }
  return marks[low] as LineMark;
}

async function* bytesFrom(
  handle: FileHandle,
  offset: number,
  chunkSize: number,
): AsyncGenerator<Uint8Array> {
  for (let position = offset; ;) {
    const buffer = Buffer.allocUnsafe(chunkSize);
    const { bytesRead } = await handle.read(buffer, 0, chunkSize, position);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
    position += bytesRead;
  }
}

/**
 * Takes `requests` out of `chunks`, which start at byte `start` of the file, on line `line`.
 */
async function collectRecords(
  chunks: AsyncIterable<Uint8Array>,
  start: number,
  line: number,
  requests: readonly RecordRequest[],
  end: number,
): Promise<FoundRecord[]> {
  const order = requests
    .map((_, i) => i)
    .sort((a, b) => offsetOf(requests, a) - offsetOf(requests, b));
  const results = requests.map((r): FoundRecord => ({
    bytes: Buffer.alloc(0),
    line: 0,
    offset: r.offset,
  }));
  const lines = new Array<number>(requests.length).fill(0);
  let next = 0;
  let reading: OpenRecord[] = [];
  let position = start;
  let lineEndsBefore = line - 1;
  for await (const chunk of chunks) {
    const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const chunkEnd = position + buffer.length;
    let counted = 0;
    let countedEnds = 0;
    while (next < order.length && offsetOf(requests, order[next] as number) < chunkEnd) {
      const index = order[next] as number;
      const request = requests[index] as RecordRequest;
      const from = Math.max(0, request.offset - position);
      countedEnds += countByte(buffer, end, counted, from);
      counted = from;
      lines[index] = lineEndsBefore + countedEnds + 1;
      reading.push({
        index,
        parts: [],
        endsLeft: request.innerLineEnds,
        from,
        leading: true,
        start: request.offset,
      });
      next++;
    }
    lineEndsBefore += countedEnds + countByte(buffer, end, counted, buffer.length);
    const unfinished: OpenRecord[] = [];
    for (const record of reading) {
      let from = Math.max(0, record.from);
      record.from = 0;
      if (record.leading) {
        while (from < buffer.length && isLineBreak(buffer[from] as number)) {
          if (buffer[from] === end) lines[record.index] = (lines[record.index] ?? 0) + 1;
          from++;
        }
        if (from === buffer.length) {
          unfinished.push(record);
          continue;
        }
        record.leading = false;
        record.start = position + from;
      }
      const close = closingLineEnd(buffer, from, end, record);
      if (close === -1) {
        record.parts.push(Buffer.from(buffer.subarray(from)));
        unfinished.push(record);
      } else {
        record.parts.push(Buffer.from(buffer.subarray(from, close)));
        results[record.index] = found(record, end, lines);
      }
    }
    reading = unfinished;
    position = chunkEnd;
    if (next === order.length && reading.length === 0) break;
  }
  for (const record of reading) results[record.index] = found(record, end, lines);
  return results;
}

/** A record's original bytes, the 1-based line it starts on and its 0-based byte offset. */
export interface FoundRecord {
  readonly bytes: Buffer;
  readonly line: number;
  readonly offset: number;
}

function countByte(buffer: Buffer, byte: number, from: number, to: number): number {
  let count = 0;
  let at = buffer.indexOf(byte, from);
  while (at !== -1 && at < to) {
    count++;
    at = buffer.indexOf(byte, at + 1);
  }
  return count;
}

interface OpenRecord {
  readonly index: number;
  readonly parts: Buffer[];
  /** Line ends still to pass before the one that closes the record. */
  endsLeft: number;
  /** Where the record starts in the current chunk (0 once it is under way). */
  from: number;
  /** Whether line breaks before the record's first byte are still being skipped. */
  leading: boolean;
  /** The offset of the record's first byte in the file. */
  start: number;
}

function found(record: OpenRecord, end: number, lines: readonly number[]): FoundRecord {
  return { bytes: recordBytes(record, end), line: lines[record.index] ?? 0, offset: record.start };
}

function isLineBreak(byte: number): boolean {
  return byte === LF || byte === CR;
}

function offsetOf(requests: readonly RecordRequest[], index: number): number {
  return (requests[index] as RecordRequest).offset;
}

/** The position of the line end closing `record` in `buffer` from `from`, or -1. */
function closingLineEnd(buffer: Buffer, from: number, end: number, record: OpenRecord): number {
  let cursor = from;
  for (;;) {
    const at = buffer.indexOf(end, cursor);
    if (at === -1) return -1;
    if (record.endsLeft === 0) return at;
    record.endsLeft--;
    cursor = at + 1;
  }
}

function recordBytes(record: OpenRecord, end: number): Buffer {
  const bytes = Buffer.concat(record.parts);
  return end === LF && bytes.length > 0 && bytes[bytes.length - 1] === CR
    ? bytes.subarray(0, -1)
    : bytes;
}
