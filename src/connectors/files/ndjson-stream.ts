import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { nonFiniteNumbers, toJSONValue } from '../../contracts/json-values.js';
import { invalidRecord, parseJSONObject } from '../../contracts/payload.js';
import type { StreamRecord } from '../../contracts/stream-connector.js';
import { defineStreamSink, defineStreamSource } from '../../contracts/stream-connector.js';

/** How long `pull` sleeps between looks at a folder with nothing new. */
const POLL_MS = 50;
const CHUNK = 1 << 20;
const BLANK_LINE = /^[ \t\r]*$/;

/**
 * Config of the `files` stream source.
 *
 * @example
 * ```ts
 * filesStreamSourceConfig.parse({ path: 'incoming/clicks' });
 * ```
 */
export const filesStreamSourceConfig = z.strictObject({
  path: z
    .string()
    .min(1)
    .describe('Folder to tail; relative to the working directory. Created when missing.'),
  suffix: z
    .string()
    .default('.ndjson')
    .describe('Only files whose names end with this are read (in name order).'),
});

/** One file being tailed: where reading stopped and the partial line at its end. */
interface Tail {
  offset: number;
  line: number;
  /** Bytes read but not yet split into lines (a line being written has no newline yet). */
  rest: Buffer;
}

/** Config of the `files` stream source as written (defaults optional). */
export type FilesStreamSourceConfig = z.input<typeof filesStreamSourceConfig>;

/**
 * Tails a folder of NDJSON files: every line of every file (in name order; hidden names, starting
 * with `.` or `_`, are skipped) is a record, and lines
 * appended later, or new files, are read as they appear. The partition is the file's name and
 * the position its line number, so a restart resumes after the last checkpointed line of each
 * file. Files are never changed or deleted. A line that is not a JSON object becomes an invalid
 * record (quarantined with the reason), and a line being written is read once its newline is.
 *
 * @example
 * ```ts
 * stream('clicks', { source: streamSource.files({ path: 'incoming/clicks' }), ... });
 * ```
 */
export const filesStreamSource = defineStreamSource({
  name: 'files',
  summary: 'NDJSON files in a folder, tailed: new lines and new files are read as they appear.',
  config: filesStreamSourceConfig,
  delivery: 'at-least-once',
  comparePositions: (a, b) => Number(a) - Number(b),
  async open(config, context) {
    const folder = resolve(config.path);
    await mkdir(folder, { recursive: true });
    if (context.start.kind === 'time')
      throw new Error(
        'the files stream source cannot start at a time; use a checkpoint, beginning or latest',
      );
    const tails = new Map<string, Tail>();
    if (context.start.kind === 'latest') {
      // Existing lines are counted, not read: new ones keep their line numbers.
      for (const name of await listFiles(folder, config.suffix)) {
        const tail: Tail = { offset: 0, line: 0, rest: Buffer.alloc(0) };
        readLines(join(folder, name), tail, Infinity, () => undefined);
        tails.set(name, tail);
      }
    }
    const skipThrough =
      context.start.kind === 'checkpoint'
        ? context.start.positions
        : ({} as Record<string, string>);
    const read = async (max: number): Promise<StreamRecord[]> => {
      const records: StreamRecord[] = [];
      for (const name of await listFiles(folder, config.suffix)) {
        let tail = tails.get(name);
        if (tail === undefined) {
          tail = { offset: 0, line: 0, rest: Buffer.alloc(0) };
          tails.set(name, tail);
        }
        readLines(join(folder, name), tail, max - records.length, (text, line, bytes) => {
          const done = Object.hasOwn(skipThrough, name) ? skipThrough[name] : undefined;
          if (done !== undefined && line <= Number(done)) return;
          records.push({
            // Decoding bytes that are not UTF-8 would replace them and could still parse.
            value: isUtf8(bytes)
              ? parseJSONObject(text, 'the line')
              : invalidRecord(
                  'the line is not UTF-8 text (the payload is its bytes in base64)',
                  bytes.toString('base64'),
                ),
            partition: name,
            position: String(line),
          });
        });
        if (records.length >= max) break;
      }
      return records;
    };
    return {
      async pull(max, waitMs) {
        const deadline = Date.now() + waitMs;
        for (;;) {
          const records = await read(max);
          if (records.length > 0 || Date.now() >= deadline || context.signal.aborted)
            return records;
          await new Promise((r) => setTimeout(r, Math.min(POLL_MS, deadline - Date.now())));
        }
      },
      ack: async () => undefined,
      close: async () => undefined,
    };
  },
});

/**
 * The files to tail, in name order: those ending with `suffix`, except hidden ones (a name
 * starting with `.`, or with `_` and holding no `=`), which are temporary or staged files.
 */
async function listFiles(folder: string, suffix: string): Promise<string[]> {
  return (await readdir(folder))
    .filter((name) => name.endsWith(suffix) && !isHiddenName(name))
    .sort();
}

function isHiddenName(name: string): boolean {
  return name.startsWith('.') || (name.startsWith('_') && !name.includes('='));
}

/** Reads complete lines after `tail.offset`, at most `max`, calling `onLine` with 1-based numbers. */
function readLines(
  file: string,
  tail: Tail,
  max: number,
  onLine: (text: string, line: number, bytes: Buffer) => void,
): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(CHUNK);
    let taken = 0;
    for (;;) {
      let start = 0;
      for (
        let nl = tail.rest.indexOf(10);
        nl >= 0 && taken < max;
        nl = tail.rest.indexOf(10, start)
      ) {
        const end = nl > start && tail.rest[nl - 1] === 13 ? nl - 1 : nl;
        const text = tail.rest.toString('utf8', start, end);
        tail.line++;
        // Blank means JSON whitespace only: any other line is a record, valid or not.
        if (!BLANK_LINE.test(text)) {
          onLine(text, tail.line, tail.rest.subarray(start, end));
          taken++;
        }
        start = nl + 1;
      }
      tail.rest = tail.rest.subarray(start);
      if (taken >= max) return;
      const bytes = readSync(fd, chunk, 0, CHUNK, tail.offset);
      if (bytes === 0) return;
      tail.offset += bytes;
      tail.rest = Buffer.concat([tail.rest, chunk.subarray(0, bytes)]);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Config of the `files` stream sink.
 *
 * @example
 * ```ts
 * filesStreamSinkConfig.parse({ path: 'out/clicks_per_minute' });
 * ```
 */
export const filesStreamSinkConfig = z.strictObject({
  path: z
    .string()
    .min(1)
    .describe('Folder the checkpoint files are written to; created when missing.'),
});

/** Config of the `files` stream sink as written. */
export type FilesStreamSinkConfig = z.input<typeof filesStreamSinkConfig>;

/**
 * Writes each checkpoint's rows as one NDJSON file `part-<checkpoint>.ndjson`, renamed into
 * place when the checkpoint commits (values as `toJSONValue` makes them: bigints beyond 2^53 as
 * exact strings, dates as ISO text, NaN and infinities as null with a warning counting them), together with the checkpoint's snapshot
 * (`_checkpoints/<checkpoint>.json`, written first): a restart resumes from the newest
 * checkpoint whose part file exists, so every row is written exactly once. Under scale-out each
 * partition writes into its own folder `partition=<name>`.
 *
 * @example
 * ```ts
 * stream('clicks', { sink: streamSink.files({ path: 'out/clicks_per_minute' }), ... });
 * ```
 */
export const filesStreamSink = defineStreamSink({
  name: 'files',
  summary: 'NDJSON files, one per checkpoint, committed by rename (exactly once).',
  config: filesStreamSinkConfig,
  delivery: 'exactly-once',
  async open(config, context) {
    const folder =
      context.partition === undefined
        ? resolve(config.path)
        : join(resolve(config.path), `partition=${encodeURIComponent(context.partition)}`);
    const checkpoints = join(folder, '_checkpoints');
    await mkdir(checkpoints, { recursive: true });
    let lines: string[] = [];
    let nonFinite = 0;
    return {
      async write(rows) {
        for (const row of rows) {
          nonFinite += nonFiniteNumbers(row);
          lines.push(JSON.stringify(toJSONValue(row)));
        }
      },
      async commit({ checkpointId, snapshot }) {
        if (nonFinite > 0) {
          context.logger.warn(
            { valuesDiscarded: nonFinite, checkpointId },
            'NaN and infinite values written as null: JSON has no literal for them',
          );
          nonFinite = 0;
        }
        const name = String(checkpointId).padStart(10, '0');
        const snapshotFile = join(checkpoints, `${name}.json`);
        const snapshotTemp = join(checkpoints, `.${name}.json.tmp`);
        await writeFile(snapshotTemp, JSON.stringify(snapshot ?? null));
        await rename(snapshotTemp, snapshotFile);
        const part = join(folder, `part-${name}.ndjson`);
        // Hidden until renamed, so that no glob or tailing reader sees a part being written.
        const partTemp = join(folder, `.part-${name}.ndjson.tmp`);
        await writeFile(partTemp, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
        await rename(partTemp, part);
        lines = [];
      },
      async recover() {
        // Temporary files of a checkpoint that never committed: nothing reads them.
        for (const [dir, pattern] of [
          [folder, /^\.part-\d{10}\.ndjson\.tmp$/],
          [checkpoints, /^\.\d{10}\.json\.tmp$/],
        ] as const) {
          for (const leftover of (await readdir(dir)).filter((n) => pattern.test(n)))
            await rm(join(dir, leftover), { force: true });
        }
        const parts = (await readdir(folder)).filter((n) => /^part-\d{10}\.ndjson$/.test(n)).sort();
        const newest = parts.at(-1);
        if (newest === undefined) return undefined;
        const name = newest.slice(5, 15);
        const snapshot: unknown = JSON.parse(
          await readFile(join(checkpoints, `${name}.json`), 'utf8'),
        );
        return { checkpointId: Number(name), snapshot };
      },
      close: async () => {
        lines = [];
      },
    };
  },
});
