import type { CommandSpec } from '../command.js';

/** `sluice init`: its name, summary, arguments and options. */
export const initSpec: CommandSpec = {
  name: 'init',
  summary: 'Create a project with a runnable example pipeline',
  arguments: [{ name: 'dir', description: 'folder to create (must be empty or missing)' }],
  options: [
    {
      flags: '--force',
      description: 'write into a folder that is not empty (existing files are overwritten)',
    },
  ],
};
