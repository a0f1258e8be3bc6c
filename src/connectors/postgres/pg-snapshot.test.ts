import { createHash } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresUnavailable } from '../../../test/support/postgres.js';
import { ConfigError, TableWriteError } from '../../core/errors.js';
import { quoteIdentifier } from '../../core/type-mappings.js';
import type { Field, LogicalType } from '../../core/types.js';
import { SNAPSHOT_COLUMNS, snapshotStatements, snapshotTargetColumnsQuery } from './pg-snapshot.js';
import type { SnapshotSpec } from './pg-snapshot.js';

/** A column of a test source: its field and the PostgreSQL type of the TEMP table's column. */
interface SourceColumn {
  readonly field: Field;
  readonly sqlType: string;
}

const col = (name: string, type: LogicalType, sqlType: string): SourceColumn => ({
  field: { name, type, nullable: true },
  sqlType,
});
const ID = col('id', { kind: 'int32' }, 'integer');
const NAME = col('name', { kind: 'string' }, 'text');
const UPDATED_AT = col('updated_at', { kind: 'timestamp', tz: true }, 'timestamptz');

type Options = Pick<SnapshotSpec, 'uniqueKey' | 'strategy' | 'hardDeletes'> &
  Partial<Pick<SnapshotSpec, 'updatedAt' | 'checkColumns'>>;

const U1 = '2024-01-01T00:00:00.000Z';
const U2 = '2024-01-15T00:00:00.000Z';
const U4 = '2024-02-05T00:00:00.000Z';
const U5 = '2024-01-25T00:00:00.000Z';
const R1 = '2024-01-10T00:00:00.000Z';
const R2 = '2024-01-20T00:00:00.000Z';
const R3 = '2024-01-30T00:00:00.000Z';
const R4 = '2024-02-10T00:00:00.000Z';

/** `sluice_scd_id` as documented: md5 of the JSON array of key texts and the UTC start. */
function scdId(keys: readonly string[], validFrom: string): string {
  const start = validFrom.replace(/\.(\d{3})Z$/, '.$1000Z');
  const text = `[${[...keys, start].map((part) => JSON.stringify(part)).join(', ')}]`;
  return createHash('md5').update(text).digest('hex');
}

/** The metadata of one expected version; `deleted` only for tables with `sluice_is_deleted`. */
function meta(
  keys: readonly string[],
  updated: string,
  from: string,
  to: string | null,
  deleted?: boolean,
): Record<string, unknown> {
  return {
    [SNAPSHOT_COLUMNS.scdId]: scdId(keys, from),
    [SNAPSHOT_COLUMNS.updatedAt]: updated,
    [SNAPSHOT_COLUMNS.validFrom]: from,
    [SNAPSHOT_COLUMNS.validTo]: to,
    ...(deleted === undefined ? {} : { [SNAPSHOT_COLUMNS.isDeleted]: deleted }),
  };
}

/** A version of the id/name/updated_at scenario: [id, name, updated_at, sluice_updated_at, from, to, deleted?]. */
type Version = [number, string, string, string, string, string | null, boolean?];

const versions = (rows: readonly Version[]): Record<string, unknown>[] =>
  rows.map(([id, name, updatedAt, updated, from, to, deleted]) => ({
    id,
    name,
    updated_at: updatedAt,
    ...meta([String(id)], updated, from, to, deleted),
  }));

const unavailable = await postgresUnavailable();
if (unavailable !== undefined) console.warn(`PostgreSQL snapshot tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('PostgreSQL snapshots', () => {
  let drop: () => Promise<void>;
  let db: pg.Client;
  let tables = 0;

  beforeAll(async () => {
    const created = await createTestDatabase();
    drop = created.drop;
    db = new pg.Client({ connectionString: created.url });
    await db.connect();
    // Results must not depend on the session's zone: run every test away from UTC.
    await db.query(`SET TIME ZONE 'America/New_York'`);
    await db.query('CREATE SCHEMA snapshots');
  });
  afterAll(async () => {
    await db?.end();
    await drop?.();
  });

  const newTarget = (): string => {
    tables += 1;
    return `"snapshots"."target_${tables}"`;
  };

  /** One snapshot run: the rows become a TEMP source table and the statements run in one transaction. */
  async function run(
    target: string,
    options: Options,
    columns: readonly SourceColumn[],
    rows: readonly (readonly unknown[])[],
    now: string,
  ): Promise<void> {
    await db.query('BEGIN');
    try {
      await db.query(
        `CREATE TEMP TABLE snapshot_source (${columns.map((c) => `${quoteIdentifier(c.field.name)} ${c.sqlType}`).join(', ')}) ON COMMIT DROP`,
      );
      for (const row of rows)
        await db.query(
          `INSERT INTO snapshot_source VALUES (${row.map((_, i) => `$${i + 1}`).join(', ')})`,
          [...row],
        );
      const existing = await db.query<{ name: string }>(snapshotTargetColumnsQuery(target));
      const statements = snapshotStatements(
        {
          ...options,
          target,
          source: 'snapshot_source',
          columns: columns.map((c) => c.field),
          now: `'${now}'::timestamptz`,
        },
        existing.rows.length === 0 ? undefined : existing.rows.map((r) => r.name),
      );
      for (const statement of statements) await db.query(statement);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK');
      throw error;
    }
  }

  /** The whole target, instants as ISO strings, ordered by key and version. */
  async function contents(
    target: string,
    orderBy = 'id',
    select = '*',
  ): Promise<Record<string, unknown>[]> {
    const { rows } = await db.query<Record<string, unknown>>(
      `SELECT ${select} FROM ${target} ORDER BY ${orderBy}, ${SNAPSHOT_COLUMNS.validFrom}, ${SNAPSHOT_COLUMNS.validTo} NULLS LAST`,
    );
    return rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]),
      ),
    );
  }

  describe('a key that changes twice, leaves, comes back, and an unchanged rerun', () => {
    const columns = [ID, NAME, UPDATED_AT];
    const runs: [string, unknown[][]][] = [
      [
        R1,
        [
          [1, 'a', U1],
          [2, 'b', U1],
          [3, 'c', U1],
          [5, 'e', U1],
        ],
      ],
      // 1 changes, 2 and 5 leave, 4 is new.
      [
        R2,
        [
          [1, 'a2', U2],
          [3, 'c', U1],
          [4, 'd', U2],
        ],
      ],
      // The same rows again: nothing changes.
      [
        R3,
        [
          [1, 'a2', U2],
          [3, 'c', U1],
          [4, 'd', U2],
        ],
      ],
      // 1 changes again; 2 returns with an updated_at older than its deletion; 5 returns changed, newer.
      [
        R4,
        [
          [1, 'a3', U4],
          [2, 'b', U1],
          [3, 'c', U1],
          [4, 'd', U2],
          [5, 'e2', U5],
        ],
      ],
    ];

    interface Case {
      readonly options: Options;
      /** The target after runs 1, 2 (and 3) and 4. */
      readonly expected: readonly [Version[], Version[], Version[]];
    }
    const timestamp = {
      strategy: 'timestamp',
      updatedAt: 'updated_at',
      uniqueKey: ['id'],
    } as const;
    const check = { strategy: 'check', checkColumns: ['name'], uniqueKey: ['id'] } as const;
    const cases: Record<string, Case> = {
      'timestamp, ignore': {
        options: { ...timestamp, hardDeletes: 'ignore' },
        expected: [
          [
            [1, 'a', U1, U1, U1, null],
            [2, 'b', U1, U1, U1, null],
            [3, 'c', U1, U1, U1, null],
            [5, 'e', U1, U1, U1, null],
          ],
          [
            [1, 'a', U1, U1, U1, U2],
            [1, 'a2', U2, U2, U2, null],
            [2, 'b', U1, U1, U1, null],
            [3, 'c', U1, U1, U1, null],
            [4, 'd', U2, U2, U2, null],
            [5, 'e', U1, U1, U1, null],
          ],
          [
            [1, 'a', U1, U1, U1, U2],
            [1, 'a2', U2, U2, U2, U4],
            [1, 'a3', U4, U4, U4, null],
            [2, 'b', U1, U1, U1, null],
            [3, 'c', U1, U1, U1, null],
            [4, 'd', U2, U2, U2, null],
            [5, 'e', U1, U1, U1, U5],
            [5, 'e2', U5, U5, U5, null],
          ],
        ],
      },
      'timestamp, invalidate': {
        options: { ...timestamp, hardDeletes: 'invalidate' },
        expected: [
          [
            [1, 'a', U1, U1, U1, null],
            [2, 'b', U1, U1, U1, null],
            [3, 'c', U1, U1, U1, null],
            [5, 'e', U1, U1, U1, null],
          ],
          [
            [1, 'a', U1, U1, U1, U2],
            [1, 'a2', U2, U2, U2, null],
            [2, 'b', U1, U1, U1, R2],
            [3, 'c', U1, U1, U1, null],
            [4, 'd', U2, U2, U2, null],
            [5, 'e', U1, U1, U1, R2],
          ],
          [
            [1, 'a', U1, U1, U1, U2],
            [1, 'a2', U2, U2, U2, U4],
            [1, 'a3', U4, U4, U4, null],
            [2, 'b', U1, U1, U1, R2],
            // updated_at is older than the invalidation: the version starts at the run's time.
            [2, 'b', U1, U1, R4, null],
            [3, 'c', U1, U1, U1, null],
            [4, 'd', U2, U2, U2, null],
            [5, 'e', U1, U1, U1, R2],
            [5, 'e2', U5, U5, U5, null],
          ],
        ],
      },
      'timestamp, new_record': {
        options: { ...timestamp, hardDeletes: 'new_record' },
        expected: [
          [
            [1, 'a', U1, U1, U1, null, false],
            [2, 'b', U1, U1, U1, null, false],
            [3, 'c', U1, U1, U1, null, false],
            [5, 'e', U1, U1, U1, null, false],
          ],
          [
            [1, 'a', U1, U1, U1, U2, false],
            [1, 'a2', U2, U2, U2, null, false],
            [2, 'b', U1, U1, U1, R2, false],
            [2, 'b', U1, R2, R2, null, true],
            [3, 'c', U1, U1, U1, null, false],
            [4, 'd', U2, U2, U2, null, false],
            [5, 'e', U1, U1, U1, R2, false],
            [5, 'e', U1, R2, R2, null, true],
          ],
          [
            [1, 'a', U1, U1, U1, U2, false],
            [1, 'a2', U2, U2, U2, U4, false],
            [1, 'a3', U4, U4, U4, null, false],
            [2, 'b', U1, U1, U1, R2, false],
            [2, 'b', U1, R2, R2, R4, true],
            [2, 'b', U1, U1, R4, null, false],
            [3, 'c', U1, U1, U1, null, false],
            [4, 'd', U2, U2, U2, null, false],
            [5, 'e', U1, U1, U1, R2, false],
            [5, 'e', U1, R2, R2, U5, true],
            [5, 'e2', U5, U5, U5, null, false],
          ],
        ],
      },
      'check, ignore': {
        options: { ...check, hardDeletes: 'ignore' },
        expected: [
          [
            [1, 'a', U1, R1, R1, null],
            [2, 'b', U1, R1, R1, null],
            [3, 'c', U1, R1, R1, null],
            [5, 'e', U1, R1, R1, null],
          ],
          [
            [1, 'a', U1, R1, R1, R2],
            [1, 'a2', U2, R2, R2, null],
            [2, 'b', U1, R1, R1, null],
            [3, 'c', U1, R1, R1, null],
            [4, 'd', U2, R2, R2, null],
            [5, 'e', U1, R1, R1, null],
          ],
          [
            [1, 'a', U1, R1, R1, R2],
            [1, 'a2', U2, R2, R2, R4],
            [1, 'a3', U4, R4, R4, null],
            [2, 'b', U1, R1, R1, null],
            [3, 'c', U1, R1, R1, null],
            [4, 'd', U2, R2, R2, null],
            [5, 'e', U1, R1, R1, R4],
            [5, 'e2', U5, R4, R4, null],
          ],
        ],
      },
      'check, invalidate': {
        options: { ...check, hardDeletes: 'invalidate' },
        expected: [
          [
            [1, 'a', U1, R1, R1, null],
            [2, 'b', U1, R1, R1, null],
            [3, 'c', U1, R1, R1, null],
            [5, 'e', U1, R1, R1, null],
          ],
          [
            [1, 'a', U1, R1, R1, R2],
            [1, 'a2', U2, R2, R2, null],
            [2, 'b', U1, R1, R1, R2],
            [3, 'c', U1, R1, R1, null],
            [4, 'd', U2, R2, R2, null],
            [5, 'e', U1, R1, R1, R2],
          ],
          [
            [1, 'a', U1, R1, R1, R2],
            [1, 'a2', U2, R2, R2, R4],
            [1, 'a3', U4, R4, R4, null],
            [2, 'b', U1, R1, R1, R2],
            [2, 'b', U1, R4, R4, null],
            [3, 'c', U1, R1, R1, null],
            [4, 'd', U2, R2, R2, null],
            [5, 'e', U1, R1, R1, R2],
            [5, 'e2', U5, R4, R4, null],
          ],
        ],
      },
      'check, new_record': {
        options: { ...check, hardDeletes: 'new_record' },
        expected: [
          [
            [1, 'a', U1, R1, R1, null, false],
            [2, 'b', U1, R1, R1, null, false],
            [3, 'c', U1, R1, R1, null, false],
            [5, 'e', U1, R1, R1, null, false],
          ],
          [
            [1, 'a', U1, R1, R1, R2, false],
            [1, 'a2', U2, R2, R2, null, false],
            [2, 'b', U1, R1, R1, R2, false],
            [2, 'b', U1, R2, R2, null, true],
            [3, 'c', U1, R1, R1, null, false],
            [4, 'd', U2, R2, R2, null, false],
            [5, 'e', U1, R1, R1, R2, false],
            [5, 'e', U1, R2, R2, null, true],
          ],
          [
            [1, 'a', U1, R1, R1, R2, false],
            [1, 'a2', U2, R2, R2, R4, false],
            [1, 'a3', U4, R4, R4, null, false],
            [2, 'b', U1, R1, R1, R2, false],
            [2, 'b', U1, R2, R2, R4, true],
            [2, 'b', U1, R4, R4, null, false],
            [3, 'c', U1, R1, R1, null, false],
            [4, 'd', U2, R2, R2, null, false],
            [5, 'e', U1, R1, R1, R2, false],
            [5, 'e', U1, R2, R2, R4, true],
            [5, 'e2', U5, R4, R4, null, false],
          ],
        ],
      },
    };

    for (const [name, { options, expected }] of Object.entries(cases))
      it(name, async () => {
        const target = newTarget();
        const [first, second, fourth] = expected;
        const afterEach = [first, second, second, fourth];
        for (const [i, [now, rows]] of runs.entries()) {
          await run(target, options, columns, rows, now);
          expect(await contents(target), `after run ${i + 1}`).toEqual(versions(afterEach[i]!));
        }
      });
  });

  it('compares check columns NULL-safely', async () => {
    const target = newTarget();
    const columns = [
      ID,
      col('a', { kind: 'string' }, 'text'),
      col('b', { kind: 'int32' }, 'integer'),
    ];
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'check',
      checkColumns: 'all',
      hardDeletes: 'invalidate',
    };
    const row = (
      id: number,
      a: string | null,
      b: number | null,
      ...m: Parameters<typeof meta>
    ) => ({
      id,
      a,
      b,
      ...meta(...m),
    });
    await run(
      target,
      options,
      columns,
      [
        [1, null, 1],
        [2, 'x', null],
        [3, null, null],
      ],
      R1,
    );
    // NULL -> NULL is no change; NULL -> value is.
    await run(
      target,
      options,
      columns,
      [
        [1, null, 1],
        [2, 'x', 2],
        [3, 'y', null],
      ],
      R2,
    );
    expect(await contents(target)).toEqual([
      row(1, null, 1, ['1'], R1, R1, null),
      row(2, 'x', null, ['2'], R1, R1, R2),
      row(2, 'x', 2, ['2'], R2, R2, null),
      row(3, null, null, ['3'], R1, R1, R2),
      row(3, 'y', null, ['3'], R2, R2, null),
    ]);
    // value -> NULL is a change too.
    await run(
      target,
      options,
      columns,
      [
        [1, null, null],
        [2, 'x', 2],
        [3, 'y', null],
      ],
      R3,
    );
    expect(await contents(target)).toEqual([
      row(1, null, 1, ['1'], R1, R1, R3),
      row(1, null, null, ['1'], R3, R3, null),
      row(2, 'x', null, ['2'], R1, R1, R2),
      row(2, 'x', 2, ['2'], R2, R2, null),
      row(3, null, null, ['3'], R1, R1, R2),
      row(3, 'y', null, ['3'], R2, R2, null),
    ]);
  });

  it('only the check columns make a version: other columns ride along', async () => {
    const target = newTarget();
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'check',
      checkColumns: ['name'],
      hardDeletes: 'ignore',
    };
    await run(target, options, [ID, NAME, UPDATED_AT], [[1, 'a', U1]], R1);
    await run(target, options, [ID, NAME, UPDATED_AT], [[1, 'a', U2]], R2);
    expect(await contents(target)).toEqual(versions([[1, 'a', U1, R1, R1, null]]));
  });

  it('adds columns the query gained and keeps those it lost, NULL in new versions', async () => {
    const target = newTarget();
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'timestamp',
      updatedAt: 'updated_at',
      hardDeletes: 'ignore',
    };
    const TIER = col('tier', { kind: 'string' }, 'text');
    const row = (
      id: number,
      name: string | null,
      tier: string | null,
      updatedAt: string,
      to: string | null,
    ) => ({
      id,
      name,
      tier,
      updated_at: updatedAt,
      ...meta([String(id)], updatedAt, updatedAt, to),
    });
    await run(
      target,
      options,
      [ID, NAME, UPDATED_AT],
      [
        [1, 'a', U1],
        [2, 'b', U1],
      ],
      R1,
    );
    await run(
      target,
      options,
      [ID, NAME, TIER, UPDATED_AT],
      [
        [1, 'a2', 'gold', U2],
        [2, 'b', 'silver', U1],
      ],
      R2,
    );
    // 2 did not change (same updated_at): its current version keeps NULL in the new column.
    expect(await contents(target)).toEqual([
      row(1, 'a', null, U1, U2),
      row(1, 'a2', 'gold', U2, null),
      row(2, 'b', null, U1, null),
    ]);
    await run(
      target,
      options,
      [ID, TIER, UPDATED_AT],
      [
        [1, 'platinum', U4],
        [2, 'silver', U1],
      ],
      R3,
    );
    expect(await contents(target)).toEqual([
      row(1, 'a', null, U1, U2),
      row(1, 'a2', 'gold', U2, U4),
      row(1, null, 'platinum', U4, null),
      row(2, 'b', null, U1, null),
    ]);
    const { rows } = await db.query<{ name: string }>(snapshotTargetColumnsQuery(target));
    expect(rows.map((r) => r.name)).toEqual([
      'id',
      'name',
      'updated_at',
      SNAPSHOT_COLUMNS.scdId,
      SNAPSHOT_COLUMNS.updatedAt,
      SNAPSHOT_COLUMNS.validFrom,
      SNAPSHOT_COLUMNS.validTo,
      'tier',
    ]);
  });

  it("with checkColumns 'all', a gained column with a value is a change; deletion records copy every column", async () => {
    const target = newTarget();
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'check',
      checkColumns: 'all',
      hardDeletes: 'new_record',
    };
    const TIER = col('tier', { kind: 'string' }, 'text');
    const row = (id: number, name: string, tier: string | null, ...m: Parameters<typeof meta>) => ({
      id,
      name,
      tier,
      ...meta(...m),
    });
    await run(
      target,
      options,
      [ID, NAME],
      [
        [1, 'a'],
        [2, 'b'],
      ],
      R1,
    );
    await run(
      target,
      options,
      [ID, NAME, TIER],
      [
        [1, 'a', 'gold'],
        [2, 'b', null],
      ],
      R2,
    );
    await run(target, options, [ID, NAME, TIER], [[2, 'b', null]], R3);
    expect(await contents(target)).toEqual([
      row(1, 'a', null, ['1'], R1, R1, R2, false),
      row(1, 'a', 'gold', ['1'], R2, R2, R3, false),
      row(1, 'a', 'gold', ['1'], R3, R3, null, true),
      row(2, 'b', null, ['2'], R1, R1, null, false),
    ]);
  });

  it('compares json columns by value, whatever their spacing', async () => {
    const target = newTarget();
    const DOC = col('doc', { kind: 'json' }, 'json');
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'check',
      checkColumns: ['doc'],
      hardDeletes: 'ignore',
    };
    await run(target, options, [ID, DOC], [[1, '{"a": 1}']], R1);
    await run(target, options, [ID, DOC], [[1, '{"a":1}']], R2);
    await run(target, options, [ID, DOC], [[1, '{"a":2}']], R3);
    expect(await contents(target)).toEqual([
      { id: 1, doc: { a: 1 }, ...meta(['1'], R1, R1, R3) },
      { id: 1, doc: { a: 2 }, ...meta(['1'], R3, R3, null) },
    ]);
  });

  it('keys on several columns; dates and wall-clock timestamps are read as UTC', async () => {
    const target = newTarget();
    const columns = [
      col('region', { kind: 'string' }, 'text'),
      ID,
      NAME,
      col('changed_on', { kind: 'date' }, 'date'),
    ];
    const options: Options = {
      uniqueKey: ['region', 'id'],
      strategy: 'timestamp',
      updatedAt: 'changed_on',
      hardDeletes: 'invalidate',
    };
    const day1 = '2024-03-01T00:00:00.000Z';
    const day2 = '2024-03-02T00:00:00.000Z';
    await run(
      target,
      options,
      columns,
      [
        ['eu', 1, 'a', '2024-03-01'],
        ['us', 1, 'b', '2024-03-01'],
      ],
      R4,
    );
    await run(
      target,
      options,
      columns,
      [
        ['eu', 1, 'a2', '2024-03-02'],
        ['us', 1, 'b', '2024-03-01'],
      ],
      R4,
    );
    const version = (
      region: string,
      name: string,
      on: string,
      from: string,
      to: string | null,
    ) => ({
      region,
      id: 1,
      name,
      changed_on: on,
      ...meta([region, '1'], from, from, to),
    });
    const select = `*, changed_on::text AS changed_on`;
    expect(await contents(target, 'region, id', select)).toEqual([
      version('eu', 'a', '2024-03-01', day1, day2),
      version('eu', 'a2', '2024-03-02', day2, null),
      version('us', 'b', '2024-03-01', day1, null),
    ]);

    const wallClock = newTarget();
    const STAMP = col('stamp', { kind: 'timestamp', tz: false }, 'timestamp');
    const stampOptions: Options = { ...options, uniqueKey: ['id'], updatedAt: 'stamp' };
    await run(wallClock, stampOptions, [ID, STAMP], [[1, '2024-03-01 12:30:00']], R4);
    const [version1] = await contents(wallClock);
    expect(version1?.[SNAPSHOT_COLUMNS.validFrom]).toBe('2024-03-01T12:30:00.000Z');
    expect(version1?.[SNAPSHOT_COLUMNS.updatedAt]).toBe('2024-03-01T12:30:00.000Z');
  });

  it('refuses repeated keys, naming them, and changes nothing', async () => {
    const target = newTarget();
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'timestamp',
      updatedAt: 'updated_at',
      hardDeletes: 'invalidate',
    };
    await run(target, options, [ID, NAME, UPDATED_AT], [[1, 'a', U1]], R1);
    const before = await contents(target);
    const duplicated = [
      [1, 'a', U2],
      [1, 'a2', U2],
      [2, 'b', U2],
      [2, 'b2', U2],
      [2, 'b3', U2],
      [3, 'c', U2],
    ];
    const failure = run(target, options, [ID, NAME, UPDATED_AT], duplicated, R2);
    await expect(failure).rejects.toMatchObject({
      code: '23505',
      message: `snapshot of ${target}: the unique key (id) repeats in the query's rows: 2 key(s) have more than one row, e.g. (id=2) 3 rows, (id=1) 2 rows`,
    });
    await expect(failure).rejects.toHaveProperty(
      'hint',
      expect.stringContaining('one row per key'),
    );
    expect(await contents(target)).toEqual(before);
  });

  it('refuses NULL keys and NULL updated values', async () => {
    const target = newTarget();
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'timestamp',
      updatedAt: 'updated_at',
      hardDeletes: 'ignore',
    };
    await expect(
      run(
        target,
        options,
        [ID, NAME, UPDATED_AT],
        [
          [null, 'a', U1],
          [2, 'b', U1],
        ],
        R1,
      ),
    ).rejects.toMatchObject({
      code: '23502',
      message: `snapshot of ${target}: 1 row(s) of the query have a NULL in the unique key (id)`,
    });
    await expect(
      run(
        target,
        options,
        [ID, NAME, UPDATED_AT],
        [
          [1, 'a', null],
          [2, 'b', U1],
          [3, 'c', null],
        ],
        R1,
      ),
    ).rejects.toMatchObject({
      code: '23502',
      message: `snapshot of ${target}: updatedAt column "updated_at" is NULL in 2 row(s) of the query, e.g. (id=1), (id=3)`,
    });
    const { rows } = await db.query(snapshotTargetColumnsQuery(target));
    expect(rows).toEqual([]);
  });

  it('refuses an existing table that is not a snapshot of this key', async () => {
    const target = newTarget();
    await db.query(`CREATE TABLE ${target} (id integer, name text)`);
    const options: Options = {
      uniqueKey: ['id'],
      strategy: 'check',
      checkColumns: 'all',
      hardDeletes: 'ignore',
    };
    const failure = run(target, options, [ID, NAME], [[1, 'a']], R1);
    await expect(failure).rejects.toBeInstanceOf(TableWriteError);
    await expect(failure).rejects.toThrow(
      `Table ${target}: is not a snapshot table: it lacks sluice_scd_id, sluice_updated_at, sluice_valid_from, sluice_valid_to`,
    );
  });
});

describe('snapshot statements', () => {
  const spec: SnapshotSpec = {
    target: '"snapshots"."customers"',
    source: '"customers_now"',
    columns: [ID.field, NAME.field, UPDATED_AT.field],
    uniqueKey: ['id'],
    strategy: 'timestamp',
    updatedAt: 'updated_at',
    hardDeletes: 'invalidate',
    now: `'2024-05-01T00:00:00Z'::timestamptz`,
    stepId: 'customers_snapshot',
  };
  const existing = ['id', 'name', 'updated_at', ...Object.values(SNAPSHOT_COLUMNS).slice(0, 4)];

  it('creates a missing target and only alters an existing one when the query gained columns', () => {
    expect(snapshotStatements(spec, undefined)[1]).toBe(`CREATE TABLE "snapshots"."customers" (
  "id" integer,
  "name" text,
  "updated_at" timestamptz,
  "sluice_scd_id" text NOT NULL,
  "sluice_updated_at" timestamptz NOT NULL,
  "sluice_valid_from" timestamptz NOT NULL,
  "sluice_valid_to" timestamptz
)`);
    const statements = snapshotStatements(spec, existing);
    expect(statements.some((s) => /^(CREATE|ALTER) TABLE "snapshots"/.test(s))).toBe(false);
    const withTier = snapshotStatements(
      {
        ...spec,
        hardDeletes: 'new_record',
        columns: [...spec.columns, { name: 'tier', type: { kind: 'string' }, nullable: true }],
      },
      existing,
    );
    expect(withTier).toContain(
      `ALTER TABLE "snapshots"."customers" ADD COLUMN "tier" text, ADD COLUMN "sluice_is_deleted" boolean NOT NULL DEFAULT false`,
    );
  });

  it('lists every problem of the spec in one error', () => {
    const bad: SnapshotSpec = {
      ...spec,
      columns: [...spec.columns, { name: 'sluice_note', type: { kind: 'string' }, nullable: true }],
      uniqueKey: ['id', 'email'],
      updatedAt: 'name',
      checkColumns: ['name'],
    };
    let error: unknown;
    try {
      snapshotStatements(bad, undefined);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).diagnostics.map((d) => [d.path, d.message])).toEqual([
      [
        'columns',
        'column "sluice_note" of the snapshot query starts with "sluice_", which snapshots keep for their own columns',
      ],
      ['snapshot.uniqueKey', 'uniqueKey column "email" is not a column of the snapshot query'],
      ['snapshot.checkColumns', 'checkColumns applies only to the check strategy'],
      [
        'snapshot.updatedAt',
        'updatedAt column "name" is string; the timestamp strategy needs a date or timestamp column',
      ],
    ]);
    expect((error as ConfigError).diagnostics.every((d) => d.stepId === 'customers_snapshot')).toBe(
      true,
    );
  });

  it('asks the check strategy for columns to compare', () => {
    expect(() =>
      snapshotStatements(
        {
          ...spec,
          strategy: 'check',
          updatedAt: undefined,
          columns: [ID.field],
          checkColumns: 'all',
        },
        undefined,
      ),
    ).toThrow(
      "checkColumns 'all' leaves nothing to compare: every column is part of the unique key",
    );
    expect(() =>
      snapshotStatements({ ...spec, strategy: 'check', updatedAt: undefined }, undefined),
    ).toThrow('the check strategy needs checkColumns');
  });

  it('refuses a target kept under another key', () => {
    expect(() =>
      snapshotStatements(
        { ...spec, uniqueKey: ['name'] },
        existing.filter((c) => c !== 'name'),
      ),
    ).toThrow('has no column "name" of the unique key (name)');
  });
});
