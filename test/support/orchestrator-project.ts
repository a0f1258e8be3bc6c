import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

/**
 * Pipelines for orchestrator tests, as files of a project folder:
 *
 * - `work`: one row with its run id and `n`, a transform that waits `delay_ms`, merged by
 *   run id into the Delta table `out/work` (replaying a run adds nothing);
 * - `flaky`: fails with a retryable error on its first attempt (a marker file remembers it);
 * - `slow`: waits 30 s unless stopped (timeouts and cancellation);
 * - `cached`: copies `data/cached.csv` to Parquet (run caching);
 * - `hourly`: scheduled every hour since 2024-01-01 with catchup, writing its interval.
 */
export async function orchestratorProject(): Promise<string> {
  const dir = await tempDir('sluice-orch-');
  await mkdir(join(dir, 'pipelines'), { recursive: true });
  const files: Record<string, string> = {
    work: `
import { pipeline, sql, param, ref, transform, sink } from 'sluice';
export default pipeline('work', {
  params: { run_id: 'none', n: '0', delay_ms: '0' },
  retries: { retries: 5, delay: '50ms', maxDelay: '200ms' },
  steps: {
    item: sql\`select \${param('run_id')} as run_id, cast(\${param('n')} as integer) as n, cast(\${param('delay_ms')} as integer) as delay_ms\`,
    slow: transform({
      input: ref('item'),
      map: async (row, context) => {
        await new Promise((resolve) => setTimeout(resolve, Number(row.delay_ms)));
        context.signal.throwIfAborted();
        return row;
      },
    }),
    out: sink.delta({ input: ref('slow'), path: '../out/work', mode: 'merge', keys: ['run_id'] }),
  },
});
`,
    flaky: `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline, sql, ref, transform, RetryableError } from 'sluice';
const marker = join(import.meta.dirname, '..', 'flaky-attempted');
export default pipeline('flaky', {
  retries: { retries: 2, delay: '10ms' },
  steps: {
    one: sql\`select 1 as x\`,
    gate: transform({
      input: ref('one'),
      map: (row) => {
        if (!existsSync(marker)) {
          writeFileSync(marker, 'x');
          throw new RetryableError('the first attempt always fails');
        }
        return row;
      },
    }),
  },
});
`,
    slow: `
import { pipeline, sql, ref, transform } from 'sluice';
export default pipeline('slow', {
  timeout: '300ms',
  steps: {
    one: sql\`select 1 as x\`,
    wait: transform({
      input: ref('one'),
      map: async (row, context) => {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          context.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(undefined); });
        });
        context.signal.throwIfAborted();
        return row;
      },
    }),
  },
});
`,
    cached: `
import { pipeline, ref, schema, sink, source, t } from 'sluice';
export default pipeline('cached', {
  steps: {
    rows: source.csv({ path: '../data/cached.csv', schema: schema({ id: t.int64() }) }),
    out: sink.parquet({ input: ref('rows'), path: '../out/cached.parquet' }),
  },
});
`,
    hourly: `
import { pipeline, sql, param } from 'sluice';
export default pipeline('hourly', {
  schedule: { every: '1h' },
  start: '2024-01-01T00:00:00Z',
  catchup: true,
  params: { interval_start: '', interval_end: '' },
  steps: {
    span: sql\`select \${param('interval_start')} as interval_start, \${param('interval_end')} as interval_end\`,
  },
});
`,
  };
  for (const [name, text] of Object.entries(files))
    await writeFile(join(dir, 'pipelines', `${name}.ts`), text);
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'cached.csv'), 'id\n1\n2\n');
  return dir;
}
