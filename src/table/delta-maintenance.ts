import { TableWriteError } from '../core/errors.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import type { AddAction } from './delta-actions.js';
import { loadDeltaSnapshot } from './delta-log.js';
import { deltaScanSQL, fetchDeltaFiles } from './delta-scan.js';
import type { DeltaWriteResult } from './delta-writer.js';
import { writeDelta } from './delta-writer.js';
import { forEachLimited } from './table-cache.js';
import type { TableLocation } from './table-store.js';
import { openTableStore } from './table-store.js';

/** Delta's default and minimum safe retention for vacuum: 7 days. */
export const DEFAULT_RETENTION_HOURS = 168;

/** What a vacuum removed (or would remove, in a dry run). */
export interface VacuumResult {
  readonly dryRun: boolean;
  /** Paths relative to the table root. */
  readonly files: readonly string[];
  readonly bytes: number;
}

/**
 * Deletes data files the current version does not use and that are older than the retention
 * (default 7 days), so time travel within the retention keeps working. Refuses a retention
 * below 7 days unless `force` is set: a shorter one can delete files a running reader or writer
 * still needs. `dryRun` only lists them.
 *
 * @example
 * ```ts
 * const { files } = await vacuumDelta(connection, 'lake/orders', { dryRun: true });
 * ```
 */
export async function vacuumDelta(
  connection: EngineConnection,
  table: TableLocation,
  options: {
    readonly retentionHours?: number;
    readonly dryRun?: boolean;
    readonly force?: boolean;
    readonly now?: number;
  } = {},
): Promise<VacuumResult> {
  const store = await openTableStore(table);
  const { root } = store;
  const retention = options.retentionHours ?? DEFAULT_RETENTION_HOURS;
  if (retention < DEFAULT_RETENTION_HOURS && options.force !== true) {
    throw new TableWriteError(
      root,
      `a retention of ${retention} hours is below the safe minimum of ${DEFAULT_RETENTION_HOURS}`,
      {
        hint: 'files younger than 7 days may still be read by running queries or time travel; pass force to do it anyway',
      },
    );
  }
  const snapshot = await loadDeltaSnapshot(connection, store);
  const active = new Set(snapshot.files.map((f) => f.path));
  const cutoff = (options.now ?? Date.now()) - retention * 3_600_000;
  const candidates = (
    await store.listAll(
      (path) =>
        !path.startsWith('_delta_log') &&
        !path.split('/').some(isHidden) &&
        path.endsWith('.parquet') &&
        !active.has(path),
    )
  )
    .filter((file) => file.modified < cutoff)
    .map((file) => ({ path: file.path, bytes: file.size }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  if (options.dryRun !== true)
    await forEachLimited(candidates, 8, (file) => store.delete(file.path));
  return {
    dryRun: options.dryRun === true,
    files: candidates.map((c) => c.path),
    bytes: candidates.reduce((sum, c) => sum + c.bytes, 0),
  };
}

/** What an optimize did. */
export interface OptimizeResult extends Partial<DeltaWriteResult> {
  readonly filesCompacted: number;
  readonly partitionsCompacted: number;
}

/**
 * Bin-packs small files: in each partition with more than one file smaller than the target size
 * (default 128 MB), those files are rewritten together and the old ones removed in one commit
 * marked `dataChange: false`, so readers see the same rows and streaming readers skip it.
 *
 * @example
 * ```ts
 * await optimizeDelta(connection, 'lake/orders', { targetFileBytes: 64 * 1024 * 1024 });
 * ```
 */
export async function optimizeDelta(
  connection: EngineConnection,
  table: TableLocation,
  options: { readonly targetFileBytes?: number } = {},
): Promise<OptimizeResult> {
  const store = await openTableStore(table);
  const target = options.targetFileBytes ?? 128 * 1024 * 1024;
  const snapshot = await loadDeltaSnapshot(connection, store);
  const byPartition = new Map<string, AddAction[]>();
  for (const file of snapshot.files) {
    if (file.size >= target) continue;
    const key = JSON.stringify(
      snapshot.partitionColumns.map((c) => file.partitionValues[c] ?? null),
    );
    byPartition.set(key, [...(byPartition.get(key) ?? []), file]);
  }
  const small = [...byPartition.values()].filter((files) => files.length > 1);
  const files = small.flat();
  if (files.length === 0) return { filesCompacted: 0, partitionsCompacted: 0 };
  await fetchDeltaFiles(snapshot, files);
  const result = await writeDelta(
    connection,
    store,
    deltaScanSQL({ ...snapshot, files }),
    snapshot.fields,
    {
      mode: 'append',
      operation: 'OPTIMIZE',
      replaceFiles: files,
      dataChange: false,
    },
  );
  return { ...result, filesCompacted: files.length, partitionsCompacted: small.length };
}

/** Hidden files and folders (`.x`, `_x`) are not table data; partition folders like `_c=1` are. */
function isHidden(segment: string): boolean {
  return segment.startsWith('.') || (segment.startsWith('_') && !segment.includes('='));
}
