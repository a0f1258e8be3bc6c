import { spawnSync } from 'node:child_process';
import { copyFile, cp, link, mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { RunStore } from '../src/orchestrator/run-store.js';
import { backupStore, checkStore } from '../src/orchestrator/store-maintenance.js';
import { ROOT, sluice, tempDir } from './helpers.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

const postgresSkip = await postgresUnavailable();

/** A copy of the quickstart project with 48 backfilled runs in its embedded store. */
async function projectWithRuns(): Promise<{ dir: string; db: string }> {
  const dir = await tempDir('sluice-store-');
  await cp(join(ROOT, 'examples', 'quickstart'), dir, { recursive: true });
  const made = sluice([
    'backfill',
    'quickstart',
    '--project',
    dir,
    '--from',
    '2024-01-01',
    '--to',
    '2024-01-03',
  ]);
  expect(made.code, made.stderr).toBe(0);
  return { dir, db: join(dir, '.sluice', 'sluice.db') };
}

/** Writes garbage bytes over part of the file, as a failing disk or a bad copy would. */
async function damage(file: string, offset: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(Buffer.alloc(4096, 0x5a), 0, 4096, offset);
  } finally {
    await handle.close();
  }
}

/** Where the first page of a table starts in the store file. */
async function tablePageOffset(file: string, table: string): Promise<number> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(file, { readonly: true });
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const { rootpage } = db
      .prepare("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(table) as { rootpage: number };
    expect(rootpage).toBeGreaterThan(1);
    return (rootpage - 1) * pageSize;
  } finally {
    db.close();
  }
}

function runCount(dir: string): number {
  const listed = sluice(['runs', '--project', dir, '--json', '--limit', '1000']);
  expect(listed.code, listed.stderr).toBe(0);
  return (JSON.parse(listed.stdout) as unknown[]).length;
}

describe('sluice store backup', () => {
  it('copies the store while another connection writes, atomically, and refuses to overwrite', async () => {
    const dir = await tempDir('sluice-backup-');
    const location = join(dir, 'store', 'sluice.db');
    const store = await RunStore.open(location);
    const backups = join(dir, 'backups');
    await mkdir(backups);
    try {
      for (let i = 0; i < 200; i++)
        await store.registerPipeline({ name: `p${i}`, file: 'x'.repeat(2_000) });
      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          await store.registerPipeline({ name: `w${written++}`, file: 'y'.repeat(500) });
          // better-sqlite3 is synchronous: let the backup's steps run between writes.
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const file = join(backups, 'sluice.db');
      const result = await backupStore(location, file);
      writing = false;
      await writer;
      expect(written).toBeGreaterThan(0);
      expect(result.bytes).toBe((await stat(file)).size);
      // Only the backup is left in the folder: no temporary file.
      expect(await readdir(backups)).toEqual(['sluice.db']);
      const verdict = await checkStore(file);
      expect(verdict).toMatchObject({ ok: true, problems: [] });
      const copy = await RunStore.open(file);
      try {
        expect(await copy.getPipeline('p199')).toBeDefined();
      } finally {
        await copy.close();
      }

      await expect(backupStore(location, file)).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(/exists already/),
        hint: expect.stringMatching(/--force/),
      });
      await store.registerPipeline({ name: 'after_first_backup' });
      await backupStore(location, file, { force: true });
      const replaced = await RunStore.open(file);
      try {
        expect(await replaced.getPipeline('after_first_backup')).toBeDefined();
      } finally {
        await replaced.close();
      }
      await expect(backupStore(location, join(dir, 'missing', 'b.db'))).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(/folder .* does not exist/),
      });
      await expect(backupStore(join(dir, 'none.db'), join(backups, 'n.db'))).rejects.toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(/no run store at/),
      });
    } finally {
      await store.close();
    }
  }, 120_000);

  it('never writes over the store or its -wal, and removes what a killed backup left', async () => {
    const dir = await tempDir('sluice-backup-guard-');
    const location = join(dir, 'sluice.db');
    const store = await RunStore.open(location);
    try {
      await store.registerPipeline({ name: 'kept' });
      for (const target of [location, `${location}-wal`, `${location}-shm`]) {
        await expect(backupStore(location, target, { force: true })).rejects.toMatchObject({
          code: 'USAGE',
          message: expect.stringMatching(/is the store itself, or one of its files/),
        });
      }
      await link(location, join(dir, 'alias.db'));
      await expect(
        backupStore(location, join(dir, 'alias.db'), { force: true }),
      ).rejects.toMatchObject({ code: 'USAGE' });

      const backups = join(dir, 'backups');
      await mkdir(backups);
      const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
      const abandoned = join(backups, `.b.db.sluice-backup-${dead}-0000aaaa`);
      const running = join(backups, `.b.db.sluice-backup-${process.ppid}-0000bbbb`);
      await writeFile(abandoned, 'half a backup');
      await writeFile(running, 'a backup in progress');
      await backupStore(location, join(backups, 'b.db'));
      expect((await readdir(backups)).sort()).toEqual([basename(running), 'b.db'].sort());
      expect((await checkStore(join(backups, 'b.db'))).ok).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a damaged store is not backed up, and the previous backup is kept', async () => {
    const { dir, db } = await projectWithRuns();
    const file = join(dir, 'backup.db');
    expect(sluice(['store', 'backup', file, '--project', dir]).code).toBe(0);
    const before = (await stat(file)).mtimeMs;
    await damage(db, 4096);
    const again = sluice(['store', 'backup', file, '--project', dir, '--force']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/STORE_FAILED.*damaged/);
    expect((await stat(file)).mtimeMs).toBe(before);
    expect((await readdir(dir)).filter((name) => name.includes('sluice-backup'))).toEqual([]);
  }, 120_000);

  it.skipIf(postgresSkip !== undefined)(
    'a PostgreSQL store gets the pg_dump command (exit 2), without the password',
    async () => {
      const result = sluice([
        'store',
        'backup',
        'dump.pgc',
        '--store',
        'postgres://sluice:s3cret@127.0.0.1:5432/runs',
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /pg_dump --format=custom --file \S*dump\.pgc postgres:\/\/sluice@127\.0\.0\.1:5432\/runs/,
      );
      expect(result.stderr).not.toMatch(/s3cret/);
    },
  );
});

describe('sluice store check and a damaged store', () => {
  it('says ok for a sound store, damaged (exit 1) with the restore steps, and the steps work', async () => {
    const { dir, db } = await projectWithRuns();
    const ok = sluice(['store', 'check', '--project', dir]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok: the run store .* is sound \(schema version \d+\)/);
    const backup = join(dir, 'backup.db');
    expect(sluice(['store', 'backup', backup, '--project', dir]).code).toBe(0);

    // Garbage over the page that holds the runs table, inside the file (as a failing disk or a
    // bad copy would leave it), so every command that lists or adds runs meets it.
    await damage(db, await tablePageOffset(db, 'runs'));
    const check = sluice(['store', 'check', '--project', dir]);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^damaged: the run store/);
    expect(check.stdout).toMatch(/what to do: restore the last backup/);
    const json = sluice(['store', 'check', '--project', dir, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 'damaged', ok: false });

    // Commands that use the store say what to do instead of an internal error.
    for (const args of [
      ['runs', '--project', dir, '--limit', '1000'],
      ['backfill', 'quickstart', '--project', dir, '--from', '2024-01-05', '--to', '2024-01-06'],
    ]) {
      const failed = sluice(args);
      expect(failed.code).toBe(1);
      expect(failed.stderr).not.toMatch(/INTERNAL|SqliteError/);
      expect(failed.stderr).toMatch(/error \[STORE_FAILED\]: .*the store file is damaged/);
      expect(failed.stderr).toMatch(/hint: confirm with: sluice store check --store /);
      expect(failed.stderr).toMatch(/restore the last backup/);
    }

    // The restore steps of the hint: move the files aside, copy the backup in place.
    for (const suffix of ['', '-wal', '-shm']) await rm(`${db}${suffix}`, { force: true });
    await copyFile(backup, db);
    expect(sluice(['store', 'check', '--project', dir]).code).toBe(0);
    expect(runCount(dir)).toBe(48);
  }, 180_000);

  it('a store whose first page is garbage is reported as damaged, not as a folder problem', async () => {
    const { dir, db } = await projectWithRuns();
    await damage(db, 0);
    const failed = sluice(['runs', '--project', dir]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/the store file is damaged/);
    expect(failed.stderr).not.toMatch(/folder is writable/);
    expect(sluice(['store', 'check', '--project', dir]).code).toBe(1);
  }, 120_000);

  it('a file that is not a Sluice store is damaged for store check; a missing store is bad usage', async () => {
    const dir = await tempDir('sluice-check-');
    await writeFile(join(dir, 'empty.db'), '');
    const empty = sluice(['store', 'check', '--store', join(dir, 'empty.db')]);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toMatch(/sluice_migrations is missing/);
    const missing = sluice(['store', 'check', '--store', join(dir, 'none.db')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/there is no run store at/);
  }, 60_000);

  it.skipIf(postgresSkip !== undefined)(
    'PostgreSQL: ok when every table is there, damaged (exit 1) when one is missing',
    async () => {
      const database = await createTestDatabase();
      try {
        const store = await RunStore.open(database.url);
        await store.close();
        const ok = sluice(['store', 'check', '--store', database.url]);
        expect(ok.code, ok.stderr + ok.stdout).toBe(0);
        expect(ok.stdout).toMatch(/^ok: the run store postgres:/);
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        await client.query('DROP TABLE tasks');
        await client.end();
        const broken = sluice(['store', 'check', '--store', database.url, '--json']);
        expect(broken.code).toBe(1);
        const verdict = JSON.parse(broken.stdout) as { problems: string[]; hint: string };
        expect(verdict.problems.join(' ')).toMatch(/tables tasks are missing/);
        expect(verdict.hint).toMatch(/pg_restore/);
      } finally {
        await database.drop();
      }
    },
    120_000,
  );
});
