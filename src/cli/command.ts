/** Exit codes of every command: 0 success, 1 the run failed, 2 bad usage or bad config. */
export const ExitCode = { success: 0, runFailed: 1, badUsage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Streams and environment a command writes to; tests pass their own. */
export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stderrIsTTY: boolean;
  readonly cwd: string;
}

/** One option of a command, as data (rendered into `--help`). */
export interface CommandOption {
  readonly flags: string;
  readonly description: string;
  readonly repeatable?: boolean;
  readonly defaultValue?: string;
}

/**
 * A CLI command as data: its name, arguments, options and a `run` over a library call.
 *
 * @example
 * ```ts
 * const hello: Command = { name: 'hello', summary: 'say hi', arguments: [], options: [],
 *   run: async (_args, _opts, io) => { io.stdout('hi\n'); return ExitCode.success; } };
 * ```
 */
export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly arguments: readonly { readonly name: string; readonly description: string }[];
  readonly options: readonly CommandOption[];
  run(
    args: readonly string[],
    options: Readonly<Record<string, unknown>>,
    io: CommandIO,
  ): Promise<ExitCode>;
}
