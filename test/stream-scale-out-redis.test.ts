import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { StreamLeases } from '../src/orchestrator/stream-leases.js';
import {
  count,
  defaultStreamRegistry,
  planStream,
  runScaledStream,
  stream,
  streamSink,
  streamSource,
  tumbling,
  window,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';
import {
  REDIS_URL,
  connectRedis,
  deleteTestKeys,
  redisUnavailable,
  uniqueKey,
} from './support/redis.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every row the files sink committed, from each partition's folder. */
async function output(folder: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for (const partition of await readdir(folder).catch(() => [])) {
    const dir = join(folder, partition);
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.ndjson')))
      for (const line of (await readFile(join(dir, name), 'utf8')).split('\n'))
        if (line !== '') rows.push(JSON.parse(line) as Record<string, unknown>);
  }
  return rows;
}

const missing = await redisUnavailable();
if (missing !== undefined) console.warn(`Redis scale-out tests skipped: ${missing}`);

describe.skipIf(missing !== undefined)('a stream over Redis keys shared by two workers', () => {
  it('hands partitions to a second worker, takes them back when it stops, and writes each window once', async () => {
    const dir = await tempDir();
    const redis = await connectRedis();
    const keys = [uniqueKey(), uniqueKey(), uniqueKey()];
    const stores = [
      await RunStore.open(join(dir, 'sluice.db')),
      await RunStore.open(join(dir, 'sluice.db')),
    ];
    try {
      const plan = planStream(
        stream('orders', {
          source: streamSource.redis({ url: REDIS_URL, keys }),
          eventTime: 'ts',
          steps: [window({ key: 'shop', window: tumbling('1s'), aggregate: { orders: count() } })],
          sink: streamSink.files({ path: join(dir, 'out') }),
          checkpoint: { every: '50ms' },
          scaleOut: { leaseTimeout: '600ms' },
        }),
        defaultStreamRegistry,
      );
      /** Shop `s<k>` of key k: 10 orders per second of event time, `seconds` of them. */
      let written = 0;
      const add = async (seconds: number): Promise<void> => {
        for (let i = written; i < written + seconds * 10; i++)
          for (const [k, key] of keys.entries())
            await redis.xAdd(key, '*', {
              data: JSON.stringify({ shop: `s${k}`, ts: T0 + i * 100 }),
            });
        written += seconds * 10;
      };
      const start = (worker: string, store: RunStore) => {
        const stop = new AbortController();
        const done = runScaledStream(plan, {
          checkpoints: new StreamCheckpoints(store),
          leases: new StreamLeases(store),
          worker,
          quarantine: (name) => new QuarantineStore(join(dir, 'quarantine', name), name),
          start: { kind: 'beginning' },
          signal: stop.signal,
          logger: silentLogger,
        });
        return { stop: () => stop.abort(), done };
      };
      const leases = new StreamLeases(stores[0] as RunStore);
      const held = async (worker: string): Promise<number> =>
        (await leases.list('orders')).filter((l) => l.owner === worker).length;

      await add(3);
      const a = start('a', stores[0] as RunStore);
      await waitFor('a to hold every key', async () => (await held('a')) === 3);
      const b = start('b', stores[1] as RunStore);
      // Three partitions, two workers: a keeps two, hands one to b.
      await waitFor('b to take a partition', async () => (await held('b')) === 1);
      expect(await held('a')).toBe(2);
      await add(3);
      a.stop();
      const stoppedA = await a.done;
      expect(stoppedA.size).toBe(2);
      await waitFor('b to take every key', async () => (await held('b')) === 3);
      await add(2);
      // Windows up to second 7 close; second 7 stays open.
      await waitFor(
        'every closed window',
        async () => (await output(join(dir, 'out'))).length >= 7 * 3,
      );
      b.stop();
      const stoppedB = await b.done;
      expect([...stoppedB.keys()].sort()).toEqual([...keys].sort());
      expect(await leases.list('orders')).toEqual([]);

      const rows = await output(join(dir, 'out'));
      const seen = rows.map((r) => `${String(r['shop'])}@${String(r['window_start'])}`);
      expect(new Set(seen).size).toBe(seen.length);
      expect(rows).toHaveLength(7 * 3);
      expect(rows.every((r) => r['orders'] === 10)).toBe(true);
      const status = await new StreamCheckpoints(stores[0] as RunStore).list();
      expect(status.map((s) => s.stream).sort()).toEqual(keys.map((k) => `orders@${k}`).sort());
      expect(status.every((s) => s.lag === 0)).toBe(true);
    } finally {
      for (const store of stores) await store.close();
      await deleteTestKeys(redis);
      redis.destroy();
    }
  }, 60_000);
});
