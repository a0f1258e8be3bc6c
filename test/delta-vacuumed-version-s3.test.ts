import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../src/core/errors.js';
import type { Field } from '../src/core/types.js';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import type { EngineConnection } from '../src/contracts/engine-connection.js';
import {
  fetchDeltaFiles,
  loadDeltaSnapshot,
  openTableStore,
  vacuumDelta,
  writeDelta,
} from '../src/table/index.js';
import { tempDir } from './helpers.js';
import type { MotoServer } from './support/moto.js';
import { motoServerCommand, startMoto } from './support/moto.js';

const moto = motoServerCommand();

const FIELDS: Field[] = [
  { name: 'id', type: { kind: 'int64' }, nullable: false },
  { name: 'label', type: { kind: 'string' }, nullable: true },
];
const rows = (from: number, to: number): string =>
  `(SELECT CAST(range AS BIGINT) AS id, 'row ' || range AS label FROM range(${from}, ${to}))`;

describe.skipIf(moto === undefined)('reading a vacuumed version of a Delta table on S3', () => {
  let server: MotoServer;
  let s3: S3Client;
  let session: DuckDBSession;
  let connection: EngineConnection;
  let cacheDir: string;
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

  it('fails with TABLE_UNREADABLE naming the version and the oldest readable one', async () => {
    const bucket = `sluice-vacuumed-${Date.now().toString(36)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const url = `s3://${bucket}/lake/items`;
    await writeDelta(connection, url, rows(0, 3), FIELDS, { mode: 'append' });
    await writeDelta(connection, url, rows(10, 12), FIELDS, { mode: 'overwrite' });
    expect(
      (await vacuumDelta(connection, url, { retentionHours: 0, force: true })).files,
    ).toHaveLength(1);
    // A fresh cache, as another reader has: nothing of version 0 is left to download.
    const store = await openTableStore(url, { cacheDir: await tempDir() });
    const snapshot = await loadDeltaSnapshot(connection, store, { version: 0 });
    const error = await fetchDeltaFiles(snapshot).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SluiceError);
    expect((error as SluiceError).code).toBe('TABLE_UNREADABLE');
    expect((error as SluiceError).message).toMatch(
      /version 0 cannot be read: 1 of its 1 data file/,
    );
    expect((error as SluiceError).hint).toMatch(/the oldest readable version is 1 \(latest 1\)/);
    await fetchDeltaFiles(await loadDeltaSnapshot(connection, store, { version: 1 }));
  });
});
