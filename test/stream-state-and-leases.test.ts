import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SluiceError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { StreamLeases } from '../src/orchestrator/stream-leases.js';
import {
  count,
  defaultStreamRegistry,
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

describe('stream state limit', () => {
  it('stops with STREAM_STATE_LIMIT before holding more keyed state than allowed, keeping its last checkpoint', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      let text = '';
      // 500 users, each its own window-and-key state in an hour-long window that never closes.
      for (let i = 0; i < 500; i++) text += `${JSON.stringify({ user: `u${i}`, ts: T0 + i })}\n`;
      await writeFile(join(dir, 'in', 'clicks.ndjson'), text);
      const plan = planStream(
        stream('clicks', {
          source: streamSource.files({ path: join(dir, 'in') }),
          eventTime: 'ts',
          steps: [window({ key: 'user', window: tumbling('1h'), aggregate: { n: count() } })],
          sink: streamSink.files({ path: join(dir, 'out') }),
          maxInFlight: 100,
          state: { maxEntries: 250 },
        }),
        defaultStreamRegistry,
      );
      const checkpoints = new StreamCheckpoints(store);
      const failure = await runStream(plan, {
        checkpoints,
        quarantine: new QuarantineStore(join(dir, 'quarantine'), 'clicks'),
        signal: new AbortController().signal,
        logger: silentLogger,
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SluiceError);
      expect(failure).toMatchObject({
        code: 'STREAM_STATE_LIMIT',
        message:
          'stream "clicks" holds 300 state entries, more than its limit of 250 (state.maxEntries)',
      });
      expect((failure as SluiceError).hint).toMatch(/resumes from it/);
      expect(await checkpoints.last('clicks')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('refuses a limit that is not a positive integer, and scaleOut over a source without partitions', () => {
    expect(() =>
      planStream(
        stream('clicks', {
          source: streamSource.files({ path: 'in' }),
          eventTime: 'ts',
          sink: streamSink.files({ path: 'out' }),
          state: { maxEntries: 0 },
          scaleOut: true,
        }),
        defaultStreamRegistry,
      ),
    ).toThrow(
      /state\.maxEntries must be a positive integer, got 0[\s\S]*scaleOut needs a source with partitions; "files" has none/,
    );
  });
});

describe('stream partition leases', () => {
  it('give a partition to one worker at a time, renew it, and let another take it once expired or released', async () => {
    const dir = await tempDir();
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      const leases = new StreamLeases(store);
      expect(await leases.acquire('clicks', 'p0', 'a', 60_000)).toBe(true);
      expect(await leases.acquire('clicks', 'p0', 'b', 60_000)).toBe(false);
      expect(await leases.acquire('clicks', 'p0', 'a', 60_000)).toBe(true);
      expect(await leases.acquire('other', 'p0', 'b', 60_000)).toBe(true);
      // An expired lease is free for the taking.
      expect(await leases.acquire('clicks', 'p1', 'a', -1)).toBe(true);
      expect(await leases.acquire('clicks', 'p1', 'b', 60_000)).toBe(true);
      expect((await leases.list('clicks')).map((l) => [l.partition, l.owner])).toEqual([
        ['p0', 'a'],
        ['p1', 'b'],
      ]);
      await leases.release('clicks', 'p0', 'b'); // not b's: nothing happens
      expect(await leases.acquire('clicks', 'p0', 'b', 60_000)).toBe(false);
      await leases.release('clicks', 'p0', 'a');
      expect(await leases.acquire('clicks', 'p0', 'b', 60_000)).toBe(true);

      expect(await leases.heartbeat('clicks', 'a', 60_000)).toEqual(['a']);
      expect(await leases.heartbeat('clicks', 'b', 60_000)).toEqual(['a', 'b']);
      await leases.leave('clicks', 'a');
      expect(await leases.heartbeat('clicks', 'b', 60_000)).toEqual(['b']);
    } finally {
      await store.close();
    }
  });
});
