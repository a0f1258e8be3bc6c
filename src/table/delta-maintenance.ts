import { readdir, rm, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { TableWriteError } from '../core/errors.js';
import type { EngineConnection } from '../engine/duckdb-session.js';
import type { AddAction } from './delta-actions.js';
import { loadDeltaSnapshot, tableRoot } from './delta-log.js';
import { deltaScanSQL } from './delta-scan.js';
import type { DeltaWriteResult } from './delta-writer.js';
import { writeDelta } from './delta-writer.js';

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
  table: string,
  options: {
    readonly retentionHours?: number;
    readonly dryRun?: boolean;
    readonly force?: boolean;
    readonly now?: number;
  } = {},
): Promise<VacuumResult> {
  const root = tableRoot(table);
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
  const snapshot = await loadDeltaSnapshot(connection, root);
  const active = new Set(snapshot.files.map((f) => f.path));
  const cutoff = (options.now ?? Date.now()) - retention * 3_600_000;
  const candidates: { path: string; bytes: number }[] = [];
  for (const entry of await readdir(root, { recursive: true })) {
    const path = String(entry).split(sep).join('/');
    if (path.startsWith('_delta_log') || path.split('/').some(isHidden)) continue;
    if (!path.endsWith('.parquet') || active.has(path)) continue;
    const info = await stat(join(root, path));
    if (info.isFile() && info.mtimeMs < cutoff) candidates.push({ path, bytes: info.size });
  }
  candidates.sort((a, b) => (a.path < b.path ? -1 : 1));
  if (options.dryRun !== true)
    for (const file of candidates) await rm(join(root, file.path), { force: true });
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
  table: string,
  options: { readonly targetFileBytes?: number } = {},
): Promise<OptimizeResult> {
  const root = tableRoot(table);
  const target = options.targetFileBytes ?? 128 * 1024 * 1024;
  const snapshot = await loadDeltaSnapshot(connection, root);
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
  const result = await writeDelta(
    connection,
    root,
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
