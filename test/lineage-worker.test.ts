import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Project } from '../src/orchestrator/project.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import type { RunRecord } from '../src/orchestrator/run-types.js';
import type { RunEvent } from '../src/observe/lineage/openlineage-event.js';
import { TERMINAL_EVENT_TYPES } from '../src/observe/lineage/openlineage-event.js';
import { orchestratorProject, workUntilFinished } from './support/orchestrator-project.js';
import { openLineageSchemas } from './support/openlineage-schemas.js';

const schemas = openLineageSchemas();

describe('lineage of orchestrated runs (sluice.config.ts lineage)', () => {
  it('each attempt is a lineage run of its own; an interval run carries its nominal time', async () => {
    const dir = await orchestratorProject();
    await writeFile(
      join(dir, 'sluice.config.ts'),
      `export default { pipelines: 'pipelines', lineage: { namespace: 'orch', transports: [{ type: 'file', path: 'lineage.ndjson' }] } };\n`,
    );
    const project = await Project.open(dir);
    const store = await RunStore.open(join(dir, '.sluice', 'sluice.db'));
    try {
      const start = Date.parse('2024-01-01T05:00:00Z');
      const runs = await store.enqueueRuns([
        { pipeline: 'flaky', trigger: 'manual', maxAttempts: 3 },
        {
          pipeline: 'hourly',
          trigger: 'schedule',
          maxAttempts: 1,
          interval: { start, end: start + 3_600_000 },
        },
      ]);
      const done = await workUntilFinished(store, project, runs as RunRecord[]);
      expect(done.map((r) => [r.state, r.attempt])).toEqual([
        ['success', 2],
        ['success', 1],
      ]);
      const events = (await readFile(join(dir, 'lineage.ndjson'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as RunEvent);
      const ends = (job: string) =>
        events.filter((e) => e.job.name === job && TERMINAL_EVENT_TYPES.has(e.eventType));
      const flaky = ends('flaky');
      expect(flaky.map((e) => e.eventType)).toEqual(['FAIL', 'COMPLETE']);
      expect(new Set(flaky.map((e) => e.run.runId)).size).toBe(2);
      expect(new Set(events.map((e) => e.job.namespace))).toEqual(new Set(['orch']));
      expect(ends('hourly')[0]?.run.facets['nominalTime']).toMatchObject({
        nominalStartTime: '2024-01-01T05:00:00.000Z',
        nominalEndTime: '2024-01-01T06:00:00.000Z',
      });
      if (schemas !== undefined)
        for (const event of events) expect(schemas.problems(event)).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('sluice.config.ts with a bad lineage config fails what emits lineage, every problem named', async () => {
    const dir = await orchestratorProject();
    await writeFile(
      join(dir, 'sluice.config.ts'),
      `export default { lineage: { namespce: 'x', transports: [{ type: 'http', url: 'ftp://nope' }, { type: 'carrier-pigeon' }] } };\n`,
    );
    const project = await Project.open(dir);
    expect(project.alerts()).toEqual({}); // what does not emit lineage still opens
    const error = (() => {
      try {
        project.lineage();
        return undefined;
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain('namespce');
    expect(message).toContain('lineage.transports[0].url');
    expect(message).toContain('lineage.transports[1]');
  });
});
