import type { CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

/** `sluice lineage`: its name, summary, arguments and options. */
export const lineageSpec: CommandSpec = {
  name: 'lineage',
  summary: 'Show the lineage of a dataset or column, or what a change to it impacts',
  arguments: [
    {
      name: 'target',
      description:
        'a dataset (namespace:name, or its name alone when unique), a column (<dataset>.<column>) or a node id (dataset:..., datasetField:..., job:...)',
    },
  ],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--upstream', description: 'only what it is derived from' },
    { flags: '--downstream', description: 'only what is derived from it' },
    {
      flags: '--depth <n>',
      description: 'how far: jobs away for datasets, column edges away for columns (default 20)',
      defaultValue: '20',
    },
    {
      flags: '--impact',
      description: 'list the jobs, datasets and columns that change if it changes',
    },
    { flags: '--json', description: 'print JSON (the API response)' },
    { flags: '--dot', description: 'print a Graphviz DOT graph' },
    { flags: '--mermaid', description: 'print a Mermaid flowchart' },
  ],
};
