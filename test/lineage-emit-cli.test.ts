import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../src/observe/lineage/openlineage-event.js';
import { TERMINAL_EVENT_TYPES } from '../src/observe/lineage/openlineage-event.js';
import { tempDir } from './helpers.js';
import { startHTTPReceiver } from './support/http-receiver.js';
import { openLineageSchemas } from './support/openlineage-schemas.js';
import { runSluice } from './support/sluice-process.js';

const schemas = openLineageSchemas();

describe('lineage of `sluice run` (OPENLINEAGE_URL)', () => {
  it('sends every event of the run, made in the run process, through the parent', async () => {
    const receiver = await startHTTPReceiver();
    try {
      const dir = await tempDir();
      await writeFile(
        join(dir, 'copy.ts'),
        `import { pipeline, sql, ref, sink } from 'sluice';
export default pipeline('cli_lineage', {
  owners: ['team:ops'],
  steps: {
    rows: sql\`select n from range(3) t(n)\`,
    doubled: sql\`select n * 2 as twice from \${ref('rows')}\`,
    out: sink.csv({ input: ref('doubled'), path: 'out.csv' }),
  },
});
`,
      );
      const { code, stderr } = await runSluice(['run', 'copy.ts', '--json'], {
        cwd: dir,
        env: {
          OPENLINEAGE_URL: receiver.origin,
          OPENLINEAGE_API_KEY: 'k3y',
          OPENLINEAGE_NAMESPACE: 'cli-ns',
        },
      });
      expect(code, stderr).toBe(0);
      const events = receiver.requests.map((r) => JSON.parse(r.body) as RunEvent);
      expect(events.map((e) => [e.job.name, e.eventType])).toEqual([
        ['cli_lineage', 'START'],
        ['cli_lineage.rows', 'START'],
        ['cli_lineage.rows', 'COMPLETE'],
        ['cli_lineage.doubled', 'START'],
        ['cli_lineage.doubled', 'COMPLETE'],
        ['cli_lineage.out', 'START'],
        ['cli_lineage.out', 'COMPLETE'],
        ['cli_lineage', 'COMPLETE'],
      ]);
      expect(new Set(events.map((e) => e.job.namespace))).toEqual(new Set(['cli-ns']));
      expect(receiver.requests.every((r) => r.headers['authorization'] === 'Bearer k3y')).toBe(
        true,
      );
      // The parent derived the SQL step's column lineage; the request never left Sluice.
      const doubled = events.find(
        (e) => e.job.name === 'cli_lineage.doubled' && e.eventType === 'COMPLETE',
      );
      expect(doubled?.outputs[0]?.facets?.['columnLineage']).toMatchObject({
        fields: {
          twice: { inputFields: [{ namespace: 'cli-ns', name: 'cli_lineage.rows', field: 'n' }] },
        },
      });
      expect(receiver.requests.some((r) => r.body.includes('pendingColumnLineage'))).toBe(false);
      expect(events.at(-1)!.outputs.map((d) => [d.namespace, d.name])).toEqual([
        ['file', join(dir, 'out.csv')],
      ]);
      if (schemas !== undefined)
        for (const event of events) expect(schemas.problems(event)).toEqual([]);
    } finally {
      await receiver.close();
    }
  }, 60_000);

  it('a run killed at its timeout still ends in lineage: FAIL for the run and its running step', async () => {
    const receiver = await startHTTPReceiver();
    try {
      const dir = await tempDir();
      await writeFile(
        join(dir, 'spin.ts'),
        `import { pipeline, sql, ref, transform } from 'sluice';
export default pipeline('spin', {
  timeout: '8s',
  steps: {
    rows: sql\`select 1 as n\`,
    // Spins once it runs: only a kill stops it (long after the timeout, by design of the test).
    spin: transform({ input: ref('rows'), map: (row) => { for (;;) {} } }),
  },
});
`,
      );
      const { code, stdout } = await runSluice(['run', 'spin.ts', '--json'], {
        cwd: dir,
        env: { OPENLINEAGE_URL: receiver.origin },
      });
      expect(code).not.toBe(0);
      expect(JSON.parse(stdout)).toMatchObject({
        status: 'failed',
        error: { code: 'RUN_TIMEOUT' },
      });
      const events = receiver.requests.map((r) => JSON.parse(r.body) as RunEvent);
      const terminal = (job: string) =>
        events.filter((e) => e.job.name === job && TERMINAL_EVENT_TYPES.has(e.eventType));
      expect(terminal('spin').map((e) => e.eventType)).toEqual(['FAIL']);
      expect(terminal('spin.spin').map((e) => e.eventType)).toEqual(['FAIL']);
      expect(terminal('spin.rows').map((e) => e.eventType)).toEqual(['COMPLETE']);
      expect(terminal('spin')[0]!.run.facets['errorMessage']).toMatchObject({
        message: expect.stringContaining('RUN_TIMEOUT'),
      });
      // The run's own terminal event comes after its steps'.
      expect(events.at(-1)!.job.name).toBe('spin');
      if (schemas !== undefined)
        for (const event of events) expect(schemas.problems(event)).toEqual([]);
    } finally {
      await receiver.close();
    }
  }, 60_000);
});
