import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TableError } from '../core/errors.js';
import type { DeltaAction } from './delta-actions.js';
import { tableRoot } from './delta-log.js';

/** One commit of a table's history. */
export interface CommitSummary {
  readonly version: number;
  readonly timestamp: number | null;
  readonly operation: string | null;
  readonly operationParameters: Readonly<Record<string, unknown>> | null;
  readonly filesAdded: number;
  readonly filesRemoved: number;
}

/**
 * The commits of a table, newest first, from its JSON commit files.
 *
 * @example
 * ```ts
 * const [latest] = await readCommitHistory('lake/orders');
 * ```
 */
export async function readCommitHistory(table: string): Promise<CommitSummary[]> {
  const root = tableRoot(table);
  const logDir = join(root, '_delta_log');
  const names = await readdir(logDir).catch((cause: unknown) => {
    throw new TableError(root, `no transaction log at ${logDir}`, { cause });
  });
  const versions = names
    .flatMap((n) => (/^\d{20}\.json$/.test(n) ? [Number(n.slice(0, 20))] : []))
    .sort((a, b) => b - a);
  const history: CommitSummary[] = [];
  for (const version of versions) {
    const name = `${String(version).padStart(20, '0')}.json`;
    const actions = (await readFile(join(logDir, name), 'utf8'))
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line) as DeltaAction;
        } catch (cause) {
          throw new TableError(root, `commit ${name} line ${i + 1} is not valid JSON`, { cause });
        }
      });
    const info = actions.find((a) => a.commitInfo !== undefined)?.commitInfo;
    history.push({
      version,
      timestamp: typeof info?.timestamp === 'number' ? info.timestamp : null,
      operation: typeof info?.['operation'] === 'string' ? info['operation'] : null,
      operationParameters:
        (info?.['operationParameters'] as Record<string, unknown> | undefined) ?? null,
      filesAdded: actions.filter((a) => a.add !== undefined).length,
      filesRemoved: actions.filter((a) => a.remove !== undefined).length,
    });
  }
  return history;
}
