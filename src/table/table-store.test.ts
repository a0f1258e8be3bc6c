import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TableError } from '../core/errors.js';
import { LocalTableStore } from './table-store-local.js';
import { loadS3Module, parseS3URL, s3SettingsFromEnvironment } from './table-store-s3.js';
import { openTableStore, resolveTableLocation, tableName, tableRoot } from './table-store.js';

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});
async function folder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-store-'));
  folders.push(dir);
  return dir;
}

describe('table locations', () => {
  it('parses s3:// URLs into bucket and prefix', () => {
    expect(parseS3URL('s3://lake/sales/orders/')).toEqual({
      bucket: 'lake',
      prefix: 'sales/orders',
    });
    expect(parseS3URL('s3a://lake')).toEqual({ bucket: 'lake', prefix: '' });
    expect(() => parseS3URL('s3:///orders')).toThrow(/not an S3 URL/);
    expect(() => parseS3URL('s3://lake/a/../b')).toThrow(/\.\. segments/);
  });

  it('resolves local paths against a base and keeps URLs as they are', () => {
    expect(resolveTableLocation('/work', 'lake/orders')).toBe('/work/lake/orders');
    expect(resolveTableLocation('/work', '/abs/orders')).toBe('/abs/orders');
    expect(resolveTableLocation('/work', 's3://lake/orders')).toBe('s3://lake/orders');
    expect(resolveTableLocation('/work', 'file:///abs/orders')).toBe('file:///abs/orders');
    expect(tableName('s3a://lake//orders/')).toBe('s3://lake/orders');
    expect(tableName('file:///abs/orders')).toBe('/abs/orders');
    expect(tableRoot('file:///abs/orders')).toBe('/abs/orders');
    expect(() => tableRoot('gs://lake/orders')).toThrow(TableError);
  });

  it('opens a local store for paths and file:// URLs', async () => {
    const dir = await folder();
    const store = await openTableStore(`file://${dir}/t`);
    expect(store).toBeInstanceOf(LocalTableStore);
    expect(store.root).toBe(join(dir, 't'));
    expect(await openTableStore(store)).toBe(store);
    await expect(openTableStore('gs://lake/orders')).rejects.toThrow(/s3:\/\/ URLs/);
  });

  it('takes S3 settings from the AWS environment, path-style when an endpoint is set', () => {
    expect(s3SettingsFromEnvironment({})).toEqual({});
    expect(
      s3SettingsFromEnvironment({
        AWS_DEFAULT_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9000',
      }),
    ).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(
      s3SettingsFromEnvironment({
        AWS_REGION: 'us-east-2',
        AWS_DEFAULT_REGION: 'eu-west-1',
        AWS_ENDPOINT_URL: 'http://a:1',
        AWS_ENDPOINT_URL_S3: 'http://b:2',
      }),
    ).toMatchObject({ region: 'us-east-2', endpoint: 'http://b:2' });
  });

  it('names the package to install when the AWS SDK is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package '@aws-sdk/client-s3'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await loadS3Module('s3://lake/orders', () => Promise.reject(missing)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TableError);
    expect(error).toMatchObject({
      code: 'TABLE_UNREADABLE',
      message:
        'Table s3://lake/orders: S3 tables need the package @aws-sdk/client-s3, which is not installed',
      hint: 'npm install @aws-sdk/client-s3',
    });
  });
});

describe('LocalTableStore', () => {
  it('creates a file only if absent, replaces atomically, lists, stats and deletes', async () => {
    const store = new LocalTableStore(join(await folder(), 't'));
    expect(await store.list('_delta_log')).toEqual([]);
    expect(await store.putIfAbsent('_delta_log/00000000000000000000.json', 'a\n')).toBe(true);
    expect(await store.putIfAbsent('_delta_log/00000000000000000000.json', 'b\n')).toBe(false);
    expect(await store.read('_delta_log/00000000000000000000.json')).toBe('a\n');
    await store.put('_delta_log/_last_checkpoint', '{"version":0}');
    await store.put('_delta_log/_last_checkpoint', '{"version":10}');
    expect(await store.read('_delta_log/_last_checkpoint')).toBe('{"version":10}');
    // Temporary files are gone once a write returns.
    expect(await readdir(join(store.root, '_delta_log', '.tmp'))).toEqual([]);
    expect((await store.list('_delta_log')).sort()).toEqual([
      '.tmp',
      '00000000000000000000.json',
      '_last_checkpoint',
    ]);
    const staged = join(await store.scratchFolder(), 'x.parquet');
    await writeFile(staged, 'data');
    await store.putFile('day=1/x.parquet', staged);
    expect(await store.stat('day=1/x.parquet')).toMatchObject({ path: 'day=1/x.parquet', size: 4 });
    expect(await store.stat('day=1/missing.parquet')).toBeUndefined();
    expect(
      (await store.listAll((p) => p.endsWith('.parquet'))).map((f) => [f.path, f.size]),
    ).toEqual([['day=1/x.parquet', 4]]);
    await store.delete('day=1/x.parquet');
    await store.delete('day=1/x.parquet');
    expect(await store.listAll((p) => p.endsWith('.parquet'))).toEqual([]);
    await expect(store.read('nope.json')).rejects.toThrow(TableError);
  });

  it('writes new data files in place and removes what an interrupted write left', async () => {
    const store = new LocalTableStore(join(await folder(), 't'));
    const staging = await store.stagingFolder('w1');
    expect(staging).toBe(store.root);
    await writeFile(join(staging, 'part-w1-0.parquet'), 'x');
    await writeFile(join(staging, 'part-w2-0.parquet'), 'y');
    await store.discardStaged(staging, 'w1');
    expect(await readdir(store.root)).toEqual(['part-w2-0.parquet']);
    expect(store.hasLocalCopy('part-w2-0.parquet')).toBe(true);
    expect(await store.localCopy('part-w2-0.parquet')).toBe(join(store.root, 'part-w2-0.parquet'));
  });
});
