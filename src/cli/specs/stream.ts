import type { CommandSpec } from '../command.js';
import { METRICS_OPTIONS } from './serve.js';

/** `sluice stream`: its name, summary, arguments and options. */
export const streamSpec: CommandSpec = {
  name: 'stream',
  summary: 'Run a stream file until interrupted, resuming from its last checkpoint',
  arguments: [
    { name: 'file', description: 'stream file (.ts or .js) whose default export is the stream' },
  ],
  options: [
    {
      flags: '--from-beginning',
      description: "forget the stream's checkpoints and read the source from its oldest record",
    },
    {
      flags: '--from <time>',
      description: "forget the stream's checkpoints and read from this time (ISO 8601)",
    },
    {
      flags: '--store <url>',
      description:
        'where checkpoints are kept: postgres://... or a SQLite file (default: $SLUICE_STORE, else <state-dir>/sluice.db)',
    },
    {
      flags: '--state-dir <dir>',
      description:
        'where late and invalid records are quarantined, and where webhook sources find their inboxes',
      defaultValue: '.sluice',
    },
    {
      flags: '--worker <name>',
      description:
        "this process's name among the workers of a stream with scaleOut (default: <host>-<pid>)",
    },
    {
      flags: '--log-level <level>',
      description: 'debug, info, warn, error or silent',
      defaultValue: 'info',
    },
    ...METRICS_OPTIONS,
  ],
};
