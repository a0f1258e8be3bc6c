import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionInstance } from '../src/stream/scale-out.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { StreamLeases } from '../src/orchestrator/stream-leases.js';
import type { APIHarness, JSONValue } from './api-v1-harness.js';
import { apiDialects, expectError, startAPIHarness } from './api-v1-harness.js';

const DIALECTS = await apiDialects();

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/** A checkpoint as the stream runtime writes it (its snapshot holds each partition's position). */
function checkpoint(
  stream: string,
  checkpointId: number,
  at: number,
  positions: Record<string, string>,
  extra: { watermark?: number; recordsIn?: number; lag?: number } = {},
) {
  return {
    stream,
    checkpointId,
    snapshot: {
      positions,
      watermarks: { watermark: extra.watermark ?? null, partitions: {} },
      operators: [],
      recordsIn: extra.recordsIn ?? 0,
      recordsOut: extra.recordsIn ?? 0,
    },
    watermark: extra.watermark,
    recordsIn: extra.recordsIn ?? 0,
    recordsOut: Math.floor((extra.recordsIn ?? 0) / 2),
    stateSize: 7,
    lag: extra.lag,
    createdAt: at,
  };
}

for (const dialect of DIALECTS)
  describe.skipIf(dialect.skip !== undefined)(`/api/v1 streams on ${dialect.name}`, () => {
    let h: APIHarness;

    afterAll(async () => {
      await h?.close();
    });

    beforeAll(async () => {
      h = await startAPIHarness(dialect.name);
    }, 60_000);

    it('GET /streams with none is an empty list; without a token 401', async () => {
      expect(await h.call('/api/v1/streams', { token: h.tokens.read })).toEqual({
        status: 200,
        body: { streams: [] },
      });
      expectError(await h.call('/api/v1/streams', { token: null }), 401, 'unauthorized');
      expectError(await h.call('/api/v1/streams', { token: 'sluice_forged' }), 401, 'unauthorized');
    });

    it('GET /streams: single-process and scaled-out streams with partitions, workers, lag and throughput', async () => {
      const checkpoints = new StreamCheckpoints(h.store);
      const leases = new StreamLeases(h.store);
      // "quickstart" (also a project pipeline) runs in one process over two partitions.
      await checkpoints.save(
        checkpoint(
          'quickstart',
          1,
          T0,
          { 'p-0': '10', 'p-1': '4' },
          { recordsIn: 100, watermark: T0 - 5_000 },
        ),
      );
      await checkpoints.save(
        checkpoint(
          'quickstart',
          2,
          T0 + 10_000,
          { 'p-0': '42', 'p-1': '7' },
          {
            recordsIn: 600,
            watermark: T0 + 1_000,
            lag: 12,
          },
        ),
      );
      // "clicks" is spread over workers: one checkpoint stream per partition, plus leases.
      expect(await leases.acquire('clicks', 'clicks.0', 'host-a-1', 60_000)).toBe(true);
      expect(await leases.acquire('clicks', 'clicks.1', 'host-b-2', 60_000)).toBe(true);
      expect(await leases.acquire('clicks', 'clicks.1', 'host-a-1', 60_000)).toBe(false);
      await checkpoints.save(
        checkpoint(
          partitionInstance('clicks', 'clicks.0'),
          1,
          T0,
          { 'clicks.0': 'seq:9' },
          {
            recordsIn: 50,
            watermark: T0 + 2_000,
            lag: 3,
          },
        ),
      );
      await checkpoints.save(
        checkpoint(
          partitionInstance('clicks', 'clicks.2'),
          1,
          T0 + 5_000,
          { 'clicks.2': 'seq:1' },
          {
            recordsIn: 5,
            watermark: T0 + 500,
          },
        ),
      );
      const { status, body } = await h.call('/api/v1/streams', { token: h.tokens.read });
      expect(status).toBe(200);
      const streams = body['streams'] as JSONValue[];
      expect(streams.map((s) => s['name'])).toEqual(['clicks', 'quickstart']);
      const [clicks, quickstart] = streams as [JSONValue, JSONValue];
      expect(quickstart).toEqual({
        name: 'quickstart',
        pipeline: 'quickstart',
        partitions: [
          {
            partition: 'p-0',
            owner: null,
            leaseExpiresAt: null,
            checkpoint: { id: 2, at: T0 + 10_000, position: '42', watermark: T0 + 1_000 },
          },
          {
            partition: 'p-1',
            owner: null,
            leaseExpiresAt: null,
            checkpoint: { id: 2, at: T0 + 10_000, position: '7', watermark: T0 + 1_000 },
          },
        ],
        lastCheckpointAt: T0 + 10_000,
        watermark: T0 + 1_000,
        recordsIn: 600,
        recordsOut: 300,
        stateSize: 7,
        lag: 12,
        recordsPerSecond: 50,
      });
      expect(clicks).toMatchObject({
        name: 'clicks',
        pipeline: null,
        lastCheckpointAt: T0 + 5_000,
        watermark: T0 + 500,
        recordsIn: 55,
        lag: 3,
        recordsPerSecond: null,
      });
      const partitions = clicks['partitions'] as JSONValue[];
      expect(partitions.map((p) => [p['partition'], p['owner']])).toEqual([
        ['clicks.0', 'host-a-1'],
        ['clicks.1', 'host-b-2'],
        ['clicks.2', null],
      ]);
      expect(partitions[0]?.['leaseExpiresAt']).toBeGreaterThan(Date.now());
      expect(partitions[0]?.['checkpoint']).toEqual({
        id: 1,
        at: T0,
        position: 'seq:9',
        watermark: T0 + 2_000,
      });
      expect(partitions[1]?.['checkpoint']).toBeNull();
      expect(partitions[2]).toMatchObject({
        leaseExpiresAt: null,
        checkpoint: { position: 'seq:1' },
      });
      // A partition named with "@" is split as its lease says.
      expect(await leases.acquire('mail', 'inbox@host', 'host-c-3', 60_000)).toBe(true);
      await checkpoints.save(
        checkpoint(partitionInstance('mail', 'inbox@host'), 1, T0, { 'inbox@host': '77' }),
      );
      const mail = ((await h.call('/api/v1/streams')).body['streams'] as JSONValue[]).find(
        (s) => s['name'] === 'mail',
      );
      expect(mail?.['partitions']).toEqual([
        {
          partition: 'inbox@host',
          owner: 'host-c-3',
          leaseExpiresAt: expect.any(Number),
          checkpoint: { id: 1, at: T0, position: '77', watermark: null },
        },
      ]);
      // A released lease leaves the partition's checkpoint with no owner.
      await leases.release('clicks', 'clicks.0', 'host-a-1');
      const after = (await h.call('/api/v1/streams')).body['streams'] as JSONValue[];
      const first = (after.find((s) => s['name'] === 'clicks')?.['partitions'] as JSONValue[])[0];
      expect(first).toMatchObject({ partition: 'clicks.0', owner: null, leaseExpiresAt: null });
    });

    it('hostile stream names and snapshots are shown as data, not broken on', async () => {
      const checkpoints = new StreamCheckpoints(h.store);
      const name = `we"ird'; DROP TABLE runs; --<script>`;
      await checkpoints.save({
        ...checkpoint(name, 1, T0, {}),
        snapshot: JSON.parse('{"positions": {"__proto__": "x", "ok": 5, "bad": {"nested": true}}}'),
      });
      await checkpoints.save({ ...checkpoint('odd-snapshot', 1, T0, {}), snapshot: [1, 2, 3] });
      const { status, body } = await h.call('/api/v1/streams');
      expect(status).toBe(200);
      const streams = body['streams'] as JSONValue[];
      const weird = streams.find((s) => s['name'] === name);
      expect(weird?.['partitions']).toEqual([
        {
          partition: '__proto__',
          owner: null,
          leaseExpiresAt: null,
          checkpoint: { id: 1, at: T0, position: 'x', watermark: null },
        },
        {
          partition: 'ok',
          owner: null,
          leaseExpiresAt: null,
          checkpoint: { id: 1, at: T0, position: '5', watermark: null },
        },
      ]);
      expect(streams.find((s) => s['name'] === 'odd-snapshot')).toMatchObject({
        partitions: [],
        lastCheckpointAt: T0,
        lag: null,
        watermark: null,
      });
      // Query strings are ignored; a POST is not a route.
      expect((await h.call('/api/v1/streams?x=%00')).status).toBe(200);
      expect((await h.call('/api/v1/streams', { method: 'POST', body: '{}' })).status).toBe(404);
    });
  });
