import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import {
  count,
  defaultStreamRegistry,
  map,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
  tumbling,
  window,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');

async function rowsIn(folder: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const name of (await readdir(folder)).filter((n) => n.endsWith('.ndjson')).sort())
    for (const line of (await readFile(join(folder, name), 'utf8')).split('\n'))
      if (line !== '') rows.push(JSON.parse(line) as Record<string, unknown>);
  return rows;
}

describe('late data output', () => {
  it('writes records later than their window to the lateData sink, once, even when a checkpoint is replayed', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const checkpoints = new StreamCheckpoints(store);
    /** Runs until every line is read, then stops: its one checkpoint is the final one. */
    const runOnce = async (lines: number): Promise<void> => {
      const stop = new AbortController();
      let read = 0;
      const plan = planStream(
        stream('clicks', {
          source: streamSource.files({ path: join(dir, 'in') }),
          eventTime: 'ts',
          steps: [
            map((row) => {
              if (++read === lines) stop.abort();
              return row;
            }),
            window({ key: 'page', window: tumbling('10s'), aggregate: { views: count() } }),
          ],
          sink: streamSink.files({ path: join(dir, 'out') }),
          lateData: { sink: streamSink.files({ path: join(dir, 'late') }) },
          // One record per pull: the watermark moves record by record, the same in every run.
          maxInFlight: 1,
          checkpoint: { every: '1h' },
        }),
        defaultStreamRegistry,
      );
      const progress = await runStream(plan, {
        checkpoints,
        quarantine: new QuarantineStore(join(dir, 'quarantine'), 'clicks'),
        signal: stop.signal,
        logger: silentLogger,
      });
      expect(progress).toMatchObject({ checkpointId: 1, recordsIn: lines, recordsLate: 2 });
    };
    try {
      const events = [
        { page: 'home', ts: T0 + 1_000 },
        { page: 'home', ts: T0 + 12_000 }, // closes [0s, 10s)
        { page: 'home', ts: T0 + 3_000 }, // late
        { page: 'cart', ts: T0 + 25_000 }, // closes [10s, 20s)
        { page: 'cart', ts: T0 + 15_000 }, // late
      ];
      await writeFile(
        join(dir, 'in', 'a.ndjson'),
        events.map((e) => JSON.stringify(e)).join('\n') + '\n',
      );
      await runOnce(events.length);
      const expectedLate = [
        {
          page: 'home',
          ts: T0 + 3_000,
          _sluice_late_reason: expect.stringMatching(/arrived after its window closed/),
        },
        {
          page: 'cart',
          ts: T0 + 15_000,
          _sluice_late_reason: expect.stringMatching(/arrived after its window closed/),
        },
      ];
      expect(await rowsIn(join(dir, 'late'))).toEqual(expectedLate);
      expect(existsSync(join(dir, 'quarantine', 'late.ndjson'))).toBe(false);
      expect((await rowsIn(join(dir, 'out'))).map((r) => [r['page'], r['views']])).toEqual([
        ['home', 1],
        ['home', 1],
      ]);

      // A crash after the late-data sink committed checkpoint 1 and before the stream's sink
      // and the run store did: the checkpoint is replayed, and its late records are not
      // written to the late-data sink again.
      await rm(join(dir, 'out'), { recursive: true });
      await checkpoints.reset('clicks');
      await runOnce(events.length);
      expect(await rowsIn(join(dir, 'late'))).toEqual(expectedLate);
      expect((await rowsIn(join(dir, 'out'))).map((r) => [r['page'], r['views']])).toEqual([
        ['home', 1],
        ['home', 1],
      ]);
    } finally {
      await store.close();
    }
  });

  it('names an unknown late-data sink among the stream problems', () => {
    expect(() =>
      planStream(
        stream('clicks', {
          source: streamSource.files({ path: 'in' }),
          eventTime: 'ts',
          sink: streamSink.files({ path: 'out' }),
          lateData: { sink: streamSink.custom('nowhere', {}) },
        }),
        defaultStreamRegistry,
      ),
    ).toThrow(/no stream sink is named "nowhere"/);
  });
});
