import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** `../shared/fixtures` beside the checkout, where fixtures written by others are read in place. */
export const FIXTURES = resolve(import.meta.dirname, '..', '..', 'shared', 'fixtures');

/**
 * The fixture folder `name`, or undefined with a printed reason when it is absent. Under
 * `CI=true` an absent fixture folder is an error, not a skip.
 */
export function fixtureFolder(name: string): string | undefined {
  const folder = join(FIXTURES, name);
  if (existsSync(folder)) return folder;
  if (process.env['CI'] === 'true')
    throw new Error(
      `fixture folder ${folder} is missing (CI must have ../shared beside the clone)`,
    );
  console.warn(`skipping tests on ${name}: ${folder} is absent`);
  return undefined;
}
