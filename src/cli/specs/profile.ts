import type { CommandSpec } from '../command.js';

/** `sluice profile`: its name, summary, arguments and options. */
export const profileSpec: CommandSpec = {
  name: 'profile',
  summary:
    'Profile a data file: types, nulls, distinct counts, ranges, quartiles, top values, semantic kinds',
  arguments: [
    {
      name: 'data-file',
      description:
        'a .csv, .tsv, .ndjson, .jsonl, .json or .parquet file or glob (text formats may end in .gz or .zst)',
    },
  ],
  options: [
    { flags: '--json', description: 'print the profile as JSON on stdout' },
    {
      flags: '--suggest',
      description: 'print a starting expectation suite (Great Expectations JSON) from the profile',
    },
    {
      flags: '--suggest-format <format>',
      description: 'with --suggest: json (default) or ts (a TypeScript module of expect.* calls)',
    },
    {
      flags: '--suite-name <name>',
      description: 'with --suggest: the suite name (default: the file name)',
    },
    {
      flags: '--exact',
      description: 'count distinct values and quartiles exactly, however large the data',
    },
    {
      flags: '--approximate',
      description: 'estimate distinct counts and quartiles (default above 1,000,000 rows)',
    },
  ],
};
