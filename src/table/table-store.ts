import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TableError } from '../core/errors.js';
import { LocalTableStore } from './table-store-local.js';
import { S3TableStore, parseS3URL, s3Root } from './table-store-s3.js';

/** A file of a table, as a store lists it. */
export interface StoredFile {
  /** Relative to the table root, `/`-separated, not URL-encoded. */
  readonly path: string;
  readonly size: number;
  /** Last modification time, epoch milliseconds. */
  readonly modified: number;
}

/**
 * Where a table's files live: a local folder or a prefix of an object store. Every path is
 * relative to the table root and `/`-separated (`_delta_log/00000000000000000003.json`,
 * `day=2026-03-01/part-....parquet`). Methods throw a {@link TableError} (a
 * `TableWriteError` for writes) naming the table when the store fails; retrying is safe for
 * every method, since writes of one path either land whole or not at all.
 *
 * DuckDB only reads and writes local files, so the store also hands it local copies: `fetch`
 * makes data files readable under `localRoot`, `localCopy` gives one file (a checkpoint), and
 * new data files are written by DuckDB into `stagingFolder` and made part of the store by
 * `publishStaged` before they are committed.
 *
 * @example
 * ```ts
 * const store = await openTableStore('s3://lake/orders');
 * if (!(await store.putIfAbsent('_delta_log/00000000000000000007.json', actions))) retry();
 * ```
 */
export interface TableStore {
  /** The table's location: an absolute folder, or `s3://bucket/prefix`. */
  readonly root: string;
  /** Whether files live elsewhere than on this machine (so DuckDB needs local copies). */
  readonly remote: boolean;
  /** The local folder under which DuckDB finds data files at their table paths. */
  readonly localRoot: string;
  /** The full location of a file, for messages: a local path or an `s3://` URL. */
  url(path: string): string;
  /** Names of the files directly inside a folder (`''` is the root); empty when it is absent. */
  list(folder: string): Promise<string[]>;
  /** Every file of the table whose path passes `include`, with size and modification time. */
  listAll(include?: (path: string) => boolean): Promise<StoredFile[]>;
  /** The text of a file; a missing file is a `TableError`. */
  read(path: string): Promise<string>;
  /** Size and modification time of a file, `undefined` when it does not exist. */
  stat(path: string): Promise<StoredFile | undefined>;
  /**
   * Creates a file only if no file has that path: true when this call created it, false when
   * the path already existed (another writer won it). Readers see the whole file or nothing.
   */
  putIfAbsent(path: string, body: string): Promise<boolean>;
  /** Creates or replaces a file atomically: readers see the old content or the new, never a mix. */
  put(path: string, body: string): Promise<void>;
  /** Moves a local file (written by DuckDB) to a path of the store, replacing it atomically. */
  putFile(path: string, localFile: string): Promise<void>;
  /** Deletes a file; a missing file is not an error. */
  delete(path: string): Promise<void>;
  /** A local folder for temporary files of this table, on the same disk as `localRoot`. */
  scratchFolder(): Promise<string>;
  /** A local file holding the content of a store file (downloaded and cached when remote). */
  localCopy(path: string): Promise<string>;
  /** Makes data files readable by DuckDB under `localRoot` (downloading the ones not cached). */
  fetch(files: readonly { readonly path: string; readonly size: number }[]): Promise<void>;
  /** Whether a data file can be read under `localRoot` now. */
  hasLocalCopy(path: string): boolean;
  /** The local folder DuckDB writes the new data files of write `writeId` into. */
  stagingFolder(writeId: string): Promise<string>;
  /** Makes staged files (paths relative to the staging folder) files of the store at the same paths. */
  publishStaged(folder: string, paths: readonly string[]): Promise<void>;
  /** Removes what a write that failed before publishing left in its staging folder. */
  discardStaged(folder: string, writeId: string): Promise<void>;
}

/** S3 client settings; whatever is left out comes from the AWS environment. */
export interface S3Settings {
  /** Default `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`. */
  readonly region?: string;
  /** An S3-compatible store's address; default `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`. */
  readonly endpoint?: string;
  /** Address buckets as `endpoint/bucket` rather than `bucket.endpoint`; default: when an endpoint is set. */
  readonly forcePathStyle?: boolean;
  /** Default: the SDK's chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, instance roles...). */
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

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
