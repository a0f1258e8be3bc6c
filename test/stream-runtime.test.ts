import { appendFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import {
  count,
  defaultStreamRegistry,
  filter,
  max,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
  tumbling,
  window,
} from '../src/stream/index.js';
import type { StreamDefinition, StreamProgress } from '../src/stream/index.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import { main } from '../src/cli/main.js';
import { tempDir } from './helpers.js';

const T0 = Date.parse('2024-01-01T00:00:00Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

function clicks(dir: string): StreamDefinition {
  return stream('clicks', {
    source: streamSource.files({ path: join(dir, 'in') }),
    eventTime: 'ts',
    // Each file is a partition; a file nothing is appended to stops holding the watermark back.
    watermark: { maxOutOfOrderness: '5s', idleTimeout: '50ms' },
    steps: [
      filter((r) => r['page'] !== 'health'),
      window({
        key: 'page',
        window: tumbling('10s'),
        aggregate: { views: count(), longest: max('ms') },
      }),
    ],
    sink: streamSink.files({ path: join(dir, 'out') }),
    checkpoint: { every: '100ms' },
  });
}

/** Runs the stream until it has read and written this many records in all, then stops it. */
async function runUntil(
  dir: string,
  store: RunStore,
  records: number,
  written: number,
): Promise<StreamProgress> {
  const stop = new AbortController();
  return runStream(planStream(clicks(dir), defaultStreamRegistry), {
    checkpoints: new StreamCheckpoints(store),
    quarantine: new QuarantineStore(join(dir, 'quarantine'), 'clicks'),
    signal: stop.signal,
    logger: silentLogger,
    onCheckpoint: (progress) => {
      if (progress.recordsIn >= records && progress.recordsOut >= written) stop.abort();
    },
  });
}

async function output(dir: string): Promise<Record<string, unknown>[]> {
  const folder = join(dir, 'out');
  const rows: Record<string, unknown>[] = [];
  for (const name of (await readdir(folder)).filter((n) => n.endsWith('.ndjson')).sort())
    for (const line of (await readFile(join(folder, name), 'utf8')).split('\n'))
      if (line !== '') rows.push(JSON.parse(line) as Record<string, unknown>);
  return rows;
}

const lines = (events: readonly [page: string, second: number, ms?: number][]): string =>
  events
    .map(([page, second, ms]) => JSON.stringify({ page, ts: at(second), ms: ms ?? 1 }))
    .join('\n') + '\n';

describe('stream runtime', () => {
  it('windows out-of-order events, quarantines late and invalid ones, and resumes from its checkpoint exactly once', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'), { recursive: true });
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      await writeFile(
        join(dir, 'in', 'a.ndjson'),
        lines([
          ['home', 1, 10],
          ['cart', 2, 5],
          ['home', 12],
          ['home', 8, 40], // out of order, within 5 s
          ['health', 3],
          ['cart', 17], // watermark 12: [0,10) closes
        ]) + 'not json\n',
      );
      const first = await runUntil(dir, store, 7, 2);
      expect(first).toMatchObject({ recordsIn: 7, recordsInvalid: 1, recordsLate: 0 });
      expect(await output(dir)).toEqual([
        { page: 'home', window_start: at(0), window_end: at(10), views: 2, longest: 40 },
        { page: 'cart', window_start: at(0), window_end: at(10), views: 1, longest: 5 },
      ]);

      // More events after a restart: [10,20) holds state from before the restart.
      await appendFile(
        join(dir, 'in', 'a.ndjson'),
        lines([
          ['home', 4], // its window closed: late
          ['cart', 19, 7],
        ]),
      );
      await writeFile(join(dir, 'in', 'b.ndjson'), lines([['home', 31]]));
      const second = await runUntil(dir, store, 10, 4);
      expect(second).toMatchObject({ recordsIn: 10, recordsLate: 1 });
      expect((await output(dir)).slice(2)).toEqual([
        { page: 'home', window_start: at(10), window_end: at(20), views: 1, longest: 1 },
        { page: 'cart', window_start: at(10), window_end: at(20), views: 2, longest: 7 },
      ]);
      const late = (await readFile(join(dir, 'quarantine', 'late.ndjson'), 'utf8'))
        .trim()
        .split('\n');
      expect(late).toHaveLength(1);
      expect(JSON.parse(late[0] as string)).toMatchObject({
        record: { page: 'home', ts: at(4) },
        reason: expect.stringMatching(/arrived after its window closed/),
      });
      const invalid = await readFile(join(dir, 'quarantine', 'invalid.ndjson'), 'utf8');
      expect(invalid).toMatch(/the line is not JSON/);
      const checkpoint = await new StreamCheckpoints(store).last('clicks');
      expect(checkpoint).toMatchObject({ recordsIn: 10, watermark: T0 + 26_000 });
      let out = '';
      const code = await main(['runs', '--streams', '--json', '--store', join(dir, 'sluice.db')], {
        stdout: (text) => (out += text),
        stderr: () => undefined,
        stderrIsTTY: false,
        cwd: dir,
      });
      expect(code).toBe(0);
      expect(JSON.parse(out)).toEqual([
        expect.objectContaining({
          stream: 'clicks',
          recordsIn: 10,
          recordsOut: 4,
          watermark: T0 + 26_000,
          stateSize: 1, // the open window [30,40) of "home"
        }),
      ]);
    } finally {
      await store.close();
    }
  });

  it("aggregates one window's results in a later window without calling them late", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'), { recursive: true });
    await writeFile(
      join(dir, 'in', 'a.ndjson'),
      lines([
        ['home', 1],
        ['home', 2],
        ['cart', 3],
        ['home', 11],
        ['cart', 12],
        ['cart', 13],
        ['cart', 14],
        ['home', 25],
      ]),
    );
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const stop = new AbortController();
    try {
      const progress = await runStream(
        planStream(
          stream('busiest', {
            source: streamSource.files({ path: join(dir, 'in') }),
            eventTime: 'ts',
            steps: [
              window({ key: 'page', window: tumbling('10s'), aggregate: { views: count() } }),
              window({ window: tumbling('10s'), aggregate: { most: max('views') } }),
            ],
            sink: streamSink.files({ path: join(dir, 'out') }),
            checkpoint: { every: '50ms' },
          }),
          defaultStreamRegistry,
        ),
        {
          checkpoints: new StreamCheckpoints(store),
          quarantine: new QuarantineStore(join(dir, 'quarantine'), 'busiest'),
          signal: stop.signal,
          logger: silentLogger,
          onCheckpoint: (p) => {
            if (p.recordsIn >= 8) stop.abort();
          },
        },
      );
      expect(progress.recordsLate).toBe(0);
      expect(await output(dir)).toEqual([
        { window_start: at(0), window_end: at(10), most: 2 },
        { window_start: at(10), window_end: at(20), most: 3 },
      ]);
    } finally {
      await store.close();
    }
  });

  it('reports every problem of a stream definition at once', () => {
    const definition = stream('bad', {
      source: streamSource.custom('pulsar', {}),
      eventTime: 'ts',
      sink: streamSink.files({ path: 42 as unknown as string }),
      watermark: { maxOutOfOrderness: 'soon' },
    });
    expect(() => planStream(definition, defaultStreamRegistry)).toThrow(
      /no stream source is named "pulsar"[\s\S]*sink\.path[\s\S]*watermark\.maxOutOfOrderness/,
    );
  });
});
