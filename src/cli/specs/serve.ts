import type { CommandOption, CommandSpec } from '../command.js';
import { PROJECT_OPTIONS } from './project-options.js';

const LEASE_OPTION: CommandOption = {
  flags: '--lease <duration>',
  description: 'how long a claimed run stays claimed without a heartbeat',
  defaultValue: '30s',
};

const GRACE_OPTION: CommandOption = {
  flags: '--grace <duration>',
  description:
    'on SIGTERM/SIGINT, how long runs in progress may take to finish before they are stopped and handed back to the store',
  defaultValue: '30s',
};

/** `--metrics-port`, for processes that serve no HTTP API (`sluice worker`, `sluice stream`). */
export const METRICS_OPTIONS: readonly CommandOption[] = [
  {
    flags: '--metrics-port <[host:]port>',
    description:
      'serve GET /metrics here for Prometheus (default host 127.0.0.1); tokens as for serve --http',
  },
  {
    flags: '--insecure',
    description:
      'with --metrics-port beyond loopback: listen although no API token exists (anyone who reaches it may read the metrics)',
  },
];

/** `sluice serve`: its name, summary, arguments and options. */
export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'Run the scheduler (and workers) for a project until stopped',
  arguments: [],
  options: [
    ...PROJECT_OPTIONS,
    {
      flags: '--workers <n>',
      description: 'runs executed at once in this process (0: schedule only)',
      defaultValue: '1',
    },
    LEASE_OPTION,
    GRACE_OPTION,
    {
      flags: '--http <[host:]port>',
      description:
        'serve the HTTP API and webhooks here (default host 127.0.0.1); tokens: sluice tokens create, or $SLUICE_API_TOKEN',
    },
    {
      flags: '--insecure',
      description:
        'with --http beyond loopback: listen although no API token exists (anyone who reaches it may control runs)',
    },
    {
      flags: '--webhook-tolerance <duration>',
      description: "how far a webhook signature's timestamp may be from this clock",
      defaultValue: '5m',
    },
  ],
};

/** `sluice worker`: its name, summary, arguments and options. */
export const workerSpec: CommandSpec = {
  name: 'worker',
  summary: 'Claim and execute queued runs from the run store until stopped',
  arguments: [],
  options: [
    ...PROJECT_OPTIONS,
    { flags: '--concurrency <n>', description: 'runs executed at once', defaultValue: '1' },
    LEASE_OPTION,
    GRACE_OPTION,
    {
      flags: '--pipeline <name>',
      description: 'only run this pipeline (repeatable)',
      repeatable: true,
    },
    ...METRICS_OPTIONS,
  ],
};
