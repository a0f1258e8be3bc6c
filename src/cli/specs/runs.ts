import { RUN_STATES } from '../../orchestrator/run-types.js';
import type { CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

/** `sluice runs`: its name, summary, arguments and options. */
export const runsSpec: CommandSpec = {
  name: 'runs',
  summary: 'List runs from the run store, newest first',
  arguments: [],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--pipeline <name>', description: 'only runs of this pipeline' },
    { flags: '--state <state>', description: `only runs in this state (${RUN_STATES.join(', ')})` },
    { flags: '--limit <n>', description: 'how many runs', defaultValue: '50' },
    {
      flags: '--streams',
      description:
        "list the streams instead: last checkpoint, its age, records in and out, throughput, source lag, watermark, state size and (with scaleOut) each partition's worker",
    },
    { flags: '--json', description: 'print the runs as JSON' },
  ],
};

/** `sluice run-show`: its name, summary, arguments and options. */
export const runShowSpec: CommandSpec = {
  name: 'run-show',
  summary: 'Show one run: state, attempts, tasks and events',
  arguments: [{ name: 'runId', description: 'the run id (from sluice runs)' }],
  options: [...PROJECT_OPTIONS, { flags: '--json', description: 'print the run as JSON' }],
};
