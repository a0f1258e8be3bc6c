import type { CommandSpec } from '../command.js';

const TABLE_ARGUMENT = {
  name: 'path',
  description: 'the table: a folder, a file:// URL, or s3://bucket/prefix',
};

/** `sluice table read`: its name, summary, arguments and options. */
export const tableReadSpec: CommandSpec = {
  name: 'table read',
  summary: 'Print the rows of a Delta table (at the latest version, a version, or a time)',
  arguments: [TABLE_ARGUMENT],
  options: [
    { flags: '--version <n>', description: 'read this version' },
    {
      flags: '--timestamp <iso>',
      description: 'read the latest version committed at or before this time',
    },
    { flags: '--columns <list>', description: 'comma-separated columns to print' },
    { flags: '--where <sql>', description: 'a SQL predicate rows must meet' },
    { flags: '--format <format>', description: 'ndjson or csv', defaultValue: 'ndjson' },
  ],
};

/** `sluice table write`: its name, summary, arguments and options. */
export const tableWriteSpec: CommandSpec = {
  name: 'table write',
  summary: 'Write the rows of a data file into a Delta table (created on first write)',
  arguments: [TABLE_ARGUMENT],
  options: [
    { flags: '--from <file>', description: 'CSV, TSV, NDJSON, JSON or Parquet file (required)' },
    {
      flags: '--mode <mode>',
      description: 'append, overwrite or merge (upsert by --key)',
      defaultValue: 'append',
    },
    { flags: '--key <columns>', description: 'key columns for merge' },
    {
      flags: '--partition-by <columns>',
      description: 'partition columns of a new table, comma-separated',
    },
    {
      flags: '--where <sql>',
      description: 'with --mode overwrite: replace only the rows matching this predicate',
    },
    {
      flags: '--merge-schema',
      description: 'add columns the table lacks (append and overwrite)',
    },
  ],
};

/** `sluice table describe`: its name, summary, arguments and options. */
export const tableDescribeSpec: CommandSpec = {
  name: 'table describe',
  summary: 'Show a Delta table: schema, partition columns, version, files, size, protocol',
  arguments: [TABLE_ARGUMENT],
  options: [{ flags: '--json', description: 'print as JSON' }],
};

/** `sluice table history`: its name, summary, arguments and options. */
export const tableHistorySpec: CommandSpec = {
  name: 'table history',
  summary: 'List the commits of a Delta table',
  arguments: [TABLE_ARGUMENT],
  options: [{ flags: '--json', description: 'print as JSON' }],
};

/** `sluice table delete`: its name, summary, arguments and options. */
export const tableDeleteSpec: CommandSpec = {
  name: 'table delete',
  summary: 'Delete the rows of a Delta table that match a predicate',
  arguments: [TABLE_ARGUMENT],
  options: [{ flags: '--where <sql>', description: 'a SQL predicate (required)' }],
};

/** `sluice table optimize`: its name, summary, arguments and options. */
export const tableOptimizeSpec: CommandSpec = {
  name: 'table optimize',
  summary: 'Compact the small files of a Delta table (rows and time travel unchanged)',
  arguments: [TABLE_ARGUMENT],
  options: [
    {
      flags: '--target-size-mb <n>',
      description: 'files smaller than this are compacted',
      defaultValue: '128',
    },
  ],
};

/** `sluice table vacuum`: its name, summary, arguments and options. */
export const tableVacuumSpec: CommandSpec = {
  name: 'table vacuum',
  summary: 'Delete data files the current version does not use and that are past the retention',
  arguments: [TABLE_ARGUMENT],
  options: [
    {
      flags: '--retention-hours <n>',
      description: 'keep files removed less than this long ago',
      defaultValue: '168',
    },
    { flags: '--force', description: 'allow a retention below 168 hours' },
    { flags: '--dry-run', description: 'list the files without deleting them' },
  ],
};
