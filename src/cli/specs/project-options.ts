import type { CommandOption } from '../command.js';

/** `--project` and `--store`, shared by the orchestrator's commands. */
export const PROJECT_OPTIONS: readonly CommandOption[] = [
  {
    flags: '--project <dir>',
    description: 'project folder (with sluice.config.ts or a pipelines/ folder)',
    defaultValue: '.',
  },
  {
    flags: '--store <url>',
    description:
      'run store: postgres://... or a SQLite file (default: $SLUICE_STORE, else <project>/.sluice/sluice.db)',
  },
];
