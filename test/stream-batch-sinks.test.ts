import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/core/errors.js';
import { randomHex } from '../src/core/ids.js';
import { silentLogger } from '../src/core/logger.js';
import { schema, t } from '../src/core/schema.js';
import { sink, source } from '../src/define/factories.js';
import { pipeline } from '../src/define/pipeline.js';
import { ref } from '../src/define/ref.js';
import { QuarantineStore } from '../src/contracts/quarantine-store.js';
import { RunStore } from '../src/orchestrator/run-store.js';
import { StreamCheckpoints } from '../src/orchestrator/stream-checkpoints.js';
import {
  count,
  defaultStreamRegistry,
  max,
  planStream,
  runStream,
  stream,
  streamSink,
  streamSource,
  tumbling,
  window,
} from '../src/stream/index.js';
import type {
  SavedCheckpoint,
  StreamDefinition,
  StreamEndpoint,
  StreamProgress,
  StreamRow,
} from '../src/stream/index.js';
import { query, readNDJSON, runIn, tempDir } from './helpers.js';
import { clickhouseUnavailable, createClickHouseDatabase } from './support/clickhouse.js';
import type { ClickHouseTestDatabase } from './support/clickhouse.js';
import { MYSQL_ADMIN_URL, mysqlUnavailable } from './support/mysql.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const mysqlMissing = await mysqlUnavailable();
if (mysqlMissing !== undefined) console.warn(`MySQL stream sink tests skipped: ${mysqlMissing}`);
const postgresMissing = await postgresUnavailable();
if (postgresMissing !== undefined)
  console.warn(`PostgreSQL stream sink test skipped: ${postgresMissing}`);
const clickhouseMissing = await clickhouseUnavailable();
if (clickhouseMissing !== undefined)
  console.warn(`ClickHouse stream sink tests skipped: ${clickhouseMissing}`);

const T0 = Date.parse('2024-01-01T00:00:00Z');
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

/** One window result as the tests compare it: the window's start in seconds after T0. */
interface PageWindow {
  readonly page: string;
  readonly start: number;
  readonly views: number;
  readonly longest: number;
}

const byWindow = (a: PageWindow, b: PageWindow): number =>
  a.start - b.start || a.page.localeCompare(b.page) || a.views - b.views;

const lines = (events: readonly [page: string, second: number, ms?: number][]): string =>
  events
    .map(([page, second, ms]) => JSON.stringify({ page, ts: at(second), ms: ms ?? 1 }))
    .join('\n') + '\n';

/** Views and the longest time per page and 10 s window; late records update a window for 20 s. */
function pageViews(dir: string, target: StreamEndpoint): StreamDefinition {
  return stream('page_views', {
    source: streamSource.files({ path: join(dir, 'in') }),
    eventTime: 'ts',
    watermark: { maxOutOfOrderness: '5s', idleTimeout: '50ms' },
    steps: [
      window({
        key: 'page',
        window: tumbling('10s'),
        aggregate: { views: count(), longest: max('ms') },
        allowedLateness: '20s',
      }),
    ],
    sink: target,
    checkpoint: { every: '100ms' },
  });
}

/** The run store, except that saving a checkpoint with new output fails: a crash after the sink published. */
class CrashAfterPublish extends StreamCheckpoints {
  readonly #recordsOut: number;

  constructor(store: RunStore, recordsOut: number) {
    super(store);
    this.#recordsOut = recordsOut;
  }

  override async save(checkpoint: SavedCheckpoint): Promise<number> {
    if (checkpoint.recordsOut > this.#recordsOut)
      throw new Error('simulated crash between the publish and the checkpoint save');
    return await super.save(checkpoint);
  }
}

/** Runs the stream until it has read and written this many records in all, then stops it. */
async function runUntil(
  definition: StreamDefinition,
  dir: string,
  checkpoints: StreamCheckpoints,
  records: number,
  written: number,
): Promise<StreamProgress> {
  const stop = new AbortController();
  // A stream that never gets there stops anyway, and the counts below say so.
  const timer = setTimeout(() => stop.abort(), 30_000);
  try {
    return await runStream(planStream(definition, defaultStreamRegistry), {
      checkpoints,
      quarantine: new QuarantineStore(join(dir, 'quarantine'), definition.name),
      signal: stop.signal,
      logger: silentLogger,
      onCheckpoint: (progress) => {
        if (progress.recordsIn >= records && progress.recordsOut >= written) stop.abort();
      },
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The shared scenario: a first run, a restart from its checkpoint with a late record that
 * updates an emitted window, a run that crashes after the sink published a checkpoint and
 * before the run store saved it, and the restart that writes that checkpoint again. `read`
 * returns the sink's rows; the expectations hold what each sink must contain after each step.
 */
async function scenario(
  target: StreamEndpoint,
  read: () => Promise<PageWindow[]>,
  expected: {
    readonly first: readonly PageWindow[];
    readonly restarted: readonly PageWindow[];
    readonly crashed: readonly PageWindow[];
    readonly replayed: readonly PageWindow[];
  },
): Promise<void> {
  const dir = await tempDir();
  await mkdir(join(dir, 'in'), { recursive: true });
  const definition = pageViews(dir, target);
  const store = await RunStore.open(join(dir, 'sluice.db'));
  try {
    const checkpoints = new StreamCheckpoints(store);
    await writeFile(
      join(dir, 'in', 'clicks.ndjson'),
      lines([
        ['home', 1, 10],
        ['cart', 2, 5],
        ['home', 12],
        ['home', 8, 40],
        ['cart', 17], // watermark 12: [0,10) closes
      ]),
    );
    expect(await runUntil(definition, dir, checkpoints, 5, 2)).toMatchObject({
      recordsIn: 5,
      recordsOut: 2,
    });
    expect((await read()).sort(byWindow)).toEqual([...expected.first].sort(byWindow));

    await appendFile(
      join(dir, 'in', 'clicks.ndjson'),
      lines([
        ['home', 4], // late, within the allowed lateness: [0,10) is emitted again
        ['cart', 19, 7],
        ['home', 31], // watermark 26: [10,20) closes
      ]),
    );
    expect(await runUntil(definition, dir, checkpoints, 8, 5)).toMatchObject({
      recordsIn: 8,
      recordsOut: 5,
      recordsLate: 0,
    });
    expect((await read()).sort(byWindow)).toEqual([...expected.restarted].sort(byWindow));

    await appendFile(
      join(dir, 'in', 'clicks.ndjson'),
      lines([
        ['home', 33],
        ['cart', 45], // watermark 40: [30,40) closes
      ]),
    );
    await expect(runUntil(definition, dir, new CrashAfterPublish(store, 5), 10, 6)).rejects.toThrow(
      /simulated crash/,
    );
    expect((await read()).sort(byWindow)).toEqual([...expected.crashed].sort(byWindow));
    expect((await checkpoints.last('page_views'))?.recordsOut).toBe(5);

    expect(await runUntil(definition, dir, checkpoints, 10, 6)).toMatchObject({
      recordsIn: 10,
      recordsOut: 6,
    });
    expect((await read()).sort(byWindow)).toEqual([...expected.replayed].sort(byWindow));
  } finally {
    store.close();
  }
}

const FIRST: PageWindow[] = [
  { page: 'home', start: 0, views: 2, longest: 40 },
  { page: 'cart', start: 0, views: 1, longest: 5 },
];
const SECOND: PageWindow[] = [
  { page: 'home', start: 0, views: 3, longest: 40 },
  { page: 'home', start: 10, views: 1, longest: 1 },
  { page: 'cart', start: 10, views: 2, longest: 7 },
];
const THIRD: PageWindow[] = [{ page: 'home', start: 30, views: 2, longest: 1 }];

/** Every row once per key: the later result of a window emitted twice replaces the earlier. */
const MERGED_FIRST = FIRST;
const MERGED_SECOND = [FIRST[1] as PageWindow, ...SECOND];
const MERGED_THIRD = [...MERGED_SECOND, ...THIRD];

const PAGE_VIEWS = schema({
  page: t.string().notNull(),
  window_start: t.timestamptz().notNull(),
  window_end: t.timestamptz().notNull(),
  views: t.int64().notNull(),
  longest: t.int64(),
});

describe('batch sinks as stream sinks: configuration', () => {
  const plan = (target: StreamEndpoint, every = '1s'): unknown =>
    planStream(
      stream('bad', {
        source: streamSource.files({ path: 'in' }),
        eventTime: 'ts',
        sink: target,
        checkpoint: { every },
      }),
      defaultStreamRegistry,
    );
  const diagnostics = (run: () => unknown): { path?: string; message: string }[] => {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).diagnostics.map(({ path, message }) => ({
        ...(path === undefined ? {} : { path }),
        message,
      }));
    }
    throw new Error('planStream accepted a bad configuration');
  };

  it('reports every problem of the batch sink with the rest of the stream', () => {
    expect(
      diagnostics(() =>
        plan(
          streamSink.batch('mysql', {
            url: 'mysql://root@127.0.0.1/x',
            table: 'views',
            mode: 'overwrite',
            bogus: 1,
          }),
          'soon',
        ),
      ),
    ).toEqual([
      { path: 'sink.config.bogus', message: 'unknown option "bogus" for the mysql sink' },
      {
        path: 'sink.config.mode',
        message:
          "mode 'overwrite' replaces the whole mysql table at every checkpoint, so it would keep only the last checkpoint's rows: use 'append' or 'merge' or 'delete_insert' in a stream",
      },
      { path: 'checkpoint.every', message: expect.stringContaining('soon') as string },
    ]);
  });

  it('refuses a replacing default, an unknown sink, a missing option and a bad schema', () => {
    expect(
      diagnostics(() => plan(streamSink.batch(sink.duckdb, { path: 'w.duckdb', table: 'v' }))),
    ).toEqual([
      {
        path: 'sink.config.mode',
        message:
          "mode 'replace' replaces the whole duckdb table at every checkpoint, so it would keep only the last checkpoint's rows: use 'append' in a stream",
      },
    ]);
    expect(diagnostics(() => plan(streamSink.batch('nope', {})))).toEqual([
      {
        path: 'sink.sink',
        message: expect.stringMatching(
          /^no batch sink is named "nope" \(known: .*parquet/,
        ) as string,
      },
    ]);
    expect(
      diagnostics(() =>
        plan(
          streamSink.batch(
            'parquet',
            { compression: 'brotli' },
            { schema: schema({ x: t.decimal(50, 2) }) },
          ),
        ),
      ).map((d) => d.path),
    ).toEqual(['sink.schema', 'sink.config.path', 'sink.config.compression']);
  });

  it('takes a sink step declared for a batch pipeline, its input unused', () => {
    const endpoint = streamSink.batch(
      sink.parquet({ input: undefined as never, path: 'out/v', compression: 'snappy' }),
    );
    expect(endpoint).toEqual({
      connector: 'batch',
      config: { sink: 'parquet', config: { path: 'out/v', compression: 'snappy' } },
    });
    expect(streamSink.batch(sink.parquet, { path: 'out/v', compression: 'snappy' })).toEqual(
      endpoint,
    );
  });
});

/** Opens the stream's sink as the runtime does and commits each list of rows as one checkpoint. */
async function commitCheckpoints(
  target: StreamEndpoint,
  checkpoints: readonly (readonly StreamRow[])[],
  firstId = 1,
  partition?: string,
): Promise<void> {
  const plan = planStream(
    stream('orders_live', {
      source: streamSource.files({ path: 'in' }),
      eventTime: 'ts',
      sink: target,
    }),
    defaultStreamRegistry,
  );
  const writer = await plan.sink.connector.open(plan.sink.config, {
    stepId: 'sink',
    streamName: plan.name,
    logger: silentLogger,
    signal: new AbortController().signal,
    ...(partition === undefined ? {} : { partition }),
  });
  try {
    for (const [i, rows] of checkpoints.entries()) {
      await writer.write(rows);
      await writer.commit({ checkpointId: firstId + i });
    }
  } finally {
    await writer.close();
  }
}

const ORDERS = schema({
  id: t.int64().notNull(),
  amount: t.decimal(10, 2),
  status: t.string(),
});
/** Two checkpoints and an empty one: order 1 changes in the second. */
const ORDER_CHECKPOINTS: StreamRow[][] = [
  [
    { id: 1, amount: 10.5, status: 'new' },
    { id: 2, amount: 3, status: 'new' },
  ],
  [],
  [
    { id: 1, amount: 12, status: 'paid' },
    { id: 3, amount: 7.25, status: null },
  ],
];
const ALL_ORDERS = [
  { id: 1, amount: 10.5, status: 'new' },
  { id: 2, amount: 3, status: 'new' },
  { id: 1, amount: 12, status: 'paid' },
  { id: 3, amount: 7.25, status: null },
];
const LATEST_ORDERS = ALL_ORDERS.slice(1);
const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  Number(a['id']) - Number(b['id']) || Number(a['amount']) - Number(b['amount']);
const orders = (rows: readonly Record<string, unknown>[]): Record<string, unknown>[] =>
  rows
    .map((r) => ({ id: Number(r['id']), amount: Number(r['amount']), status: r['status'] ?? null }))
    .sort(byId);

describe('batch sinks as stream sinks: each sink, checkpoint by checkpoint', () => {
  it('writes CSV, NDJSON and Avro files per checkpoint; an empty checkpoint writes none', async () => {
    const dir = await tempDir();
    for (const target of [
      streamSink.batch(sink.csv, { path: join(dir, 'csv') }, { schema: ORDERS }),
      streamSink.batch(
        sink.ndjson,
        { path: join(dir, 'ndjson'), compression: 'gzip' },
        { schema: ORDERS },
      ),
      streamSink.batch(sink.avro, { path: join(dir, 'avro') }, { schema: ORDERS }),
    ])
      await commitCheckpoints(target, ORDER_CHECKPOINTS);
    expect((await readdir(join(dir, 'csv'))).sort()).toEqual([
      'part-0000000001.csv',
      'part-0000000003.csv',
    ]);
    expect((await readdir(join(dir, 'ndjson'))).sort()).toEqual([
      'part-0000000001.ndjson.gz',
      'part-0000000003.ndjson.gz',
    ]);
    expect((await readdir(join(dir, 'avro'))).sort()).toEqual([
      'part-0000000001.avro',
      'part-0000000003.avro',
    ]);
    expect(await readFile(join(dir, 'csv', 'part-0000000003.csv'), 'utf8')).toBe(
      'id,amount,status\n1,12.00,paid\n3,7.25,\n',
    );
    expect(orders(await query(`SELECT * FROM read_json('${dir}/ndjson/*.ndjson.gz')`))).toEqual(
      orders(ALL_ORDERS),
    );
    const report = await runIn(
      dir,
      pipeline('read_avro', {
        steps: {
          rows: source.avro({ path: 'avro/*.avro' }),
          out: sink.ndjson({ input: ref('rows'), path: 'avro.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(orders(await readNDJSON(join(dir, 'avro.ndjson')))).toEqual(orders(ALL_ORDERS));
  });

  it('removes what a crashed attempt wrote for a checkpoint that is replayed without rows', async () => {
    const dir = await tempDir();
    const target = streamSink.batch(sink.parquet, {
      path: join(dir, 'out'),
      partitionBy: ['status'],
    });
    await commitCheckpoints(target, [[{ id: 1, status: 'new' }]], 4);
    expect(await readdir(join(dir, 'out'))).toEqual(['part-0000000004']);
    expect(
      await query(
        `SELECT id, status FROM read_parquet('${dir}/out/*/*/*.parquet', hive_partitioning = true)`,
      ),
    ).toEqual([{ id: 1n, status: 'new' }]);
    await commitCheckpoints(target, [[]], 4);
    expect(await readdir(join(dir, 'out'))).toEqual([]);
  });

  it('numbers the files of each scaleOut partition in a folder of their own', async () => {
    const dir = await tempDir();
    const target = streamSink.batch(sink.ndjson, { path: join(dir, 'out') });
    await commitCheckpoints(target, [[{ id: 1 }]], 1, 'clicks.0');
    await commitCheckpoints(target, [[{ id: 2 }]], 1, 'clicks/1');
    expect((await readdir(join(dir, 'out'))).sort()).toEqual([
      'partition=clicks%2F1',
      'partition=clicks.0',
    ]);
    expect(
      await readNDJSON(join(dir, 'out', 'partition=clicks.0', 'part-0000000001.ndjson')),
    ).toEqual([{ id: 1 }]);
    expect(
      await readNDJSON(join(dir, 'out', 'partition=clicks%2F1', 'part-0000000001.ndjson')),
    ).toEqual([{ id: 2 }]);
  });

  it('merges into a Delta table and appends to a DuckDB table, one commit per checkpoint with rows', async () => {
    const dir = await tempDir();
    await commitCheckpoints(
      streamSink.batch(
        sink.delta,
        { path: join(dir, 'lake'), mode: 'merge', keys: ['id'] },
        { schema: ORDERS },
      ),
      ORDER_CHECKPOINTS,
    );
    await commitCheckpoints(
      streamSink.batch(
        sink.duckdb,
        { path: join(dir, 'w.duckdb'), table: 'orders', mode: 'append' },
        { schema: ORDERS },
      ),
      ORDER_CHECKPOINTS,
    );
    expect(
      (await readdir(join(dir, 'lake', '_delta_log'))).filter((n) => n.endsWith('.json')),
    ).toEqual(['00000000000000000000.json', '00000000000000000001.json']);
    const report = await runIn(
      dir,
      pipeline('read_delta', {
        steps: {
          rows: source.delta({ path: 'lake' }),
          out: sink.ndjson({ input: ref('rows'), path: 'lake.ndjson' }),
        },
      }),
    );
    expect(report.status).toBe('success');
    expect(orders(await readNDJSON(join(dir, 'lake.ndjson')))).toEqual(orders(LATEST_ORDERS));
    expect(
      orders(await query(`ATTACH '${dir}/w.duckdb' AS w (READ_ONLY); SELECT * FROM w.orders`)),
    ).toEqual(orders(ALL_ORDERS));
  });

  it.skipIf(postgresMissing !== undefined)(
    'merges into a PostgreSQL table through the batch sink',
    async () => {
      const database = await createTestDatabase();
      try {
        await commitCheckpoints(
          streamSink.batch(
            sink.postgres,
            { url: database.url, table: 'orders', mode: 'merge', keys: ['id'] },
            { schema: ORDERS },
          ),
          ORDER_CHECKPOINTS,
        );
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        try {
          const { rows } = await client.query('SELECT id, amount, status FROM orders');
          expect(orders(rows as Record<string, unknown>[])).toEqual(orders(LATEST_ORDERS));
        } finally {
          await client.end();
        }
      } finally {
        await database.drop();
      }
    },
  );
});

describe('batch sinks as stream sinks: Parquet', () => {
  it('writes one Parquet file per checkpoint and replaces it when the checkpoint is replayed', async () => {
    const out = join(await tempDir(), 'page_views');
    const read = async (): Promise<PageWindow[]> => {
      const files = (await readdir(out).catch(() => [])).filter((n) => n.endsWith('.parquet'));
      if (files.length === 0) return [];
      for (const name of files) expect(name).toMatch(/^part-\d{10}\.parquet$/);
      const rows = await query(
        `SELECT page, epoch(window_start)::BIGINT AS s, views, longest FROM read_parquet('${out}/*.parquet')`,
      );
      return rows.map((r) => ({
        page: String(r['page']),
        start: Number(r['s']) - T0 / 1000,
        views: Number(r['views']),
        longest: Number(r['longest']),
      }));
    };
    // Appended per checkpoint: a window emitted again is there with both results.
    await scenario(streamSink.batch(sink.parquet, { path: out }), read, {
      first: FIRST,
      restarted: [...FIRST, ...SECOND],
      crashed: [...FIRST, ...SECOND, ...THIRD],
      replayed: [...FIRST, ...SECOND, ...THIRD],
    });
  });
});

describe.skipIf(mysqlMissing !== undefined)('batch sinks as stream sinks: MariaDB', () => {
  const database = `sluice_test_${randomHex(6)}`;
  const url = new URL(MYSQL_ADMIN_URL);
  url.pathname = `/${database}`;
  let db: mysql.Connection;

  beforeAll(async () => {
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    await admin.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
    await admin.end();
    db = await mysql.createConnection({ uri: url.toString(), timezone: 'Z' });
    await db.query("SET time_zone = '+00:00'");
  });
  afterAll(async () => {
    await db?.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await db?.end();
  });

  const reader = (table: string) => async (): Promise<PageWindow[]> => {
    const [exists] = await db.query<RowDataPacket[]>(
      'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [database, table],
    );
    if (exists.length === 0) return [];
    const [rows] = await db.query<RowDataPacket[]>(
      `SELECT page, UNIX_TIMESTAMP(window_start) AS s, views, longest FROM \`${table}\``,
    );
    return rows.map((r) => ({
      page: String(r['page']),
      start: Number(r['s']) - T0 / 1000,
      views: Number(r['views']),
      longest: Number(r['longest']),
    }));
  };

  it('merges each checkpoint by key: a replayed checkpoint leaves no duplicate', async () => {
    await scenario(
      streamSink.batch(
        sink.mysql,
        { url: url.toString(), table: 'page_views', mode: 'merge', keys: ['page', 'window_start'] },
        { schema: PAGE_VIEWS },
      ),
      reader('page_views'),
      {
        first: MERGED_FIRST,
        restarted: MERGED_SECOND,
        crashed: MERGED_THIRD,
        replayed: MERGED_THIRD,
      },
    );
    const [staging] = await db.query<RowDataPacket[]>(
      `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME LIKE '%sluice_stage%'`,
      [database],
    );
    expect(staging).toEqual([]);
  });

  it('appends at least once: a replayed checkpoint is written a second time', async () => {
    await scenario(
      streamSink.batch(sink.mysql, { url: url.toString(), table: 'page_views_log' }),
      reader('page_views_log'),
      {
        first: FIRST,
        restarted: [...FIRST, ...SECOND],
        crashed: [...FIRST, ...SECOND, ...THIRD],
        replayed: [...FIRST, ...SECOND, ...THIRD, ...THIRD],
      },
    );
  });
});

describe.skipIf(clickhouseMissing !== undefined)('batch sinks as stream sinks: ClickHouse', () => {
  let ch: ClickHouseTestDatabase;
  beforeAll(async () => {
    ch = await createClickHouseDatabase();
  });
  afterAll(async () => {
    await ch?.drop();
  });

  it('merges each checkpoint by key: a replayed checkpoint leaves no duplicate', async () => {
    const read = async (): Promise<PageWindow[]> => {
      if (!(await ch.tables()).includes('page_views')) return [];
      const rows = await ch.text(
        'SELECT page, toUnixTimestamp(window_start) AS s, views, longest FROM page_views',
      );
      return rows.map((r) => ({
        page: String(r['page']),
        start: Number(r['s']) - T0 / 1000,
        views: Number(r['views']),
        longest: Number(r['longest']),
      }));
    };
    await scenario(
      streamSink.batch(
        sink.clickhouse,
        { url: ch.url, table: 'page_views', mode: 'merge', keys: ['page', 'window_start'] },
        { schema: PAGE_VIEWS },
      ),
      read,
      {
        first: MERGED_FIRST,
        restarted: MERGED_SECOND,
        crashed: MERGED_THIRD,
        replayed: MERGED_THIRD,
      },
    );
    expect((await ch.tables()).filter((name) => name.includes('sluice_stage'))).toEqual([]);
  });
});
