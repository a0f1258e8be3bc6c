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
 * What a command takes and how `--help` shows it: its name (`"table read"` for the sub-command
 * read of the group table), summary, arguments and options, as data. The CLI builds its help and
 * parses arguments from specs alone, so a command's implementation loads only when it runs.
 *
 * @example
 * ```ts
 * const helloSpec: CommandSpec = { name: 'hello', summary: 'say hi', arguments: [],
 *   options: [{ flags: '--loud', description: 'shout' }] };
 * ```
 */
export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly arguments: readonly { readonly name: string; readonly description: string }[];
  readonly options: readonly CommandOption[];
}

/**
 * A CLI command as data: its spec and a `run` over a library call.
 *
 * @example
 * ```ts
 * const hello: Command = { ...helloSpec,
 *   run: async (_args, _opts, io) => { io.stdout('hi\n'); return ExitCode.success; } };
 * ```
 */
export interface Command extends CommandSpec {
  run(
    args: readonly string[],
    options: Readonly<Record<string, unknown>>,
    io: CommandIO,
  ): Promise<ExitCode>;
}
