import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { filesStreamSource } from '../src/connectors/files/ndjson-stream.js';
import { ConfigError } from '../src/core/errors.js';
import { randomHex } from '../src/core/ids.js';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import {
  defaultStreamRegistry,
  defineStreamSource,
  intervalJoin,
  markSource,
  planStream,
  runStream,
  sourceOf,
  stream,
  streamSink,
  streamSource,
  unionStreamSource,
} from '../src/stream/index.js';
import type {
  StreamEndpoint,
  StreamProgress,
  StreamRecord,
  StreamRow,
  StreamSnapshot,
} from '../src/stream/index.js';
import { readNDJSON, tempDir } from './helpers.js';
import type { TestStream } from './support/nats.js';
import { createTestStream, NATS_URL, natsUnavailable } from './support/nats.js';

const unavailable = await natsUnavailable();
if (unavailable !== undefined) console.warn(`NATS stream join test skipped: ${unavailable}`);

const T0 = Date.parse('2024-01-01T00:00:00Z');
const at = (second: number): string => new Date(T0 + second * 1000).toISOString();
const bid = (auction: number, second: number, price: number): StreamRow => ({
  auction,
  price,
  date_time: at(second),
});
const auction = (id: number, second: number, seller: string): StreamRow => ({
  id,
  seller,
  ts: T0 + second * 1000,
});

// Bids join the auction they bid on when the auction started at most 30 s before the bid
// (between ['-30s', '0s']); a bid with no such auction comes out with NULL auction columns once
// the watermark (each source's highest event time minus 5 s, the lower of the two) passes it.
// Within each source, records are in order or at most 5 s out of order, so how the records are
// split into batches does not change the result; the late ones are older than the watermark the
// first run ends with.
const FIRST_BIDS = [
  bid(1, 5, 100), // auction 1 (0 s): -5 s
  bid(2, 8, 101), // auction 2 starts after it (10 s): no match, out once the watermark passes 8 s
  bid(2, 20, 102), // auction 2: -10 s
  bid(3, 45, 103), // auction 3 (40 s): -5 s
  bid(1, 42, 104), // 3 s out of order; auction 1 is 42 s older: no match
  bid(9, 50, 105), // auction 9 arrives in the second run
];
const FIRST_AUCTIONS = [
  auction(1, 0, 's1'),
  auction(2, 10, 's2'),
  auction(3, 40, 's3'),
  { id: 4, seller: 's4' }, // no event time: invalid
];
// The first run ends with the watermark at min(50, 40) - 5 = 35 s.
const SECOND_BIDS = [
  bid(3, 60, 106), // auction 3: -20 s
  bid(2, 30, 107), // 30 s < 35 s: late
  bid(9, 70, 108), // auction 9 (48 s): -22 s
  bid(4, 100, 109), // no auction 4: out when the watermark passes 100 s
  bid(7, 210, 110), // still held at the end
];
const SECOND_AUCTIONS = [
  auction(9, 48, 's9'), // bids 105 (-2 s) and 108
  auction(1, 33, 's1-late'), // 33 s < 35 s: late (it would have joined bid 104)
  auction(5, 200, 's5'), // holds the watermark at 195 s
];
const NO_AUCTION = { id: null, seller: null, ts: null };
const JOINED: StreamRow[] = [
  { ...FIRST_BIDS[0], ...FIRST_AUCTIONS[0] },
  { ...FIRST_BIDS[1], ...NO_AUCTION },
  { ...FIRST_BIDS[2], ...FIRST_AUCTIONS[1] },
  { ...FIRST_BIDS[3], ...FIRST_AUCTIONS[2] },
  { ...FIRST_BIDS[4], ...NO_AUCTION },
  { ...FIRST_BIDS[5], ...SECOND_AUCTIONS[0] },
  { ...SECOND_BIDS[0], ...FIRST_AUCTIONS[2] },
  { ...SECOND_BIDS[2], ...SECOND_AUCTIONS[0] },
  { ...SECOND_BIDS[3], ...NO_AUCTION },
];

function bidsWithAuctions(
  name: string,
  dir: string,
  source: Readonly<Record<string, StreamEndpoint>>,
) {
  return stream(name, {
    source,
    eventTime: { bids: 'date_time', auctions: 'ts' },
    watermark: { maxOutOfOrderness: '5s' },
    steps: [
      intervalJoin({
        left: 'bids',
        right: 'auctions',
        on: { left: 'auction', right: 'id' },
        between: ['-30s', '0s'],
        type: 'left',
      }),
    ],
    sink: streamSink.files({ path: join(dir, 'out') }),
    checkpoint: { every: '100ms' },
  });
}

/** Runs the stream until it has read this many records in all, then stops it. */
async function runUntil(
  definition: ReturnType<typeof bidsWithAuctions>,
  dir: string,
  store: RunStore,
  records: number,
): Promise<StreamProgress> {
  const stop = new AbortController();
  return runStream(planStream(definition, defaultStreamRegistry), {
    checkpoints: new StreamCheckpoints(store),
    quarantine: new QuarantineStore(join(dir, 'quarantine'), definition.name),
    signal: stop.signal,
    logger: silentLogger,
    onCheckpoint: (progress) => {
      if (progress.recordsIn >= records) stop.abort();
    },
  });
}

async function output(dir: string): Promise<StreamRow[]> {
  const folder = join(dir, 'out');
  const rows: StreamRow[] = [];
  for (const name of (await readdir(folder)).filter((n) => n.endsWith('.ndjson')).sort())
    rows.push(...(await readNDJSON(join(folder, name))));
  return rows;
}

const byPrice = (rows: readonly StreamRow[]): StreamRow[] =>
  [...rows].sort((a, b) => Number(a['price']) - Number(b['price']));

const ndjson = (rows: readonly unknown[]): string =>
  rows.map((row) => JSON.stringify(row)).join('\n') + '\n';

/** Checks what both end-to-end tests end with: output, quarantine and the last checkpoint. */
async function expectJoinedOnce(dir: string, store: RunStore, name: string): Promise<void> {
  expect(byPrice(await output(dir))).toEqual(JOINED);
  const late = await readNDJSON(join(dir, 'quarantine', 'late.ndjson'));
  expect(late.map((l) => l['record'])).toEqual(
    expect.arrayContaining([SECOND_BIDS[1], SECOND_AUCTIONS[1]]),
  );
  expect(late).toHaveLength(2);
  expect(String(late[0]?.['reason'])).toMatch(/arrived after the watermark/);
  const invalid = (await readNDJSON(join(dir, 'quarantine', 'invalid.ndjson'))).map(
    (i) => i['reason'],
  );
  expect(invalid).toHaveLength(2);
  expect(invalid).toContain('source "auctions": no valid event time in column "ts"');
  expect(invalid.some((reason) => /^source "bids": .*not JSON/.test(String(reason)))).toBe(true);
  const checkpoint = await new StreamCheckpoints(store).last(name);
  // Bid 110 and auction 5 are still held, waiting for a partner.
  expect(checkpoint).toMatchObject({ recordsIn: 19, watermark: T0 + 195_000, stateSize: 2 });
  const positions = Object.keys((checkpoint?.snapshot as StreamSnapshot).positions);
  expect(positions.every((p) => p.startsWith('bids/') || p.startsWith('auctions/'))).toBe(true);
}

describe('streams with several sources', () => {
  it('joins bids and auctions from two folders, stopped and resumed mid-stream: every result once', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'bids'), { recursive: true });
    await mkdir(join(dir, 'auctions'), { recursive: true });
    const definition = bidsWithAuctions('bids_with_auctions', dir, {
      bids: streamSource.files({ path: join(dir, 'bids') }),
      auctions: streamSource.files({ path: join(dir, 'auctions') }),
    });
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      await writeFile(join(dir, 'bids', 'bids.ndjson'), ndjson(FIRST_BIDS) + 'not json\n');
      await writeFile(join(dir, 'auctions', 'auctions.ndjson'), ndjson(FIRST_AUCTIONS));
      const first = await runUntil(definition, dir, store, 11);
      expect(first).toMatchObject({ recordsIn: 11, recordsInvalid: 2, recordsLate: 0 });
      // Bids 103 to 105 and auctions 2 and 3 are held across the restart.
      expect(byPrice(await output(dir))).toEqual([JOINED[0], JOINED[1], JOINED[2], JOINED[3]]);
      expect(first.stateSize).toBe(5);

      await appendFile(join(dir, 'bids', 'bids.ndjson'), ndjson(SECOND_BIDS));
      await appendFile(join(dir, 'auctions', 'auctions.ndjson'), ndjson(SECOND_AUCTIONS));
      const second = await runUntil(definition, dir, store, 19);
      expect(second).toMatchObject({ recordsIn: 19, recordsLate: 2, recordsInvalid: 0 });
      await expectJoinedOnce(dir, store, 'bids_with_auctions');
      const checkpoint = await new StreamCheckpoints(store).last('bids_with_auctions');
      expect((checkpoint?.snapshot as StreamSnapshot).positions).toEqual({
        'bids/bids.ndjson': 'bids/12',
        'auctions/auctions.ndjson': 'auctions/7',
      });
    } finally {
      await store.close();
    }
  });

  it.skipIf(unavailable !== undefined)(
    'joins two JetStream streams, stopped and resumed mid-stream: every result once, both consumers acknowledged',
    async () => {
      const dir = await tempDir();
      let bids: TestStream | undefined;
      let auctions: TestStream | undefined;
      const store = await RunStore.open(join(dir, 'sluice.db'));
      try {
        bids = await createTestStream();
        auctions = await createTestStream();
        const name = `bids_with_auctions_${randomHex(4)}`;
        const definition = bidsWithAuctions(name, dir, {
          bids: streamSource.nats({ servers: NATS_URL, stream: bids.name }),
          auctions: streamSource.nats({ servers: NATS_URL, stream: auctions.name }),
        });
        await bids.publish(FIRST_BIDS);
        await bids.publishRaw(['not json']);
        await auctions.publish(FIRST_AUCTIONS);
        const first = await runUntil(definition, dir, store, 11);
        expect(first).toMatchObject({ recordsIn: 11, recordsInvalid: 2, recordsLate: 0 });

        const bidSequences = await bids.publish(SECOND_BIDS);
        const auctionSequences = await auctions.publish(SECOND_AUCTIONS);
        const second = await runUntil(definition, dir, store, 19);
        expect(second).toMatchObject({ recordsIn: 19, recordsLate: 2 });
        await expectJoinedOnce(dir, store, name);
        const checkpoint = await new StreamCheckpoints(store).last(name);
        expect((checkpoint?.snapshot as StreamSnapshot).positions).toEqual({
          'bids/': `bids/${bidSequences.at(-1)}`,
          'auctions/': `auctions/${auctionSequences.at(-1)}`,
        });
        // Each source has its own durable consumer, acknowledged up to the checkpoint.
        const bidsConsumer = await bids.jsm.consumers.info(bids.name, `sluice-${name}-bids`);
        expect(bidsConsumer.ack_floor.stream_seq).toBe(bidSequences.at(-1));
        const auctionsConsumer = await auctions.jsm.consumers.info(
          auctions.name,
          `sluice-${name}-auctions`,
        );
        expect(auctionsConsumer.ack_floor.stream_seq).toBe(auctionSequences.at(-1));
      } finally {
        await store.close();
        await bids?.drop();
        await auctions?.drop();
      }
    },
  );

  it('reads its sources fairly, at most max records a pull, marked with their source, and resumes each from its own positions', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'a'), { recursive: true });
    await mkdir(join(dir, 'b'), { recursive: true });
    await writeFile(
      join(dir, 'a', 'x.ndjson'),
      ndjson(Array.from({ length: 10 }, (_, i) => ({ n: i, t: T0 + i }))),
    );
    await writeFile(
      join(dir, 'b', 'x.ndjson'),
      ndjson(Array.from({ length: 3 }, (_, i) => ({ n: i, t: T0 + i }))),
    );
    const union = unionStreamSource([
      { name: 'a', connector: filesStreamSource, eventTime: 't' },
      { name: 'b', connector: filesStreamSource, eventTime: 't' },
    ]);
    const config = {
      a: filesStreamSource.config.parse({ path: join(dir, 'a') }),
      b: filesStreamSource.config.parse({ path: join(dir, 'b') }),
    };
    const context = {
      stepId: 'source',
      streamName: 'fair',
      consumer: 'sluice-fair',
      worker: 'w1',
      logger: silentLogger,
      signal: new AbortController().signal,
    };
    const reader = await union.open(config, { ...context, start: { kind: 'beginning' } });
    const pulls: StreamRecord[][] = [];
    try {
      for (let i = 0; i < 20 && pulls.flat().length < 13; i++)
        pulls.push([...(await reader.pull(4, 200))]);
    } finally {
      await reader.close();
    }
    const describe = (r: StreamRecord): string =>
      `${sourceOf(r.value)}:${String(r.value['n'])}@${r.partition}#${r.position}`;
    // The first pull waits for both sources and shares out the 4 records.
    expect(pulls[0]?.map(describe)).toEqual([
      'a:0@a/x.ndjson#a/1',
      'a:1@a/x.ndjson#a/2',
      'b:0@b/x.ndjson#b/1',
      'b:1@b/x.ndjson#b/2',
    ]);
    expect(pulls.every((p) => p.length <= 4)).toBe(true);
    const all = pulls.flat();
    expect(all.filter((r) => sourceOf(r.value) === 'a').map((r) => r.value['n'])).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(all.filter((r) => sourceOf(r.value) === 'b').map((r) => r.value['n'])).toEqual([
      0, 1, 2,
    ]);
    expect(union.comparePositions('a/9', 'a/10')).toBeLessThan(0);
    expect(union.delivery).toBe('at-least-once');

    const resumed = await union.open(config, {
      ...context,
      start: { kind: 'checkpoint', positions: { 'a/x.ndjson': 'a/8', 'b/x.ndjson': 'b/1' } },
    });
    try {
      expect((await resumed.pull(100, 200)).map(describe)).toEqual([
        'a:8@a/x.ndjson#a/9',
        'a:9@a/x.ndjson#a/10',
        'b:1@b/x.ndjson#b/2',
        'b:2@b/x.ndjson#b/3',
      ]);
    } finally {
      await resumed.close();
    }
  });

  it('lists every problem of a stream with several sources together', () => {
    let error: unknown;
    try {
      planStream(
        stream('bad', {
          source: {
            bids: streamSource.files({ path: 'bids' }),
            'auc/tions': streamSource.custom('pulsar', {}),
            people: streamSource.nats({ servers: NATS_URL } as never),
          },
          eventTime: { bids: 'date_time', 'auc/tions': 'ts', sellers: 'ts' },
          steps: [intervalJoin({ left: 'bids', right: 'sellers', on: 'id', between: [0, 0] })],
          sink: streamSink.files({ path: 'out' }),
          scaleOut: true,
        }),
        defaultStreamRegistry,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).diagnostics.map((d) => [d.code, d.path])).toEqual([
      ['invalid-config', 'source.auc/tions'],
      ['unknown-connector', 'source.auc/tions'],
      ['invalid-config', 'eventTime'], // none for "people"
      ['invalid-config', 'source.people.stream'],
      ['unknown-source', 'eventTime.sellers'],
      ['unknown-source', 'steps[0].right'],
      ['invalid-config', 'scaleOut'],
    ]);
    expect((error as ConfigError).message).toMatch(
      /eventTime gives no event time for source "people"/,
    );

    let single: unknown;
    try {
      planStream(
        stream('one', {
          source: streamSource.files({ path: 'bids' }),
          eventTime: { bids: 'date_time' },
          steps: [intervalJoin({ left: 'bids', right: 'auctions', on: 'id', between: [0, 0] })],
          sink: streamSink.files({ path: 'out' }),
        }),
        defaultStreamRegistry,
      );
    } catch (caught) {
      single = caught;
    }
    expect((single as ConfigError).diagnostics).toEqual([
      expect.objectContaining({
        path: 'eventTime',
        hint: expect.stringMatching(/several named sources/),
      }),
      expect.objectContaining({
        path: 'steps[0]',
        message: expect.stringMatching(/needs a stream with several sources/),
      }),
    ]);
  });

  it('plans a stream with several sources: the weakest delivery, an event time per source', () => {
    // A source that cannot redeliver; planning never opens it.
    const replayless = defineStreamSource({
      name: 'replayless',
      summary: 'a source without redelivery',
      config: z.strictObject({}),
      delivery: 'at-most-once',
      comparePositions: (a, b) => Number(a) - Number(b),
      open: () => Promise.reject(new Error('not opened when planning')),
    });
    const plan = planStream(
      stream('mixed', {
        source: {
          sensors: streamSource.custom('replayless', {}),
          readings: streamSource.files({ path: 'readings' }),
        },
        eventTime: { sensors: 'at', readings: (r) => r['ts'] },
        sink: streamSink.files({ path: 'out' }),
      }),
      defaultStreamRegistry.with(replayless),
    );
    expect(plan.source.connector.name).toBe('union(sensors: replayless, readings: files)');
    expect(plan.source.connector.delivery).toBe('at-most-once');
    expect(plan.source.config).toEqual({
      sensors: {},
      readings: { path: 'readings', suffix: '.ndjson' },
    });
    const eventTime = plan.eventTime as (row: StreamRow) => unknown;
    expect(eventTime(markSource({ at: 5, ts: 7 }, 'sensors'))).toBe(5);
    expect(eventTime(markSource({ at: 5, ts: 7 }, 'readings'))).toBe(7);
    expect(eventTime({ at: 5, ts: 7 })).toBeUndefined();
  });
});
