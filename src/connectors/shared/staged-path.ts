import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

const STAGING = '.sluice-staging-';
const PREVIOUS = '.sluice-previous-';
const STALE_STAGING_MS = 6 * 3_600_000;
/** This machine, as it appears in staging names: 8 hex digits of a hash of its host name. */
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/** `<runId>~<pid>@<host>`: the run and the process that staged an output. */
const OWNED = /^(?<runId>[A-Za-z0-9_.-]+)~(?<pid>\d+)@(?<host>[0-9a-f]{8})$/;
/** Staging paths of this process that a live write still uses. */
const activeStaging = new Set<string>();

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
 * Stages a file or folder output next to its target (same file system, hidden name
 * `.<name>.sluice-staging-<runId>~<pid>@<host>`) so that publishing is a rename. A file replaces
 * its target atomically. A folder is swapped in with two renames (old out, new in); if a run is
 * killed between them, the next write to the same target restores the old folder first, so
 * readers never see a half-written output. Staging of the same target that a dead process left
 * (same host, process gone) is removed first, as is any older than six hours.
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
  await removeLeftoverStaging(parent, name);
  const stagingPath = join(parent, `.${name}${STAGING}${runId}~${process.pid}@${HOST}`);
  activeStaging.add(stagingPath);
  await rm(stagingPath, { recursive: true, force: true });
  if (kind === 'folder') await mkdir(stagingPath, { recursive: true });
  return {
    stagingPath,
    target,
    async publish() {
      if (kind === 'file') {
        await rename(stagingPath, target);
        activeStaging.delete(stagingPath);
        return;
      }
      const previous = join(parent, `.${name}${PREVIOUS}${runId}`);
      const hadPrevious = await exists(target);
      if (hadPrevious) await rename(target, previous);
      await rename(stagingPath, target);
      activeStaging.delete(stagingPath);
      if (hadPrevious) await rm(previous, { recursive: true, force: true });
    },
    async discard() {
      await rm(stagingPath, { recursive: true, force: true });
      activeStaging.delete(stagingPath);
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

/**
 * Removes staging of this target that no write uses any more: staged by a process of this host
 * that is gone (or by this process, outside any live write), or older than six hours (the only
 * test for staging made on another host or by an older version without the owner in its name).
 */
async function removeLeftoverStaging(parent: string, name: string): Promise<void> {
  const prefix = `.${name}${STAGING}`;
  const now = Date.now();
  for (const entry of await siblings(parent, prefix)) {
    const path = join(parent, entry);
    if (activeStaging.has(path)) continue;
    const owner = OWNED.exec(entry.slice(prefix.length))?.groups;
    if (owner !== undefined && owner['host'] === HOST && !processAlive(Number(owner['pid']))) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && now - info.mtimeMs > STALE_STAGING_MS) {
      await rm(path, { recursive: true, force: true });
    }
  }
}

/** Whether a process of this host is running; this process counts as not, for its own leftovers. */
function processAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    // EPERM: it runs, under another user.
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
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
