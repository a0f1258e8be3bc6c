import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/core/logger.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import {
  incrementalSettings,
  keepNewRows,
  parseIncrementalState,
} from '../src/engine/incremental.js';

type Row = readonly [id: number, seq: number];

/**
 * A table that grows between runs: each run appends rows (ties, late rows within the lag window,
 * exact repeats of earlier rows), then a run reads it (everything, as a file source does, or from
 * the watermark minus the lag, as a database source does) and keeps the new rows. Whatever the
 * history, every row appended must be handed on exactly once.
 */
describe('incremental reads, property', () => {
  let session: DuckDBSession;
  let connection: EngineConnection;
  beforeAll(async () => {
    session = await DuckDBSession.create();
    connection = await session.connect('events');
  });
  afterAll(() => session.close());

  const lag = 3;
  const batch = fc.array(
    fc.record({
      id: fc.integer({ min: 1, max: 4 }),
      offset: fc.integer({ min: -lag, max: 2 }),
    }),
    { maxLength: 6 },
  );

  for (const pushdown of [false, true])
    it(`hands every appended row on exactly once (${pushdown ? 'source reads from the bound' : 'source reads everything'})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(batch, { minLength: 1, maxLength: 6 }),
          fc.boolean(),
          async (batches, keyed) => {
            const settings = incrementalSettings(
              'events',
              { cursor: 'seq', lagWindow: lag, ...(keyed ? { primaryKey: 'id' } : {}) },
              undefined,
            );
            const table: Row[] = [];
            const delivered: Row[] = [];
            let state: string | undefined;
            for (const appended of batches) {
              const watermark = Number(parseIncrementalState(state)?.watermark ?? 10);
              // With a key, a row is (id, seq): repeating one is not a new row, so keep them unique.
              for (const { id, offset } of appended) {
                const row: Row = [id, watermark + offset];
                if (!keyed || !table.some((r) => r[0] === row[0] && r[1] === row[1]))
                  table.push(row);
              }
              const from = state === undefined ? -Infinity : watermark - lag;
              const read = pushdown ? table.filter((r) => r[1] >= from) : table;
              await connection.run('DROP TABLE IF EXISTS events');
              await connection.run('CREATE TABLE events (id INTEGER, seq INTEGER)');
              if (read.length > 0)
                await connection.run(
                  `INSERT INTO events VALUES ${read.map(([id, seq]) => `(${id}, ${seq})`).join(', ')}`,
                );
              const outcome = await keepNewRows({
                connection,
                stepId: 'events',
                settings,
                previous: parseIncrementalState(state),
                logger: silentLogger,
              });
              const kept = await connection.rows('SELECT id, seq FROM events');
              expect(outcome.skipped).toBe(read.length - kept.length);
              delivered.push(...kept.map((r): Row => [Number(r['id']), Number(r['seq'])]));
              state = outcome.state ?? state;
            }
            const sorted = (rows: readonly Row[]) => rows.map((r) => r.join(':')).sort();
            expect(sorted(delivered)).toEqual(sorted(table));
          },
        ),
        { numRuns: 100 },
      );
    });

  it('identifies rows the same whatever the session time zone', async () => {
    const settings = incrementalSettings('events', { cursor: 'at' }, undefined);
    const read = async (zone: string, previous: string | undefined) => {
      await connection.run(`SET TimeZone = '${zone}'`);
      await connection.run('DROP TABLE IF EXISTS events');
      await connection.run(
        `CREATE TABLE events AS SELECT 1 AS id, TIMESTAMPTZ '2024-01-01 10:00:00+00' AS at`,
      );
      return keepNewRows({
        connection,
        stepId: 'events',
        settings,
        previous: parseIncrementalState(previous),
        logger: silentLogger,
      });
    };
    try {
      const first = await read('UTC', undefined);
      const second = await read('America/New_York', first.state);
      expect(second.skipped).toBe(1);
    } finally {
      await connection.run(`SET TimeZone = 'UTC'`);
    }
  });
});
