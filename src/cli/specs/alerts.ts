import type { CommandOption, CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

const JSON_OPTION: CommandOption = { flags: '--json', description: 'print JSON' };

/** `sluice alerts`: its name, summary, arguments and options. */
export const alertsSpec: CommandSpec = {
  name: 'alerts',
  summary: 'List alert incidents (firing first) and active silences',
  arguments: [],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--firing', description: 'only the firing incidents' },
    JSON_OPTION,
  ],
};

/** `sluice alerts silence`: its name, summary, arguments and options. */
export const alertsSilenceSpec: CommandSpec = {
  name: 'alerts silence',
  summary: 'Silence the incidents whose labels match, for a while',
  arguments: [
    {
      name: 'matcher',
      description:
        'label matchers, e.g. pipeline=orders_daily or owner=data-eng,severity=~critical',
    },
  ],
  options: [
    ...PROJECT_OPTIONS,
    {
      flags: '--for <duration>',
      description: 'how long, e.g. 2h (default 1h)',
      defaultValue: '1h',
    },
    { flags: '--comment <text>', description: 'why, shown with the silence' },
    JSON_OPTION,
  ],
};

/** `sluice alerts unsilence`: its name, summary, arguments and options. */
export const alertsUnsilenceSpec: CommandSpec = {
  name: 'alerts unsilence',
  summary: 'End a silence now',
  arguments: [{ name: 'id', description: 'the silence id (sluice alerts lists them)' }],
  options: [...PROJECT_OPTIONS, JSON_OPTION],
};

/** `sluice alerts ack`: its name, summary, arguments and options. */
export const alertsAckSpec: CommandSpec = {
  name: 'alerts ack',
  summary: 'Acknowledge a firing incident: no more repeats or escalation until it resolves',
  arguments: [
    { name: 'fingerprint', description: 'the incident fingerprint (or a unique prefix)' },
  ],
  options: [...PROJECT_OPTIONS, JSON_OPTION],
};
