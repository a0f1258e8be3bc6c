import type { CommandSpec } from '../command.js';

/** `sluice run`: its name, summary, arguments and options. */
export const runSpec: CommandSpec = {
  name: 'run',
  summary: 'Run a pipeline file and print its run report',
  arguments: [
    {
      name: 'file',
      description: 'pipeline file (.ts or .js) whose default export is the pipeline',
    },
  ],
  options: [
    {
      flags: '-p, --param <key=value>',
      description: 'set a run parameter (repeatable)',
      repeatable: true,
    },
    { flags: '--json', description: 'print the run report as JSON on stdout' },
    {
      flags: '--full-refresh',
      description:
        "ignore the sources' saved state (watermarks, CDC positions) and read everything, rebuild incremental warehouse models, and have append and merge sinks replace their targets' rows; the new state is saved",
    },
    {
      flags: '--store <url>',
      description:
        'where source state is kept between runs: postgres://... or a SQLite file (default: $SLUICE_STORE, else <state-dir>/sluice.db)',
    },
    {
      flags: '--use-cache',
      description:
        'reuse the outputs of steps whose code, params and inputs are unchanged since an earlier --use-cache run',
    },
    {
      flags: '--state-dir <dir>',
      description: 'where run reports and quarantine files go',
      defaultValue: '.sluice',
    },
    {
      flags: '--log-level <level>',
      description: 'debug, info, warn, error or silent',
      defaultValue: 'info',
    },
  ],
};
