import { readFileSync } from 'node:fs';
import { Command as CommanderProgram, CommanderError } from 'commander';
import type { CommandIO } from './command.js';
import { ExitCode } from './command.js';
import { GROUPS, commands } from './catalog.js';

export { commands };

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/**
 * Runs the `sluice` command line and resolves to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(
  argv: readonly string[],
  io: CommandIO = processIO(),
): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.success;
  const program = new CommanderProgram('sluice')
    .description(
      'Typed data pipelines: batch ETL on DuckDB with schema enforcement, quarantine and run reports.',
    )
    .version(VERSION)
    // Options after a command belong to it: `sluice table read t --version 3` is the table version.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(run sluice <command> --help for usage)');
  const groups = new Map<string, CommanderProgram>();
  for (const command of commands) {
    // "table read" is the sub-command read of a command group table.
    const [group, name] = command.name.includes(' ')
      ? command.name.split(' ', 2)
      : [undefined, command.name];
    let parent = program;
    if (group !== undefined) {
      parent =
        groups.get(group) ??
        program
          .command(group)
          .description(GROUPS[group] ?? group)
          .enablePositionalOptions()
          .exitOverride();
      groups.set(group, parent);
    }
    const sub = parent
      .command(name as string)
      .description(command.summary)
      .exitOverride();
    // A command may also be the group of later ones ("alerts" and "alerts silence").
    if (group === undefined) groups.set(name as string, sub.enablePositionalOptions());
    for (const argument of command.arguments)
      sub.argument(`<${argument.name}>`, argument.description);
    for (const option of command.options) {
      if (option.repeatable === true) {
        sub.option(option.flags, option.description, (value: string, previous: string[] = []) => [
          ...previous,
          value,
        ]);
      } else if (option.defaultValue !== undefined) {
        sub.option(option.flags, option.description, option.defaultValue);
      } else {
        sub.option(option.flags, option.description);
      }
    }
    sub.action(async (...received: unknown[]) => {
      const args = received.slice(0, command.arguments.length) as string[];
      const options = received[command.arguments.length] as Record<string, unknown>;
      exitCode = await command.run(args, options, io);
    });
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.success : ExitCode.badUsage;
    }
    throw error;
  }
  return exitCode;
}

function processIO(): CommandIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stderrIsTTY: process.stderr.isTTY === true,
    cwd: process.cwd(),
  };
}
