import type { CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

/** `sluice trigger`: its name, summary, arguments and options. */
export const triggerSpec: CommandSpec = {
  name: 'trigger',
  summary: 'Queue a run of a pipeline now (a worker or sluice serve executes it)',
  arguments: [{ name: 'pipeline', description: 'pipeline name in the project' }],
  options: [
    ...PROJECT_OPTIONS,
    {
      flags: '-p, --param <key=value>',
      description: 'set a run parameter (repeatable)',
      repeatable: true,
    },
    { flags: '--priority <n>', description: 'higher runs first when workers are busy' },
    {
      flags: '--use-cache',
      description: 'skip the run if a successful run had the same code, params and inputs',
    },
    { flags: '--wait', description: 'wait until the run finished; exit 1 unless it succeeded' },
    { flags: '--json', description: 'print the run as JSON' },
  ],
};

/** `sluice cancel`: its name, summary, arguments and options. */
export const cancelSpec: CommandSpec = {
  name: 'cancel',
  summary: 'Cancel a queued or running run',
  arguments: [{ name: 'runId', description: 'the run id (from sluice runs)' }],
  options: PROJECT_OPTIONS,
};

/** `sluice pause`: its name, summary, arguments and options. */
export const pauseSpec: CommandSpec = {
  name: 'pause',
  summary: 'Stop scheduling and starting runs of a pipeline',
  arguments: [{ name: 'pipeline', description: 'pipeline name' }],
  options: PROJECT_OPTIONS,
};

/** `sluice unpause`: its name, summary, arguments and options. */
export const unpauseSpec: CommandSpec = {
  name: 'unpause',
  summary: 'Resume scheduling and starting runs of a pipeline',
  arguments: [{ name: 'pipeline', description: 'pipeline name' }],
  options: PROJECT_OPTIONS,
};

/** `sluice backfill`: its name, summary, arguments and options. */
export const backfillSpec: CommandSpec = {
  name: 'backfill',
  summary: "Queue a pipeline's runs for every interval in a date range",
  arguments: [{ name: 'pipeline', description: 'pipeline name in the project' }],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--from <date>', description: 'first interval starts at or after this (ISO)' },
    { flags: '--to <date>', description: 'last interval ends at or before this (ISO)' },
    {
      flags: '--reprocess <which>',
      description: 'rerun intervals whose run already finished: failed, all or none',
      defaultValue: 'failed',
    },
    { flags: '--dry-run', description: 'print the plan, submit nothing' },
    { flags: '--reverse', description: 'newest interval first' },
    { flags: '--max-parallel <n>', description: 'runs of this backfill at once' },
    {
      flags: '--use-cache',
      description:
        'skip intervals whose code, params and inputs are unchanged since a successful run',
    },
    { flags: '--json', description: 'print the plan and result as JSON' },
  ],
};
