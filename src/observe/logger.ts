import { pino } from 'pino';
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
  return pino({ level: options.level ?? 'info', base: undefined }, destination);
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
