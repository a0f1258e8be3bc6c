import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import type { StreamProgress } from '../src/stream/index.js';
import { tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`PostgreSQL CDC stream tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('postgres_cdc stream source', () => {
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

  async function output(dir: string): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for (const name of (await readdir(join(dir, 'out')))
      .filter((n) => n.endsWith('.ndjson'))
      .sort())
      for (const line of (await readFile(join(dir, 'out', name), 'utf8')).split('\n'))
        if (line !== '') rows.push(JSON.parse(line) as Record<string, unknown>);
    return rows;
  }

  /** Runs the stream while `during` makes changes, until `records` were read and checkpointed. */
  async function follow(
    dir: string,
    store: RunStore,
    records: number,
    during: () => Promise<void>,
  ): Promise<StreamProgress> {
    const stop = new AbortController();
    const plan = planStream(
      stream('accounts', {
        source: streamSource.postgresCdc({ url, table: 'public.accounts', pollInterval: 20 }),
        eventTime: '_committed_at',
        sink: streamSink.files({ path: join(dir, 'out') }),
        checkpoint: { every: '50ms' },
      }),
      defaultStreamRegistry,
    );
    const running = runStream(plan, {
      checkpoints: new StreamCheckpoints(store),
      quarantine: new QuarantineStore(join(dir, 'q'), 'accounts'),
      signal: stop.signal,
      logger: silentLogger,
      onCheckpoint: (p) => {
        if (p.recordsIn >= records) stop.abort();
      },
    });
    await new Promise((r) => setTimeout(r, 300));
    await during();
    return running;
  }

  it('streams inserts, updates and deletes with their commit time, advances the slot after checkpoints, and resumes without repeats', async () => {
    await db.query(
      'CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12,2), tags text[], opened timestamptz)',
    );
    const dir = await tempDir();
    const store = await RunStore.open(join(dir, 'sluice.db'));
    try {
      await follow(dir, store, 3, async () => {
        await db.query(
          "INSERT INTO accounts VALUES (1, 'ada', 10.50, '{a,b}', '2024-01-01T00:00:00Z'), (2, 'grace', 20, NULL, NULL)",
        );
        await db.query('UPDATE accounts SET balance = 11.25 WHERE id = 1');
      });
      const slot = await db.query<{ confirmed: string }>(
        'SELECT confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots WHERE database = current_database()',
      );
      expect(slot.rows).toHaveLength(1);

      await follow(dir, store, 4, async () => {
        await db.query('DELETE FROM accounts WHERE id = 2');
      });
      const rows = await output(dir);
      expect(
        rows.map((r) => [r['_op'], r['id'], r['owner'], r['balance'], r['tags'], r['opened']]),
      ).toEqual([
        ['insert', 1, 'ada', '10.50', ['a', 'b'], '2024-01-01T00:00:00.000Z'],
        ['insert', 2, 'grace', '20.00', null, null],
        ['update', 1, 'ada', '11.25', ['a', 'b'], '2024-01-01T00:00:00.000Z'],
        ['delete', 2, null, null, null, null],
      ]);
      expect(rows.every((r) => !Number.isNaN(Date.parse(String(r['_committed_at']))))).toBe(true);
      const lsns = rows.map((r) => BigInt(String(r['_lsn'])));
      expect([...lsns].sort((a, b) => (a < b ? -1 : 1))).toEqual(lsns);
      const advanced = await db.query<{ advanced: boolean }>(
        `SELECT confirmed_flush_lsn > $1::pg_lsn AS advanced FROM pg_replication_slots WHERE database = current_database()`,
        [slot.rows[0]?.confirmed],
      );
      expect(advanced.rows[0]?.advanced).toBe(true);
    } finally {
      await store.close();
    }
  });
});
