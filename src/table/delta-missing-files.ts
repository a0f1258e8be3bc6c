import { access } from 'node:fs/promises';
import { TableError } from '../core/errors.js';
import type { AddAction } from './delta-actions.js';
import type { DeltaSnapshot } from './delta-log.js';
import { readCommitFile } from './delta-log.js';
import { deltaFilePath } from './delta-file-path.js';
import { forEachLimited } from './table-cache.js';

/** How many files are checked at once. */
const CHECKS = 16;

/**
 * The files of a snapshot that are no longer in the table's storage (removed by a vacuum, or by
 * hand). A remote table's files already cached locally count as present.
 *
 * @example
 * ```ts
 * const gone = await missingDataFiles(snapshot, snapshot.files);
 * ```
 */
export async function missingDataFiles(
  snapshot: DeltaSnapshot,
  files: readonly AddAction[],
): Promise<AddAction[]> {
  const { store } = snapshot;
  const missing: AddAction[] = [];
  const isPresent = async (path: string): Promise<boolean> =>
    store.remote
      ? store.hasLocalCopy(path) || (await store.stat(path)) !== undefined
      : access(deltaFilePath(store.localRoot, path)).then(
          () => true,
          () => false,
        );
  await forEachLimited(files, CHECKS, async (file) => {
    if (!(await isPresent(file.path))) missing.push(file);
  });
  return missing.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/**
 * The error for a snapshot whose data files are gone: `TABLE_UNREADABLE`, naming the version
 * and how many files are missing, with the oldest later version whose files are all present (a
 * vacuum removes the files of old versions only) as the hint.
 *
 * @example
 * ```ts
 * throw await missingFilesError(snapshot, await missingDataFiles(snapshot, snapshot.files));
 * ```
 */
export async function missingFilesError(
  snapshot: DeltaSnapshot,
  missing: readonly AddAction[],
  cause?: unknown,
): Promise<TableError> {
  const readable = await oldestReadableVersionAfter(snapshot).catch(() => undefined);
  const where =
    readable === undefined
      ? 'no later version has all its files either: they were deleted by hand, so restore them from a backup'
      : readable.version === snapshot.version
        ? ''
        : `the oldest readable version is ${readable.version} (latest ${readable.latest}); read that or a later one`;
  return new TableError(
    snapshot.root,
    `version ${snapshot.version} cannot be read: ${missing.length} of its ${snapshot.files.length} data file(s) are gone (${snapshot.store.url(missing[0]?.path ?? '')} does not exist), removed by a vacuum or by hand`,
    {
      ...(cause === undefined ? {} : { cause }),
      hint: `${where}${where === '' ? '' : '. '}A vacuum deletes the files the current version no longer uses once they are older than its retention (default 168 hours): vacuum with a longer retention to keep older versions readable`,
    },
  );
}

/**
 * The first version from `snapshot.version` on whose active files all exist, found by replaying
 * the later commits over the snapshot's files; undefined when none does.
 */
async function oldestReadableVersionAfter(
  snapshot: DeltaSnapshot,
): Promise<{ readonly version: number; readonly latest: number } | undefined> {
  const commits = (await snapshot.store.list('_delta_log'))
    .flatMap((name) => /^(\d{20})\.json$/.exec(name)?.[1] ?? [])
    .map(Number)
    .filter((v) => v > snapshot.version)
    .sort((a, b) => a - b);
  const latest = commits.at(-1) ?? snapshot.version;
  const active = new Map(snapshot.files.map((f) => [f.path, f]));
  const gone = new Set((await missingDataFiles(snapshot, snapshot.files)).map((f) => f.path));
  const readableNow = (): boolean => [...active.keys()].every((path) => !gone.has(path));
  if (readableNow()) return { version: snapshot.version, latest };
  for (const version of commits) {
    const actions = await readCommitFile(snapshot.store, version);
    const added: AddAction[] = [];
    for (const action of actions) {
      if (action.remove !== undefined) active.delete(decodePath(action.remove.path));
      if (action.add !== undefined) {
        const file = { ...action.add, path: decodePath(action.add.path) };
        active.set(file.path, file);
        added.push(file);
      }
    }
    for (const file of await missingDataFiles(snapshot, added)) gone.add(file.path);
    if (readableNow()) return { version, latest };
  }
  return undefined;
}

/** Delta stores paths URL-encoded. */
function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
