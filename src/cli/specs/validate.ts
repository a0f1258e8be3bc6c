import type { CommandSpec } from '../command.js';

/** `sluice validate`: its name, summary, arguments and options. */
export const validateSpec: CommandSpec = {
  name: 'validate',
  summary: 'Validate a data file (CSV, TSV, NDJSON, JSON, Parquet) against an expectation suite',
  arguments: [
    { name: 'data-file', description: 'the data to check; the format comes from the extension' },
  ],
  options: [
    { flags: '--suite <file>', description: 'Great Expectations ExpectationSuite JSON (required)' },
    { flags: '--format <format>', description: 'json or text', defaultValue: 'text' },
    {
      flags: '--result-format <level>',
      description: 'BOOLEAN_ONLY, BASIC, SUMMARY or COMPLETE',
      defaultValue: 'BASIC',
    },
    {
      flags: '--state-dir <dir>',
      description: 'where quarantine files of unreadable records go',
      defaultValue: '.sluice',
    },
  ],
};
