import { pino } from 'pino';
import type * as Pino from 'pino';
import type { Logger } from '../core/logger.js';

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'runId', 'pipeline']);

/** Where and how logs are written. */
export interface LoggerOptions {
  /** `json` (one object per line, for machines) or `pretty` (for people at a terminal). */
  readonly format: 'json' | 'pretty';
  readonly level?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Defaults to standard error, so standard output stays free for reports and `--json`. */
  readonly write?: (line: string) => void;
}

/**
 * Creates the structured logger the CLI passes to the library: JSON lines, or readable lines
 * on a terminal. Every line of a run carries `runId`, and step lines `stepId`.
 *
 * @example
 * ```ts
 * const logger = createLogger({ format: process.stderr.isTTY ? 'pretty' : 'json' });
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const destination = {
    write: options.format === 'json' ? write : (line: string) => write(prettyLine(line)),
  };
  const root = pino({ level: options.level ?? 'info', base: undefined }, destination);
  return new UniqueKeyLogger(root, root, Object.create(null) as Record<string, unknown>);
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Keys pino writes on every line; a field of the same name is written as `_<key>`. */
const RESERVED_KEYS = new Set(['level', 'time', 'msg']);

/**
 * A logger whose lines never repeat a key. pino writes a child's bindings after its parent's
 * without looking at them, so `logger.child({ runId }).child({ runId })` (a worker's run logger
 * handed to the executor, which binds the run again) printed `runId` twice on every line. Here a
 * binding equal to one already bound is dropped, a different value replaces the old one, and a
 * field of a log call equal to a binding is left out (a different value replaces it on that
 * line).
 */
class UniqueKeyLogger implements Logger {
  readonly #root: Pino.Logger;
  readonly #logger: Pino.Logger;
  readonly #bindings: Readonly<Record<string, unknown>>;

  constructor(root: Pino.Logger, logger: Pino.Logger, bindings: Readonly<Record<string, unknown>>) {
    this.#root = root;
    this.#logger = logger;
    this.#bindings = bindings;
  }

  debug(fields: object, message?: string): void {
    this.#write('debug', fields, message);
  }

  info(fields: object, message?: string): void {
    this.#write('info', fields, message);
  }

  warn(fields: object, message?: string): void {
    this.#write('warn', fields, message);
  }

  error(fields: object, message?: string): void {
    this.#write('error', fields, message);
  }

  child(bindings: Record<string, unknown>): Logger {
    const added = Object.create(null) as Record<string, unknown>;
    let replaced = false;
    for (const [rawKey, value] of Object.entries(bindings)) {
      const key = RESERVED_KEYS.has(rawKey) ? `_${rawKey}` : rawKey;
      if (Object.hasOwn(this.#bindings, key)) {
        if (sameValue(this.#bindings[key], value)) continue;
        replaced = true;
      }
      added[key] = value;
    }
    if (Object.keys(added).length === 0) return this;
    const merged = Object.assign(Object.create(null), this.#bindings, added) as Record<
      string,
      unknown
    >;
    // pino cannot unbind a key: a changed value starts again from the root with every binding.
    const logger = replaced ? this.#root.child({ ...merged }) : this.#logger.child({ ...added });
    return new UniqueKeyLogger(this.#root, logger, merged);
  }

  #write(level: Level, fields: object, message: string | undefined): void {
    if (!this.#logger.isLevelEnabled(level)) return;
    let clean = true;
    for (const key of Object.keys(fields))
      if (RESERVED_KEYS.has(key) || Object.hasOwn(this.#bindings, key)) {
        clean = false;
        break;
      }
    if (clean) {
      this.#logger[level](fields, message);
      return;
    }
    const own: Record<string, unknown> = {};
    const rebound = Object.create(null) as Record<string, unknown>;
    for (const [rawKey, value] of Object.entries(fields)) {
      const key = RESERVED_KEYS.has(rawKey) ? `_${rawKey}` : rawKey;
      if (Object.hasOwn(this.#bindings, key)) {
        if (!sameValue(this.#bindings[key], value)) rebound[key] = value;
      } else own[key] = value;
    }
    const logger =
      Object.keys(rebound).length === 0
        ? this.#logger
        : this.#root.child({ ...this.#bindings, ...rebound });
    logger[level](own, message);
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false;
  }
}

function prettyLine(json: string): string {
  const entry = JSON.parse(json) as Record<string, unknown>;
  const time = new Date(Number(entry['time'])).toISOString().slice(11, 19);
  const level = LEVEL_NAMES[Number(entry['level'])] ?? 'LOG';
  const stepId = entry['stepId'];
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN_FIELDS.has(key) && key !== 'stepId')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const step = typeof stepId === 'string' ? `[${stepId}] ` : '';
  return `${time} ${level.padEnd(5)} ${step}${String(entry['msg'] ?? '')}${fields === '' ? '' : ` ${fields}`}\n`;
}
