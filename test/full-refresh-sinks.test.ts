import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import mysql from 'mysql2/promise';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomHex } from '../src/core/ids.js';
import type { RunReport, SinkStep } from '../src/index.js';
import { pipeline, ref, sink } from '../src/index.js';
import { query, runIn, sqlFromText, tempDir } from './helpers.js';
import type { ClickHouseTestDatabase } from './support/clickhouse.js';
import { clickhouseUnavailable, createClickHouseDatabase } from './support/clickhouse.js';
import { readDeltaTable, recordingLogger } from './support/full-refresh.js';
import { MYSQL_ADMIN_URL, mysqlUnavailable } from './support/mysql.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

/**
 * One target system a full-refresh test writes to: its sink step for a table, and the rows of a
 * table as `{ id, name }` with text values, ordered by id.
 */
interface Target {
  readonly name: string;
  readonly unavailable: string | undefined;
  /** Whether the sink takes `exclude` and `deleteWhen` (a change stream's options). */
  readonly changeOptions: boolean;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  sink(
    table: string,
    mode: 'append' | 'merge' | 'delete_insert',
    extra?: Record<string, unknown>,
  ): SinkStep;
  rows(table: string): Promise<{ id: string; name: string | null }[]>;
}

const pgUnavailable = await postgresUnavailable();
let pgDatabase: { url: string; drop: () => Promise<void> } | undefined;
let pgClient: pg.Client | undefined;
const postgresTarget: Target = {
  name: 'postgres',
  changeOptions: true,
  unavailable: pgUnavailable,
  async setUp() {
    pgDatabase = await createTestDatabase();
    pgClient = new pg.Client({ connectionString: pgDatabase.url });
    await pgClient.connect();
  },
  async tearDown() {
    await pgClient?.end();
    await pgDatabase?.drop();
  },
  sink: (table, mode, extra = {}) =>
    sink.postgres({
      input: ref('rows'),
      url: pgDatabase!.url,
      table,
      mode,
      ...(mode === 'append' ? {} : { keys: ['id'] }),
      ...extra,
    }),
  async rows(table) {
    const result = await pgClient!.query<{ id: string; name: string | null }>(
      `SELECT id::text AS id, name FROM ${table} ORDER BY id`,
    );
    return result.rows;
  },
};

const myUnavailable = await mysqlUnavailable();
const myDatabase = `sluice_test_${randomHex(6)}`;
let myClient: Connection | undefined;
const mysqlURL = (): string => {
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${myDatabase}`;
  return url.toString();
};
const mysqlTarget: Target = {
  name: 'mysql',
  changeOptions: false,
  unavailable: myUnavailable,
  async setUp() {
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    await admin.query(`CREATE DATABASE \`${myDatabase}\` CHARACTER SET utf8mb4`);
    await admin.end();
    myClient = await mysql.createConnection({ uri: mysqlURL() });
  },
  async tearDown() {
    await myClient?.query(`DROP DATABASE IF EXISTS \`${myDatabase}\``);
    await myClient?.end();
  },
  sink: (table, mode, extra = {}) =>
    sink.mysql({
      input: ref('rows'),
      url: mysqlURL(),
      table,
      mode,
      ...(mode === 'append' ? {} : { keys: ['id'] }),
      ...extra,
    }),
  async rows(table) {
    const [result] = await myClient!.query<RowDataPacket[]>(
      `SELECT CAST(id AS CHAR) AS id, name FROM \`${table}\` ORDER BY id`,
    );
    return result.map((r) => ({ id: String(r['id']), name: r['name'] as string | null }));
  },
};

const chUnavailable = await clickhouseUnavailable();
let chDatabase: ClickHouseTestDatabase | undefined;
const clickhouseTarget: Target = {
  name: 'clickhouse',
  changeOptions: true,
  unavailable: chUnavailable,
  async setUp() {
    chDatabase = await createClickHouseDatabase();
  },
  async tearDown() {
    await chDatabase?.drop();
  },
  sink: (table, mode, extra = {}) =>
    sink.clickhouse({
      input: ref('rows'),
      url: chDatabase!.url,
      table,
      mode,
      ...(mode === 'append' ? {} : { keys: ['id'] }),
      ...extra,
    }),
  async rows(table) {
    const rows = await chDatabase!.text(`SELECT id, name FROM ${table} ORDER BY id`);
    return rows.map((r) => ({ id: String(r['id']), name: r['name'] ?? null }));
  },
};

let lakeDir = '';
const deltaTarget: Target = {
  name: 'delta',
  changeOptions: true,
  unavailable: undefined,
  async setUp() {
    lakeDir = await tempDir('sluice-full-refresh-lake-');
  },
  async tearDown() {},
  sink: (table, mode, extra = {}) =>
    sink.delta({
      input: ref('rows'),
      path: join(lakeDir, table),
      mode: mode as 'append' | 'merge', // Delta has no delete_insert (its test is skipped)
      ...(mode === 'append' ? {} : { keys: ['id'] }),
      ...extra,
    }),
  async rows(table) {
    return (await readDeltaTable(join(lakeDir, table))).map((r) => ({
      id: String(r['id']),
      name: (r['name'] as string | null) ?? null,
    }));
  },
};

for (const reason of [pgUnavailable, myUnavailable, chUnavailable])
  if (reason !== undefined) console.warn(`full-refresh sink tests skipped for: ${reason}`);

const TARGETS = [postgresTarget, mysqlTarget, clickhouseTarget, deltaTarget];

/** `SELECT` of `(id, name)` rows, plus an `op` column for change rows when `withOp`. */
const rowsSQL = (rows: readonly (readonly [number, string, string?])[], withOp: boolean): string =>
  `SELECT CAST(id AS BIGINT) AS id, name${withOp ? ', op' : ''} FROM (VALUES ${rows
    .map(([id, name, op]) => `(${id}, '${name}', '${op ?? 'upsert'}')`)
    .join(', ')}) t(id, name, op)`;

for (const target of TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(`--full-refresh into ${target.name}`, () => {
    beforeAll(() => target.setUp());
    afterAll(() => target.tearDown());

    const run = async (
      table: string,
      mode: 'append' | 'merge' | 'delete_insert',
      rows: readonly (readonly [number, string, string?])[],
      fullRefresh = false,
      extra: Record<string, unknown> = {},
    ): Promise<RunReport & { logged: Record<string, unknown>[] }> => {
      const logger = recordingLogger();
      const report = await runIn(
        await tempDir(),
        pipeline('full_refresh', {
          steps: {
            rows: sqlFromText(
              rowsSQL(
                target.changeOptions ? rows : rows.filter(([, , op]) => op !== 'delete'),
                target.changeOptions,
              ),
            ),
            out: target.sink(
              table,
              mode,
              target.changeOptions ? { exclude: ['op'], ...extra } : {},
            ),
          },
        }),
        { logger, ...(fullRefresh ? { fullRefresh: true } : {}) },
      );
      expect(report.error).toBeUndefined();
      return Object.assign(report, { logged: logger.entries });
    };
    const replacedMessages = (logged: readonly Record<string, unknown>[]): unknown[] =>
      logged.filter((e) => /^full refresh: /.test(String(e['message'])));

    it('append: a full refresh replaces the rows instead of adding them again (no duplicates)', async () => {
      const table = `app_${randomHex(4)}`;
      await run(table, 'append', [
        [1, 'a'],
        [2, 'b'],
      ]);
      await run(table, 'append', [[3, 'c']], false);
      expect(await target.rows(table)).toEqual([
        { id: '1', name: 'a' },
        { id: '2', name: 'b' },
        { id: '3', name: 'c' },
      ]);
      // The source read everything again: the target holds it once, and nothing else.
      const refreshed = await run(
        table,
        'append',
        [
          [1, 'a'],
          [2, 'b'],
          [3, 'c'],
        ],
        true,
      );
      expect(await target.rows(table)).toEqual([
        { id: '1', name: 'a' },
        { id: '2', name: 'b' },
        { id: '3', name: 'c' },
      ]);
      expect(replacedMessages(refreshed.logged)).toHaveLength(1);
      // A run after the full refresh appends again.
      const after = await run(table, 'append', [[4, 'd']], false);
      expect(replacedMessages(after.logged)).toEqual([]);
      expect((await target.rows(table)).map((r) => r.id)).toEqual(['1', '2', '3', '4']);
    });

    it('readers see the old rows while a full refresh is staged, never an empty table', async () => {
      const table = `atomic_${randomHex(4)}`;
      await run(table, 'merge', [
        [1, 'a'],
        [2, 'b'],
      ]);
      const pauseFile = join(await tempDir(), 'paused');
      process.env['SLUICE_PAUSE_AT'] = 'before-publish';
      process.env['SLUICE_PAUSE_FILE'] = pauseFile;
      try {
        const refresh = runIn(
          await tempDir(),
          pipeline('full_refresh', {
            steps: {
              rows: sqlFromText(rowsSQL([[3, 'c']], target.changeOptions)),
              out: target.sink(table, 'merge', target.changeOptions ? { exclude: ['op'] } : {}),
            },
          }),
          { fullRefresh: true, sourceState: { prepare: async () => undefined } },
        );
        const deadline = Date.now() + 30_000;
        while (!existsSync(pauseFile) && Date.now() < deadline) await sleep(10);
        expect(existsSync(pauseFile)).toBe(true);
        // Every sink has written what it stages; none has published.
        expect(await target.rows(table)).toEqual([
          { id: '1', name: 'a' },
          { id: '2', name: 'b' },
        ]);
        await rm(pauseFile);
        expect((await refresh).error).toBeUndefined();
      } finally {
        delete process.env['SLUICE_PAUSE_AT'];
        delete process.env['SLUICE_PAUSE_FILE'];
      }
      expect(await target.rows(table)).toEqual([{ id: '3', name: 'c' }]);
    });

    it.skipIf(target.name === 'delta')(
      'delete_insert: a full refresh leaves exactly the run rows',
      async () => {
        const table = `di_${randomHex(4)}`;
        await run(table, 'delete_insert', [
          [1, 'a'],
          [2, 'b'],
        ]);
        await run(table, 'delete_insert', [[2, 'B']], true);
        expect(await target.rows(table)).toEqual([{ id: '2', name: 'B' }]);
      },
    );

    it.skipIf(target.name !== 'postgres' && target.name !== 'delta')(
      'any sequence of runs and full refreshes leaves what a model of the modes says (property)',
      async () => {
        const runRows = fc.uniqueArray(
          fc.tuple(fc.integer({ min: 1, max: 6 }), fc.constantFrom('a', 'b', 'c')),
          { minLength: 1, maxLength: 4, selector: ([id]) => id },
        );
        const step = fc.record({ rows: runRows, fullRefresh: fc.boolean() });
        await fc.assert(
          fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
            for (const mode of ['append', 'merge'] as const) {
              const table = `prop_${mode}_${randomHex(4)}`;
              let model: (readonly [number, string])[] = [];
              for (const { rows, fullRefresh } of steps) {
                await run(table, mode, rows, fullRefresh);
                const kept = fullRefresh ? [] : model;
                model =
                  mode === 'append'
                    ? [...kept, ...rows]
                    : [...kept.filter(([id]) => !rows.some(([k]) => k === id)), ...rows];
              }
              const expected = model
                .map(([id, name]) => ({ id: String(id), name }))
                .sort((a, b) => Number(a.id) - Number(b.id) || a.name.localeCompare(b.name));
              const actual = (await target.rows(table)).sort(
                (a, b) => Number(a.id) - Number(b.id) || (a.name ?? '').localeCompare(b.name ?? ''),
              );
              expect(actual).toEqual(expected);
            }
          }),
          { numRuns: 10, seed: 14 },
        );
      },
    );

    it('merge: a full refresh leaves exactly the run rows, without the keys the source lost', async () => {
      const table = `mrg_${randomHex(4)}`;
      await run(table, 'merge', [
        [1, 'a'],
        [2, 'b'],
        [3, 'c'],
      ]);
      // A merge alone keeps key 1, which the source no longer has.
      await run(table, 'merge', [[2, 'B']], false);
      expect((await target.rows(table)).map((r) => r.id)).toEqual(['1', '2', '3']);
      const refreshed = await run(
        table,
        'merge',
        [
          [2, 'B'],
          [3, 'c'],
          [4, 'd'],
          [5, 'gone', 'delete'],
        ],
        true,
        { deleteWhen: { column: 'op', equals: 'delete' } },
      );
      expect(await target.rows(table)).toEqual([
        { id: '2', name: 'B' },
        { id: '3', name: 'c' },
        { id: '4', name: 'd' },
      ]);
      expect(replacedMessages(refreshed.logged)).toHaveLength(1);
      await run(table, 'merge', [[1, 'new']], false);
      expect((await target.rows(table)).map((r) => r.id)).toEqual(['1', '2', '3', '4']);
    });
  });
}

describe('--full-refresh into a DuckDB table', () => {
  it('append: a full refresh replaces the table instead of adding the rows again', async () => {
    const dir = await tempDir();
    const write = (rows: readonly (readonly [number, string])[], fullRefresh: boolean) =>
      runIn(
        dir,
        pipeline('full_refresh', {
          steps: {
            rows: sqlFromText(rowsSQL(rows, false)),
            out: sink.duckdb({
              input: ref('rows'),
              path: 'w.duckdb',
              table: 'items',
              mode: 'append',
            }),
          },
        }),
        fullRefresh ? { fullRefresh: true } : {},
      );
    const ids = async (): Promise<number[]> =>
      (
        await query(
          `ATTACH '${join(dir, 'w.duckdb')}' AS w (READ_ONLY); SELECT id FROM w.items ORDER BY id`,
        )
      ).map((r) => Number(r['id']));
    expect((await write([[1, 'a']], false)).error).toBeUndefined();
    expect((await write([[2, 'b']], false)).error).toBeUndefined();
    expect(await ids()).toEqual([1, 2]);
    expect(
      (
        await write(
          [
            [2, 'b'],
            [3, 'c'],
          ],
          true,
        )
      ).error,
    ).toBeUndefined();
    expect(await ids()).toEqual([2, 3]);
  });
});

describe('--full-refresh into a Delta table written with replaceWhere', () => {
  it('replaces only the rows of the predicate, as without a full refresh: the other partitions stay', async () => {
    const dir = await tempDir();
    const write = (day: string, ids: readonly number[], fullRefresh: boolean) =>
      runIn(
        dir,
        pipeline('full_refresh', {
          steps: {
            rows: sqlFromText(
              `SELECT CAST(id AS BIGINT) AS id, DATE '${day}' AS day FROM (VALUES ${ids.map((i) => `(${i})`).join(', ')}) t(id)`,
            ),
            out: sink.delta({
              input: ref('rows'),
              path: 'lake/days',
              mode: 'overwrite',
              partitionBy: ['day'],
              replaceWhere: `day = DATE '${day}'`,
            }),
          },
        }),
        fullRefresh ? { fullRefresh: true } : {},
      );
    expect((await write('2026-03-01', [1, 2], false)).error).toBeUndefined();
    expect((await write('2026-03-02', [3], false)).error).toBeUndefined();
    expect((await write('2026-03-02', [4, 5], true)).error).toBeUndefined();
    const rows = await readDeltaTable(join(dir, 'lake', 'days'));
    const day = (value: unknown): string => (value as Date).toISOString().slice(0, 10);
    expect(rows.map((r) => [Number(r['id']), day(r['day'])])).toEqual([
      [1, '2026-03-01'],
      [2, '2026-03-01'],
      [4, '2026-03-02'],
      [5, '2026-03-02'],
    ]);
  });
});
