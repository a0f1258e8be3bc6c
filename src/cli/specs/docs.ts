import type { CommandSpec } from '../command.js';

/** `sluice docs`: its name, summary, arguments and options. */
export const docsSpec: CommandSpec = {
  name: 'docs',
  summary: 'Write the data docs: a static HTML site of dataset quality, failed samples and history',
  arguments: [],
  options: [
    {
      flags: '--state-dir <dir>',
      description: 'the state folder runs wrote their reports and metrics to',
      defaultValue: '.sluice',
    },
    {
      flags: '--out <dir>',
      description: 'where the site goes, replacing a previous one (default: <state-dir>/docs)',
    },
    {
      flags: '--runs-per-dataset <n>',
      description: 'newest runs listed on each dataset page (charts cover all runs)',
      defaultValue: '200',
    },
    { flags: '--json', description: 'print what was written as JSON on stdout' },
  ],
};
