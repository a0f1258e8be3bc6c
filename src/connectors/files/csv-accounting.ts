import type { z } from 'zod';
import { SourceError } from '../../core/errors.js';
import type { SourceReadContext } from '../../contracts/batch-connector.js';
import type { RawQuarantinedRecord } from '../../contracts/quarantine-store.js';
import type { csvSourceConfig } from '../shared/file-configs.js';
import type { RejectedRecord } from './reader-rejects.js';
import type { LineScan } from './text-lines.js';
import { readRecords } from './text-lines.js';

type CSVConfig = z.output<typeof csvSourceConfig>;

/**
 * Whether a CSV source's lines can be counted byte-wise (not for UTF-16, whose line breaks are
 * two bytes).
 *
 * @example
 * ```ts
 * countsLinesIndependently({ ...config, encoding: 'utf-8' }); // true
 * ```
 */
export function countsLinesIndependently(config: Pick<CSVConfig, 'encoding'>): boolean {
  return config.encoding !== 'utf-16';
}

/**
 * Fails the read when a quoted value is never closed and the reader took the lines after it as
 * part of it: those records cannot be told apart, so nothing is loaded rather than losing them.
 *
 * @example
 * ```ts
 * refuseSwallowedLines('orders', await rejectedRecords(connection, tables));
 * ```
 */
export function refuseSwallowedLines(stepId: string, rejected: readonly RejectedRecord[]): void {
  const swallowing = rejected.find((r) => r.unterminatedQuote && r.readerText.includes('\n'));
  if (swallowing === undefined) return;
  throw new SourceError(
    stepId,
    `${swallowing.file}: a quoted value opened in record ${swallowing.readerLine - 1} (reader line ${swallowing.readerLine}) is never closed, so every line after it was read as part of that value; nothing was loaded`,
    {
      hint: 'close or escape the quote in the file (a quote inside a quoted value is written twice: "")',
    },
  );
}

/** What {@link quarantineRejected} kept, for the line accounting. */
export interface QuarantinedRejects {
  /** Runs of line breaks inside the quarantined records (see `lineBreakRunsInValues`). */
  lineBreakRuns(terminator: 'lf' | 'cr'): number;
}

/**
 * Quarantines the records the reader rejected as their original bytes, read back from the files
 * (whole, whatever their length; not UTF-8 kept as base64), with the file's own line number.
 * Latin-1 files keep the reader's decoded copy, whose offsets are not the file's.
 *
 * @example
 * ```ts
 * await quarantineRejected(context, config, rejected);
 * ```
 */
export async function quarantineRejected(
  context: SourceReadContext,
  config: Pick<CSVConfig, 'encoding' | 'compression'>,
  rejected: readonly RejectedRecord[],
  files: {
    /** The line scans by file, when the files were counted. */
    readonly scans?: ReadonlyMap<string, LineScan>;
    /** Every record is one line of its file, so the reader's line numbers are the file's. */
    readonly oneLinePerRecord?: boolean;
  } = {},
): Promise<QuarantinedRejects> {
  const records: RawQuarantinedRecord[] = [];
  const toReadBack = new Map<string, RejectedRecord[]>();
  for (const record of rejected) {
    const copy = files.oneLinePerRecord === true ? exactReaderCopy(record) : undefined;
    if (copy !== undefined) {
      records.push({ ...quarantineFields(record), bytes: copy, line: record.readerLine });
      continue;
    }
    const inFile = toReadBack.get(record.file);
    if (inFile === undefined) toReadBack.set(record.file, [record]);
    else inFile.push(record);
  }
  for (const [file, inFile] of toReadBack) {
    const fromFile = config.encoding === 'utf-8' && inFile.every((r) => r.offset !== undefined);
    const scan = files.scans?.get(file);
    const found = fromFile
      ? await readRecords(
          file,
          config.compression,
          inFile.map((r) => ({
            offset: r.offset as number,
            innerLineEnds: lineFeeds(r.readerText),
          })),
          scan === undefined ? {} : { terminator: scan.terminator, marks: scan.marks },
        )
      : undefined;
    inFile.forEach((record, i) => {
      const original = found?.[i];
      records.push({
        ...quarantineFields(record),
        bytes: original?.bytes ?? Buffer.from(record.readerText, 'utf8'),
        ...(original === undefined ? {} : { line: original.line, offset: original.offset }),
      });
    });
  }
  await context.quarantine.appendRaw(context.stepId, records);
  return {
    lineBreakRuns: (terminator) =>
      records.reduce((sum, r) => sum + lineBreakRuns(Buffer.from(r.bytes), terminator), 0),
  };
}

function quarantineFields(record: RejectedRecord): Omit<RawQuarantinedRecord, 'bytes'> {
  return {
    reason: record.reason,
    sourceFile: record.file,
    ...(record.column === null ? {} : { column: record.column }),
  };
}

/**
 * The reader's copy of a one-line record when it is the record's bytes: UTF-8 text it did not
 * cut (it keeps 10,000 bytes) nor mend; undefined when the record must be read back from the file.
 */
function exactReaderCopy(record: RejectedRecord): Buffer | undefined {
  const text = record.readerText.replace(/^[\r\n]+/, '');
  if (/[\r\n\uFFFD]/.test(text) || record.reason.includes('INVALID ENCODING')) return undefined;
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length < 9_000 ? bytes : undefined;
}

/** Line feeds inside a record, from the reader's copy (which may start with blank lines). */
function lineFeeds(readerText: string): number {
  const text = readerText.replace(/^[\r\n]+/, '');
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  return count;
}

function lineBreakRuns(bytes: Buffer, terminator: 'lf' | 'cr'): number {
  const pattern = terminator === 'lf' ? /[\r\n]*\n[\r\n]*/g : /[\r\n]*\r[\r\n]*/g;
  return bytes.toString('latin1').match(pattern)?.length ?? 0;
}

/**
 * The non-blank lines of the files that hold records: all but skipped lines and headers.
 *
 * @example
 * ```ts
 * linesInFiles(await Promise.all(files.map((f) => scanLines(f, options))), true); // 9999
 * ```
 */
export function linesInFiles(scans: readonly LineScan[], header: boolean): number {
  return scans.reduce((sum, scan) => {
    const afterSkip = scan.nonBlankLines - scan.nonBlankSkipped;
    return sum + Math.max(0, afterSkip - (header && afterSkip > 0 ? 1 : 0));
  }, 0);
}

/**
 * The records the files hold by an account independent of the CSV parser: their non-blank
 * lines, less skipped lines and headers, less the extra lines that quoted values spanning lines
 * take (counted in the values only when the lines and the records read differ).
 *
 * @example
 * ```ts
 * const recordsInInput = await recordsInFiles({ scans, header: true, rowsRead, lineBreakRuns });
 * ```
 */
export async function recordsInFiles(options: {
  readonly scans: readonly LineScan[];
  readonly header: boolean;
  readonly rowsRead: number;
  readonly lineBreakRuns: (terminator: 'lf' | 'cr') => Promise<number>;
}): Promise<number> {
  const lines = linesInFiles(options.scans, options.header);
  if (lines === options.rowsRead) return lines;
  const terminator = options.scans.every((scan) => scan.terminator === 'cr') ? 'cr' : 'lf';
  return lines - (await options.lineBreakRuns(terminator));
}
