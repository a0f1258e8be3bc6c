import type { CommandOption, CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

const JSON_OPTION: CommandOption = { flags: '--json', description: 'print the result as JSON' };

/** `sluice store backup`: its name, summary, arguments and options. */
export const storeBackupSpec: CommandSpec = {
  name: 'store backup',
  summary: 'Copy the embedded run store to a file while it is in use',
  arguments: [{ name: 'file', description: 'the backup file to write (its folder must exist)' }],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--force', description: 'replace the file when it exists' },
    JSON_OPTION,
  ],
};

/** `sluice store check`: its name, summary, arguments and options. */
export const storeCheckSpec: CommandSpec = {
  name: 'store check',
  summary: 'Check the run store for damage and say what to do',
  arguments: [],
  options: [...PROJECT_OPTIONS, JSON_OPTION],
};
