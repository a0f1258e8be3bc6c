import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import {
  defaultStreamRegistry,
  defineStreamSink,
  map,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';

const EVENTS = 200_000;
const PAD = 'x'.repeat(400);

function events(): string {
  let text = '';
  for (let i = 0; i < EVENTS; i++) text += `${JSON.stringify({ id: i, ts: i, pad: PAD })}\n`;
  return text;
}

/** A sink that takes 10x as long per row as the source needs to read it. */
const slowSink = defineStreamSink({
  name: 'slow',
  summary: 'writes slowly',
  config: z.strictObject({ msPerThousand: z.number() }),
  delivery: 'at-least-once',
  async open(config) {
    let written = 0;
    return {
      async write(rows) {
        written += rows.length;
        await new Promise((r) => setTimeout(r, (rows.length / 1000) * config.msPerThousand));
      },
      commit: async () => undefined,
      close: async () => {
        if (written < 0) throw new Error('unreachable');
      },
    };
  },
});

/** A function that collects garbage and answers the heap still in use. */
function liveHeap(): () => number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
}

describe('stream backpressure', () => {
  it('keeps memory flat when the sink is much slower than the source: the source waits', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    await writeFile(join(dir, 'in', 'events.ndjson'), events());
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const stop = new AbortController();
    const heap: number[] = [];
    // What the run holds on to, not garbage the collector has yet to reclaim (whose amount
    // depends on the V8 version's young-generation size): each sample follows a collection.
    const collect = liveHeap();
    const baseline = collect();
    const sampler = setInterval(() => heap.push(collect() - baseline), 100);
    try {
      const plan = planStream(
        stream('slow', {
          source: streamSource.files({ path: join(dir, 'in') }),
          eventTime: 'ts',
          steps: [map((r) => ({ id: r['id'], pad: r['pad'] }))],
          sink: streamSink.custom('slow', { msPerThousand: 20 }),
          maxInFlight: 1_000,
          checkpoint: { every: '200ms' },
        }),
        defaultStreamRegistry.with(slowSink),
      );
      const progress = await runStream(plan, {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'q'), 'slow'),
        signal: stop.signal,
        logger: silentLogger,
        onCheckpoint: (p) => {
          if (p.recordsIn >= EVENTS) stop.abort();
        },
      });
      expect(progress.recordsOut).toBe(EVENTS);
    } finally {
      clearInterval(sampler);
      await store.close();
    }
    // 200,000 records of ~450 bytes are ~90 MB as text and more as objects; with at most 1,000
    // in flight the live heap must stay far below that.
    const peak = Math.max(...heap);
    expect(heap.length).toBeGreaterThan(10);
    // Measured: about 1 MB on Node 20 and 24; 114 MB when the source does not wait.
    expect(peak, `live heap grew by ${(peak / 2 ** 20).toFixed(1)} MB`).toBeLessThan(16 * 2 ** 20);
  }, 120_000);
});
