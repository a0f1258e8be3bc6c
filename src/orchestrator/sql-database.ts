import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import { StoreError } from '../core/errors.js';
import { writeDenied } from '../contracts/write-access.js';

/** How long the embedded store waits for another process's write lock before giving up. */
const SQLITE_LOCK_WAIT_MS = 10_000;

/**
 * The compiled addon of better-sqlite3, named outright. Left to itself, better-sqlite3 finds it
 * through the `bindings` package, which reads its caller's file from a stack trace; with source
 * maps on (Node 24) that file is mapped elsewhere and the addon is not found.
 *
 * @example
 * ```ts
 * new Database(path, { nativeBinding: sqliteAddon() });
 * ```
 */
export function sqliteAddon(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve(
      'better-sqlite3/build/Release/better_sqlite3.node',
    );
  } catch {
    return undefined; // an addon somewhere else: let `bindings` look for it
  }
}

/**
 * Whether the garbage collector freeing a better-sqlite3 object aborts the process on this
 * Node.js: from 24.19 on the 24 line and 26.4 on, `node::ObjectWrap`'s destructor removes an
 * environment cleanup hook, and aborts ("Assertion failed: (env) != nullptr") when the
 * collection runs with no JavaScript context entered (nodejs/node#65446).
 *
 * @example
 * ```ts
 * collectingWrapsAborts('24.21.0'); // true
 * ```
 */
export function collectingWrapsAborts(version: string): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return (major === 24 && minor >= 19) || (major === 26 && minor >= 4) || major > 26;
}

const keptAlive: unknown[] | undefined = collectingWrapsAborts(process.versions.node)
  ? []
  : undefined;

/**
 * Keeps a better-sqlite3 database, statement or other native object reachable for the rest of
 * the process where {@link collectingWrapsAborts}: Node then deletes it at exit, where that is
 * safe, instead of the garbage collector. Elsewhere it does nothing.
 *
 * @example
 * ```ts
 * const statement = keepAlive(db.prepare('PRAGMA quick_check'));
 * ```
 */
export function keepAlive<T>(value: T): T {
  keptAlive?.push(value);
  return value;
}

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | null;

/** A row as the database returns it; integers from PostgreSQL BIGINT arrive as strings. */
export type SqlRow = Readonly<Record<string, unknown>>;

/**
 * The little SQL surface the run store needs, over the embedded SQLite file or PostgreSQL.
 * Statements use `?` placeholders on both; the PostgreSQL side numbers them.
 *
 * @example
 * ```ts
 * const db = await openDatabase('.sluice/sluice.db');
 * const rows = await db.all('SELECT state, count(*) AS n FROM runs GROUP BY state', []);
 * ```
 */
export interface SqlDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  /** Where the database is, without a password, for messages. */
  readonly location: string;
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Runs a statement and resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Runs `work` in one transaction that takes the write lock at its start (SQLite `BEGIN
   * IMMEDIATE`; on PostgreSQL row locks are taken with `FOR UPDATE`), committing when it
   * resolves and rolling back when it throws.
   */
  transaction<T>(work: (tx: SqlDatabase) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens the run store's database: a `postgres://` or `postgresql://` URL, or the path of an
 * embedded SQLite file (created with its folder when missing, in WAL mode so a CLI and a server
 * on one machine share it).
 *
 * @example
 * ```ts
 * const db = await openDatabase(process.env.SLUICE_STORE ?? '.sluice/sluice.db');
 * ```
 */
export async function openDatabase(location: string): Promise<SqlDatabase> {
  return isStoreUrl(location) ? openPostgres(location) : openSqlite(location);
}

/**
 * Whether a store location is a PostgreSQL URL rather than a file path.
 *
 * @example
 * ```ts
 * isStoreUrl('postgres://127.0.0.1/sluice'); // true
 * ```
 */
export function isStoreUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

async function openSqlite(path: string): Promise<SqlDatabase> {
  const db = await openSqliteFile(path);
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string): BetterSqlite3.Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = keepAlive(db.prepare(sql));
      statements.set(sql, statement);
    }
    return statement;
  };
  // better-sqlite3 is synchronous; the lock keeps another caller's statements out of an open
  // transaction while its work awaits.
  let lock: Promise<void> = Promise.resolve();
  const exclusive = async <T>(work: () => Promise<T>): Promise<T> => {
    const previous = lock;
    let release = (): void => undefined;
    lock = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  };
  const direct = (inTransaction: boolean): SqlDatabase => ({
    dialect: 'sqlite',
    location: path,
    all: async (sql, params = []) =>
      sqliteGuard(path, () =>
        inTransaction || !db.inTransaction
          ? (prepare(sql).all(...params) as SqlRow[])
          : exclusive(async () => prepare(sql).all(...params) as SqlRow[]),
      ),
    run: async (sql, params = []) =>
      sqliteGuard(path, () =>
        inTransaction || !db.inTransaction
          ? prepare(sql).run(...params).changes
          : exclusive(async () => prepare(sql).run(...params).changes),
      ),
    transaction: async (work) =>
      inTransaction
        ? work(direct(true))
        : sqliteGuard(path, () => exclusive(() => sqliteTransaction(db, work, direct(true)))),
    close: async () => {
      await lock;
      db.close();
    },
  });
  return direct(false);
}

/**
 * Opens the embedded file in WAL mode. Two processes creating one store at once can meet a lock
 * that SQLite reports at once rather than through its busy wait (the switch to WAL takes the
 * file's lock directly), so a locked open is tried again until the lock wait has passed.
 */
async function openSqliteFile(path: string): Promise<BetterSqlite3.Database> {
  const { default: Database } = await import('better-sqlite3');
  const deadline = Date.now() + SQLITE_LOCK_WAIT_MS;
  for (let attempt = 1; ; attempt++) {
    let db: BetterSqlite3.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      // Wait for another process's lock from the first statement on (journal_mode included).
      db = keepAlive(
        new Database(path, { timeout: SQLITE_LOCK_WAIT_MS, nativeBinding: sqliteAddon() }),
      );
      // exec, not pragma(): no statement object is left for the garbage collector.
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON');
      return db;
    } catch (cause) {
      db?.close();
      if (isSqliteBusy(cause) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, 20 * 2 ** attempt)));
        continue;
      }
      if (isSqliteDamaged(cause))
        throw new StoreError(path, `the store file is damaged: ${(cause as Error).message}`, {
          cause,
          hint: damagedStoreHint(path),
        });
      const denied = await writeDenied(cause, dirname(path));
      if (denied !== undefined)
        throw new StoreError(path, denied.message, {
          cause,
          hint: `${denied.hint} (--store <file>, $SLUICE_STORE or --store postgres://...)`,
        });
      throw new StoreError(path, `cannot open the embedded store: ${(cause as Error).message}`, {
        cause,
        hint: 'check that the folder is writable, or pass --store postgres://...',
      });
    }
  }
}

/** Whether SQLite found the file damaged (`SQLITE_CORRUPT*`) or not a database at all. */
function isSqliteDamaged(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
  );
}

/**
 * What to do about a damaged embedded store: confirm with `sluice store check`, then restore the
 * last backup (or start afresh without one).
 *
 * @example
 * ```ts
 * throw new StoreError(path, 'the store file is damaged', { hint: damagedStoreHint(path) });
 * ```
 */
export function damagedStoreHint(
  path: string,
  options: { readonly checked?: boolean } = {},
): string {
  const confirm =
    options.checked === true ? '' : `confirm with: sluice store check --store ${path}; then `;
  return `${confirm}restore the last backup (made with sluice store backup <file>): stop every sluice process using the store, move ${path} and its -wal and -shm files aside, copy the backup to ${path} and start again; without a backup, moving the files aside starts an empty store (run history is lost, outputs are not)`;
}

function isSqliteBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code === 'SQLITE_LOCKED');
}

/**
 * Turns the embedded database's own errors (locked, read-only, full, corrupt) into a
 * {@link StoreError} that says what to do; other errors pass through.
 */
async function sqliteGuard<T>(path: string, call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw cause;
    const message = (cause as Error).message;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
      throw new StoreError(
        path,
        `it is locked: another process held its write lock for more than ${SQLITE_LOCK_WAIT_MS / 1000} s (${message})`,
        {
          cause,
          retryable: true,
          hint: 'another sluice process (a run, a worker, the server) or a tool holding the file open is writing to it; run again when it is done, or keep the store on PostgreSQL (--store postgres://...) for many writers',
        },
      );
    if (isSqliteDamaged(cause))
      throw new StoreError(path, `the store file is damaged: ${message} (${code})`, {
        cause,
        hint: damagedStoreHint(path),
      });
    if (code.startsWith('SQLITE_READONLY'))
      throw new StoreError(path, `it refuses writes: ${message}`, {
        cause,
        hint: 'make the store file, its -wal and -shm files and its folder writable by this user',
      });
    throw new StoreError(path, `the embedded database failed: ${message} (${code})`, {
      cause,
      hint:
        code === 'SQLITE_FULL'
          ? 'free disk space where the store lives'
          : `check the store file with: sluice store check --store ${path}`,
    });
  }
}

async function sqliteTransaction<T>(
  db: BetterSqlite3.Database,
  work: (tx: SqlDatabase) => Promise<T>,
  tx: SqlDatabase,
): Promise<T> {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = await work(tx);
    db.exec('COMMIT');
    return result;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

async function openPostgres(url: string): Promise<SqlDatabase> {
  let driver: typeof pg;
  try {
    driver = (await import('pg')).default;
  } catch (cause) {
    throw new StoreError(redact(url), 'the PostgreSQL driver is not installed', {
      cause,
      hint: 'npm install pg',
    });
  }
  const location = redact(url);
  const pool = new driver.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 5_000,
    application_name: 'sluice',
  });
  // A client losing its connection, idle or checked out, must not crash the process with an
  // unhandled 'error' event; its queries reject, and the pool replaces it.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const numbered = (sql: string): string => {
    let n = 0;
    return sql.replaceAll('?', () => `$${++n}`);
  };
  const onClient = (client: pg.PoolClient): SqlDatabase => ({
    dialect: 'postgres',
    location,
    all: async (sql, params = []) =>
      (await guard(location, () => client.query(numbered(sql), [...params]))).rows as SqlRow[],
    run: async (sql, params = []) =>
      (await guard(location, () => client.query(numbered(sql), [...params]))).rowCount ?? 0,
    transaction: async (work) => work(onClient(client)),
    close: async () => undefined,
  });
  const db: SqlDatabase = {
    dialect: 'postgres',
    location,
    all: async (sql, params = []) =>
      (await guard(location, () => pool.query(numbered(sql), [...params]))).rows as SqlRow[],
    run: async (sql, params = []) =>
      (await guard(location, () => pool.query(numbered(sql), [...params]))).rowCount ?? 0,
    transaction: async (work) => {
      const client = await guard(location, () => pool.connect());
      let broken = false;
      try {
        await guard(location, () => client.query('BEGIN'));
        const result = await work(onClient(client));
        await guard(location, () => client.query('COMMIT'));
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
  await db.all('SELECT 1');
  return db;
}

const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown: the server terminated the connection
  '57P02',
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

async function guard<T>(location: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const message = (cause as Error).message ?? String(cause);
    const lost =
      (code !== undefined && CONNECTION_FAILURES.has(code)) ||
      /Connection terminated|connection timeout|Client has encountered a connection error/i.test(
        message,
      );
    if (code === '25006' || code === '42501' || code === '53100')
      throw new StoreError(location, `it refuses writes: ${message}`, {
        cause,
        hint:
          code === '53100'
            ? 'free disk space on the PostgreSQL server'
            : 'connect as a role that may write the store, to a primary that is not read-only',
      });
    if (lost)
      throw new StoreError(location, `lost the connection: ${message}`, {
        cause,
        retryable: true,
        hint: 'check that PostgreSQL is running and reachable; sluice serve and workers keep trying by themselves, other commands can be run again',
      });
    throw cause;
  }
}

/**
 * A store URL without its password, for messages.
 *
 * @example
 * ```ts
 * redactStoreUrl('postgres://sluice:secret@db/sluice'); // "postgres://sluice:***@db/sluice"
 * ```
 */
export function redactStoreUrl(url: string): string {
  return redact(url);
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
