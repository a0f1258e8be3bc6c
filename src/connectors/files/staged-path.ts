import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const STAGING = '.sluice-staging-';
const PREVIOUS = '.sluice-previous-';
const STALE_STAGING_MS = 6 * 3_600_000;

/** A place to write an output before it becomes visible at its target path. */
export interface StagedPath {
  /** Write here: a file path, or a folder for folder outputs. */
  readonly stagingPath: string;
  readonly target: string;
  /** Makes the staged output visible at `target` in one rename (two for folders, see below). */
  publish(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * Stages a file or folder output next to its target (same file system, hidden name) so that
 * publishing is a rename. A file replaces its target atomically. A folder is swapped in with two
 * renames (old out, new in); if a run is killed between them, the next write to the same target
 * restores the old folder first, so readers never see a half-written output.
 *
 * @example
 * ```ts
 * const staged = await stagePath('/data/out/orders.csv', 'run_x', 'file');
 * await writeCSV(staged.stagingPath);
 * await staged.publish();
 * ```
 */
export async function stagePath(
  target: string,
  runId: string,
  kind: 'file' | 'folder',
): Promise<StagedPath> {
  const parent = dirname(target);
  const name = basename(target);
  await mkdir(parent, { recursive: true });
  await recoverInterruptedSwap(parent, name, target);
  await removeStaleStaging(parent, name);
  const stagingPath = join(parent, `.${name}${STAGING}${runId}`);
  await rm(stagingPath, { recursive: true, force: true });
  if (kind === 'folder') await mkdir(stagingPath, { recursive: true });
  return {
    stagingPath,
    target,
    async publish() {
      if (kind === 'file') {
        await rename(stagingPath, target);
        return;
      }
      const previous = join(parent, `.${name}${PREVIOUS}${runId}`);
      const hadPrevious = await exists(target);
      if (hadPrevious) await rename(target, previous);
      await rename(stagingPath, target);
      if (hadPrevious) await rm(previous, { recursive: true, force: true });
    },
    async discard() {
      await rm(stagingPath, { recursive: true, force: true });
    },
  };
}

async function recoverInterruptedSwap(parent: string, name: string, target: string): Promise<void> {
  const previous = (await siblings(parent, `.${name}${PREVIOUS}`)).sort();
  if (previous.length === 0) return;
  if (!(await exists(target))) {
    const latest = previous.pop() as string;
    await rename(join(parent, latest), target);
  }
  for (const leftover of previous)
    await rm(join(parent, leftover), { recursive: true, force: true });
}

async function removeStaleStaging(parent: string, name: string): Promise<void> {
  const now = Date.now();
  for (const entry of await siblings(parent, `.${name}${STAGING}`)) {
    const path = join(parent, entry);
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && now - info.mtimeMs > STALE_STAGING_MS) {
      await rm(path, { recursive: true, force: true });
    }
  }
}

async function siblings(parent: string, prefix: string): Promise<string[]> {
  const entries = await readdir(parent).catch(() => [] as string[]);
  return entries.filter((entry) => entry.startsWith(prefix));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
