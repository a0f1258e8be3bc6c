import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError, UsageError } from '../core/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import {
  damagedStoreHint,
  isStoreUrl,
  openDatabase,
  redactStoreUrl,
  keepAlive,
  sqliteAddon,
} from './sql-database.js';

/** Options of {@link backupStore}. */
export interface StoreBackupOptions {
  /** Replace `file` when it exists (default: refuse). */
  readonly force?: boolean;
}

/** What {@link backupStore} wrote. */
export interface StoreBackupResult {
  /** The store that was copied. */
  readonly store: string;
  /** The backup file (absolute). */
  readonly file: string;
  readonly bytes: number;
  readonly durationMs: number;
}

/**
 * Backs up the embedded run store while it is in use (SQLite's online backup API: other
 * processes keep reading and writing meanwhile). The copy is written under a temporary name in
 * the target's folder, checked (`PRAGMA quick_check`), flushed to disk and renamed into place,
 * so `file` is either the previous file or a whole, sound backup, never half of one. An existing
 * `file` is kept unless `force`. A PostgreSQL store is refused with the `pg_dump` command to use.
 *
 * @example
 * ```ts
 * const { file, bytes } = await backupStore('.sluice/sluice.db', 'backups/sluice-2024-06-01.db');
 * ```
 */
export async function backupStore(
  location: string,
  file: string,
  options: StoreBackupOptions = {},
): Promise<StoreBackupResult> {
  if (isStoreUrl(location)) {
    const url = withoutPassword(location);
    throw new UsageError(
      `the run store ${redactStoreUrl(location)} is on PostgreSQL; sluice store backup copies the embedded store only`,
      {
        hint: `back it up with PostgreSQL's own tools: pg_dump --format=custom --file ${shellQuote(file)} ${shellQuote(url)} (the password from PGPASSWORD or ~/.pgpass); restore with pg_restore --clean --if-exists --dbname ${shellQuote(url)} ${shellQuote(file)}`,
      },
    );
  }
  const started = Date.now();
  const target = resolve(file);
  const folder = dirname(target);
  if (await isStoreFile(location, target))
    throw new UsageError(`the backup file ${target} is the store itself, or one of its files`, {
      hint: 'write the backup to another file, ideally on another disk',
    });
  const folderInfo = await stat(folder).catch(() => undefined);
  if (folderInfo?.isDirectory() !== true)
    throw new UsageError(
      `cannot write the backup to ${target}: the folder ${folder} does not exist`,
      {
        hint: 'create the folder first, or choose another path',
      },
    );
  const existing = await stat(target).catch(() => undefined);
  if (existing !== undefined && options.force !== true)
    throw new UsageError(`the backup file ${target} exists already`, {
      hint: 'choose another name (e.g. with the date in it), or pass --force to replace it',
    });
  if (existing?.isDirectory() === true)
    throw new UsageError(`the backup file ${target} is a folder`, {
      hint: 'give the path of a file, e.g. backups/sluice.db',
    });
  await access(folder, constants.W_OK).catch((cause: unknown) => {
    throw new UsageError(`cannot write to ${folder}: permission denied`, {
      cause,
      hint: 'make it writable or choose another path',
    });
  });
  const db = await openExisting(location);
  await removeAbandonedBackups(folder, basename(target));
  const temporary = join(
    folder,
    `.${basename(target)}${BACKUP_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  try {
    try {
      // All pages in one step, a consistent snapshot: in steps, every write another connection
      // makes between two steps starts the copy again, and a busy store is never done.
      await db.backup(temporary, { progress: () => 0x7fffffff });
    } catch (cause) {
      throw storeFailure(location, 'the backup failed', cause);
    } finally {
      db.close();
    }
    const copy = await openExisting(temporary);
    let verdict: string[];
    try {
      verdict = (
        keepAlive(copy.prepare('PRAGMA quick_check')).all() as { quick_check: string }[]
      ).map((row) => row.quick_check);
    } catch (cause) {
      verdict = [(cause as Error).message];
    } finally {
      copy.close();
    }
    if (!(verdict.length === 1 && verdict[0] === 'ok'))
      throw new StoreError(
        location,
        `it is damaged, so a backup of it would be too: ${verdict.slice(0, 3).join('; ')}`,
        { hint: damagedStoreHint(location) },
      );
    await syncFile(temporary);
    await rename(temporary, target);
    await syncFolder(folder);
  } finally {
    await rm(temporary, { force: true });
    await rm(`${temporary}-journal`, { force: true });
  }
  return {
    store: location,
    file: target,
    bytes: (await stat(target)).size,
    durationMs: Date.now() - started,
  };
}

/** The verdict of {@link checkStore}. */
export interface StoreCheckResult {
  readonly store: string;
  readonly dialect: 'sqlite' | 'postgres';
  /** True when nothing below is wrong. */
  readonly ok: boolean;
  /** What is wrong (integrity errors, broken references, missing tables), at most 100. */
  readonly problems: readonly string[];
  /** Remarks that do not make the store damaged (an older schema that the next start migrates). */
  readonly notes: readonly string[];
  /** The store's schema version (newest migration applied), when it could be read. */
  readonly schemaVersion: number | undefined;
  /** The schema version this Sluice expects. */
  readonly expectedSchemaVersion: number;
  /** What to do when the store is damaged. */
  readonly hint: string | undefined;
}

/**
 * Checks the run store without changing it. The embedded store: `PRAGMA integrity_check` and
 * `PRAGMA foreign_key_check`, then its schema. PostgreSQL (which keeps its own pages sound):
 * that every table of the schema exists and which schema version is applied. `ok` is false
 * when anything is damaged; `hint` then says how to restore from a backup.
 *
 * @example
 * ```ts
 * const verdict = await checkStore('.sluice/sluice.db');
 * if (!verdict.ok) console.error(verdict.problems.join('\n'), verdict.hint);
 * ```
 */
export async function checkStore(location: string): Promise<StoreCheckResult> {
  return isStoreUrl(location) ? checkPostgresStore(location) : checkSqliteStore(location);
}

const MAX_PROBLEMS = 100;

async function checkSqliteStore(location: string): Promise<StoreCheckResult> {
  const base = {
    store: location,
    dialect: 'sqlite' as const,
    expectedSchemaVersion: SCHEMA_VERSION,
  };
  const damaged = (problems: string[], schemaVersion?: number): StoreCheckResult => ({
    ...base,
    ok: false,
    problems: problems.slice(0, MAX_PROBLEMS),
    notes: [],
    schemaVersion,
    hint: damagedStoreHint(location, { checked: true }),
  });
  const db = await openExisting(location);
  try {
    let problems: string[];
    try {
      problems = (
        keepAlive(db.prepare(`PRAGMA integrity_check(${MAX_PROBLEMS})`)).all() as {
          integrity_check: string;
        }[]
      )
        .flatMap((row) => row.integrity_check.split('\n'))
        .filter((line) => line !== 'ok' && !line.startsWith('*** in database'));
    } catch (cause) {
      return damaged([(cause as Error).message]);
    }
    try {
      const orphans = keepAlive(db.prepare('PRAGMA foreign_key_check')).all() as {
        table: string;
        rowid: number | null;
        parent: string;
      }[];
      for (const orphan of orphans.slice(0, MAX_PROBLEMS))
        problems.push(
          `row ${String(orphan.rowid)} of ${orphan.table} refers to a row of ${orphan.parent} that does not exist`,
        );
    } catch (cause) {
      problems.push(`references cannot be checked: ${(cause as Error).message}`);
    }
    if (problems.length > 0) return damaged(problems);
    let present: Set<string>;
    let version: number | undefined;
    try {
      present = new Set(
        (
          keepAlive(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")).all() as {
            name: string;
          }[]
        ).map((row) => row.name),
      );
      version = present.has('sluice_migrations')
        ? ((
            keepAlive(db.prepare('SELECT max(version) AS v FROM sluice_migrations')).get() as {
              v: number | null;
            }
          ).v ?? undefined)
        : undefined;
    } catch (cause) {
      return damaged([(cause as Error).message]);
    }
    return schemaVerdict(base, present, version, damaged);
  } finally {
    db.close();
  }
}

async function checkPostgresStore(location: string): Promise<StoreCheckResult> {
  const url = redactStoreUrl(location);
  const base = { store: url, dialect: 'postgres' as const, expectedSchemaVersion: SCHEMA_VERSION };
  const db = await openDatabase(location);
  try {
    const present = new Set<string>();
    for (const table of ['sluice_migrations', ...schemaTables()]) {
      const [row] = await db.all('SELECT to_regclass(?::text) IS NOT NULL AS present', [table]);
      if (row?.['present'] === true) present.add(table);
    }
    const version = present.has('sluice_migrations')
      ? (await db.all('SELECT max(version) AS v FROM sluice_migrations'))[0]?.['v']
      : undefined;
    return schemaVerdict(
      base,
      present,
      version === undefined || version === null ? undefined : Number(version),
      (problems, schemaVersion) => ({
        ...base,
        ok: false,
        problems,
        notes: [],
        schemaVersion,
        hint: `restore the database from its last pg_dump (pg_restore --clean --dbname ${url} <dump>), or, when it is new, let sluice serve or sluice worker create the tables`,
      }),
    );
  } finally {
    await db.close();
  }
}

/** Judges the tables present and the schema version applied against the migrations known. */
function schemaVerdict(
  base: Pick<StoreCheckResult, 'store' | 'dialect' | 'expectedSchemaVersion'>,
  present: ReadonlySet<string>,
  version: number | undefined,
  damaged: (problems: string[], schemaVersion?: number) => StoreCheckResult,
): StoreCheckResult {
  if (!present.has('sluice_migrations'))
    return damaged([
      'the table sluice_migrations is missing: this is not a Sluice run store, or its schema was never created',
    ]);
  const known = version ?? 0;
  const expected = schemaTables(Math.min(known, SCHEMA_VERSION));
  const missing = expected.filter((table) => !present.has(table));
  if (missing.length > 0)
    return damaged(
      [`schema version ${known} is recorded, but the tables ${missing.join(', ')} are missing`],
      version,
    );
  const notes: string[] = [];
  if (known < SCHEMA_VERSION)
    notes.push(
      `schema version ${known}, older than this Sluice's ${SCHEMA_VERSION}: the next sluice serve, worker or run command that opens it migrates it`,
    );
  if (known > SCHEMA_VERSION)
    notes.push(
      `schema version ${known}, newer than this Sluice's ${SCHEMA_VERSION}: upgrade Sluice here before using this store`,
    );
  return { ...base, ok: true, problems: [], notes, schemaVersion: version, hint: undefined };
}

/** The tables the migrations up to `version` create (and do not drop again). */
function schemaTables(version = SCHEMA_VERSION): string[] {
  const tables = new Set<string>();
  for (const migration of MIGRATIONS) {
    if (migration.version > version) continue;
    for (const statement of migration.statements) {
      const created = /^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)/i.exec(statement)?.[1];
      if (created !== undefined) tables.add(created);
      const dropped = /^\s*DROP TABLE (?:IF EXISTS )?(\w+)/i.exec(statement)?.[1];
      if (dropped !== undefined) tables.delete(dropped);
      const renamed = /^\s*ALTER TABLE (\w+) RENAME TO (\w+)/i.exec(statement);
      if (renamed?.[1] !== undefined && renamed[2] !== undefined) {
        tables.delete(renamed[1]);
        tables.add(renamed[2]);
      }
    }
  }
  return [...tables];
}

/** Opens an embedded store file that must exist (never creates an empty one). */
async function openExisting(path: string): Promise<BetterSqlite3.Database> {
  const { default: Database } = await import('better-sqlite3');
  try {
    return keepAlive(
      new Database(path, {
        fileMustExist: true,
        timeout: 10_000,
        nativeBinding: sqliteAddon(),
      }),
    );
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'SQLITE_CANTOPEN')
      throw new UsageError(`there is no run store at ${path}`, {
        cause,
        hint: 'pass --project <dir> or --store <file> to name the store (default <project>/.sluice/sluice.db)',
      });
    throw storeFailure(path, 'cannot open it', cause);
  }
}

function storeFailure(location: string, what: string, cause: unknown): StoreError {
  const code = String((cause as { code?: unknown }).code ?? '');
  const damaged = code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
  return new StoreError(location, `${what}: ${(cause as Error).message}`, {
    cause,
    hint: damaged ? damagedStoreHint(location) : 'check that the file and its folder are readable',
  });
}

/** Infix of a backup's temporary name: `.<name>.sluice-backup-<pid>-<random>`. */
const BACKUP_INFIX = '.sluice-backup-';

/**
 * Whether `target` is the store file or one of its companions (`-wal`, `-shm`, `-journal`), by
 * path or, when it exists, as the same file under another name (a link).
 */
async function isStoreFile(location: string, target: string): Promise<boolean> {
  const store = resolve(location);
  const companions = ['', '-wal', '-shm', '-journal'].map((suffix) => `${store}${suffix}`);
  if (companions.includes(target)) return true;
  const targetInfo = await stat(target).catch(() => undefined);
  if (targetInfo === undefined) return false;
  for (const companion of companions) {
    const info = await stat(companion).catch(() => undefined);
    if (info !== undefined && info.dev === targetInfo.dev && info.ino === targetInfo.ino)
      return true;
  }
  return false;
}

/**
 * Removes temporary files of backups to the same name whose process is gone (a backup killed
 * before its rename); those of a backup still running are left alone.
 */
async function removeAbandonedBackups(folder: string, name: string): Promise<void> {
  const prefix = `.${name}${BACKUP_INFIX}`;
  for (const entry of await readdir(folder).catch(() => [] as string[])) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(entry.slice(prefix.length))?.[1]);
    if (Number.isInteger(pid) && (pid === process.pid || processAlive(pid))) continue;
    await rm(join(folder, entry), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (cause) {
    // EPERM: it runs, under another user.
    return (cause as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename in `folder` durable; some file systems cannot open a folder, which is fine. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return redactStoreUrl(url);
  }
}

function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
