import type { CommandSpec } from '../command.js';

/** `sluice check`: its name, summary, arguments and options. */
export const checkSpec: CommandSpec = {
  name: 'check',
  summary:
    'Validate a pipeline file (or sluice.config.ts) without running it; print its DAG and every problem',
  arguments: [{ name: 'file', description: 'pipeline file (.ts or .js), or sluice.config.ts' }],
  options: [{ flags: '--json', description: 'print the plan or the problems as JSON on stdout' }],
};
