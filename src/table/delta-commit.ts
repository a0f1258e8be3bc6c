import { randomUUID } from 'node:crypto';
import { link, mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeltaAction } from './delta-actions.js';

/**
 * Writes commit `version` of a table atomically and exclusively: the actions go to a temporary
 * file under `_delta_log/.tmp/`, which is then hard-linked to `_delta_log/<version>.json`. A link
 * fails when the target exists, so of two writers racing for one version exactly one wins, and a
 * writer killed at any point leaves either no commit or a complete one.
 * Returns false when another writer already committed that version.
 *
 * @example
 * ```ts
 * if (!(await writeCommit(root, 5, actions))) await retryAtNextVersion();
 * ```
 */
export async function writeCommit(
  root: string,
  version: number,
  actions: readonly DeltaAction[],
): Promise<boolean> {
  const logDir = join(root, '_delta_log');
  const tmpDir = join(logDir, '.tmp');
  await mkdir(tmpDir, { recursive: true });
  const temporary = join(tmpDir, `${String(version).padStart(20, '0')}.${randomUUID()}.json`);
  await writeFile(temporary, `${actions.map((a) => JSON.stringify(a)).join('\n')}\n`);
  try {
    await link(temporary, join(logDir, `${String(version).padStart(20, '0')}.json`));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}
