import type { DeltaAction } from './delta-actions.js';
import { readCommitFile } from './delta-log.js';
import { forEachLimited } from './table-cache.js';
import type { TableLocation } from './table-store.js';
import { openTableStore } from './table-store.js';
import { TableError } from '../core/errors.js';

/** One commit of a table's history. */
export interface CommitSummary {
  readonly version: number;
  readonly timestamp: number | null;
  readonly operation: string | null;
  readonly operationParameters: Readonly<Record<string, unknown>> | null;
  readonly filesAdded: number;
  readonly filesRemoved: number;
  /** Who wrote the commit, when a Sluice run did: its run id, pipeline, step and actor. */
  readonly provenance?: Readonly<Record<'runId' | 'pipeline' | 'step' | 'actor', string | null>>;
}

/**
 * The commits of a table, newest first, from its JSON commit files.
 *
 * @example
 * ```ts
 * const [latest] = await readCommitHistory('lake/orders');
 * ```
 */
export async function readCommitHistory(table: TableLocation): Promise<CommitSummary[]> {
  const store = await openTableStore(table);
  const names = await store.list('_delta_log');
  if (names.length === 0)
    throw new TableError(store.root, `no transaction log at ${store.url('_delta_log')}`);
  const versions = names
    .flatMap((n) => (/^\d{20}\.json$/.test(n) ? [Number(n.slice(0, 20))] : []))
    .sort((a, b) => b - a);
  const commits = new Map<number, readonly DeltaAction[]>();
  await forEachLimited(versions, 16, async (version) => {
    commits.set(version, await readCommitFile(store, version));
  });
  return versions.map((version) => {
    const actions = commits.get(version) ?? [];
    const info = actions.find((a) => a.commitInfo !== undefined)?.commitInfo;
    const text = (key: string): string | null =>
      typeof info?.[key] === 'string' ? (info[key] as string) : null;
    const provenance = {
      runId: text('runId'),
      pipeline: text('pipeline'),
      step: text('step'),
      actor: text('actor'),
    };
    return {
      version,
      timestamp: typeof info?.timestamp === 'number' ? info.timestamp : null,
      operation: typeof info?.['operation'] === 'string' ? info['operation'] : null,
      operationParameters:
        (info?.['operationParameters'] as Record<string, unknown> | undefined) ?? null,
      filesAdded: actions.filter((a) => a.add !== undefined).length,
      filesRemoved: actions.filter((a) => a.remove !== undefined).length,
      ...(provenance.runId === null ? {} : { provenance }),
    };
  });
}
