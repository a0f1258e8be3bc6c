import { randomUUID } from 'node:crypto';
import {
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { writeDenied } from '../contracts/write-access.js';
import { TableError, TableWriteError } from '../core/errors.js';
import type { StoredFile, TableStore } from './table-store-interface.js';

const TMP = join('_delta_log', '.tmp');

/**
 * A table in a local folder. Exclusive creates write a temporary file under `_delta_log/.tmp/`
 * and hard-link it to its name (a link fails when the target exists, so of two writers exactly
 * one wins, and a writer killed at any point leaves no partial file); replacements are renames.
 * DuckDB reads and writes the table's files in place.
 *
 * @example
 * ```ts
 * const store = new LocalTableStore('/lake/orders');
 * await store.list('_delta_log');
 * ```
 */
export class LocalTableStore implements TableStore {
  readonly root: string;
  readonly remote = false;
  readonly localRoot: string;

  constructor(root: string) {
    this.root = root;
    this.localRoot = root;
  }

  url(path: string): string {
    return path === '' ? this.root : join(this.root, path);
  }

  async list(folder: string): Promise<string[]> {
    try {
      return await readdir(this.url(folder));
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new TableError(this.root, `cannot list ${this.url(folder)}`, { cause });
    }
  }

  async listAll(include: (path: string) => boolean = () => true): Promise<StoredFile[]> {
    const entries = await readdir(this.root, { recursive: true }).catch((cause: unknown) => {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new TableError(this.root, `cannot list ${this.root}`, { cause });
    });
    const files: StoredFile[] = [];
    for (const entry of entries) {
      const path = String(entry).split(sep).join('/');
      if (!include(path)) continue;
      const info = await this.stat(path);
      if (info !== undefined) files.push(info);
    }
    return files;
  }

  async read(path: string): Promise<string> {
    try {
      return await readFile(this.url(path), 'utf8');
    } catch (cause) {
      throw new TableError(this.root, `cannot read ${this.url(path)}`, { cause });
    }
  }

  async stat(path: string): Promise<StoredFile | undefined> {
    try {
      const info = await stat(this.url(path));
      return info.isFile() ? { path, size: info.size, modified: info.mtimeMs } : undefined;
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new TableError(this.root, `cannot read ${this.url(path)}`, { cause });
    }
  }

  async putIfAbsent(path: string, body: string): Promise<boolean> {
    const temporary = await this.#temporary(path, body);
    try {
      await link(temporary, this.url(path));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new TableWriteError(this.root, `cannot create ${this.url(path)}`, { cause: error });
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
  }

  async put(path: string, body: string): Promise<void> {
    await this.putFile(path, await this.#temporary(path, body));
  }

  async putFile(path: string, localFile: string): Promise<void> {
    try {
      await mkdir(dirname(this.url(path)), { recursive: true });
      await rename(localFile, this.url(path));
    } catch (cause) {
      await rm(localFile, { force: true });
      const denied = await writeDenied(cause, dirname(this.url(path)));
      throw new TableWriteError(
        this.root,
        denied?.message ?? `cannot write ${this.url(path)}`,
        denied === undefined ? { cause } : { cause, hint: denied.hint },
      );
    }
  }

  async delete(path: string): Promise<void> {
    await rm(this.url(path), { force: true });
  }

  async scratchFolder(): Promise<string> {
    const folder = join(this.root, TMP);
    await this.#makeFolder(folder);
    return folder;
  }

  async localCopy(path: string): Promise<string> {
    return this.url(path);
  }

  async fetch(_files: readonly { readonly path: string }[]): Promise<void> {}

  hasLocalCopy(_path: string): boolean {
    return true;
  }

  async stagingFolder(_writeId: string): Promise<string> {
    await this.#makeFolder(this.root);
    return this.root;
  }

  /** Creates a folder of the table; a folder that refuses it is named, with what to do. */
  async #makeFolder(folder: string): Promise<void> {
    try {
      await mkdir(folder, { recursive: true });
    } catch (cause) {
      const denied = await writeDenied(cause, folder);
      if (denied === undefined) throw cause;
      throw new TableWriteError(this.root, denied.message, { cause, hint: denied.hint });
    }
  }

  async publishStaged(_folder: string, _paths: readonly string[]): Promise<void> {}

  /** An interrupted COPY leaves files of the write in the table folder; they carry its id. */
  async discardStaged(folder: string, writeId: string): Promise<void> {
    const entries = await readdir(folder, { recursive: true }).catch(() => [] as string[]);
    for (const entry of entries) {
      if (String(entry).includes(writeId)) await rm(join(folder, String(entry)), { force: true });
    }
  }

  async #temporary(path: string, body: string): Promise<string> {
    const folder = await this.scratchFolder();
    const name = path.split('/').at(-1) ?? 'file';
    const temporary = join(folder, `${name.replace(/\.json$/, '')}.${randomUUID()}.json`);
    try {
      await writeFile(temporary, body);
    } catch (cause) {
      throw new TableWriteError(this.root, `cannot write ${temporary}`, { cause });
    }
    return temporary;
  }
}
