import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Makes sure a cached copy of an immutable file exists at `target`: when a file of the expected
 * size (or, without one, any file) is already there it is kept; otherwise `download` writes a
 * temporary file beside it, which is then renamed into place. A download killed half-way never
 * leaves a partial file under the target name, and two processes caching the same file at once
 * both end with a whole one. Returns whether it downloaded.
 *
 * @example
 * ```ts
 * await cacheFile('/cache/lake/orders/part-1.parquet', 4096, (tmp) => downloadTo(tmp));
 * ```
 */
export async function cacheFile(
  target: string,
  size: number | undefined,
  download: (temporary: string) => Promise<void>,
): Promise<boolean> {
  const cached = await stat(target).catch(() => undefined);
  if (cached?.isFile() === true && (size === undefined || cached.size === size)) return false;
  await mkdir(dirname(target), { recursive: true });
  const temporary = join(dirname(target), `.${basename(target)}.${randomUUID()}.download`);
  try {
    await download(temporary);
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
  }
  return true;
}

/**
 * Runs `work` over items with at most `limit` running at once; rejects with the first failure
 * after the running ones have settled.
 *
 * @example
 * ```ts
 * await forEachLimited(files, 8, (file) => upload(file));
 * ```
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
