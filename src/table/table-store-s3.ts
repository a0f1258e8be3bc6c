import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type * as S3 from '@aws-sdk/client-s3';
import { TableError } from '../core/errors.js';
import { s3ErrorName, s3Failure } from './s3-errors.js';
import { cacheFile, forEachLimited } from './table-cache.js';
import type { S3Settings, StoredFile, TableStore } from './table-store-interface.js';

/** A bucket and a key prefix (without slashes at either end). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

type S3Module = typeof S3;

/** Parallel transfers per operation. */
const TRANSFERS = 8;
const PACKAGE = '@aws-sdk/client-s3';

/**
 * The bucket and prefix of an `s3://bucket/prefix` (or `s3a://`) URL.
 *
 * @example
 * ```ts
 * parseS3URL('s3://lake/sales/orders/'); // { bucket: 'lake', prefix: 'sales/orders' }
 * ```
 */
export function parseS3URL(url: string): S3Location {
  const match = /^s3a?:\/\/([^/?#]*)([^?#]*)$/i.exec(url);
  const bucket = match?.[1] ?? '';
  if (match === null || bucket === '') {
    throw new TableError(url, 'not an S3 URL', { hint: 'write it as s3://bucket/prefix' });
  }
  const segments = (match[2] ?? '').split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..'))
    throw new TableError(url, 'an S3 table prefix cannot contain . or .. segments');
  return { bucket, prefix: segments.join('/') };
}

/**
 * S3 settings from the standard AWS environment variables: `AWS_REGION` (or
 * `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`) with path-style
 * addressing when an endpoint is set. Credentials are left to the SDK's provider chain.
 *
 * @example
 * ```ts
 * const settings = s3SettingsFromEnvironment({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9000' });
 * ```
 */
export function s3SettingsFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): S3Settings {
  const given = (name: string): string | undefined =>
    env[name] === undefined || env[name] === '' ? undefined : env[name];
  const endpoint = given('AWS_ENDPOINT_URL_S3') ?? given('AWS_ENDPOINT_URL');
  const region = given('AWS_REGION') ?? given('AWS_DEFAULT_REGION');
  return {
    ...(region === undefined ? {} : { region }),
    ...(endpoint === undefined ? {} : { endpoint, forcePathStyle: true }),
  };
}

/**
 * Loads the AWS SDK's S3 client, which is an optional peer dependency; a missing package is a
 * {@link TableError} that says which one to install.
 *
 * @example
 * ```ts
 * const { S3Client } = await loadS3Module('s3://lake/orders');
 * ```
 */
export async function loadS3Module(
  table: string,
  importModule: () => Promise<unknown> = () => import('@aws-sdk/client-s3'),
): Promise<S3Module> {
  try {
    return (await importModule()) as S3Module;
  } catch (cause) {
    throw new TableError(table, `S3 tables need the package ${PACKAGE}, which is not installed`, {
      cause,
      hint: `npm install ${PACKAGE}`,
    });
  }
}

/**
 * A table under a prefix of an S3 bucket (AWS S3 or an S3-compatible store). Commits are
 * `PutObject` with `If-None-Match: *`, which the store refuses with 412 when the key exists;
 * other writes are plain puts, atomic per object. Data files and checkpoints DuckDB reads are
 * downloaded into a local cache (they never change once written), and files DuckDB writes are
 * staged locally, uploaded, and then moved into the cache.
 *
 * @example
 * ```ts
 * const store = await S3TableStore.create(parseS3URL('s3://lake/orders'), { cacheDir: '/tmp/cache' });
 * ```
 */
export class S3TableStore implements TableStore {
  readonly root: string;
  readonly remote = true;
  readonly localRoot: string;
  readonly #client: S3.S3Client;
  readonly #sdk: S3Module;
  readonly #location: S3Location;
  readonly #endpoint: string | undefined;
  readonly #staging: string;
  /** Size and ETag of the objects seen in listings, so a cached copy can be checked for free. */
  readonly #listed = new Map<string, { size: number; etag: string }>();
  /** Data files known to be under `localRoot`. */
  readonly #local = new Set<string>();

  private constructor(sdk: S3Module, location: S3Location, settings: S3Settings, cacheDir: string) {
    this.#sdk = sdk;
    this.#location = location;
    this.#endpoint = settings.endpoint;
    this.root = s3Root(location);
    const host = settings.endpoint === undefined ? 'aws' : hostKey(settings.endpoint);
    this.localRoot = join(
      cacheDir,
      'tables',
      's3',
      host,
      location.bucket,
      ...location.prefix.split('/').filter((s) => s !== ''),
    );
    this.#staging = join(cacheDir, 'staging');
    this.#client = new sdk.S3Client({
      region: settings.region ?? 'us-east-1',
      ...(settings.endpoint === undefined
        ? { followRegionRedirects: true }
        : {
            endpoint: settings.endpoint,
            // S3-compatible stores often reject the checksums newer SDKs add by default.
            requestChecksumCalculation: 'WHEN_REQUIRED',
            responseChecksumValidation: 'WHEN_REQUIRED',
          }),
      forcePathStyle: settings.forcePathStyle ?? settings.endpoint !== undefined,
      ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
      requestHandler: { connectionTimeout: 5_000 },
    });
  }

  /**
   * Opens a table under a bucket prefix; `settings` default to the AWS environment.
   *
   * @example
   * ```ts
   * const store = await S3TableStore.create({ bucket: 'lake', prefix: 'orders' }, { cacheDir: '/tmp/c' });
   * ```
   */
  static async create(
    location: S3Location,
    options: {
      readonly cacheDir: string;
      readonly settings?: S3Settings;
      /** Loads the SDK (for tests of a missing package). */
      readonly importModule?: () => Promise<unknown>;
    },
  ): Promise<S3TableStore> {
    const sdk = await loadS3Module(s3Root(location), options.importModule);
    const settings = { ...s3SettingsFromEnvironment(), ...options.settings };
    return new S3TableStore(sdk, location, settings, options.cacheDir);
  }

  url(path: string): string {
    return path === '' ? this.root : `${this.root}/${path}`;
  }

  async list(folder: string): Promise<string[]> {
    const prefix = this.#key(folder) === '' ? '' : `${this.#key(folder)}/`;
    const names: string[] = [];
    await this.#listObjects(prefix, true, (key, size, etag) => {
      const name = key.slice(prefix.length);
      names.push(name);
      this.#listed.set(folder === '' ? name : `${folder}/${name}`, { size, etag });
    });
    return names;
  }

  async listAll(include: (path: string) => boolean = () => true): Promise<StoredFile[]> {
    const prefix = this.#location.prefix === '' ? '' : `${this.#location.prefix}/`;
    const files: StoredFile[] = [];
    await this.#listObjects(prefix, false, (key, size, _etag, modified) => {
      const path = key.slice(prefix.length);
      if (include(path)) files.push({ path, size, modified });
    });
    return files;
  }

  async read(path: string): Promise<string> {
    const response = await this.#call(path, false, () =>
      this.#client.send(
        new this.#sdk.GetObjectCommand({ Bucket: this.#location.bucket, Key: this.#key(path) }),
      ),
    );
    return (await response.Body?.transformToString('utf8')) ?? '';
  }

  async stat(path: string): Promise<StoredFile | undefined> {
    const head = await this.#head(path);
    return head === undefined
      ? undefined
      : { path, size: head.size, modified: head.modified ?? Date.now() };
  }

  async putIfAbsent(path: string, body: string): Promise<boolean> {
    try {
      await this.#client.send(
        new this.#sdk.PutObjectCommand({
          Bucket: this.#location.bucket,
          Key: this.#key(path),
          Body: body,
          IfNoneMatch: '*',
        }),
      );
      return true;
    } catch (error) {
      const name = s3ErrorName(error);
      // 409: another conditional write of the key is in flight; the retry re-reads the log.
      if (name === 'PreconditionFailed' || name === 'ConditionalRequestConflict') return false;
      throw this.#failure(error, path, true);
    }
  }

  async put(path: string, body: string): Promise<void> {
    await this.#call(path, true, () =>
      this.#client.send(
        new this.#sdk.PutObjectCommand({
          Bucket: this.#location.bucket,
          Key: this.#key(path),
          Body: body,
        }),
      ),
    );
  }

  async putFile(path: string, localFile: string): Promise<void> {
    const { size } = await stat(localFile);
    const response = await this.#call(path, true, () =>
      this.#client.send(
        new this.#sdk.PutObjectCommand({
          Bucket: this.#location.bucket,
          Key: this.#key(path),
          Body: createReadStream(localFile),
          ContentLength: size,
        }),
      ),
    );
    // What was just uploaded is what a later read would download: keep it in the cache.
    const cached = this.#cachePath(path, response.ETag);
    await mkdir(dirname(cached), { recursive: true });
    await rename(localFile, cached);
    if (!path.startsWith('_delta_log/')) this.#local.add(path);
  }

  async delete(path: string): Promise<void> {
    await this.#call(path, true, () =>
      this.#client.send(
        new this.#sdk.DeleteObjectCommand({ Bucket: this.#location.bucket, Key: this.#key(path) }),
      ),
    );
    this.#local.delete(path);
    await rm(join(this.localRoot, path), { force: true });
  }

  async scratchFolder(): Promise<string> {
    await mkdir(this.#staging, { recursive: true });
    return this.#staging;
  }

  async localCopy(path: string): Promise<string> {
    const known = this.#listed.get(path) ?? (await this.#head(path));
    if (known === undefined)
      throw new TableError(this.root, `${this.url(path)} does not exist`, {
        hint: 'the table changed while it was read; run again',
      });
    const target = this.#cachePath(path, known.etag);
    await cacheFile(target, known.size, (temporary) => this.#download(path, temporary));
    return target;
  }

  async fetch(files: readonly { readonly path: string; readonly size: number }[]): Promise<void> {
    const missing = files.filter((f) => !this.#local.has(f.path));
    for (const file of missing) {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file.path) || file.path.startsWith('/')) {
        throw new TableError(
          this.root,
          `the data file ${file.path} is outside the table; S3 tables read files under their own prefix only`,
        );
      }
    }
    await forEachLimited(missing, TRANSFERS, async (file) => {
      await cacheFile(join(this.localRoot, file.path), file.size, (temporary) =>
        this.#download(file.path, temporary),
      );
      this.#local.add(file.path);
    });
  }

  hasLocalCopy(path: string): boolean {
    return this.#local.has(path);
  }

  async stagingFolder(writeId: string): Promise<string> {
    const folder = join(this.#staging, writeId);
    await mkdir(folder, { recursive: true });
    return folder;
  }

  async publishStaged(folder: string, paths: readonly string[]): Promise<void> {
    const uploaded: string[] = [];
    try {
      await forEachLimited(paths, TRANSFERS, async (path) => {
        await this.putFile(path, join(folder, path));
        uploaded.push(path);
      });
    } catch (error) {
      // Uncommitted files are invisible to readers; removing them now just saves a vacuum.
      await forEachLimited(uploaded, TRANSFERS, (path) => this.delete(path)).catch(() => undefined);
      throw error;
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  async discardStaged(folder: string): Promise<void> {
    await rm(folder, { recursive: true, force: true });
  }

  #key(path: string): string {
    const { prefix } = this.#location;
    if (prefix === '') return path;
    return path === '' ? prefix : `${prefix}/${path}`;
  }

  /** Data files are cached at their table path; log files (checkpoints) by path and ETag. */
  #cachePath(path: string, etag: string | undefined): string {
    if (!path.startsWith('_delta_log/') || etag === undefined) return join(this.localRoot, path);
    const tag = etag.replace(/[^A-Za-z0-9-]/g, '');
    const name = path.replace(/(\.[^./]+)?$/, (extension) => `.${tag}${extension}`);
    return join(this.localRoot, name);
  }

  async #download(path: string, temporary: string): Promise<void> {
    const response = await this.#call(path, false, () =>
      this.#client.send(
        new this.#sdk.GetObjectCommand({ Bucket: this.#location.bucket, Key: this.#key(path) }),
      ),
    );
    if (response.Body === undefined)
      throw new TableError(this.root, `${this.url(path)} came back empty`);
    await pipeline(response.Body as Readable, createWriteStream(temporary));
  }

  async #head(
    path: string,
  ): Promise<{ size: number; etag: string; modified: number | undefined } | undefined> {
    try {
      const head = await this.#client.send(
        new this.#sdk.HeadObjectCommand({ Bucket: this.#location.bucket, Key: this.#key(path) }),
      );
      return {
        size: head.ContentLength ?? 0,
        etag: head.ETag ?? '',
        modified: head.LastModified?.getTime(),
      };
    } catch (error) {
      const name = s3ErrorName(error);
      if (name === 'NotFound' || name === 'NoSuchKey') return undefined;
      throw this.#failure(error, path, false);
    }
  }

  async #listObjects(
    prefix: string,
    direct: boolean,
    visit: (key: string, size: number, etag: string, modified: number) => void,
  ): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.#call(
        prefix,
        false,
        () =>
          this.#client.send(
            new this.#sdk.ListObjectsV2Command({
              Bucket: this.#location.bucket,
              Prefix: prefix,
              ...(direct ? { Delimiter: '/' } : {}),
              ...(token === undefined ? {} : { ContinuationToken: token }),
            }),
          ),
        true,
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || object.Key.endsWith('/')) continue;
        visit(
          object.Key,
          object.Size ?? 0,
          object.ETag ?? '',
          object.LastModified?.getTime() ?? Date.now(),
        );
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Runs a request, turning its failure into a table error about `path`. */
  async #call<T>(
    path: string,
    write: boolean,
    request: () => Promise<T>,
    isKey = false,
  ): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.#failure(error, path, write, isKey);
    }
  }

  #failure(error: unknown, path: string, write: boolean, isKey = false): TableError {
    const name = s3ErrorName(error);
    if (!write && (name === 'NoSuchKey' || name === 'NotFound')) {
      return new TableError(this.root, `${this.url(path)} does not exist`, {
        cause: error,
        hint: 'a file the log names is missing; it may have been deleted by hand or by a vacuum with a short retention',
      });
    }
    return s3Failure(error, {
      table: this.root,
      bucket: this.#location.bucket,
      url: isKey ? `s3://${this.#location.bucket}/${path}` : this.url(path),
      endpoint: this.#endpoint,
      write,
    });
  }
}

/**
 * The URL of a table root: `s3://bucket` or `s3://bucket/prefix`.
 *
 * @example
 * ```ts
 * s3Root({ bucket: 'lake', prefix: 'orders' }); // 's3://lake/orders'
 * ```
 */
export function s3Root(location: S3Location): string {
  return `s3://${location.bucket}${location.prefix === '' ? '' : `/${location.prefix}`}`;
}

/** The cache folder name of an endpoint: its host and port. */
function hostKey(endpoint: string): string {
  let host = endpoint;
  try {
    host = new URL(endpoint).host;
  } catch {
    // Not a URL: the SDK will refuse it with its own message; any folder name will do.
  }
  return host.replace(/[^A-Za-z0-9.-]/g, '_');
}
