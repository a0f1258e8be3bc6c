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
