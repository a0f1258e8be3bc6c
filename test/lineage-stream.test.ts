import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import type { RunEvent } from '../src/observe/lineage/openlineage-event.js';
import {
  defaultStreamRegistry,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';
import { memoryEmitter } from './support/lineage-memory.js';
import { openLineageSchemas } from './support/openlineage-schemas.js';

const schemas = openLineageSchemas();

describe('OpenLineage events of a stream', () => {
  it('START, RUNNING at each checkpoint with the figures so far, COMPLETE at the stop', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    const rows = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({ id: i, ts: 1_700_000_000_000 + i }),
    );
    await writeFile(join(dir, 'in', 'a.ndjson'), `${rows.join('\n')}\n`);
    const definition = stream('clicks_copy', {
      source: streamSource.files({ path: join(dir, 'in') }),
      eventTime: 'ts',
      steps: [],
      sink: streamSink.files({ path: join(dir, 'out') }),
      checkpoint: { every: '100ms' },
    });
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const { emitter, events } = memoryEmitter();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 30_000);
    try {
      let checkpoints = 0;
      await runStream(planStream(definition, defaultStreamRegistry), {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'quarantine'), 'clicks_copy'),
        signal: stop.signal,
        logger: silentLogger,
        lineage: emitter,
        baseDir: dir,
        onCheckpoint: (progress) => {
          checkpoints += 1;
          if (progress.recordsOut >= 20 && checkpoints >= 2) stop.abort();
        },
      });
    } finally {
      clearTimeout(timer);
      await store.close();
    }
    expect(await emitter.flush(10_000)).toBe(0);
    const types = events.map((e) => e.eventType);
    expect(types[0]).toBe('START');
    expect(types.at(-1)).toBe('COMPLETE');
    // Checkpoints while running, and the final one at the stop.
    expect(types.filter((t) => t === 'RUNNING').length).toBeGreaterThanOrEqual(2);
    expect(new Set(events.map((e) => e.run.runId)).size).toBe(1);
    expect(events[0]!.job).toMatchObject({
      name: 'clicks_copy',
      facets: {
        jobType: { processingType: 'STREAMING', integration: 'SLUICE', jobType: 'STREAM' },
      },
    });
    expect(events[0]!.inputs.map((d) => [d.namespace, d.name])).toEqual([
      ['file', join(dir, 'in')],
    ]);
    expect(events[0]!.outputs.map((d) => [d.namespace, d.name])).toEqual([
      ['file', join(dir, 'out')],
    ]);
    const last = events.filter((e) => e.eventType === 'RUNNING').at(-1) as RunEvent;
    expect(last.outputs[0]?.outputFacets?.['outputStatistics']).toMatchObject({ rowCount: 20 });
    expect(last.inputs[0]?.inputFacets?.['dataQualityMetrics']).toMatchObject({ rowCount: 20 });
    if (schemas !== undefined)
      for (const event of events) expect(schemas.problems(event)).toEqual([]);
  });

  it('a stream that fails ends with FAIL and its error', async () => {
    const dir = await tempDir();
    const definition = stream('broken', {
      source: streamSource.files({ path: join(dir, 'missing', 'in') }),
      eventTime: 'ts',
      steps: [],
      sink: streamSink.files({ path: join(dir, 'out') }),
      checkpoint: { every: '100ms' },
    });
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const { emitter, events } = memoryEmitter();
    // Whatever makes it fail: a source folder that cannot be made, under a file.
    await writeFile(join(dir, 'missing'), 'not a folder');
    try {
      await expect(
        runStream(planStream(definition, defaultStreamRegistry), {
          checkpoints: new StreamCheckpoints(store),
          quarantine: new QuarantineStore(join(dir, 'quarantine'), 'broken'),
          signal: AbortSignal.timeout(30_000),
          logger: silentLogger,
          lineage: emitter,
          baseDir: dir,
        }),
      ).rejects.toThrow();
    } finally {
      await store.close();
    }
    expect(await emitter.flush(10_000)).toBe(0);
    expect(events.map((e) => e.eventType)).toEqual(['START', 'FAIL']);
    expect(events[1]!.run.facets['errorMessage']).toBeDefined();
    if (schemas !== undefined)
      for (const event of events) expect(schemas.problems(event)).toEqual([]);
  });
});
