/**
 * The logging interface the library writes to. Loggers are passed in, never global;
 * pino loggers satisfy it, and tests can pass a recorder.
 *
 * @example
 * ```ts
 * const logger: Logger = pino();
 * logger.child({ stepId: 'orders' }).info({ rows: 10 }, 'step finished');
 * ```
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * A logger that drops everything, for library calls that did not ask for logs.
 *
 * @example
 * ```ts
 * await runPipeline(p, { logger: silentLogger });
 * ```
 */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
