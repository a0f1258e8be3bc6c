import { ConfigError, SluiceError, UsageError, describeCause } from '../core/errors.js';
import type { CommandIO } from './command.js';
import { ExitCode } from './command.js';

/**
 * Prints an error for a person (or as JSON with `--json`) and picks the exit code: 2 for bad
 * usage, bad config or an unloadable pipeline file, 1 for everything else. Never prints a
 * framework stack trace; `SLUICE_DEBUG=1` adds the cause's stack.
 *
 * @example
 * ```ts
 * return presentError(error, io, { json: false });
 * ```
 */
export function presentError(error: unknown, io: CommandIO, options: { json: boolean }): ExitCode {
  const sluiceError = error instanceof SluiceError ? error : undefined;
  const exitCode =
    sluiceError instanceof ConfigError ||
    sluiceError instanceof UsageError ||
    sluiceError?.code === 'USAGE' ||
    sluiceError?.code === 'PIPELINE_LOAD_FAILED' ||
    sluiceError?.code === 'CONFIG_INVALID'
      ? ExitCode.badUsage
      : ExitCode.runFailed;
  if (options.json) {
    io.stdout(
      `${JSON.stringify({
        status: 'error',
        error: {
          code: sluiceError?.code ?? 'INTERNAL',
          message: sluiceError?.message ?? describeCause(error),
          ...(sluiceError?.hint === undefined ? {} : { hint: sluiceError.hint }),
          ...(sluiceError instanceof ConfigError ? { diagnostics: sluiceError.diagnostics } : {}),
        },
      })}\n`,
    );
    return exitCode;
  }
  const lines = [
    `error [${sluiceError?.code ?? 'INTERNAL'}]: ${sluiceError?.message ?? describeCause(error)}`,
  ];
  if (sluiceError?.hint !== undefined) lines.push(`  hint: ${sluiceError.hint}`);
  if (process.env['SLUICE_DEBUG'] === '1') {
    const cause = sluiceError?.cause ?? error;
    if (cause instanceof Error && cause.stack !== undefined) lines.push('', cause.stack);
  }
  io.stderr(`${lines.join('\n')}\n`);
  return exitCode;
}
