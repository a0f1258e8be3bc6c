import type { CommandOption, CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

const JSON_OPTION: CommandOption = { flags: '--json', description: 'print JSON' };

/** `sluice audit`: its name, summary, arguments and options. */
export const auditSpec: CommandSpec = {
  name: 'audit',
  summary: 'List the audit log: control actions, token use and writes, newest first',
  arguments: [],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--dataset <dataset>', description: 'only entries about this dataset' },
    { flags: '--pipeline <pipeline>', description: 'only entries about this pipeline' },
    {
      flags: '--actor <actor>',
      description: 'only entries of this actor (user:<name>, token:<name>, scheduler, system)',
    },
    { flags: '--since <time>', description: 'only entries at or after this ISO date or time' },
    {
      flags: '--limit <n>',
      description: 'at most this many entries (default 100)',
      defaultValue: '100',
    },
    JSON_OPTION,
  ],
};

/** `sluice audit verify`: its name, summary, arguments and options. */
export const auditVerifySpec: CommandSpec = {
  name: 'audit verify',
  summary: 'Walk the audit log hash chain: exit 0 when unbroken, else name the first broken entry',
  arguments: [],
  options: [
    ...PROJECT_OPTIONS,
    {
      flags: '--head <seq:hash>',
      description:
        'a head printed by an earlier verify: fail unless that entry is still in the chain, unchanged',
    },
    JSON_OPTION,
  ],
};
