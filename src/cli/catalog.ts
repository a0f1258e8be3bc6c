import type { Command, CommandSpec } from './command.js';
import {
  alertsAckSpec,
  alertsSilenceSpec,
  alertsSpec,
  alertsUnsilenceSpec,
} from './specs/alerts.js';
import { auditSpec, auditVerifySpec } from './specs/audit.js';
import { checkSpec } from './specs/check.js';
import { backfillSpec, cancelSpec, pauseSpec, triggerSpec, unpauseSpec } from './specs/control.js';
import { docsSpec } from './specs/docs.js';
import { initSpec } from './specs/init.js';
import { lineageSpec } from './specs/lineage.js';
import { profileSpec } from './specs/profile.js';
import { runSpec } from './specs/run.js';
import { runShowSpec, runsSpec } from './specs/runs.js';
import { serveSpec, workerSpec } from './specs/serve.js';
import { storeBackupSpec, storeCheckSpec } from './specs/store.js';
import { streamSpec } from './specs/stream.js';
import {
  tableDeleteSpec,
  tableDescribeSpec,
  tableHistorySpec,
  tableOptimizeSpec,
  tableReadSpec,
  tableVacuumSpec,
  tableWriteSpec,
} from './specs/table.js';
import { tokensCreateSpec, tokensListSpec, tokensRevokeSpec } from './specs/tokens.js';
import { validateSpec } from './specs/validate.js';

/** The summaries of the command groups (`sluice table read` is `read` in the group `table`). */
export const GROUPS: Readonly<Record<string, string>> = {
  table: 'Read, write and inspect Delta Lake tables',
  store: 'Back up and check the run store',
  tokens: 'Create, list and revoke the API tokens of sluice serve --http',
};

/**
 * A command known by its spec whose implementation module is imported when it first runs, so
 * that `--help`, usage errors and every other command do not pay for loading it (nor for the
 * engine, drivers and connectors it imports).
 *
 * @example
 * ```ts
 * const check = lazyCommand(checkSpec, async () => (await import('./commands/check.js')).checkCommand);
 * ```
 */
export function lazyCommand(spec: CommandSpec, load: () => Promise<Command>): Command {
  return { ...spec, run: async (args, options, io) => (await load()).run(args, options, io) };
}

/** Every CLI command, in the order `--help` lists them. */
export const commands: readonly Command[] = [
  lazyCommand(runSpec, async () => (await import('./commands/run.js')).runCommand),
  lazyCommand(streamSpec, async () => (await import('./commands/stream.js')).streamCommand),
  lazyCommand(checkSpec, async () => (await import('./commands/check.js')).checkCommand),
  lazyCommand(validateSpec, async () => (await import('./commands/validate.js')).validateCommand),
  lazyCommand(profileSpec, async () => (await import('./commands/profile.js')).profileCommand),
  lazyCommand(docsSpec, async () => (await import('./commands/docs.js')).docsCommand),
  lazyCommand(tableReadSpec, async () => (await import('./commands/table.js')).tableReadCommand),
  lazyCommand(tableWriteSpec, async () => (await import('./commands/table.js')).tableWriteCommand),
  lazyCommand(
    tableDescribeSpec,
    async () => (await import('./commands/table.js')).tableDescribeCommand,
  ),
  lazyCommand(
    tableHistorySpec,
    async () => (await import('./commands/table.js')).tableHistoryCommand,
  ),
  lazyCommand(
    tableDeleteSpec,
    async () => (await import('./commands/table.js')).tableDeleteCommand,
  ),
  lazyCommand(
    tableOptimizeSpec,
    async () => (await import('./commands/table.js')).tableOptimizeCommand,
  ),
  lazyCommand(
    tableVacuumSpec,
    async () => (await import('./commands/table.js')).tableVacuumCommand,
  ),
  lazyCommand(serveSpec, async () => (await import('./commands/serve.js')).serveCommand),
  lazyCommand(workerSpec, async () => (await import('./commands/serve.js')).workerCommand),
  lazyCommand(triggerSpec, async () => (await import('./commands/control.js')).triggerCommand),
  lazyCommand(backfillSpec, async () => (await import('./commands/control.js')).backfillCommand),
  lazyCommand(runsSpec, async () => (await import('./commands/runs.js')).runsCommand),
  lazyCommand(runShowSpec, async () => (await import('./commands/runs.js')).runShowCommand),
  lazyCommand(cancelSpec, async () => (await import('./commands/control.js')).cancelCommand),
  lazyCommand(pauseSpec, async () => (await import('./commands/control.js')).pauseCommand),
  lazyCommand(unpauseSpec, async () => (await import('./commands/control.js')).unpauseCommand),
  lazyCommand(
    tokensCreateSpec,
    async () => (await import('./commands/tokens.js')).tokensCreateCommand,
  ),
  lazyCommand(tokensListSpec, async () => (await import('./commands/tokens.js')).tokensListCommand),
  lazyCommand(
    tokensRevokeSpec,
    async () => (await import('./commands/tokens.js')).tokensRevokeCommand,
  ),
  lazyCommand(alertsSpec, async () => (await import('./commands/alerts.js')).alertsCommand),
  lazyCommand(
    alertsSilenceSpec,
    async () => (await import('./commands/alerts.js')).alertsSilenceCommand,
  ),
  lazyCommand(
    alertsUnsilenceSpec,
    async () => (await import('./commands/alerts.js')).alertsUnsilenceCommand,
  ),
  lazyCommand(alertsAckSpec, async () => (await import('./commands/alerts.js')).alertsAckCommand),
  lazyCommand(auditSpec, async () => (await import('./commands/audit.js')).auditCommand),
  lazyCommand(
    auditVerifySpec,
    async () => (await import('./commands/audit.js')).auditVerifyCommand,
  ),
  lazyCommand(lineageSpec, async () => (await import('./commands/lineage.js')).lineageCommand),
  lazyCommand(
    storeBackupSpec,
    async () => (await import('./commands/store.js')).storeBackupCommand,
  ),
  lazyCommand(storeCheckSpec, async () => (await import('./commands/store.js')).storeCheckCommand),
  lazyCommand(initSpec, async () => (await import('./commands/init.js')).initCommand),
];
