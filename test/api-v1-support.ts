import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

/**
 * A project for the `/api/v1` tests, in `dir`:
 *
 * - `quickstart`: the quickstart example (quality results, quarantined rows);
 * - `failing`: `one` (SQL) then `boom`, which throws a permanent error until the file `fixed`
 *   exists (so a retry after the fix succeeds, reusing `one` from the task cache);
 * - `hourly`: scheduled every hour since 2024-01-01, for backfills.
 */
export async function apiTestProject(dir: string): Promise<void> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await copyFile(join(ROOT, 'examples/quickstart/pipeline.ts'), join(dir, 'quickstart.ts'));
  for (const file of ['orders.csv', 'orders-2026-03.ndjson'])
    await copyFile(join(ROOT, 'examples/quickstart/data', file), join(dir, 'data', file));
  await writeFile(
    join(dir, 'failing.ts'),
    `import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, ref, sql, transform, PermanentError } from 'sluice';
const fixed = join(import.meta.dirname, 'fixed');
export default pipeline('failing', {
  description: 'fails in boom until the file "fixed" exists',
  owners: ['team-data'],
  steps: {
    one: sql\`select 1 as x\`,
    boom: transform({
      input: ref('one'),
      map: (row) => {
        if (!existsSync(fixed)) throw new PermanentError('boom is broken');
        return row;
      },
    }),
  },
});
`,
  );
  await writeFile(
    join(dir, 'hourly.ts'),
    `import { pipeline, sql } from 'sluice';
export default pipeline('hourly', {
  schedule: { every: '1h' },
  start: '2024-01-01T00:00:00Z',
  steps: { one: sql\`select 1 as x\` },
});
`,
  );
  await writeFile(
    join(dir, 'sluice.config.ts'),
    `export default { pipelines: { quickstart: './quickstart.ts', failing: './failing.ts', hourly: './hourly.ts' } };\n`,
  );
}
