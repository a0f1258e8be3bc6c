import { appendFileSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { postgresStreamSink } from '../src/connectors/postgres/postgres-stream-sink.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import {
  count,
  defaultStreamRegistry,
  enrich,
  lookup,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
  tumbling,
  window,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`PostgreSQL stream sink tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('postgres stream sink', () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: pg.Client;

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    db = new pg.Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await drop?.();
  });

  const context = {
    streamName: 'orders',
    stepId: 'sink',
    logger: silentLogger,
    signal: new AbortController().signal,
  };

  it('commits rows with the checkpoint, leaves uncommitted rows out, and fences a second writer', async () => {
    const config = postgresStreamSink.config.parse({ url, table: 'fenced', mode: 'append' });
    const writer = await postgresStreamSink.open(config, context);
    await writer.write([{ id: 1, at: new Date('2024-01-01T00:00:00Z'), doc: { a: 1 } }]);
    await writer.commit({ checkpointId: 1, snapshot: { positions: { '': '1' } } });
    await writer.write([{ id: 2, at: new Date('2024-01-01T00:00:01Z'), doc: null }]);
    await writer.close(); // never committed
    expect((await db.query('SELECT id::int, doc FROM fenced ORDER BY id')).rows).toEqual([
      { id: 1, doc: { a: 1 } },
    ]);
    const again = await postgresStreamSink.open(config, context);
    expect(await again.recover?.()).toEqual({
      checkpointId: 1,
      snapshot: { positions: { '': '1' } },
    });
    await again.write([{ id: 3, at: new Date(), doc: null }]);
    await expect(again.commit({ checkpointId: 1 })).rejects.toThrow(
      /checkpoint 1 is not newer than the one stored for stream "orders": another process is running the stream/,
    );
    await again.close();
    expect((await db.query('SELECT count(*)::int AS n FROM fenced')).rows).toEqual([{ n: 1 }]);
  });

  it('upserts windows emitted again with late records, leaving one row per key and window', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    const at = (s: number): string => new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString();
    await writeFile(
      join(dir, 'in', 'a.ndjson'),
      [
        { page: 'home', ts: at(1) },
        { page: 'home', ts: at(12) }, // closes [0,10) with 1 view
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n',
    );
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const stop = new AbortController();
    try {
      const plan = planStream(
        stream('views', {
          source: streamSource.files({ path: join(dir, 'in') }),
          eventTime: 'ts',
          steps: [
            window({
              key: 'page',
              window: tumbling('10s'),
              aggregate: { views: count() },
              allowedLateness: '30s',
            }),
          ],
          sink: streamSink.postgres({
            url,
            table: 'views',
            mode: 'upsert',
            keys: ['page', 'window_start'],
          }),
          checkpoint: { every: '50ms' },
        }),
        defaultStreamRegistry,
      );
      await runStream(plan, {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'q'), 'views'),
        signal: stop.signal,
        logger: silentLogger,
        onCheckpoint: (p) => {
          // Once [0,10) was written, a record for it arrives late but within 30 s: it is
          // emitted again with 2 views.
          if (p.recordsOut === 1 && p.recordsIn === 2)
            appendFileSync(
              join(dir, 'in', 'a.ndjson'),
              `${JSON.stringify({ page: 'home', ts: at(3) })}\n`,
            );
          if (p.recordsIn >= 3 && p.recordsOut >= 2) stop.abort();
        },
      });
    } finally {
      await store.close();
    }
    expect(
      (await db.query(`SELECT page, window_start::text AS start, views::int FROM views`)).rows,
    ).toEqual([{ page: 'home', start: '2024-01-01 00:00:00+00', views: 2 }]);
  });

  it('enriches records from a PostgreSQL lookup table, read again on refresh, and quarantines unknown keys', async () => {
    await db.query('CREATE TABLE customers (id int PRIMARY KEY, tier text, country text)');
    await db.query("INSERT INTO customers VALUES (1, 'gold', 'UK'), (2, 'silver', 'US')");
    const dir = await tempDir();
    await mkdir(join(dir, 'in'));
    const order = (id: number, customer: number, s: number): string =>
      `${JSON.stringify({ id, customer_id: customer, ts: new Date(Date.UTC(2024, 0, 1, 0, 0, s)).toISOString() })}\n`;
    await writeFile(join(dir, 'in', 'a.ndjson'), order(1, 1, 1) + order(2, 2, 2) + order(3, 9, 3));
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const stop = new AbortController();
    let appended = false;
    try {
      await runStream(
        planStream(
          stream('orders', {
            source: streamSource.files({ path: join(dir, 'in') }),
            eventTime: 'ts',
            steps: [
              enrich({
                lookup: lookup.postgres({ url, table: 'public.customers' }),
                on: { record: 'customer_id', table: 'id' },
                columns: ['tier'],
                refresh: '100ms',
                missing: 'quarantine',
              }),
            ],
            sink: streamSink.files({ path: join(dir, 'out') }),
            checkpoint: { every: '50ms' },
          }),
          defaultStreamRegistry,
        ),
        {
          checkpoints: new StreamCheckpoints(store),
          quarantine: new QuarantineStore(join(dir, 'q'), 'orders'),
          signal: stop.signal,
          logger: silentLogger,
          onCheckpoint: (p) => {
            if (p.recordsIn === 3 && !appended) {
              appended = true;
              // Customer 1 moves up a tier; the next refresh sees it.
              void db
                .query("UPDATE customers SET tier = 'platinum' WHERE id = 1")
                .then(() =>
                  setTimeout(
                    () => appendFileSync(join(dir, 'in', 'a.ndjson'), order(4, 1, 4)),
                    300,
                  ),
                );
            }
            if (p.recordsIn >= 4) stop.abort();
          },
        },
      );
    } finally {
      await store.close();
    }
    const out = (await readdir(join(dir, 'out')))
      .filter((n) => n.endsWith('.ndjson'))
      .sort()
      .map((n) => readFileSync(join(dir, 'out', n), 'utf8'))
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((r) => [r['id'], r['tier']])).toEqual([
      [1, 'gold'],
      [2, 'silver'],
      [4, 'platinum'],
    ]);
    expect(readFileSync(join(dir, 'q', 'invalid.ndjson'), 'utf8')).toMatch(
      /no row of .*customers has id = 9/,
    );
  });
});
