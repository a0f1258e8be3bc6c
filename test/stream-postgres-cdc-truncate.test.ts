import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import {
  defaultStreamRegistry,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
} from '../src/stream/index.js';
import { tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined)
  console.warn(`PostgreSQL CDC stream truncate tests skipped: ${unavailable}`);

/** Polls until `ready` holds, failing after a generous deadline. */
async function until(ready: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(unavailable !== undefined)('postgres_cdc stream source and TRUNCATE', () => {
  let url: string;
  let drop: () => Promise<void>;
  let db: pg.Client;

  beforeAll(async () => {
    ({ url, drop } = await createTestDatabase());
    db = new pg.Client({ connectionString: url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.query(
      'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()',
    );
    await db?.end();
    await drop?.();
  });

  it('stops with SOURCE_FAILED at a TRUNCATE instead of skipping it, naming the slot to drop', async () => {
    await db.query('CREATE TABLE stock (id int PRIMARY KEY, qty int)');
    const dir = await tempDir();
    const store = await RunStore.open(join(dir, 'sluice.db'));
    const stop = new AbortController();
    let recordsIn = 0;
    try {
      const plan = planStream(
        stream('stock', {
          source: streamSource.postgresCdc({
            url,
            table: 'public.stock',
            slot: 'sluice_test_stream_truncate',
            pollInterval: 20,
          }),
          eventTime: '_committed_at',
          sink: streamSink.files({ path: join(dir, 'out') }),
          checkpoint: { every: '50ms' },
        }),
        defaultStreamRegistry,
      );
      const running = runStream(plan, {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'q'), 'stock'),
        signal: stop.signal,
        logger: silentLogger,
        onCheckpoint: (p) => {
          recordsIn = p.recordsIn;
          // Without a refusal the stream goes on past the truncate: stop it so the test fails.
          if (p.recordsIn >= 3) stop.abort();
        },
      });
      const outcome = running.then(
        () => undefined,
        (error: unknown) => error,
      );
      await until(
        async () =>
          (
            await db.query(
              "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sluice_test_stream_truncate'",
            )
          ).rowCount === 1,
        'the replication slot',
      );
      await db.query('INSERT INTO stock VALUES (1, 10), (2, 20)');
      await until(() => recordsIn >= 2, 'the inserts to be checkpointed');
      await db.query('TRUNCATE stock');
      await db.query('INSERT INTO stock VALUES (3, 30)');
      const error = await outcome;
      expect(error).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).code).toBe('SOURCE_FAILED');
      expect((error as SluiceError).message).toMatch(/public\.stock was truncated/);
      expect((error as SluiceError).hint).toMatch(
        /pg_drop_replication_slot\('sluice_test_stream_truncate'\)/,
      );
      expect(recordsIn).toBe(2);

      // Starting over as the hint says: the slot dropped, the stream resumes with new changes.
      await db.query("SELECT pg_drop_replication_slot('sluice_test_stream_truncate')");
      const again = new AbortController();
      let after = 0;
      const resumed = runStream(plan, {
        checkpoints: new StreamCheckpoints(store),
        quarantine: new QuarantineStore(join(dir, 'q'), 'stock'),
        signal: again.signal,
        logger: silentLogger,
        onCheckpoint: (p) => {
          after = p.recordsIn;
          if (p.recordsIn >= 3) again.abort();
        },
      });
      await until(
        async () =>
          (
            await db.query(
              "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sluice_test_stream_truncate'",
            )
          ).rowCount === 1,
        'the new replication slot',
      );
      await db.query('INSERT INTO stock VALUES (4, 40)');
      await resumed;
      expect(after).toBe(3);
      const written: unknown[] = [];
      for (const name of (await readdir(join(dir, 'out')))
        .filter((n) => n.endsWith('.ndjson'))
        .sort())
        for (const line of (await readFile(join(dir, 'out', name), 'utf8')).split('\n'))
          if (line !== '') written.push((JSON.parse(line) as Record<string, unknown>)['id']);
      expect(written.map(Number).sort((a, b) => a - b)).toEqual([1, 2, 4]);
    } finally {
      stop.abort();
      await store.close();
    }
  });
});
