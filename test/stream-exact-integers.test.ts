import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/engine/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import {
  defaultStreamRegistry,
  keyBy,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';
import { NATS_URL, createTestStream, natsUnavailable } from './support/nats.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = (await natsUnavailable()) ?? (await postgresUnavailable());
if (unavailable !== undefined) console.warn(`stream exact integer tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('integers beyond 2^53 in stream payloads', () => {
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

  it('a NATS message with {"id": 9007199254740993} arrives exact in an int64 column', async () => {
    await db.query('CREATE TABLE events (id bigint PRIMARY KEY, n bigint, ts bigint)');
    const source = await createTestStream();
    const dir = await tempDir();
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const stop = new AbortController();
    try {
      // Raw payloads: JSON.stringify cannot write these numbers.
      await source.publishRaw([
        '{"id": 9007199254740993, "n": 1, "ts": 1700000000000}',
        '{"id": 9007199254740992, "n": -9223372036854775808, "ts": 1700000000001}',
        '{"id": 9223372036854775807, "n": 9007199254740991, "ts": 1700000000002}',
      ]);
      const plan = planStream(
        stream(`exact_ids_${source.name.toLowerCase()}`, {
          source: streamSource.nats({ servers: NATS_URL, stream: source.name }),
          eventTime: 'ts',
          // Keyed by the big id: the records keep their own keys (and the checkpoint saves).
          steps: [keyBy('id')],
          sink: streamSink.postgres({ url, table: 'events', mode: 'upsert', keys: ['id'] }),
          checkpoint: { every: '50ms' },
        }),
        defaultStreamRegistry,
      );
      await runStream(plan, {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'q'), 'exact'),
        signal: stop.signal,
        logger: silentLogger,
        onCheckpoint: (progress) => {
          if (progress.recordsOut >= 3) stop.abort();
        },
      });
    } finally {
      await store.close();
      await source.drop();
    }
    expect(
      (await db.query('SELECT id::text AS id, n::text AS n FROM events ORDER BY id')).rows,
    ).toEqual([
      { id: '9007199254740992', n: '-9223372036854775808' },
      { id: '9007199254740993', n: '1' },
      { id: '9223372036854775807', n: '9007199254740991' },
    ]);
  });
});
