import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { JSDuckDBValueConverter } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Field } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import { deltaScanSQL, loadDeltaSnapshot, writeDelta } from '../src/table/index.js';
import { tempDir } from './helpers.js';

let session: DuckDBSession;
let connection: EngineConnection;
beforeAll(async () => {
  session = await DuckDBSession.create();
  connection = await session.connect();
});
afterAll(() => session.close());

const FIELDS: Field[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'day', type: { kind: 'date' }, nullable: true },
  { name: 'amount', type: { kind: 'decimal', precision: 10, scale: 2 }, nullable: true },
  { name: 'label', type: { kind: 'string' }, nullable: true },
];

const rows = (from: number, to: number) =>
  `(SELECT CAST(range AS BIGINT) AS id, DATE '2026-01-01' + CAST(range % 3 AS INTEGER) AS day,
           CAST(range * 1.5 AS DECIMAL(10,2)) AS amount, 'row ' || range AS label FROM range(${from}, ${to}))`;

async function read(table: string, version?: number): Promise<Record<string, unknown>[]> {
  const snapshot = await loadDeltaSnapshot(
    connection,
    table,
    version === undefined ? {} : { version },
  );
  const reader = await connection.raw.runAndReadAll(
    `SELECT * FROM ${deltaScanSQL(snapshot)} ORDER BY ALL`,
  );
  return reader.convertRowObjects(JSDuckDBValueConverter);
}

describe('writeDelta', () => {
  it('creates a partitioned table, appends, overwrites, and keeps every version readable', async () => {
    const table = join(await tempDir(), 'orders');
    const first = await writeDelta(connection, table, rows(0, 6), FIELDS, {
      mode: 'append',
      partitionBy: ['day'],
    });
    expect(first).toMatchObject({ version: 0, skipped: false, filesAdded: 3, rowsWritten: 6 });
    await writeDelta(connection, table, rows(6, 9), FIELDS, { mode: 'append' });
    const overwrite = await writeDelta(connection, table, rows(100, 102), FIELDS, {
      mode: 'overwrite',
    });
    expect(overwrite).toMatchObject({ version: 2, filesRemoved: 6, filesAdded: 2 });

    expect((await read(table, 0)).map((r) => r['id'])).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    expect((await read(table, 1)).map((r) => r['id'])).toHaveLength(9);
    expect((await read(table)).map((r) => [r['id'], r['amount'], r['label']])).toEqual([
      [100n, 150, 'row 100'],
      [101n, 151.5, 'row 101'],
    ]);
    const snapshot = await loadDeltaSnapshot(connection, table);
    expect(snapshot.partitionColumns).toEqual(['day']);
    expect(snapshot.tombstones).toHaveLength(6);
    expect(snapshot.files.every((f) => f.path.startsWith('day='))).toBe(true);
  });

  it('writes log entries with the protocol field names and types, and stats other readers use', async () => {
    const table = join(await tempDir(), 't');
    await writeDelta(connection, table, rows(0, 4), FIELDS, {
      mode: 'append',
      partitionBy: ['day'],
      transaction: { appId: 'job', version: 7 },
    });
    const lines = (await readFile(join(table, '_delta_log', '00000000000000000000.json'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, Record<string, unknown>>);
    const protocol = lines.find((l) => l['protocol'])?.['protocol'];
    expect(protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const meta = lines.find((l) => l['metaData'])?.['metaData'] as Record<string, unknown>;
    expect(typeof meta['id']).toBe('string');
    expect(meta['format']).toEqual({ provider: 'parquet', options: {} });
    expect(meta['partitionColumns']).toEqual(['day']);
    expect(JSON.parse(meta['schemaString'] as string)).toEqual({
      type: 'struct',
      fields: [
        { name: 'id', type: 'long', nullable: false, metadata: {} },
        { name: 'day', type: 'date', nullable: true, metadata: {} },
        { name: 'amount', type: 'decimal(10,2)', nullable: true, metadata: {} },
        { name: 'label', type: 'string', nullable: true, metadata: {} },
      ],
    });
    expect(lines.find((l) => l['txn'])?.['txn']).toMatchObject({ appId: 'job', version: 7 });
    const adds = lines.filter((l) => l['add']).map((l) => l['add'] as Record<string, unknown>);
    for (const add of adds) {
      expect(Object.keys(add).sort()).toEqual([
        'dataChange',
        'modificationTime',
        'partitionValues',
        'path',
        'size',
        'stats',
      ]);
      expect(typeof add['size']).toBe('number');
      const stats = JSON.parse(add['stats'] as string) as {
        numRecords: number;
        minValues: Record<string, unknown>;
        nullCount: Record<string, number>;
      };
      expect(stats.numRecords).toBeGreaterThan(0);
      expect(typeof stats.minValues['id']).toBe('number');
      expect(stats.nullCount['label']).toBe(0);
    }
    // The data files hold no partition column, as Delta requires.
    const [add] = adds;
    const columns = (
      await connection.rows(
        `DESCRIBE SELECT * FROM read_parquet('${join(table, decodeURIComponent(String(add?.['path'])))}', hive_partitioning = false)`,
      )
    ).map((r) => r['column_name']);
    expect(columns).toEqual(['id', 'amount', 'label']);
  });

  it('skips a replayed write with the same transaction (idempotent runs)', async () => {
    const table = join(await tempDir(), 't');
    const txn = { appId: 'daily-load', version: 20260301 };
    expect(
      (
        await writeDelta(connection, table, rows(0, 3), FIELDS, {
          mode: 'append',
          transaction: txn,
        })
      ).skipped,
    ).toBe(false);
    expect(
      (
        await writeDelta(connection, table, rows(0, 3), FIELDS, {
          mode: 'append',
          transaction: txn,
        })
      ).skipped,
    ).toBe(true);
    expect(await read(table)).toHaveLength(3);
    expect(
      (
        await writeDelta(connection, table, rows(3, 4), FIELDS, {
          mode: 'append',
          transaction: { ...txn, version: txn.version + 1 },
        })
      ).skipped,
    ).toBe(false);
    expect(await read(table)).toHaveLength(4);
  });

  it('widens types the table holds without loss, and refuses data that does not match', async () => {
    const table = join(await tempDir(), 't');
    await writeDelta(connection, table, rows(0, 1), FIELDS, { mode: 'append' });
    await writeDelta(
      connection,
      table,
      '(SELECT 7::INTEGER AS id)',
      [{ name: 'id', type: { kind: 'int32' }, nullable: true }],
      { mode: 'append' },
    );
    expect((await read(table)).map((r) => r['id'])).toEqual([0n, 7n]);
    await expect(
      writeDelta(
        connection,
        table,
        "(SELECT 'x' AS id, 1.5::DOUBLE AS amount)",
        [
          { name: 'id', type: { kind: 'string' }, nullable: true },
          { name: 'amount', type: { kind: 'float64' }, nullable: true },
        ],
        { mode: 'append' },
      ),
    ).rejects.toThrow(
      /column "id" is string, the table has int64; column "amount" is float64, the table has decimal\(10,2\)/,
    );
  });
});

describe('concurrent writers', () => {
  it('two processes appending 100 commits each produce 200 versions with every row once', async () => {
    const table = join(await tempDir(), 'shared');
    const script = resolve(import.meta.dirname, 'support', 'delta-appender.ts');
    const run = (writer: string) =>
      new Promise<number | null>((done) => {
        const child = spawn(
          process.execPath,
          ['--import', 'jiti/register', script, table, writer, '100'],
          { stdio: 'inherit' },
        );
        child.on('exit', (code) => done(code));
      });
    // The first commit creates the table; racing creators would conflict by design.
    await writeDelta(
      connection,
      table,
      "(SELECT 'seed' AS writer, CAST(0 AS BIGINT) AS n)",
      [
        { name: 'writer', type: { kind: 'string' }, nullable: false },
        { name: 'n', type: { kind: 'int64' }, nullable: false },
      ],
      { mode: 'append' },
    );
    expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
    const snapshot = await loadDeltaSnapshot(connection, table);
    expect(snapshot.version).toBe(200);
    const counts = await connection.rows(
      `SELECT writer, count(*) AS n, count(DISTINCT n) AS d FROM ${deltaScanSQL(snapshot)} GROUP BY writer ORDER BY writer`,
    );
    expect(counts).toEqual([
      { writer: 'a', n: 100n, d: 100n },
      { writer: 'b', n: 100n, d: 100n },
      { writer: 'seed', n: 1n, d: 1n },
    ]);
    expect(
      (await readdir(join(table, '_delta_log'))).filter((f) => f.endsWith('.json')),
    ).toHaveLength(201);
  }, 240_000);
});

describe('sink.delta in a pipeline', () => {
  it('commits when the run succeeds, and leaves the table untouched when it fails', async () => {
    const dir = await tempDir();
    const { pipeline, ref, sink, sql, transform } = await import('../src/index.js');
    const { runIn } = await import('./helpers.js');
    const ok = pipeline('lake', {
      steps: {
        orders: sql`select range as id, 'c' || (range % 3) as customer from range(10)`,
        out: sink.delta({ input: ref('orders'), path: 'lake/orders', partitionBy: ['customer'] }),
      },
    });
    expect((await runIn(dir, ok)).status).toBe('success');
    expect((await runIn(dir, ok)).status).toBe('success');
    expect(await read(join(dir, 'lake/orders'))).toHaveLength(20);
    expect((await loadDeltaSnapshot(connection, join(dir, 'lake/orders'))).version).toBe(1);

    const failing = pipeline('lake', {
      steps: {
        orders: sql`select range as id, 'c' || (range % 3) as customer from range(10)`,
        out: sink.delta({ input: ref('orders'), path: 'lake/orders' }),
        boom: transform({
          input: ref('orders'),
          map: () => {
            throw new Error('late failure');
          },
        }),
      },
    });
    const report = await runIn(dir, failing);
    expect(report.status).toBe('failed');
    const snapshot = await loadDeltaSnapshot(connection, join(dir, 'lake/orders'));
    expect(snapshot.version).toBe(1);
    // The failed run's data files were removed: only committed files remain on disk.
    const onDisk = (await readdir(join(dir, 'lake/orders'), { recursive: true })).filter((f) =>
      String(f).endsWith('.parquet'),
    );
    expect(onDisk.sort()).toEqual(snapshot.files.map((f) => f.path).sort());
  });

  it('replaces one partition of a day per run with replaceWhere', async () => {
    const dir = await tempDir();
    const { param, pipeline, ref, sink, sql } = await import('../src/index.js');
    const { runIn } = await import('./helpers.js');
    const daily = (day: number) =>
      pipeline('daily', {
        params: { day: '1' },
        steps: {
          events: sql`select ${param('day')}::INTEGER as day, range as id from range(3)`,
          out: sink.delta({
            input: ref('events'),
            path: 'lake/events',
            mode: 'overwrite',
            partitionBy: ['day'],
            replaceWhere: `day = ${day}`,
          }),
        },
      });
    for (const day of [1, 2, 1])
      expect((await runIn(dir, daily(day), { params: { day: String(day) } })).status).toBe(
        'success',
      );
    const rows = await read(join(dir, 'lake/events'));
    expect(rows).toHaveLength(6);
    expect((await loadDeltaSnapshot(connection, join(dir, 'lake/events'))).version).toBe(2);
    const outside = await runIn(dir, daily(3), { params: { day: '4' } });
    expect(outside.status).toBe('failed');
    expect(JSON.stringify(outside)).toContain('do not match the predicate day = 3');
    expect(await read(join(dir, 'lake/events'))).toEqual(rows);
  });
});

describe('mergeDelta', () => {
  it('updates matched keys, inserts new ones, and rewrites only the files holding matched keys', async () => {
    const { mergeDelta } = await import('../src/table/index.js');
    const table = join(await tempDir(), 'orders');
    const fields: Field[] = [
      { name: 'id', type: { kind: 'int64' }, nullable: false },
      { name: 'status', type: { kind: 'string' }, nullable: true },
    ];
    // Ten appends of 100 ids each: ten files with disjoint id ranges.
    for (let batch = 0; batch < 10; batch++) {
      await writeDelta(
        connection,
        table,
        `(SELECT CAST(range AS BIGINT) AS id, 'new' AS status FROM range(${batch * 100}, ${batch * 100 + 100}))`,
        fields,
        { mode: 'append' },
      );
    }
    const result = await mergeDelta(
      connection,
      table,
      `(SELECT * FROM (VALUES (5::BIGINT, 'paid'), (7::BIGINT, 'paid'), (250::BIGINT, 'shipped'), (5000::BIGINT, 'new')) v(id, status))`,
      fields,
      { keys: ['id'] },
    );
    expect(result).toMatchObject({ filesRewritten: 2, filesInTable: 10, skipped: false });
    const rows = await read(table);
    expect(rows).toHaveLength(1001);
    const byId = new Map(rows.map((r) => [Number(r['id']), r['status']]));
    expect([byId.get(5), byId.get(7), byId.get(250), byId.get(5000), byId.get(6)]).toEqual([
      'paid',
      'paid',
      'shipped',
      'new',
      'new',
    ]);
    const snapshot = await loadDeltaSnapshot(connection, table);
    expect(snapshot.files).toHaveLength(10 - 2 + 1);

    const deleted = await mergeDelta(
      connection,
      table,
      '(SELECT 5::BIGINT AS id, NULL::VARCHAR AS status)',
      fields,
      { keys: ['id'], whenMatched: 'delete', whenNotMatched: 'ignore' },
    );
    expect(deleted.filesRewritten).toBe(1);
    expect((await read(table)).map((r) => Number(r['id']))).not.toContain(5);

    await expect(
      mergeDelta(
        connection,
        table,
        '(SELECT 1::BIGINT AS id, NULL::VARCHAR AS status UNION ALL SELECT 1, NULL)',
        fields,
        { keys: ['id'] },
      ),
    ).rejects.toThrow(/more than once/);
  });
});

describe('checkpoints', () => {
  it('are written every 10 commits in the checkpoint schema, and a reader can start from them', async () => {
    const { rm: remove } = await import('node:fs/promises');
    const table = join(await tempDir(), 't');
    for (let i = 0; i < 23; i++) {
      await writeDelta(connection, table, rows(i, i + 1), FIELDS, {
        mode: i === 12 ? 'overwrite' : 'append',
        partitionBy: ['day'],
        transaction: { appId: 'loader', version: i },
      });
    }
    const log = await readdir(join(table, '_delta_log'));
    expect(log.filter((f) => f.endsWith('.checkpoint.parquet')).sort()).toEqual([
      '00000000000000000010.checkpoint.parquet',
      '00000000000000000020.checkpoint.parquet',
    ]);
    expect(
      JSON.parse(await readFile(join(table, '_delta_log', '_last_checkpoint'), 'utf8')),
    ).toMatchObject({ version: 20 });
    const columns = await connection.rows(
      `DESCRIBE SELECT * FROM read_parquet('${join(table, '_delta_log', '00000000000000000020.checkpoint.parquet')}')`,
    );
    expect(columns.map((c) => c['column_name'])).toEqual([
      'txn',
      'add',
      'remove',
      'metaData',
      'protocol',
    ]);
    const replayed = await loadDeltaSnapshot(connection, table);
    // Without the JSON commits up to the checkpoint, the state comes from the checkpoint alone.
    for (let v = 0; v <= 20; v++)
      await remove(join(table, '_delta_log', `${String(v).padStart(20, '0')}.json`));
    const fromCheckpoint = await loadDeltaSnapshot(connection, table);
    expect(fromCheckpoint.version).toBe(22);
    expect(fromCheckpoint.files.map((f) => f.path)).toEqual(replayed.files.map((f) => f.path));
    expect(fromCheckpoint.appVersions.get('loader')).toBe(22);
    expect(fromCheckpoint.fields).toEqual(replayed.fields);
    expect((await read(table)).map((r) => Number(r['id']))).toEqual([
      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    ]);
  });
});

describe('maintenance', () => {
  it('optimize bin-packs small files per partition without changing rows; vacuum removes unused files', async () => {
    const { optimizeDelta, vacuumDelta } = await import('../src/table/index.js');
    const table = join(await tempDir(), 't');
    for (let i = 0; i < 6; i++)
      await writeDelta(connection, table, rows(i * 3, i * 3 + 3), FIELDS, {
        mode: 'append',
        partitionBy: ['day'],
      });
    const before = await read(table);
    expect((await loadDeltaSnapshot(connection, table)).files).toHaveLength(18);
    const optimized = await optimizeDelta(connection, table);
    expect(optimized).toMatchObject({ filesCompacted: 18, partitionsCompacted: 3 });
    const snapshot = await loadDeltaSnapshot(connection, table);
    expect(snapshot.files).toHaveLength(3);
    expect(await read(table)).toEqual(before);
    const commit = (
      await readFile(
        join(table, '_delta_log', `${String(snapshot.version).padStart(20, '0')}.json`),
        'utf8',
      )
    )
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, { dataChange?: boolean }>);
    expect(
      commit
        .filter((a) => a['add'] !== undefined || a['remove'] !== undefined)
        .every((a) => (a['add'] ?? a['remove'])?.dataChange === false),
    ).toBe(true);

    await expect(vacuumDelta(connection, table, { retentionHours: 0 })).rejects.toThrow(
      /below the safe minimum of 168/,
    );
    const dry = await vacuumDelta(connection, table, {
      retentionHours: 0,
      force: true,
      dryRun: true,
    });
    expect(dry.files).toHaveLength(18);
    expect((await vacuumDelta(connection, table)).files).toHaveLength(0);
    const done = await vacuumDelta(connection, table, { retentionHours: 0, force: true });
    expect(done.files).toHaveLength(18);
    expect(await read(table)).toEqual(before);
    const onDisk = (await readdir(table, { recursive: true })).filter(
      (f) => String(f).endsWith('.parquet') && !String(f).startsWith('_delta_log'),
    );
    expect(onDisk).toHaveLength(3);
  });
});

describe('delete and replace where', () => {
  it('deletes matching rows by rewriting only the files that hold them; NULL predicates keep rows', async () => {
    const { deleteWhereDelta } = await import('../src/table/index.js');
    const table = join(await tempDir(), 't');
    for (let i = 0; i < 4; i++)
      await writeDelta(connection, table, rows(i * 10, i * 10 + 10), FIELDS, { mode: 'append' });
    await writeDelta(
      connection,
      table,
      `(SELECT 100::BIGINT AS id, NULL::DATE AS day, NULL::DECIMAL(10,2) AS amount, 'none' AS label)`,
      FIELDS,
      { mode: 'append' },
    );
    const deleted = await deleteWhereDelta(
      connection,
      table,
      'id BETWEEN 12 AND 14 OR amount > 1000',
    );
    expect(deleted).toMatchObject({ rowsRemoved: 3, filesRewritten: 1, filesRemoved: 1 });
    const ids = (await read(table)).map((r) => Number(r['id']));
    expect(ids).toHaveLength(38);
    expect(ids).not.toContain(13);
    expect(ids).toContain(100);
    expect((await read(table, deleted.version - 1)).map((r) => Number(r['id']))).toContain(13);
    expect(await deleteWhereDelta(connection, table, 'id < 0')).toMatchObject({ skipped: true });
    await expect(deleteWhereDelta(connection, table, 'no_such_column = 1')).rejects.toThrow(
      /the predicate no_such_column = 1 cannot be evaluated/,
    );
  });

  it('replaces the rows matching a predicate, refusing new rows outside it', async () => {
    const { replaceWhereDelta } = await import('../src/table/index.js');
    const table = join(await tempDir(), 't');
    await writeDelta(connection, table, rows(0, 9), FIELDS, {
      mode: 'append',
      partitionBy: ['day'],
    });
    const day = "day = DATE '2026-01-02'";
    const replacement = `(SELECT 500::BIGINT AS id, DATE '2026-01-02' AS day, 1::DECIMAL(10,2) AS amount, 'new' AS label)`;
    const result = await replaceWhereDelta(connection, table, replacement, FIELDS, day);
    expect(result).toMatchObject({ rowsRemoved: 3, filesRewritten: 1, rowsWritten: 1 });
    const after = await read(table);
    expect(after.filter((r) => r['label'] === 'new').map((r) => r['id'])).toEqual([500n]);
    expect(after.map((r) => Number(r['id'])).sort((a, b) => a - b)).toEqual([
      0, 2, 3, 5, 6, 8, 500,
    ]);
    await expect(replaceWhereDelta(connection, table, rows(0, 3), FIELDS, day)).rejects.toThrow(
      /2 row\(s\) written do not match the predicate/,
    );
    expect((await loadDeltaSnapshot(connection, table)).version).toBe(result.version);
  });
});

describe('source.delta', () => {
  it('reads a table at its latest version, an older version, and with a predicate', async () => {
    const dir = await tempDir();
    const table = join(dir, 'lake/orders');
    await writeDelta(connection, table, rows(0, 6), FIELDS, {
      mode: 'append',
      partitionBy: ['day'],
    });
    await writeDelta(connection, table, rows(6, 9), FIELDS, { mode: 'append' });
    const { pipeline, ref, sink, source } = await import('../src/index.js');
    const { runIn, readNDJSON } = await import('./helpers.js');
    const copy = (config: Parameters<typeof source.delta>[0]) =>
      pipeline('reader', {
        steps: {
          orders: source.delta(config),
          out: sink.ndjson({ input: ref('orders'), path: 'out/orders.ndjson' }),
        },
      });
    const latest = await runIn(dir, copy({ path: 'lake/orders' }));
    expect(latest.status).toBe('success');
    expect(await readNDJSON(join(dir, 'out/orders.ndjson'))).toHaveLength(9);
    await runIn(dir, copy({ path: 'lake/orders', version: 0, columns: ['id', 'label'] }));
    const old = await readNDJSON(join(dir, 'out/orders.ndjson'));
    expect(old).toHaveLength(6);
    expect(Object.keys(old[0] ?? {})).toEqual(['id', 'label']);
    await runIn(dir, copy({ path: 'lake/orders', where: "day = DATE '2026-01-02' AND id > 3" }));
    const filtered = await readNDJSON(join(dir, 'out/orders.ndjson'));
    expect(filtered.map((r) => Number(r['id'])).sort((a, b) => a - b)).toEqual([4, 7]);

    const missing = await runIn(dir, copy({ path: 'lake/orders', columns: ['nope'] }));
    expect(missing.status).toBe('failed');
    expect(JSON.stringify(missing)).toContain('column(s) nope are not in the table');
  });
});

describe('concurrent rewrites', () => {
  it('a rewrite commits after a concurrent blind append, and fails when its files were removed', async () => {
    const { CommitConflictError, prepareDeltaWrite, deleteWhereDelta } =
      await import('../src/table/index.js');
    const table = join(await tempDir(), 't');
    await writeDelta(connection, table, rows(0, 3), FIELDS, { mode: 'append' });
    const snapshot = await loadDeltaSnapshot(connection, table);
    const rewrite = () =>
      prepareDeltaWrite(connection, table, `(SELECT * FROM ${deltaScanSQL(snapshot)})`, FIELDS, {
        mode: 'append',
        operation: 'OPTIMIZE',
        dataChange: false,
        replaceFiles: snapshot.files,
      });
    const first = await rewrite();
    await writeDelta(connection, table, rows(10, 12), FIELDS, { mode: 'append' });
    expect(await first.commit()).toMatchObject({ version: 2, filesRemoved: 1 });
    expect((await read(table)).map((r) => Number(r['id']))).toEqual([0, 1, 2, 10, 11]);

    const second = await rewrite();
    await deleteWhereDelta(connection, table, 'id = 10');
    await expect(second.commit()).rejects.toBeInstanceOf(CommitConflictError);
    expect((await read(table)).map((r) => Number(r['id']))).toEqual([0, 1, 2, 11]);
  });
});

describe('schema evolution', () => {
  it('adds columns with mergeSchema (older rows read NULL), and refuses them without it', async () => {
    const table = join(await tempDir(), 't');
    await writeDelta(connection, table, rows(0, 4), FIELDS, {
      mode: 'append',
      partitionBy: ['day'],
    });
    const withNote = `(SELECT 10::BIGINT AS id, DATE '2026-01-09' AS day, 'late' AS note)`;
    const noteFields: Field[] = [
      { name: 'id', type: { kind: 'int64' }, nullable: false },
      { name: 'day', type: { kind: 'date' }, nullable: true },
      { name: 'note', type: { kind: 'string' }, nullable: true },
    ];
    await expect(
      writeDelta(connection, table, withNote, noteFields, { mode: 'append' }),
    ).rejects.toMatchObject({
      code: 'TABLE_WRITE_REFUSED',
      message: expect.stringMatching(/column "note" is not in the table/),
    });
    const evolved = await writeDelta(connection, table, withNote, noteFields, {
      mode: 'append',
      mergeSchema: true,
    });
    const snapshot = await loadDeltaSnapshot(connection, table);
    expect(snapshot.fields.map((f) => f.name)).toEqual(['id', 'day', 'amount', 'label', 'note']);
    expect(snapshot.partitionColumns).toEqual(['day']);
    const after = await read(table);
    expect(after.map((r) => [Number(r['id']), r['note'] ?? null, r['label'] ?? null])).toEqual([
      [0, null, 'row 0'],
      [1, null, 'row 1'],
      [2, null, 'row 2'],
      [3, null, 'row 3'],
      [10, 'late', null],
    ]);
    expect((await read(table, evolved.version - 1)).map((r) => Object.keys(r))[0]).not.toContain(
      'note',
    );
    const { mergeDelta } = await import('../src/table/index.js');
    await expect(
      mergeDelta(
        connection,
        table,
        `(SELECT 1::BIGINT AS id, 'x' AS surprise)`,
        [
          { name: 'id', type: { kind: 'int64' }, nullable: false },
          { name: 'surprise', type: { kind: 'string' }, nullable: true },
        ],
        { keys: ['id'] },
      ),
    ).rejects.toThrow(/column "surprise" is not in the table/);
  });
});
