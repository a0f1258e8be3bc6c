import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The named points of a run's commit where fault tests stop the process:
 * `before-state-prepare` (every step succeeded, nothing saved yet), `before-publish`
 * (the pending source state is saved, no sink published yet), `published:<stepId>` (that sink
 * has published) and `before-state-save` (every sink published, the state not yet promoted).
 *
 * When `SLUICE_PAUSE_AT` names the point, the run writes the point's name to the file
 * `SLUICE_PAUSE_FILE` and waits until that file is removed (a test kills the process, or locks
 * the store, meanwhile). Without those variables this does nothing.
 *
 * @example
 * ```ts
 * await faultPoint('before-state-save');
 * ```
 */
export async function faultPoint(name: string): Promise<void> {
  const at = process.env['SLUICE_PAUSE_AT'];
  const file = process.env['SLUICE_PAUSE_FILE'];
  if (at === undefined || file === undefined || at !== name) return;
  await writeFile(file, name);
  while (existsSync(file)) await sleep(10);
}
