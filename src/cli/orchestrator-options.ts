import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { Project } from '../orchestrator/project.js';
import { RunStore, resolveStoreLocation } from '../orchestrator/run-store.js';
import { isStoreUrl } from '../orchestrator/sql-database.js';
import type { CommandIO } from './command.js';

/**
 * Opens the project and its run store from `--project` and `--store`, runs `work`, and closes
 * the store.
 *
 * @example
 * ```ts
 * return withProjectStore(options, io, async ({ store }) => { ...; return ExitCode.success; });
 * ```
 */
export async function withProjectStore<T>(
  options: Readonly<Record<string, unknown>>,
  io: CommandIO,
  work: (opened: { readonly project: Project; readonly store: RunStore }) => Promise<T>,
): Promise<T> {
  const project = await Project.open(resolve(io.cwd, String(options['project'] ?? '.')));
  const store = await RunStore.open(
    resolveStoreLocation({
      cwd: project.root,
      ...(typeof options['store'] === 'string'
        ? {
            store: isStoreUrl(options['store'])
              ? options['store']
              : resolve(io.cwd, options['store']),
          }
        : {}),
    }),
  );
  try {
    return await work({ project, store });
  } finally {
    await store.close();
  }
}

/**
 * Parses a positive integer flag.
 *
 * @example
 * ```ts
 * positiveInteger('--workers', '3'); // 3
 * ```
 */
export function positiveInteger(flag: string, value: unknown, allowZero = false): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1))
    throw new UsageError(
      `${flag} expects a whole number${allowZero ? '' : ' above 0'}, got "${String(value)}"`,
    );
  return n;
}

/**
 * Parses an ISO date or timestamp flag into epoch milliseconds (a date alone is UTC midnight).
 *
 * @example
 * ```ts
 * instant('--from', '2024-01-01'); // 1704067200000
 * ```
 */
export function instant(flag: string, value: unknown): number {
  const ms = Date.parse(String(value));
  if (Number.isNaN(ms))
    throw new UsageError(`${flag} expects an ISO date or timestamp, got "${String(value)}"`, {
      hint: 'e.g. 2024-01-01 or 2024-01-01T06:00:00Z',
    });
  return ms;
}
