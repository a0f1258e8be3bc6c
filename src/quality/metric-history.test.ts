import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers.js';
import { ConfigError, SluiceError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { EngineConnection } from '../contracts/engine-connection.js';
import { DuckDBSession } from '../contracts/duckdb-session.js';
import type { DatasetMetrics, MetricHistoryEntry } from './metric-history.js';
import {
  assertValidDatasetName,
  collectDatasetMetrics,
  columnMetricPath,
  MetricHistoryStore,
} from './metric-history.js';

function entry(runId: string, metrics: Partial<DatasetMetrics> = {}): MetricHistoryEntry {
  return {
    runId,
    dataset: 'orders',
    at: '2026-11-22T16:05:12.000Z',
    metrics: { row_count: 100, columns: {}, ...metrics },
  };
}

function recordingLogger(): Logger & { warnings: { fields: object; message?: string }[] } {
  const warnings: { fields: object; message?: string }[] = [];
  const logger = {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    error: () => undefined,
    warn: (fields: object, message?: string) => void warnings.push({ fields, message }),
    child: () => logger,
  };
  return logger;
}

describe('MetricHistoryStore', () => {
  it('round-trips entries through <stateDir>/metrics/<dataset>.ndjson', async () => {
    const stateDir = await tempDir();
    const store = await MetricHistoryStore.open(stateDir);
    const first = entry('run_1', {
      row_count: 10,
      freshness_seconds: 3600,
      columns: { amount: { null_percent: 10, distinct_count: 9, mean: 1.5, min: 0, max: 3 } },
    });
    await store.append(first);
    await store.append(entry('run_2', { row_count: 12 }));

    expect(store.pathFor('orders')).toBe(join(stateDir, 'metrics', 'orders.ndjson'));
    const lines = (await readFile(store.pathFor('orders'), 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0] ?? '')).toEqual(first);

    const reopened = await MetricHistoryStore.open(stateDir);
    expect(await reopened.entries('orders')).toEqual([first, entry('run_2', { row_count: 12 })]);
    expect(await reopened.history('orders', 'row_count')).toEqual([10, 12]);
    expect(await reopened.history('orders', 'columns.amount.mean')).toEqual([1.5]);
    expect(await reopened.history('orders', 'freshness_seconds')).toEqual([3600]);
  });

  it('has an empty history for a dataset never written, and creates nothing when read', async () => {
    const stateDir = await tempDir();
    const store = await MetricHistoryStore.open(stateDir);
    expect(await store.history('orders', 'row_count')).toEqual([]);
    expect(await store.entries('orders')).toEqual([]);
    await expect(readFile(join(stateDir, 'metrics', 'orders.ndjson'))).rejects.toThrow(/ENOENT/);
  });

  it('returns the last K values oldest first with limit, and can leave out the current run', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    for (let i = 1; i <= 30; i++) await store.append(entry(`run_${i}`, { row_count: i }));
    expect(await store.history('orders', 'row_count', { limit: 5 })).toEqual([26, 27, 28, 29, 30]);
    expect(await store.history('orders', 'row_count', { limit: 100 })).toHaveLength(30);
    expect(
      await store.history('orders', 'row_count', { limit: 3, excludeRunId: 'run_30' }),
    ).toEqual([27, 28, 29]);
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(store.history('orders', 'row_count', { limit })).rejects.toThrow(ConfigError);
    }
  });

  it('skips runs where the metric is missing instead of counting them', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    const withAmount = (runId: string, mean: number) =>
      entry(runId, { columns: { amount: { null_percent: 0, distinct_count: 3, mean } } });
    await store.append(withAmount('run_1', 1));
    await store.append(entry('run_2')); // no amount column at all
    await store.append(
      entry('run_3', { columns: { amount: { distinct_count: 0 } } }), // empty: no mean, no null %
    );
    await store.append(withAmount('run_4', 4));
    await store.append(withAmount('run_5', 5));
    expect(await store.history('orders', 'columns.amount.mean', { limit: 2 })).toEqual([4, 5]);
    expect(await store.history('orders', 'columns.amount.mean')).toEqual([1, 4, 5]);
    expect(await store.history('orders', 'columns.amount.null_percent')).toEqual([0, 0, 0]);
    expect(await store.history('orders', 'columns.amount.distinct_count')).toEqual([3, 0, 3, 3]);
    expect(await store.history('orders', 'freshness_seconds')).toEqual([]);
    expect(await store.history('orders', 'columns.nope.mean')).toEqual([]);
    expect(await store.history('orders', 'metrics_that_do_not_exist')).toEqual([]);
  });

  it('reads column names with dots and any other character', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    const hostile = 'a"; drop table x; --';
    await store.append(
      entry('run_1', {
        columns: {
          'price.eur': { null_percent: 5, distinct_count: 1 },
          [hostile]: { null_percent: 7, distinct_count: 2 },
        },
      }),
    );
    expect(await store.history('orders', 'columns.price.eur.null_percent')).toEqual([5]);
    expect(await store.history('orders', columnMetricPath('price.eur', 'null_percent'))).toEqual([
      5,
    ]);
    expect(await store.history('orders', columnMetricPath(hostile, 'distinct_count'))).toEqual([2]);
    for (const path of ['', 'columns.', 'columns.amount', 'row_count..x', []]) {
      await expect(store.history('orders', path)).rejects.toThrow(ConfigError);
    }
  });

  it('skips a torn last line left by a writer killed mid-append, and appends after it cleanly', async () => {
    const logger = recordingLogger();
    const store = await MetricHistoryStore.open(await tempDir(), { logger });
    await store.append(entry('run_1', { row_count: 1 }));
    await store.append(entry('run_2', { row_count: 2 }));
    const whole = JSON.stringify(entry('run_3', { row_count: 3 }));
    await appendFile(store.pathFor('orders'), whole.slice(0, whole.length - 17)); // no newline

    expect(await store.history('orders', 'row_count')).toEqual([1, 2]);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]?.fields).toMatchObject({ line: 3, torn: true });

    await store.append(entry('run_4', { row_count: 4 }));
    expect(await store.history('orders', 'row_count')).toEqual([1, 2, 4]);
    // The torn line stays on a line of its own instead of swallowing the next entry.
    const lines = (await readFile(store.pathFor('orders'), 'utf8')).split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe(whole.slice(0, whole.length - 17));
  });

  it('skips lines that are not entries (garbage, wrong shape, another dataset) with a warning', async () => {
    const logger = recordingLogger();
    const store = await MetricHistoryStore.open(await tempDir(), { logger });
    await store.append(entry('run_1', { row_count: 1 }));
    await appendFile(
      store.pathFor('orders'),
      [
        '\u0000\u0000\u0000',
        '{"runId":"run_x"}',
        '[1,2,3]',
        JSON.stringify({ ...entry('run_y'), dataset: 'customers' }),
        JSON.stringify({ ...entry('run_z'), metrics: { row_count: -1, columns: {} } }),
        '',
        '',
      ].join('\n'),
    );
    await store.append(entry('run_2', { row_count: 2 }));
    expect(await store.history('orders', 'row_count')).toEqual([1, 2]);
    expect(logger.warnings).toHaveLength(5);
  });

  it('keeps unknown keys written by a newer version when reading', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    await store.append(entry('run_1'));
    const newer = {
      ...entry('run_2'),
      extra: true,
      metrics: { row_count: 5, columns: {}, p99: 9 },
    };
    await appendFile(store.pathFor('orders'), `${JSON.stringify(newer)}\n`);
    expect(await store.history('orders', 'row_count')).toEqual([100, 5]);
    expect(await store.history('orders', 'p99')).toEqual([9]);
  });

  it('counts a run appended twice (a retried attempt) once, at its last line', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    await store.append(entry('run_1', { row_count: 1 }));
    await store.append(entry('run_2', { row_count: 2 }));
    await store.append(entry('run_3', { row_count: 3 }));
    await store.append(entry('run_2', { row_count: 22 }));
    expect(await store.history('orders', 'row_count')).toEqual([1, 3, 22]);
  });

  it('rejects unsafe dataset names with a clear ConfigError, before touching the disk', async () => {
    const stateDir = await tempDir();
    const store = await MetricHistoryStore.open(stateDir);
    const unsafe = [
      '../escape',
      'a/b',
      'a\\b',
      '..',
      '.hidden',
      '-flag',
      '',
      'a b',
      'x'.repeat(201),
    ];
    for (const name of unsafe) {
      expect(() => assertValidDatasetName(name), name).toThrow(ConfigError);
      await expect(store.append({ ...entry('run_1'), dataset: name })).rejects.toThrow(ConfigError);
      await expect(store.history(name, 'row_count')).rejects.toThrow(ConfigError);
    }
    expect(() => assertValidDatasetName('a/b')).toThrow(/path separator/);
    expect(() => assertValidDatasetName(42)).toThrow(/not a string/);
    try {
      assertValidDatasetName('../escape');
    } catch (error) {
      expect(error).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).code).toBe('CONFIG_INVALID');
    }
    for (const name of ['orders', 'daily_orders', 'orders.v2', 'raw-orders', '_tmp', 'A1']) {
      expect(() => assertValidDatasetName(name)).not.toThrow();
    }
    await expect(readFile(join(stateDir, 'escape.ndjson'))).rejects.toThrow(/ENOENT/);
  });

  it('validates entries before appending and writes nothing for a bad one', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    const bad: unknown[] = [
      { ...entry('run_1'), runId: '' },
      { ...entry('run_1'), at: 'yesterday' },
      entry('run_1', { row_count: Number.NaN }),
      entry('run_1', { row_count: 1.5 }),
      entry('run_1', { freshness_seconds: Number.POSITIVE_INFINITY }),
      entry('run_1', { columns: { a: { null_percent: 101, distinct_count: 1 } } }),
      entry('run_1', { columns: { a: { null_percent: 1, distinct_count: 1, mean: Number.NaN } } }),
      { ...entry('run_1'), typo: 1 },
    ];
    for (const value of bad) {
      await expect(
        store.append(value as MetricHistoryEntry),
        JSON.stringify(value),
      ).rejects.toThrow(ConfigError);
    }
    expect(await store.entries('orders')).toEqual([]);
    await expect(MetricHistoryStore.open('')).rejects.toThrow(ConfigError);
  });

  it('keeps every line whole when many appends race', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    const wide = Object.fromEntries(
      Array.from({ length: 200 }, (_, c) => [
        `column_${c}`,
        { null_percent: 1, distinct_count: c },
      ]),
    );
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.append(entry(`run_${i}`, { row_count: i, columns: wide })),
      ),
    );
    const counts = await store.history('orders', 'row_count');
    expect(counts.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe('collectDatasetMetrics', () => {
  let session: DuckDBSession;
  let connection: EngineConnection;

  beforeAll(async () => {
    session = await DuckDBSession.create({ threads: 2 });
    connection = await session.connect('metrics_test');
  });
  afterAll(() => session.close());

  it('measures row count, null share, distinct count and numeric stats in one query', async () => {
    await connection.run(`CREATE OR REPLACE TABLE orders AS SELECT * FROM (VALUES
      (1, 10.5::DOUBLE, 'a', 2::DECIMAL(10,2)),
      (2, NULL,         'a', 4::DECIMAL(10,2)),
      (3, 'nan'::DOUBLE, NULL, NULL),
      (4, 'inf'::DOUBLE, 'b', 6::DECIMAL(10,2)),
      (5, -0.5::DOUBLE, 'c', NULL)
    ) v(id, amount, status, price)`);
    const metrics = await collectDatasetMetrics(connection, '"orders"');
    expect(metrics).toEqual({
      row_count: 5,
      columns: {
        id: { null_percent: 0, distinct_count: 5, mean: 3, min: 1, max: 5 },
        // NaN and Infinity count as values but not in mean/min/max.
        amount: { null_percent: 20, distinct_count: 4, mean: 5, min: -0.5, max: 10.5 },
        status: { null_percent: 20, distinct_count: 3 },
        price: { null_percent: 40, distinct_count: 3, mean: 4, min: 2, max: 6 },
      },
    });
    expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics);
  });

  it('accepts queries, table functions and a subset of columns', async () => {
    await connection.run(
      `CREATE OR REPLACE TABLE t AS SELECT range AS n, range % 3 AS m FROM range(100)`,
    );
    const query = await collectDatasetMetrics(connection, 'SELECT * FROM t WHERE n < 10');
    expect(query.row_count).toBe(10);
    const withCTE = await collectDatasetMetrics(
      connection,
      'WITH x AS (SELECT n FROM t) SELECT * FROM x',
    );
    expect(withCTE.row_count).toBe(100);
    const fn = await collectDatasetMetrics(connection, 'range(7)');
    expect(fn.columns['range']).toEqual({
      null_percent: 0,
      distinct_count: 7,
      mean: 3,
      min: 0,
      max: 6,
    });
    const subset = await collectDatasetMetrics(connection, 't', { columns: ['m'] });
    expect(Object.keys(subset.columns)).toEqual(['m']);
    expect(subset.columns['m']?.distinct_count).toBe(3);
    const approx = await collectDatasetMetrics(connection, 't', { approximateDistinct: true });
    expect(approx.columns['n']?.distinct_count).toBeGreaterThan(90);
    expect(approx.columns['n']?.distinct_count).toBeLessThan(110);
    await expect(collectDatasetMetrics(connection, 't', { columns: ['nope'] })).rejects.toThrow(
      ConfigError,
    );
    await expect(collectDatasetMetrics(connection, '  ')).rejects.toThrow(ConfigError);
    await expect(collectDatasetMetrics(connection, 'no_such_table')).rejects.toMatchObject({
      code: 'ENGINE_FAILED',
    });
  });

  it('handles an empty table: row count 0, no null share, no stats, no freshness', async () => {
    await connection.run(
      'CREATE OR REPLACE TABLE empty (id INTEGER, name VARCHAR, "at" TIMESTAMP)',
    );
    const metrics = await collectDatasetMetrics(connection, 'empty', { timestampColumn: 'at' });
    expect(metrics).toEqual({
      row_count: 0,
      columns: {
        id: { distinct_count: 0 },
        name: { distinct_count: 0 },
        at: { distinct_count: 0 },
      },
    });
  });

  it('handles a column that is entirely null', async () => {
    const metrics = await collectDatasetMetrics(
      connection,
      'SELECT NULL::INTEGER AS x FROM range(4)',
    );
    expect(metrics.columns['x']).toEqual({ null_percent: 100, distinct_count: 0 });
  });

  it('quotes every identifier: a hostile column name works and does nothing else', async () => {
    const hostile = 'a"; drop table x; --';
    await connection.run('CREATE OR REPLACE TABLE x AS SELECT 1 AS keep');
    await connection.run(
      `CREATE OR REPLACE TABLE hostile AS SELECT range AS "a""; drop table x; --", now()::TIMESTAMP AS "t""s" FROM range(3)`,
    );
    const metrics = await collectDatasetMetrics(connection, '"hostile"', {
      timestampColumn: 't"s',
    });
    expect(metrics.columns[hostile]).toEqual({
      null_percent: 0,
      distinct_count: 3,
      mean: 1,
      min: 0,
      max: 2,
    });
    expect(await connection.rows('SELECT * FROM x')).toEqual([{ keep: 1 }]);
  });

  it('measures freshness from the newest timestamp, for every temporal type', async () => {
    await connection.run(`CREATE OR REPLACE TABLE events AS SELECT * FROM (VALUES
      (TIMESTAMP '2026-11-22 10:00:00', TIMESTAMPTZ '2026-11-22 10:00:00+00', DATE '2026-11-21', TIMESTAMP_NS '2026-11-22 09:00:00'),
      (TIMESTAMP '2026-11-22 11:30:00', TIMESTAMPTZ '2026-11-22 13:30:00+02', DATE '2026-11-22', TIMESTAMP_NS '2026-11-22 11:59:59'),
      (NULL, NULL, NULL, NULL),
      (TIMESTAMP 'infinity', NULL, DATE 'infinity', NULL)
    ) v(ts, tstz, d, ns)`);
    const now = new Date('2026-11-22T12:00:00Z');
    const fresh = async (column: string) =>
      (await collectDatasetMetrics(connection, 'events', { timestampColumn: column, now }))
        .freshness_seconds;
    expect(await fresh('ts')).toBe(1800);
    expect(await fresh('tstz')).toBe(1800);
    expect(await fresh('d')).toBe(12 * 3600);
    expect(await fresh('ns')).toBe(1);
    // Data stamped in the future gives a negative freshness.
    const earlier = new Date('2026-11-22T11:00:00Z');
    expect(
      (await collectDatasetMetrics(connection, 'events', { timestampColumn: 'ts', now: earlier }))
        .freshness_seconds,
    ).toBe(-1800);
    // Without `now`, freshness is measured against the clock.
    const live = await collectDatasetMetrics(
      connection,
      'SELECT now() - INTERVAL 90 SECOND AS at',
      { timestampColumn: 'at' },
    );
    expect(live.freshness_seconds).toBeGreaterThanOrEqual(89);
    expect(live.freshness_seconds).toBeLessThan(150);
  });

  it('rejects a missing or non-temporal timestamp column with a ConfigError', async () => {
    await connection.run(`CREATE OR REPLACE TABLE s AS SELECT 'x' AS name, 1 AS n`);
    await expect(
      collectDatasetMetrics(connection, 's', { timestampColumn: 'nope' }),
    ).rejects.toThrow(/does not exist/);
    await expect(
      collectDatasetMetrics(connection, 's', { timestampColumn: 'name' }),
    ).rejects.toThrow(/DATE or TIMESTAMP column, but "name" is VARCHAR/);
  });

  it('keeps columns named like Object.prototype members through measuring, storing and reading', async () => {
    const metrics = await collectDatasetMetrics(
      connection,
      'SELECT 1 AS "__proto__", 2 AS "constructor", 3 AS "toString"',
    );
    expect(Object.keys(metrics.columns)).toEqual(['__proto__', 'constructor', 'toString']);
    const store = await MetricHistoryStore.open(await tempDir());
    await store.append({ ...entry('run_1'), metrics });
    expect(await store.history('orders', 'columns.__proto__.mean')).toEqual([1]);
    expect(await store.history('orders', 'columns.constructor.mean')).toEqual([2]);
    expect(await store.history('orders', 'columns.toString.max')).toEqual([3]);
    expect(await store.history('orders', 'columns.hasOwnProperty.max')).toEqual([]);
    const bad = JSON.parse('{"__proto__":{"null_percent":500,"distinct_count":1}}') as Record<
      string,
      never
    >;
    await expect(
      store.append({ ...entry('run_2'), metrics: { row_count: 1, columns: bad } }),
    ).rejects.toThrow(ConfigError);
  });

  it('feeds the history store end to end', async () => {
    const store = await MetricHistoryStore.open(await tempDir());
    for (let run = 1; run <= 3; run++) {
      await connection.run(
        `CREATE OR REPLACE TABLE daily AS SELECT range AS id, CASE WHEN range < ${run} THEN NULL ELSE range END AS v FROM range(${run * 10})`,
      );
      await store.append({
        runId: `run_${run}`,
        dataset: 'daily',
        at: new Date().toISOString(),
        metrics: await collectDatasetMetrics(connection, 'daily'),
      });
    }
    expect(await store.history('daily', 'row_count')).toEqual([10, 20, 30]);
    expect(await store.history('daily', 'columns.v.null_percent')).toEqual([10, 10, 10]);
    await writeFile(join(store.directory, 'unrelated.txt'), 'ignored');
    expect(await store.history('daily', 'columns.id.max')).toEqual([9, 19, 29]);
  });
});
