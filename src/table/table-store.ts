import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TableError } from '../core/errors.js';
import { LocalTableStore } from './table-store-local.js';
import { S3TableStore, parseS3URL, s3Root } from './table-store-s3.js';
import type { S3Settings, TableStore } from './table-store-interface.js';

export type { S3Settings, StoredFile, TableStore } from './table-store-interface.js';

/** A table given as a path or URL (`s3://bucket/prefix`, `file:///abs/path`), or an open store. */
export type TableLocation = string | TableStore;

/** Options of {@link openTableStore}. */
export interface TableStoreOptions {
  /**
   * Where copies of remote data files and checkpoints are cached, and new files staged
   * (default `$SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`).
   */
  readonly cacheDir?: string;
  /** S3 client settings; by default they come from the AWS environment variables. */
  readonly s3?: S3Settings;
}

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;

/**
 * Opens the store of a table: a local folder for a path or `file://` URL, an S3-compatible
 * bucket for `s3://bucket/prefix` (the AWS SDK v3 is loaded then). A store passed in is
 * returned as it is.
 *
 * @example
 * ```ts
 * const store = await openTableStore('s3://lake/orders', { cacheDir: '/var/cache/sluice' });
 * await writeDelta(connection, store, '"orders"', fields, { mode: 'append' });
 * ```
 */
export async function openTableStore(
  location: TableLocation,
  options: TableStoreOptions = {},
): Promise<TableStore> {
  if (typeof location !== 'string') return location;
  const scheme = URL_SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === 's3' || scheme === 's3a') {
    return S3TableStore.create(parseS3URL(location), {
      cacheDir: options.cacheDir ?? defaultCacheDir(),
      ...(options.s3 === undefined ? {} : { settings: options.s3 }),
    });
  }
  return new LocalTableStore(tableRoot(location));
}

/**
 * The name of a table for messages, without opening it: an absolute folder or a normalized URL.
 *
 * @example
 * ```ts
 * tableName('s3://lake/orders/'); // 's3://lake/orders'
 * ```
 */
export function tableName(location: TableLocation): string {
  if (typeof location !== 'string') return location.root;
  const scheme = URL_SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === 's3' || scheme === 's3a') return s3Root(parseS3URL(location));
  return tableRoot(location);
}

/**
 * A table path as given on a command line or in a pipeline: URLs as they are, local paths
 * resolved against `base`.
 *
 * @example
 * ```ts
 * resolveTableLocation('/work', 'lake/orders'); // '/work/lake/orders'
 * resolveTableLocation('/work', 's3://lake/orders'); // 's3://lake/orders'
 * ```
 */
export function resolveTableLocation(base: string, table: string): string {
  return URL_SCHEME.test(table) ? table : resolve(base, table);
}

/**
 * The local folder of a table given as a path or a `file://` URL.
 *
 * @example
 * ```ts
 * tableRoot('file:///lake/orders'); // '/lake/orders'
 * ```
 */
export function tableRoot(table: string): string {
  if (table.startsWith('file://')) return fileURLToPath(table);
  if (URL_SCHEME.test(table)) {
    throw new TableError(table, 'tables are local paths, file:// URLs or s3:// URLs', {
      hint: 'use s3://bucket/prefix for S3-compatible object stores',
    });
  }
  return isAbsolute(table) ? table : resolve(table);
}

/**
 * The cache folder for remote tables: `$SLUICE_CACHE_DIR`, else `$XDG_CACHE_HOME/sluice`,
 * else `~/.cache/sluice`.
 *
 * @example
 * ```ts
 * const dir = defaultCacheDir();
 * ```
 */
export function defaultCacheDir(): string {
  const configured = process.env['SLUICE_CACHE_DIR'];
  if (configured !== undefined && configured !== '') return resolve(configured);
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.cache'), 'sluice');
}
