import { existsSync, readdirSync } from 'node:fs';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { JSDuckDBValueConverter } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { SluiceError } from '../src/core/errors.js';
import { SchemaMismatchError, SourceError } from '../src/core/errors.js';
import { silentLogger } from '../src/core/logger.js';
import { SharedResources } from '../src/engine/shared-resources.js';
import { avroSinkConfig, avroSourceConfig } from '../src/connectors/avro/avro-configs.js';
import type { AvroSinkConfig, AvroSourceConfig } from '../src/connectors/avro/avro-configs.js';
import { openContainer } from '../src/connectors/avro/container-reader.js';
import { ContainerWriter } from '../src/connectors/avro/container-writer.js';
import { createAvroType } from '../src/connectors/avro/avro-type.js';
import { avroSink, avroSource } from '../src/connectors/avro/index.js';
import type { SourceReadContext } from '../src/contracts/batch-connector.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { QuarantineEntry } from '../src/contracts/quarantine-store.js';
import { originalBytes, QuarantineStore } from '../src/contracts/quarantine-store.js';
import { defaultRegistry, pipeline, ref, schema, sink, source, sql, t } from '../src/index.js';
import { readNDJSON, ROOT, runIn, stepOf, tempDir } from './helpers.js';

const FIXTURES = resolve(ROOT, '..', 'shared', 'fixtures', 'avro');
const hasFixtures = existsSync(FIXTURES);
if (!hasFixtures && process.env['CI'] === 'true')
  throw new Error(
    `fixture folder ${FIXTURES} is missing (CI must have ../shared beside the clone)`,
  );
if (!hasFixtures) console.warn(`skipping Avro fixture tests: ${FIXTURES} is absent`);

const registry = defaultRegistry.with(avroSource, avroSink);

const sessions: DuckDBSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
});

/** Runs the avro source directly; returns its result, rows (all values as JS) and quarantine. */
async function read(
  config: AvroSourceConfig,
  options: { baseDir?: string; signal?: AbortSignal } = {},
) {
  const dir = await tempDir();
  const session = await DuckDBSession.create();
  sessions.push(session);
  const connection = await session.connect('avro_in');
  const quarantine = new QuarantineStore(join(dir, 'quarantine'), 'run_test');
  const context: SourceReadContext = {
    stepId: 'avro_in',
    runId: 'run_test',
    baseDir: options.baseDir ?? dir,
    stateDir: dir,
    connection,
    extractedAt: new Date('2026-01-01T00:00:00Z'),
    quarantine,
    logger: silentLogger,
    signal: options.signal ?? new AbortController().signal,
  };
  const result = await avroSource.read(avroSourceConfig.parse(config), context);
  const reader = await connection.raw.runAndReadAll('SELECT * FROM "avro_in"');
  const rows = reader.convertRowObjects(JSDuckDBValueConverter);
  const text = await connection.rows('SELECT COLUMNS(*)::VARCHAR FROM "avro_in"');
  const quarantined =
    quarantine.count('avro_in') === 0 ? [] : await readNDJSON(quarantine.pathFor('avro_in'));
  return { result, rows, text, quarantined };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
}

/** Plain JSON of engine values: bigints as numbers. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)),
  );
}

async function expected(
  name: string,
): Promise<{ records: Record<string, unknown>[]; num_records: number }> {
  return JSON.parse(await readFile(join(FIXTURES, 'expected', name), 'utf8')) as {
    records: Record<string, unknown>[];
    num_records: number;
  };
}

describe.skipIf(!hasFixtures)('avro source: the Avro project files', () => {
  const weather = [
    'weather.avro',
    'weather-deflate.avro',
    'weather-snappy.avro',
    'weather-zstd.avro',
    'weather-sorted.avro',
  ];

  it.each(weather)('%s reads to its expected records, in order', async (file) => {
    const { result, rows } = await read({ path: join(FIXTURES, 'data', file) });
    const want = await expected(`${file}.json`);
    expect(result).toMatchObject({ rowsRead: 5, rowsQuarantined: 0 });
    expect(result.fields).toEqual([
      { name: 'station', type: { kind: 'string' }, nullable: false },
      { name: 'time', type: { kind: 'int64' }, nullable: false },
      { name: 'temp', type: { kind: 'int32' }, nullable: false },
    ]);
    expect(plain(rows)).toEqual(want.records);
  });

  it('the unsorted weather files hold the records of weather.json', async () => {
    const lines = await readNDJSON(join(FIXTURES, 'data', 'weather.json'));
    for (const file of [
      'weather.avro',
      'weather-deflate.avro',
      'weather-snappy.avro',
      'weather-zstd.avro',
    ]) {
      const { rows } = await read({ path: join(FIXTURES, 'data', file) });
      expect(plain(rows)).toEqual(lines);
    }
    const sorted = await read({ path: join(FIXTURES, 'data', 'weather-sorted.avro') });
    expect(sorted.rows.map((r) => Number(r['time']))).toEqual([
      -655531200000, -655509600000, -619524000000, -619506000000, -619484400000,
    ]);
  });

  it('syncInMeta.avro: uses the sync marker after the metadata, all 6001 records', async () => {
    const { result, rows } = await read({ path: join(FIXTURES, 'data', 'syncInMeta.avro') });
    const want = await expected('syncInMeta.avro.json');
    expect(want.num_records).toBe(6001);
    expect(result.rowsRead).toBe(6001);
    expect(rows[0]).toEqual({ ID: 1n, First: 'Dante', Last: 'Hicks', Phone: '(0)', Age: 32 });
    expect(plain(rows)).toEqual(want.records);
  });

  it('schemas/simple/data.avro', async () => {
    const { rows } = await read({ path: join(FIXTURES, 'data', 'schemas', 'simple', 'data.avro') });
    const want = await expected('simple_data.avro.json');
    expect(plain(rows)).toEqual(want.records);
    expect(want.records.map((r) => Object.values(r)[0])).toEqual(['hello', 'bonjour', 'guten tag']);
  });

  it('schemas/withUnion/data.avro: general unions as JSON, a union with null as nullable', async () => {
    const { result, rows, quarantined } = await read({
      path: join(FIXTURES, 'data', 'schemas', 'withUnion', 'data.avro'),
    });
    expect(quarantined).toEqual([]);
    expect(result.fields).toEqual([
      { name: 'data1', type: { kind: 'json' }, nullable: false },
      {
        name: 'data2',
        type: { kind: 'struct', fields: [{ name: 'd1', type: { kind: 'json' }, nullable: true }] },
        nullable: true,
      },
    ]);
    const decoded = rows.map((r) => ({
      data1: JSON.parse(r['data1'] as string) as unknown,
      data2:
        r['data2'] === null
          ? null
          : { d1: JSON.parse((r['data2'] as { d1: string }).d1) as unknown },
    }));
    expect(decoded).toEqual((await expected('withUnion_data.avro.json')).records);
  });

  it('reads several files by glob, with the file each row came from', async () => {
    const { result, rows } = await read({
      path: join(FIXTURES, 'data', 'weather-*.avro'),
      metadata: ['_source_file'],
    });
    expect(result.inputs.map((f) => f.split('/').pop())).toEqual([
      'weather-deflate.avro',
      'weather-snappy.avro',
      'weather-sorted.avro',
      'weather-zstd.avro',
    ]);
    expect(result.rowsRead).toBe(20);
    expect(new Set(rows.map((r) => String(r['_source_file']).split('/').pop())).size).toBe(4);
  });

  it.each(['null', 'deflate', 'snappy'] as const)(
    'writes weather.json with weather.avsc under codec %s and reads it back',
    async (codec) => {
      const dir = await tempDir();
      const weatherSchema = JSON.parse(
        await readFile(join(FIXTURES, 'schemas', 'weather.avsc'), 'utf8'),
      ) as object;
      const lines = await readNDJSON(join(FIXTURES, 'data', 'weather.json'));
      const path = join(dir, 'w.avro');
      const writer = await ContainerWriter.create(path, weatherSchema as never, {
        codec,
        blockSize: 1024,
      });
      for (const line of lines) writer.append({ ...line, time: BigInt(line['time'] as number) });
      await writer.close();
      const file = await openContainer(path);
      expect(file.header.codec).toBe(codec);
      expect(JSON.parse(String(file.header.metadata.get('avro.schema')))).toEqual(weatherSchema);
      expect(file.header.sync).toHaveLength(16);
      const bytes = await readFile(path);
      expect(bytes.subarray(bytes.length - 16)).toEqual(file.header.sync);
      const records: unknown[] = [];
      for await (const batch of file.batches) records.push(...batch);
      expect(plain(records)).toEqual(lines);
    },
  );

  it('fingerprint changes when a file changes', async () => {
    const dir = await tempDir();
    await copyFile(join(FIXTURES, 'data', 'weather.avro'), join(dir, 'w.avro'));
    const before = await avroSource.fingerprint?.({ path: 'w.avro' } as never, { baseDir: dir });
    await copyFile(join(FIXTURES, 'data', 'weather-deflate.avro'), join(dir, 'w.avro'));
    const after = await avroSource.fingerprint?.({ path: 'w.avro' } as never, { baseDir: dir });
    expect(before).toMatch(/w\.avro:358:/);
    expect(after).not.toBe(before);
  });
});

describe.skipIf(!hasFixtures)('avro source: interop.avsc (every Avro type)', () => {
  it('writes an interop record and reads it back with recursion and unions as JSON', async () => {
    const dir = await tempDir();
    const interop = JSON.parse(
      await readFile(join(FIXTURES, 'schemas', 'interop.avsc'), 'utf8'),
    ) as object;
    await writeAvro(join(dir, 'interop.avro'), interop, [
      {
        intField: 12,
        longField: 2n ** 62n,
        stringField: 'Zoë',
        boolField: true,
        floatField: 1.5,
        doubleField: -2.25,
        bytesField: Buffer.from([1, 2, 3]),
        nullField: null,
        arrayField: [1, 2.5],
        mapField: { a: { label: 'foo' } },
        unionField: { double: 3.5 },
        enumField: 'C',
        fixedField: Buffer.alloc(16, 7),
        recordField: {
          label: 'root',
          children: [{ label: 'leaf', children: [] }],
        },
      },
    ]);
    const { result, rows } = await read({ path: 'interop.avro' }, { baseDir: dir });
    const types = Object.fromEntries(result.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      longField: { kind: 'int64' },
      nullField: { kind: 'json' },
      mapField: {
        kind: 'map',
        value: { kind: 'struct', fields: [{ name: 'label', type: { kind: 'string' } }] },
      },
      unionField: { kind: 'json' },
      enumField: { kind: 'string' },
      fixedField: { kind: 'binary' },
      recordField: {
        kind: 'struct',
        fields: [
          { name: 'label', type: { kind: 'string' } },
          { name: 'children', type: { kind: 'list', element: { kind: 'json' } } },
        ],
      },
    });
    const [row] = rows;
    expect(row).toMatchObject({
      intField: 12,
      longField: 2n ** 62n,
      stringField: 'Zoë',
      nullField: null,
      arrayField: [1, 2.5],
      unionField: '3.5',
      enumField: 'C',
    });
    expect(Buffer.from(row?.['fixedField'] as Uint8Array)).toEqual(Buffer.alloc(16, 7));
    const record = row?.['recordField'] as { label: string; children: string[] };
    expect(record.label).toBe('root');
    expect(JSON.parse(record.children[0] as string)).toEqual({ label: 'leaf', children: [] });
  });
});

describe.skipIf(!hasFixtures)('avro source: broken input', () => {
  it('a truncated file fails with a SourceError naming the file', async () => {
    const dir = await tempDir();
    const bytes = await readFile(join(FIXTURES, 'data', 'weather.avro'));
    await writeFile(join(dir, 'cut.avro'), bytes.subarray(0, bytes.length - 20));
    const error = await failure(read({ path: 'cut.avro' }, { baseDir: dir }));
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toContain(join(dir, 'cut.avro'));
    expect((error as SourceError).message).toMatch(/truncated inside block 1/);
    expect((error as SourceError).hint).toMatch(/corrupt, truncated/);
  });

  it('a file that is not Avro, a corrupt snappy block and a broken sync marker fail clearly', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'text.avro'), 'station,time\n');
    expect(String(await failure(read({ path: 'text.avro' }, { baseDir: dir })))).toMatch(
      /text\.avro: not an Avro object container file \(bad magic bytes\)/,
    );
    const snappy = Buffer.from(await readFile(join(FIXTURES, 'data', 'weather-snappy.avro')));
    snappy[snappy.length - 17] = (snappy[snappy.length - 17] as number) ^ 0xff;
    await writeFile(join(dir, 'crc.avro'), snappy);
    expect(String(await failure(read({ path: 'crc.avro' }, { baseDir: dir })))).toMatch(
      /crc\.avro: cannot decompress block 1 \(snappy\).*checksum mismatch/,
    );
    const plainFile = Buffer.from(await readFile(join(FIXTURES, 'data', 'weather.avro')));
    plainFile[plainFile.length - 1] = (plainFile[plainFile.length - 1] as number) ^ 0xff;
    await writeFile(join(dir, 'sync.avro'), plainFile);
    expect(String(await failure(read({ path: 'sync.avro' }, { baseDir: dir })))).toMatch(
      /sync\.avro: block 1 does not end with the file's sync marker/,
    );
  });

  it('a missing file says so', async () => {
    const error = await failure(read({ path: 'nope.avro' }));
    expect(String(error)).toMatch(/file not found: .*nope\.avro/);
  });

  it('stops when the run is cancelled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    const error = await failure(
      read({ path: join(FIXTURES, 'data', 'syncInMeta.avro') }, { signal: controller.signal }),
    );
    expect(error).not.toBeInstanceOf(SourceError);
    expect(String(error)).toMatch(/run cancelled/);
  });
});

/** Writes an Avro file with the given schema and records (values as avsc takes them). */
async function writeAvro(path: string, avroSchema: object, records: unknown[]): Promise<void> {
  const writer = await ContainerWriter.create(path, avroSchema as never, {
    codec: 'deflate',
    blockSize: 1024,
  });
  for (const record of records) {
    writer.append(record);
    if (writer.blockFull) await writer.flush();
  }
  await writer.close();
}

describe('avro source: declared schema and quarantine', () => {
  const people = {
    type: 'record',
    name: 'Person',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'name', type: ['null', 'string'] },
      { name: 'score', type: 'int' },
      { name: 'born', type: ['null', { type: 'int', logicalType: 'date' }] },
    ],
  };
  const records = [
    { id: 1n, name: { string: 'ann' }, score: 10, born: { int: 0 } },
    { id: 2n, name: null, score: 20, born: null },
    { id: 3n, name: { string: 'cy' }, score: 70000, born: { int: -1 } },
  ];

  it('quarantines records that do not fit, with the file and reason', async () => {
    const dir = await tempDir();
    await writeAvro(join(dir, 'p.avro'), people, records);
    const declared = schema({
      id: t.int64().notNull(),
      name: t.string().notNull(),
      score: t.int16(),
      born: t.date(),
    });
    const { result, rows, quarantined } = await read(
      { path: 'p.avro', schema: declared },
      { baseDir: dir },
    );
    expect(result).toMatchObject({ rowsRead: 3, rowsQuarantined: 2 });
    expect(rows).toEqual([
      { id: 1n, name: 'ann', score: 10, born: new Date('1970-01-01T00:00:00Z') },
    ]);
    const reasons = quarantined.map((q) => String(q['reason'])).sort();
    expect(reasons[0]).toContain('column "name": required value is missing');
    expect(reasons[1]).toContain('column "score": 70000 is out of range for int16');
    expect(new Set(quarantined.map((q) => q['source_file']))).toEqual(
      new Set([join(dir, 'p.avro')]),
    );
    // The quarantined record is its Avro encoding, byte for byte (base64): it decodes back.
    const score = quarantined.find((q) => q['column'] === 'score') as unknown as QuarantineEntry;
    expect(score.record_encoding).toBe('base64');
    expect(createAvroType(people as never).fromBuffer(originalBytes(score))).toMatchObject({
      id: 3n,
      score: 70000,
    });
    expect(score.reason).toMatch(/\(block 1, record 3\)$/);
  });

  it('discard_column nulls a value that does not fit and keeps the record', async () => {
    const dir = await tempDir();
    await writeAvro(join(dir, 'p.avro'), people, records);
    const declared = schema({ id: t.int64().notNull(), score: t.int16() });
    const { result, rows } = await read(
      { path: 'p.avro', schema: declared, schemaPolicy: 'discard_column' },
      { baseDir: dir },
    );
    expect(result).toMatchObject({ rowsRead: 3, rowsQuarantined: 0, valuesDiscarded: 1 });
    expect(rows.map((r) => r['score'])).toEqual([10, 20, null]);
  });

  it('strict refuses fields the declared schema lacks', async () => {
    const dir = await tempDir();
    await writeAvro(join(dir, 'p.avro'), people, records);
    const error = await failure(
      read(
        { path: 'p.avro', schema: schema({ id: t.int64() }), schemaPolicy: 'strict' },
        { baseDir: dir },
      ),
    );
    expect(error).toBeInstanceOf(SchemaMismatchError);
    expect(String(error)).toMatch(/name/);
  });

  it('files whose schemas differ need a declared schema', async () => {
    const dir = await tempDir();
    await writeAvro(join(dir, 'a.avro'), people, records);
    await writeAvro(
      join(dir, 'b.avro'),
      { type: 'record', name: 'X', fields: [{ name: 'id', type: 'string' }] },
      [{ id: 'x' }],
    );
    const error = await failure(read({ path: '*.avro' }, { baseDir: dir }));
    expect(error).toBeInstanceOf(SchemaMismatchError);
    expect((error as SluiceError).hint).toMatch(/declare a schema/);
  });

  it('maps Avro logical types', async () => {
    const dir = await tempDir();
    const logical = {
      type: 'record',
      name: 'L',
      fields: [
        { name: 'ts_ms', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'ts_us', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'local_us', type: { type: 'long', logicalType: 'local-timestamp-micros' } },
        { name: 't_ms', type: { type: 'int', logicalType: 'time-millis' } },
        { name: 't_us', type: { type: 'long', logicalType: 'time-micros' } },
        { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
        {
          name: 'fixed_amount',
          type: {
            type: 'fixed',
            name: 'F',
            size: 4,
            logicalType: 'decimal',
            precision: 8,
            scale: 3,
          },
        },
        { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
        { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
        { name: 'tags', type: { type: 'map', values: 'long' } },
        { name: 'blob', type: 'bytes' },
      ],
    };
    await writeAvro(join(dir, 'l.avro'), logical, [
      {
        ts_ms: 1_700_000_000_123n,
        ts_us: 1_700_000_000_123_456n,
        local_us: -1n,
        t_ms: 3_723_004,
        t_us: 3_723_000_005n,
        amount: Buffer.from([0xff, 0xfe]),
        fixed_amount: Buffer.from([0x00, 0x01, 0xe2, 0x40]),
        id: '123e4567-e89b-12d3-a456-426614174000',
        kind: 'B',
        tags: { a: 1n },
        blob: Buffer.from([0, 1, 2]),
      },
    ]);
    const { result, text } = await read({ path: 'l.avro' }, { baseDir: dir });
    expect(Object.fromEntries(result.fields.map((f) => [f.name, f.type]))).toEqual({
      ts_ms: { kind: 'timestamp', tz: true },
      ts_us: { kind: 'timestamp', tz: true },
      local_us: { kind: 'timestamp', tz: false },
      t_ms: { kind: 'string' },
      t_us: { kind: 'string' },
      amount: { kind: 'decimal', precision: 9, scale: 2 },
      fixed_amount: { kind: 'decimal', precision: 8, scale: 3 },
      id: { kind: 'string' },
      kind: { kind: 'string' },
      tags: { kind: 'map', key: { kind: 'string' }, value: { kind: 'int64' } },
      blob: { kind: 'binary' },
    });
    expect(text[0]).toMatchObject({
      ts_ms: expect.stringMatching(/^2023-11-14 \d\d:13:20\.123(\+|-)/),
      local_us: '1969-12-31 23:59:59.999999',
      t_ms: '01:02:03.004000',
      t_us: '01:02:03.000005',
      amount: '-0.02',
      fixed_amount: '123.456',
      id: '123e4567-e89b-12d3-a456-426614174000',
      kind: 'B',
      tags: '{a=1}',
    });
  });
});

const ALL_TYPES = sql`
  SELECT * FROM (VALUES
    (true, 1::TINYINT, -2::SMALLINT, 3::INTEGER, 9007199254740993::BIGINT, 1.5::FLOAT, 2.25::DOUBLE,
     123.45::DECIMAL(10,2), 'héllo', from_hex('AA00'), DATE '2024-02-29',
     TIMESTAMP '2024-01-02 03:04:05.123456', TIMESTAMPTZ '1960-01-02 03:04:05.654321+00',
     [1, 2, NULL]::BIGINT[], {'a': 'x', 'b': 7}::STRUCT(a VARCHAR, b INTEGER),
     MAP {'k': 1.5}::MAP(VARCHAR, DOUBLE), '{"j":[1,2]}'::JSON),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.01::DECIMAL(10,2), NULL, NULL, NULL, NULL, NULL,
     []::BIGINT[], NULL, NULL, NULL)
  ) t(b, i8, i16, i32, i64, f32, f64, dec, s, bin, d, ts, tstz, list, rec, m, j)`;

describe('avro sink', () => {
  it.each(['null', 'deflate', 'snappy'] as const)(
    'round-trips every type with codec %s',
    async (codec) => {
      const dir = await tempDir();
      const report = await runIn(
        dir,
        pipeline('avro_types', {
          steps: {
            rows: ALL_TYPES,
            out: sink.custom('avro', { input: ref('rows'), path: 'out/all.avro', codec }),
          },
        }),
        { registry },
      );
      expect(report.error).toBeUndefined();
      expect(stepOf(report, 'out').rowsOut).toBe(2);
      const file = await openContainer(join(dir, 'out', 'all.avro'));
      expect(file.header.codec).toBe(codec);
      expect([...file.header.metadata.keys()].sort()).toEqual(['avro.codec', 'avro.schema']);
      for await (const batch of file.batches) expect(batch.length).toBeGreaterThan(0);

      const back = await read({ path: join(dir, 'out', 'all.avro') });
      const session = await DuckDBSession.create();
      sessions.push(session);
      const connection = await session.connect();
      const original = await connection.rows(
        `SELECT COLUMNS(*)::VARCHAR FROM (${ALL_TYPES.strings.join('')})`,
      );
      expect(back.text).toEqual(original);
      expect(Object.fromEntries(back.result.fields.map((f) => [f.name, f.type.kind]))).toEqual({
        b: 'bool',
        i8: 'int32',
        i16: 'int32',
        i32: 'int32',
        i64: 'int64',
        f32: 'float32',
        f64: 'float64',
        dec: 'decimal',
        s: 'string',
        bin: 'binary',
        d: 'date',
        ts: 'timestamp',
        tstz: 'timestamp',
        list: 'list',
        rec: 'struct',
        m: 'map',
        j: 'json',
      });
    },
  );

  it('stages the file: nothing visible before publish, discard keeps the old file', async () => {
    const dir = await tempDir();
    const session = await DuckDBSession.create();
    sessions.push(session);
    const connection = await session.connect();
    await connection.run(`CREATE TABLE src AS SELECT range AS id FROM range(3)`);
    const context = (runId: string) => ({
      stepId: 'out',
      runId,
      baseDir: dir,
      connection,
      input: '"src"',
      inputFields: [{ name: 'id', type: { kind: 'int64' as const }, nullable: false }],
      logger: silentLogger,
      signal: new AbortController().signal,
      shared: new SharedResources().open,
    });
    const config = (c: AvroSinkConfig) => avroSinkConfig.parse(c);
    const first = await avroSink.write(config({ path: 'o.avro' }), context('run_1'));
    expect(first.rowsWritten).toBe(3);
    expect(existsSync(join(dir, 'o.avro'))).toBe(false);
    await first.publish();
    const size = (await stat(join(dir, 'o.avro'))).size;
    await connection.run(`INSERT INTO src SELECT range FROM range(3, 1000)`);
    const second = await avroSink.write(config({ path: 'o.avro' }), context('run_2'));
    await second.discard();
    expect((await stat(join(dir, 'o.avro'))).size).toBe(size);
    const { rows } = await read({ path: join(dir, 'o.avro') });
    expect(rows.map((r) => r['id'])).toEqual([0n, 1n, 2n]);
  });

  it('stops when the run is cancelled and leaves nothing behind', async () => {
    const dir = await tempDir();
    const session = await DuckDBSession.create();
    sessions.push(session);
    const connection = await session.connect();
    await connection.run(`CREATE TABLE src AS SELECT range AS id FROM range(10)`);
    const controller = new AbortController();
    controller.abort(new Error('run cancelled'));
    const error = await failure(
      avroSink.write(avroSinkConfig.parse({ path: 'o.avro' }), {
        stepId: 'out',
        runId: 'run_1',
        baseDir: dir,
        connection,
        input: '"src"',
        inputFields: [{ name: 'id', type: { kind: 'int64' }, nullable: false }],
        logger: silentLogger,
        signal: controller.signal,
        shared: new SharedResources().open,
      }),
    );
    expect(String(error)).toMatch(/run cancelled/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a column name Avro cannot hold, saying what to do', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('bad_names', {
        steps: {
          rows: sql`select 1 as "order id"`,
          out: sink.custom('avro', { input: ref('rows'), path: 'o.avro' }),
        },
      }),
      { registry },
    );
    expect(report.status).toBe('failed');
    expect(report.error).toMatchObject({ code: 'SINK_FAILED' });
    expect(report.error?.message).toMatch(/column "order id" is not a valid Avro name/);
    expect(existsSync(join(dir, 'o.avro'))).toBe(false);
  });
});

describe.skipIf(!hasFixtures)('avro pipeline end to end', () => {
  it('avro source -> sql -> avro sink', async () => {
    const dir = await tempDir();
    const report = await runIn(
      dir,
      pipeline('weather_hot', {
        steps: {
          weather: source.custom('avro', { path: join(FIXTURES, 'data', 'syncInMeta.avro') }),
          adults: sql`select ID as id, First || ' ' || Last as name, Age as age from ${ref('weather')} where Age >= 30`,
          out: sink.custom('avro', {
            input: ref('adults'),
            path: 'out/adults.avro',
            codec: 'snappy',
          }),
        },
      }),
      { registry },
    );
    expect(report.error).toBeUndefined();
    expect(report.status).toBe('success');
    expect(stepOf(report, 'weather')).toMatchObject({ rowsIn: 6001, rowsQuarantined: 0 });
    const want = (await expected('syncInMeta.avro.json')).records.filter(
      (r) => Number(r['Age']) >= 30,
    );
    const { rows, result } = await read({ path: join(dir, 'out', 'adults.avro') });
    expect(result.rowsRead).toBe(want.length);
    expect(plain(rows)).toEqual(
      want.map((r) => ({
        id: r['ID'],
        name: `${String(r['First'])} ${String(r['Last'])}`,
        age: r['Age'],
      })),
    );
  });
});
