import { resolve } from 'node:path';
import { resolveStoreLocation } from '../../orchestrator/run-store.js';
import { isStoreUrl } from '../../orchestrator/sql-database.js';
import { backupStore, checkStore } from '../../orchestrator/store-maintenance.js';
import type { Command, CommandIO } from '../command.js';
import { ExitCode } from '../command.js';
import { presentError } from '../present-error.js';
import { storeBackupSpec, storeCheckSpec } from '../specs/store.js';

/** The store `--store`, `$SLUICE_STORE` or `--project` names, without opening it. */
function storeLocation(options: Readonly<Record<string, unknown>>, io: CommandIO): string {
  const store = options['store'];
  return resolveStoreLocation({
    cwd: resolve(io.cwd, String(options['project'] ?? '.')),
    ...(typeof store === 'string'
      ? { store: isStoreUrl(store) ? store : resolve(io.cwd, store) }
      : {}),
  });
}

/**
 * `sluice store backup <file>`: an online backup of the embedded run store, written atomically;
 * for a PostgreSQL store it prints the `pg_dump` command to use (exit 2).
 *
 * @example
 * ```sh
 * sluice store backup backups/sluice-$(date +%F).db
 * ```
 */
export const storeBackupCommand: Command = {
  ...storeBackupSpec,
  async run(args, options, io) {
    const json = options['json'] === true;
    try {
      const result = await backupStore(
        storeLocation(options, io),
        resolve(io.cwd, args[0] as string),
        { force: options['force'] === true },
      );
      io.stdout(
        json
          ? `${JSON.stringify({ status: 'ok', ...result })}\n`
          : `backed up ${result.store} to ${result.file} (${result.bytes} bytes in ${result.durationMs} ms)\n`,
      );
      return ExitCode.success;
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * `sluice store check`: checks the run store (integrity and references of the embedded store,
 * tables and schema version on both) and prints a verdict; exit 0 when sound, 1 when damaged,
 * with the steps to restore it.
 *
 * @example
 * ```sh
 * sluice store check --project . || echo "restore the store from a backup"
 * ```
 */
export const storeCheckCommand: Command = {
  ...storeCheckSpec,
  async run(_args, options, io) {
    const json = options['json'] === true;
    try {
      const verdict = await checkStore(storeLocation(options, io));
      if (json)
        io.stdout(`${JSON.stringify({ status: verdict.ok ? 'ok' : 'damaged', ...verdict })}\n`);
      else {
        const version =
          verdict.schemaVersion === undefined
            ? 'schema version unknown'
            : `schema version ${verdict.schemaVersion}`;
        const lines = [
          verdict.ok
            ? `ok: the run store ${verdict.store} is sound (${version})`
            : `damaged: the run store ${verdict.store} has ${verdict.problems.length} problem(s)`,
          ...verdict.problems.map((problem) => `  problem: ${problem}`),
          ...verdict.notes.map((note) => `  note: ${note}`),
          ...(verdict.hint === undefined ? [] : [`  what to do: ${verdict.hint}`]),
        ];
        io.stdout(`${lines.join('\n')}\n`);
      }
      return verdict.ok ? ExitCode.success : ExitCode.runFailed;
    } catch (error) {
      return presentError(error, io, { json });
    }
  },
};

/**
 * The `sluice store` commands, registered as the group `store`.
 *
 * @example
 * ```ts
 * const commands: readonly Command[] = [...tableCommands, ...storeCommands];
 * ```
 */
export const storeCommands: readonly Command[] = [storeBackupCommand, storeCheckCommand];
