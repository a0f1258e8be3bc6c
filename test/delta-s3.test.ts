import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Field } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import type { SnapshotOptions, TableLocation } from '../src/table/index.js';
import {
  CommitConflictError,
  deleteWhereDelta,
  deltaScanSQL,
  fetchDeltaFiles,
  loadDeltaSnapshot,
  mergeDelta,
  openTableStore,
  optimizeDelta,
  prepareDeltaWrite,
  readCommitHistory,
  skipFiles,
  vacuumDelta,
  writeDelta,
} from '../src/table/index.js';
import { sluice, tempDir } from './helpers.js';
import type { MotoServer } from './support/moto.js';
import { motoServerCommand, startMoto } from './support/moto.js';

const moto = motoServerCommand();

const FIELDS: Field[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'day', type: { kind: 'date' }, nullable: true },
  { name: 'label', type: { kind: 'string' }, nullable: true },
];

const rows = (from: number, to: number, label = 'row') =>
  `(SELECT CAST(range AS BIGINT) AS id, DATE '2026-01-01' + CAST(range % 3 AS INTEGER) AS day,
           '${label} ' || range AS label FROM range(${from}, ${to}))`;

describe.skipIf(moto === undefined)('Delta tables on S3 (moto_server)', () => {
  let server: MotoServer;
  let s3: S3Client;
  let session: DuckDBSession;
  let connection: EngineConnection;
  let cacheDir: string;
  let buckets = 0;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    server = await startMoto(moto as string);
    cacheDir = await mkdtemp(join(tmpdir(), 'sluice-s3-cache-'));
    const env = {
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      SLUICE_CACHE_DIR: cacheDir,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    for (const [name, value] of Object.entries(env)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    session = await DuckDBSession.create();
    connection = await session.connect();
  });

  afterAll(async () => {
    session?.close();
    s3?.destroy();
    await server?.stop();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    if (cacheDir !== undefined) await rm(cacheDir, { recursive: true, force: true });
  });

  /** A new bucket and the URL of a table under a prefix in it. */
  async function newTable(): Promise<{ url: string; bucket: string; prefix: string }> {
    const bucket = `sluice-test-${++buckets}-${Date.now().toString(36)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return { url: `s3://${bucket}/lake/orders`, bucket, prefix: 'lake/orders' };
  }

  /** The keys under a table prefix, relative to it. */
  async function keys(table: { bucket: string; prefix: string }): Promise<string[]> {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({
          Bucket: table.bucket,
          Prefix: `${table.prefix}/`,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      for (const object of page.Contents ?? [])
        found.push((object.Key ?? '').slice(table.prefix.length + 1));
      token = page.NextContinuationToken;
    } while (token !== undefined);
    return found.sort();
  }

  /** The data files under a table prefix (checkpoints are Parquet too, but not data). */
  async function dataFiles(table: { bucket: string; prefix: string }): Promise<string[]> {
    return (await keys(table)).filter(
      (k) => k.endsWith('.parquet') && !k.startsWith('_delta_log/'),
    );
  }

  async function read(
    table: TableLocation,
    options: SnapshotOptions = {},
  ): Promise<{ id: number; label: string }[]> {
    const snapshot = await loadDeltaSnapshot(connection, table, options);
    await fetchDeltaFiles(snapshot);
    const found = await connection.rows(
      `SELECT id, label FROM ${deltaScanSQL(snapshot)} ORDER BY id`,
    );
    return found.map((r) => ({ id: Number(r['id']), label: String(r['label']) }));
  }

  const ids = async (table: TableLocation, options: SnapshotOptions = {}): Promise<number[]> =>
    (await read(table, options)).map((r) => r.id);

  const range = (from: number, to: number): number[] =>
    Array.from({ length: to - from }, (_, i) => from + i);

  it('appends and reads back, at the latest version, a version and a timestamp', async () => {
    const table = await newTable();
    const first = await writeDelta(connection, table.url, rows(0, 5), FIELDS, { mode: 'append' });
    expect(first).toMatchObject({ version: 0, filesAdded: 1, rowsWritten: 5 });
    await sleep(20);
    const between = Date.now();
    await sleep(20);
    await writeDelta(connection, table.url, rows(5, 8), FIELDS, { mode: 'append' });

    expect(await ids(table.url)).toEqual(range(0, 8));
    expect(await ids(table.url, { version: 0 })).toEqual(range(0, 5));
    expect(await ids(table.url, { timestamp: between })).toEqual(range(0, 5));
    expect(await ids(table.url, { timestamp: new Date(between).toISOString() })).toEqual(
      range(0, 5),
    );

    const stored = await keys(table);
    expect(stored.filter((k) => k.startsWith('_delta_log/'))).toEqual([
      '_delta_log/00000000000000000000.json',
      '_delta_log/00000000000000000001.json',
    ]);
    expect(await dataFiles(table)).toHaveLength(2);
    // A reader with an empty cache downloads the files; one with the files cached reads them
    // even after they are gone from the store (data files never change once written).
    const fresh = await openTableStore(table.url, { cacheDir: await tempDir() });
    expect(await ids(fresh)).toEqual(range(0, 8));
    for (const key of await dataFiles(table))
      await s3.send(
        new DeleteObjectCommand({ Bucket: table.bucket, Key: `${table.prefix}/${key}` }),
      );
    expect(await ids(fresh)).toEqual(range(0, 8));
    await expect(
      ids(await openTableStore(table.url, { cacheDir: await tempDir() })),
    ).rejects.toMatchObject({
      code: 'TABLE_UNREADABLE',
      message: expect.stringMatching(/s3:\/\/.*\.parquet does not exist/),
    });
  });

  it('overwrites in one commit, keeping the old version readable', async () => {
    const table = await newTable();
    await writeDelta(connection, table.url, rows(0, 6), FIELDS, { mode: 'append' });
    const overwrite = await writeDelta(connection, table.url, rows(100, 102), FIELDS, {
      mode: 'overwrite',
    });
    expect(overwrite).toMatchObject({ version: 1, filesRemoved: 1, filesAdded: 1 });
    expect(await ids(table.url)).toEqual([100, 101]);
    expect(await ids(table.url, { version: 0 })).toEqual(range(0, 6));
    const history = await readCommitHistory(table.url);
    expect(history.map((h) => [h.version, h.operation])).toEqual([
      [1, 'WRITE'],
      [0, 'WRITE'],
    ]);
  });

  it('merges by key, rewriting only the files that hold matched keys', async () => {
    const table = await newTable();
    const fields: Field[] = [
      { name: 'id', type: { kind: 'int64' }, nullable: false },
      { name: 'status', type: { kind: 'string' }, nullable: true },
    ];
    for (let batch = 0; batch < 10; batch++) {
      await writeDelta(
        connection,
        table.url,
        `(SELECT CAST(range AS BIGINT) AS id, 'new' AS status FROM range(${batch * 100}, ${batch * 100 + 100}))`,
        fields,
        { mode: 'append' },
      );
    }
    const result = await mergeDelta(
      connection,
      table.url,
      `(SELECT * FROM (VALUES (5::BIGINT, 'paid'), (250::BIGINT, 'shipped'), (5000::BIGINT, 'new')) v(id, status))`,
      fields,
      { keys: ['id'] },
    );
    expect(result).toMatchObject({ filesRewritten: 2, filesInTable: 10, skipped: false });
    const snapshot = await loadDeltaSnapshot(connection, table.url);
    expect(snapshot.files).toHaveLength(9);
    await fetchDeltaFiles(snapshot);
    const statuses = await connection.rows(
      `SELECT id, status FROM ${deltaScanSQL(snapshot)} WHERE id IN (5, 6, 250, 5000) ORDER BY id`,
    );
    expect(statuses.map((r) => [Number(r['id']), r['status']])).toEqual([
      [5, 'paid'],
      [6, 'new'],
      [250, 'shipped'],
      [5000, 'new'],
    ]);
    // The rewritten files stay in the store (time travel) until a vacuum.
    expect(await dataFiles(table)).toHaveLength(11);
  });

  it('deletes rows matching a predicate by rewriting only their files', async () => {
    const table = await newTable();
    for (let i = 0; i < 4; i++)
      await writeDelta(connection, table.url, rows(i * 10, i * 10 + 10), FIELDS, {
        mode: 'append',
      });
    const result = await deleteWhereDelta(connection, table.url, 'id = 15 OR id = 16');
    expect(result).toMatchObject({ rowsRemoved: 2, filesRewritten: 1, version: 4 });
    const left = await ids(table.url);
    expect(left).toHaveLength(38);
    expect(left).not.toContain(15);
  });

  it('writes a partitioned table, and downloads only the files that survive data skipping', async () => {
    const table = await newTable();
    await writeDelta(connection, table.url, rows(0, 30), FIELDS, {
      mode: 'append',
      partitionBy: ['day'],
    });
    const parquet = await dataFiles(table);
    expect(parquet.map((k) => k.split('/')[0]).sort()).toEqual([
      'day=2026-01-01',
      'day=2026-01-02',
      'day=2026-01-03',
    ]);
    const cache = await tempDir();
    const store = await openTableStore(table.url, { cacheDir: cache });
    const snapshot = await loadDeltaSnapshot(connection, store);
    expect(snapshot.partitionColumns).toEqual(['day']);
    const where = "day = DATE '2026-01-02'";
    const pruned = await skipFiles(connection, snapshot, where);
    expect(pruned.files).toHaveLength(1);
    await fetchDeltaFiles(pruned);
    const cached = (await readdir(cache, { recursive: true })).filter((f) =>
      String(f).endsWith('.parquet'),
    );
    expect(cached).toHaveLength(1);
    expect(String(cached[0])).toContain('day=2026-01-02');
    const matched = await connection.rows(
      `SELECT id FROM ${deltaScanSQL(pruned)} WHERE ${where} ORDER BY id`,
    );
    expect(matched.map((r) => Number(r['id']))).toEqual(range(0, 30).filter((i) => i % 3 === 1));
    expect(() => deltaScanSQL(snapshot)).toThrow(/no local copy yet/);
  });

  it('writes a checkpoint every 10 commits, and a reader starts from it', async () => {
    const table = await newTable();
    for (let i = 0; i < 12; i++)
      await writeDelta(connection, table.url, rows(i, i + 1), FIELDS, {
        mode: 'append',
        transaction: { appId: 'loader', version: i },
      });
    const log = (await keys(table)).filter((k) => k.startsWith('_delta_log/'));
    expect(log).toContain('_delta_log/00000000000000000010.checkpoint.parquet');
    expect(log).toContain('_delta_log/_last_checkpoint');
    const last = await s3.send(
      new GetObjectCommand({
        Bucket: table.bucket,
        Key: `${table.prefix}/_delta_log/_last_checkpoint`,
      }),
    );
    expect(JSON.parse((await last.Body?.transformToString()) ?? '{}')).toMatchObject({
      version: 10,
    });
    for (let v = 0; v <= 10; v++)
      await s3.send(
        new DeleteObjectCommand({
          Bucket: table.bucket,
          Key: `${table.prefix}/_delta_log/${String(v).padStart(20, '0')}.json`,
        }),
      );
    const store = await openTableStore(table.url, { cacheDir: await tempDir() });
    const snapshot = await loadDeltaSnapshot(connection, store);
    expect(snapshot.version).toBe(11);
    expect(snapshot.appVersions.get('loader')).toBe(11);
    expect(await ids(store)).toEqual(range(0, 12));
  });

  it('optimizes small files and vacuums unused ones (dry run and real)', async () => {
    const table = await newTable();
    for (let i = 0; i < 4; i++)
      await writeDelta(connection, table.url, rows(i * 3, i * 3 + 3), FIELDS, {
        mode: 'append',
        partitionBy: ['day'],
      });
    const before = await read(table.url);
    const optimized = await optimizeDelta(connection, table.url);
    expect(optimized).toMatchObject({ filesCompacted: 12, partitionsCompacted: 3, filesAdded: 3 });
    expect(await read(table.url)).toEqual(before);

    const dry = await vacuumDelta(connection, table.url, {
      retentionHours: 0,
      force: true,
      dryRun: true,
    });
    expect(dry.files).toHaveLength(12);
    expect(await dataFiles(table)).toHaveLength(15);
    expect((await vacuumDelta(connection, table.url)).files).toHaveLength(0);
    const done = await vacuumDelta(connection, table.url, { retentionHours: 0, force: true });
    expect(done.files).toEqual(dry.files);
    expect(await dataFiles(table)).toHaveLength(3);
    expect(await read(await openTableStore(table.url, { cacheDir: await tempDir() }))).toEqual(
      before,
    );
  });

  it('two processes appending 20 commits each produce 40 versions with every row once', async () => {
    const table = await newTable();
    const script = resolve(import.meta.dirname, 'support', 'delta-appender.ts');
    const run = (writer: string) =>
      new Promise<number | null>((done) => {
        const child = spawn(
          process.execPath,
          ['--import', 'jiti/register', script, table.url, writer, '20'],
          { stdio: 'inherit' },
        );
        child.on('exit', (code) => done(code));
      });
    const fields: Field[] = [
      { name: 'writer', type: { kind: 'string' }, nullable: false },
      { name: 'n', type: { kind: 'int64' }, nullable: false },
    ];
    await writeDelta(connection, table.url, "(SELECT 'seed' AS writer, 0::BIGINT AS n)", fields, {
      mode: 'append',
    });
    expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
    const snapshot = await loadDeltaSnapshot(connection, table.url);
    expect(snapshot.version).toBe(40);
    await fetchDeltaFiles(snapshot);
    const counts = await connection.rows(
      `SELECT writer, count(*) AS n, count(DISTINCT n) AS d FROM ${deltaScanSQL(snapshot)} GROUP BY writer ORDER BY writer`,
    );
    expect(counts).toEqual([
      { writer: 'a', n: 20n, d: 20n },
      { writer: 'b', n: 20n, d: 20n },
      { writer: 'seed', n: 1n, d: 1n },
    ]);
    const commits = (await keys(table)).filter((k) => /^_delta_log\/\d{20}\.json$/.test(k));
    expect(commits).toEqual(
      range(0, 41).map((v) => `_delta_log/${String(v).padStart(20, '0')}.json`),
    );
  }, 240_000);

  it('creates a file only once, and an overwrite that lost the race names the winning commit', async () => {
    const table = await newTable();
    const store = await openTableStore(table.url);
    expect(await store.putIfAbsent('_delta_log/probe.json', 'first')).toBe(true);
    expect(await store.putIfAbsent('_delta_log/probe.json', 'second')).toBe(false);
    expect(await store.read('_delta_log/probe.json')).toBe('first');
    await store.delete('_delta_log/probe.json');

    await writeDelta(connection, table.url, rows(0, 3), FIELDS, { mode: 'append' });
    const first = await prepareDeltaWrite(connection, table.url, rows(10, 12), FIELDS, {
      mode: 'overwrite',
    });
    const second = await prepareDeltaWrite(connection, table.url, rows(20, 22), FIELDS, {
      mode: 'overwrite',
    });
    expect(await first.commit()).toMatchObject({ version: 1 });
    const conflict = await second.commit().catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(CommitConflictError);
    expect(conflict).toMatchObject({
      code: 'RETRYABLE',
      version: 1,
      path: `${table.url}/_delta_log/00000000000000000001.json`,
    });
    await second.discard();
    expect(await ids(table.url)).toEqual([10, 11]);
    expect(await dataFiles(table)).toHaveLength(2);
  });

  it('sluice table write, read, describe and history work on s3:// URLs', async () => {
    const table = await newTable();
    const dir = await tempDir();
    await writeFile(join(dir, 'orders.csv'), 'id,country,amount\n1,DE,10.5\n2,FR,3\n3,DE,7\n');
    const write = sluice([
      'table',
      'write',
      table.url,
      '--from',
      join(dir, 'orders.csv'),
      '--partition-by',
      'country',
    ]);
    expect(write.code, write.stderr).toBe(0);
    expect(write.stdout).toContain('Committed version 0: 3 rows in 2 file(s)');
    const merged = sluice([
      'table',
      'write',
      table.url,
      '--from',
      join(dir, 'orders.csv'),
      '--mode',
      'merge',
      '--key',
      'id',
    ]);
    expect(merged.code, merged.stderr).toBe(0);

    const readBack = sluice(['table', 'read', table.url, '--where', "country = 'DE'"]);
    expect(readBack.code, readBack.stderr).toBe(0);
    expect(
      readBack.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: number }).id)
        .sort(),
    ).toEqual([1, 3]);
    const old = sluice(['table', 'read', table.url, '--version', '0', '--format', 'csv']);
    expect(old.stdout.trim().split('\n')).toHaveLength(4);

    const described = sluice(['table', 'describe', table.url, '--json']);
    expect(described.code, described.stderr).toBe(0);
    expect(JSON.parse(described.stdout)).toMatchObject({
      path: table.url,
      version: 1,
      rows: 3,
      partitionColumns: ['country'],
    });
    const history = sluice(['table', 'history', table.url, '--json']);
    expect(
      (JSON.parse(history.stdout) as { version: number; operation: string }[]).map((h) => [
        h.version,
        h.operation,
      ]),
    ).toEqual([
      [1, 'MERGE'],
      [0, 'WRITE'],
    ]);
  });

  it('sink.delta commits to an s3:// table only when the run succeeds, and source.delta reads it', async () => {
    const table = await newTable();
    const dir = await tempDir();
    const { pipeline, ref, sink, source, sql, transform } = await import('../src/index.js');
    const { runIn, readNDJSON } = await import('./helpers.js');
    const load = pipeline('lake', {
      steps: {
        orders: sql`select range as id, 'c' || (range % 3) as customer from range(10)`,
        out: sink.delta({ input: ref('orders'), path: table.url, partitionBy: ['customer'] }),
      },
    });
    expect((await runIn(dir, load)).status).toBe('success');
    const merge = pipeline('lake', {
      steps: {
        orders: sql`select range as id, 'vip' as customer from range(8, 12)`,
        out: sink.delta({ input: ref('orders'), path: table.url, mode: 'merge', keys: ['id'] }),
      },
    });
    expect((await runIn(dir, merge)).status).toBe('success');
    const filesBefore = await dataFiles(table);
    const failing = pipeline('lake', {
      steps: {
        orders: sql`select range as id, 'late' as customer from range(3)`,
        out: sink.delta({ input: ref('orders'), path: table.url }),
        boom: transform({
          input: ref('orders'),
          map: () => {
            throw new Error('late failure');
          },
        }),
      },
    });
    expect((await runIn(dir, failing)).status).toBe('failed');
    // The failed run uploaded its files, then removed them: the store holds what it held.
    expect(await dataFiles(table)).toEqual(filesBefore);
    const copy = pipeline('copy', {
      steps: {
        orders: source.delta({ path: table.url, where: "customer = 'vip'" }),
        out: sink.ndjson({ input: ref('orders'), path: 'out/vip.ndjson' }),
      },
    });
    const report = await runIn(dir, copy);
    expect(report.status).toBe('success');
    expect(
      (await readNDJSON(join(dir, 'out/vip.ndjson')))
        .map((r) => Number(r['id']))
        .sort((a, b) => a - b),
    ).toEqual([8, 9, 10, 11]);
    expect((await loadDeltaSnapshot(connection, table.url)).version).toBe(1);
  });

  it('a missing bucket or an unreachable endpoint is a clear error, from the library and the CLI', async () => {
    const missing = `s3://no-such-bucket-${Date.now().toString(36)}/t`;
    await expect(loadDeltaSnapshot(connection, missing)).rejects.toMatchObject({
      code: 'TABLE_UNREADABLE',
      message: expect.stringMatching(
        /^Table s3:\/\/no-such-bucket-.*: the bucket "no-such-bucket-.*" does not exist/,
      ),
    });
    await expect(
      writeDelta(connection, missing, rows(0, 1), FIELDS, { mode: 'append' }),
    ).rejects.toThrow(/does not exist/);
    const cli = sluice(['table', 'read', missing]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(
      /error \[TABLE_UNREADABLE\]: Table s3:\/\/no-such-bucket-.*does not exist/,
    );
    expect(cli.stderr).toContain('hint: create it');
    expect(cli.stderr).not.toMatch(/^\s+at /m);

    const unreachable = await openTableStore('s3://any-bucket/t', {
      s3: { endpoint: 'http://127.0.0.1:1' },
    });
    await expect(loadDeltaSnapshot(connection, unreachable)).rejects.toThrow(
      /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/,
    );
  });
});
