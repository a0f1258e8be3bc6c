import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomHex } from '../src/core/ids.js';
import { ROOT, tempDir } from './helpers.js';
import { readDeltaTable } from './support/orchestrator-project.js';
import type { ClickHouseTestDatabase } from './support/clickhouse.js';
import { clickhouseUnavailable, createClickHouseDatabase } from './support/clickhouse.js';
import { MYSQL_ADMIN_URL, mysqlUnavailable } from './support/mysql.js';
import { createTestDatabase, postgresUnavailable } from './support/postgres.js';

// `sluice run` saves the sources' new state as pending before its sinks publish and promotes it
// after; the next run settles a pending state by asking the sinks which runs they hold. These
// tests stop the CLI at each boundary of that commit (SLUICE_PAUSE_AT) and check that every
// source row lands in every sink exactly once.

const BIN = join(ROOT, 'bin', 'sluice.js');
const pgSkip = await postgresUnavailable();
const mysqlSkip = await mysqlUnavailable();
const clickhouseSkip = await clickhouseUnavailable();

let pgDatabase: { url: string; drop: () => Promise<void> } | undefined;
let mysqlDatabase: string | undefined;
let clickhouseDatabase: ClickHouseTestDatabase | undefined;

beforeAll(async () => {
  if (pgSkip === undefined) pgDatabase = await createTestDatabase();
  if (clickhouseSkip === undefined) clickhouseDatabase = await createClickHouseDatabase();
  if (mysqlSkip === undefined) {
    mysqlDatabase = `sluice_state_${randomHex(4)}`;
    await withMySQL((c) => c.query(`CREATE DATABASE ${mysqlDatabase}`));
  }
});
afterAll(async () => {
  await pgDatabase?.drop();
  await clickhouseDatabase?.drop();
  if (mysqlDatabase !== undefined)
    await withMySQL((c) => c.query(`DROP DATABASE IF EXISTS ${mysqlDatabase}`));
});

async function withMySQL<T>(work: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

async function pgIds(table: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: pgDatabase?.url });
  await client.connect();
  try {
    const exists = await client.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [table]);
    if (exists.rows[0]?.found !== true) return [];
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`);
    return rows.map((row) => Number(row.id));
  } finally {
    await client.end();
  }
}

async function mysqlIds(table: string): Promise<number[]> {
  return withMySQL(async (c) => {
    const [found] = await c.query<mysql.RowDataPacket[]>(
      `SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?`,
      [mysqlDatabase, table],
    );
    if (found.length === 0) return [];
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT id FROM ${mysqlDatabase}.${table} ORDER BY id`,
    );
    return rows.map((row) => Number(row['id']));
  });
}

async function deltaIds(dir: string, path: string): Promise<number[]> {
  if (!existsSync(join(dir, path, '_delta_log'))) return [];
  const rows = await readDeltaTable(dir, join(dir, path));
  return rows.map((row) => Number(row['id'])).sort((a, b) => a - b);
}

async function duckdbIds(path: string): Promise<number[]> {
  const instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll('SELECT id FROM events ORDER BY id');
    return reader.getRowObjects().map((row) => Number(row['id']));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function csvIds(project: Project): Promise<number[]> {
  const text = await readFile(join(project.dir, 'out', 'latest.csv'), 'utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => Number(line.split(',')[0]))
    .sort((a, b) => a - b);
}

/** A pipeline reading `data/events.csv` incrementally into the given sinks (TS source lines). */
function pipelineSource(name: string, sinks: string, header = ''): string {
  return `import { pipeline, ref, schema, sink, source, t } from 'sluice';
${header}
export default pipeline('${name}', {
  steps: {
    events: source.csv({
      path: 'data/events.csv',
      schema: schema({ id: t.int64().notNull(), updated_at: t.timestamp().notNull() }),
      incremental: { cursor: 'updated_at' },
    }),
    copy: sink.csv({ input: ref('events'), path: 'out/latest.csv' }),
${sinks}
  },
});
`;
}

interface Project {
  readonly dir: string;
  readonly file: string;
  readonly store: string;
  nextId: number;
}

async function newProject(name: string, sinks: string, header?: string): Promise<Project> {
  const dir = await tempDir('sluice-state-');
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'data', 'events.csv'), 'id,updated_at\n');
  const file = join(dir, 'pipeline.ts');
  await writeFile(file, pipelineSource(name, sinks, header));
  return { dir, file, store: join(dir, 'state.db'), nextId: 1 };
}

/** Appends `count` new rows, each with a later cursor than every earlier one. */
async function addRows(project: Project, count: number): Promise<number[]> {
  const ids: number[] = [];
  let lines = '';
  for (let i = 0; i < count; i++) {
    const id = project.nextId++;
    ids.push(id);
    const at = new Date(Date.UTC(2024, 0, 1) + id * 60_000).toISOString().replace('T', ' ');
    lines += `${id},${at.slice(0, 19)}\n`;
  }
  await appendFile(join(project.dir, 'data', 'events.csv'), lines);
  return ids;
}

function cliArgs(project: Project): string[] {
  return [BIN, 'run', project.file, '--store', project.store, '--json', '--log-level', 'silent'];
}

function runToEnd(project: Project): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, cliArgs(project), {
    cwd: project.dir,
    encoding: 'utf8',
    env: { ...process.env, SLUICE_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Starts a run that pauses at `point`, waits until it is there, calls `atPause`, then lets it
 * go on (or kills it when `atPause` says so). Resolves to how the process ended.
 */
async function runPausedAt(
  project: Project,
  point: string,
  atPause: () => Promise<'kill' | 'continue'>,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const pauseFile = join(project.dir, `pause-${randomHex(3)}`);
  const child = spawn(process.execPath, cliArgs(project), {
    cwd: project.dir,
    env: { ...process.env, SLUICE_DEBUG: '', SLUICE_PAUSE_AT: point, SLUICE_PAUSE_FILE: pauseFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: string | null }>((done) =>
    child.on('exit', (code, signal) => {
      ended = true;
      done({ code, signal });
    }),
  );
  const deadline = Date.now() + 90_000;
  while (!ended && !existsSync(pauseFile) && Date.now() < deadline) await sleep(10);
  if (ended) {
    const end = await exited;
    throw new Error(
      `the run ended before reaching ${point} (exit ${end.code}): ${stdout.slice(0, 2_000)} ${stderr.slice(0, 2_000)}`,
    );
  }
  if (!existsSync(pauseFile)) throw new Error(`the run did not reach ${point} in time`);
  const action = await atPause();
  if (action === 'kill') child.kill('SIGKILL');
  else await rm(pauseFile, { force: true });
  const end = await exited;
  return { ...end, stdout, stderr };
}

/** Holds the embedded store's write lock from another connection until released. */
function lockStore(path: string): () => void {
  const db = new Database(path);
  db.exec('BEGIN IMMEDIATE');
  return () => {
    db.exec('ROLLBACK');
    db.close();
  };
}

interface Scenario {
  readonly name: string;
  readonly skip: string | undefined;
  /** Sink steps (TS source) after the `copy` CSV sink every scenario has; `tag` names tables. */
  readonly sinks: (tag: string) => string;
  /** Where the boundaries are: after each sink that publishes. */
  readonly published: readonly string[];
  /** Every sink's ids, by name. */
  readonly ids: (project: Project, tag: string) => Promise<Record<string, number[]>>;
}

const scenarios: Scenario[] = [
  {
    name: 'PostgreSQL append and merge (one transaction)',
    skip: pgSkip,
    sinks: (tag) => `
    appended: sink.postgres({ input: ref('events'), url: '${pgDatabase?.url}', table: 'appended_${tag}', mode: 'append' }),
    merged: sink.postgres({ input: ref('events'), url: '${pgDatabase?.url}', table: 'merged_${tag}', mode: 'merge', keys: ['id'] }),`,
    published: ['copy', 'appended', 'merged'],
    ids: async (_project, tag) => ({
      appended: await pgIds(`appended_${tag}`),
      merged: await pgIds(`merged_${tag}`),
    }),
  },
  {
    name: 'Delta append',
    skip: undefined,
    sinks: () => `
    lake: sink.delta({ input: ref('events'), path: 'lake/events', mode: 'append' }),`,
    published: ['copy', 'lake'],
    ids: async (project) => ({ lake: await deltaIds(project.dir, 'lake/events') }),
  },
  {
    name: 'Delta merge',
    skip: undefined,
    sinks: () => `
    lake: sink.delta({ input: ref('events'), path: 'lake/merged', mode: 'merge', keys: ['id'] }),`,
    published: ['copy', 'lake'],
    ids: async (project) => ({ lake: await deltaIds(project.dir, 'lake/merged') }),
  },
  {
    name: 'DuckDB append',
    skip: undefined,
    sinks: () => `
    local: sink.duckdb({ input: ref('events'), path: 'local.duckdb', table: 'events', mode: 'append' }),`,
    published: ['copy', 'local'],
    ids: async (project) => ({ local: await duckdbIds(join(project.dir, 'local.duckdb')) }),
  },
  {
    name: 'MySQL append',
    skip: mysqlSkip,
    sinks: (tag) => `
    my: sink.mysql({ input: ref('events'), url: '${MYSQL_ADMIN_URL}${mysqlDatabase}', table: 'appended_${tag}', mode: 'append', createTable: true }),`,
    published: ['copy', 'my'],
    ids: async (_project, tag) => ({ my: await mysqlIds(`appended_${tag}`) }),
  },
  {
    name: 'MySQL merge',
    skip: mysqlSkip,
    sinks: (tag) => `
    my: sink.mysql({ input: ref('events'), url: '${MYSQL_ADMIN_URL}${mysqlDatabase}', table: 'merged_${tag}', mode: 'merge', keys: ['id'], createTable: true }),`,
    published: ['copy', 'my'],
    ids: async (_project, tag) => ({ my: await mysqlIds(`merged_${tag}`) }),
  },
];

describe('sluice run: source state advances atomically with the published data', () => {
  for (const scenario of scenarios) {
    it.skipIf(scenario.skip !== undefined)(
      `${scenario.name}: a SIGKILL at every boundary of the commit loses and repeats nothing`,
      async () => {
        const tag = randomHex(3);
        const project = await newProject(`state_${tag}`, scenario.sinks(tag));
        const written: number[] = [];
        const expectExactlyOnce = async (): Promise<void> => {
          const all = [...written].sort((a, b) => a - b);
          for (const [sink, ids] of Object.entries(await scenario.ids(project, tag)))
            expect({ sink, ids }).toEqual({ sink, ids: all });
        };
        written.push(...(await addRows(project, 3)));
        expect(runToEnd(project).code).toBe(0);
        await expectExactlyOnce();
        const points = [
          'before-state-prepare',
          'before-publish',
          ...scenario.published.map((step) => `published:${step}`),
          'before-state-save',
        ];
        for (const point of points) {
          written.push(...(await addRows(project, 2)));
          const killed = await runPausedAt(project, point, async () => 'kill');
          expect(killed.signal).toBe('SIGKILL');
          written.push(...(await addRows(project, 1)));
          const next = runToEnd(project);
          expect({ point, code: next.code, stderr: next.stderr.slice(0, 500) }).toEqual({
            point,
            code: 0,
            stderr: next.stderr.slice(0, 500),
          });
          await expectExactlyOnce();
          // The CSV copy is replaced by each run: after a dropped pending state it holds the
          // killed run's rows too, after a promoted one only the rows new since.
          const dropped = ['before-state-prepare', 'before-publish', 'published:copy'];
          expect({ point, csv: await csvIds(project) }).toEqual({
            point,
            csv: written.slice(dropped.includes(point) ? -3 : -1),
          });
        }
        // Nothing is pending any more: an idle run loads nothing.
        expect(runToEnd(project).code).toBe(0);
        await expectExactlyOnce();
      },
      300_000,
    );
  }

  it.skipIf(pgSkip !== undefined)(
    'a sink that wrote no rows (an empty Delta append commits nothing) does not make a killed run look half-published',
    async () => {
      const tag = randomHex(3);
      const project = await newProject(
        `state_empty_${tag}`,
        `
    nothing: sql\`SELECT * FROM \${ref('events')} WHERE id < 0\`,
    lake: sink.delta({ input: ref('nothing'), path: 'lake/empty', mode: 'append' }),
    appended: sink.postgres({ input: ref('events'), url: '${pgDatabase?.url}', table: 'appended_${tag}', mode: 'append' }),`,
        "import { sql } from 'sluice';",
      );
      const written = await addRows(project, 3);
      expect(runToEnd(project).code).toBe(0);
      written.push(...(await addRows(project, 2)));
      const killed = await runPausedAt(project, 'before-state-save', async () => 'kill');
      expect(killed.signal).toBe('SIGKILL');
      const next = runToEnd(project);
      expect({ code: next.code, stderr: next.stderr.slice(0, 500) }).toEqual({
        code: 0,
        stderr: next.stderr.slice(0, 500),
      });
      expect(await pgIds(`appended_${tag}`)).toEqual(written);
    },
    300_000,
  );

  it.skipIf(pgSkip !== undefined)(
    'a store locked when the state is promoted fails the run with STORE_FAILED, and the next run loads nothing twice',
    async () => {
      const tag = randomHex(3);
      const project = await newProject(`locked_${tag}`, scenarios[0]!.sinks(tag));
      const written = await addRows(project, 3);
      expect(runToEnd(project).code).toBe(0);
      written.push(...(await addRows(project, 2)));
      let release: (() => void) | undefined;
      const locked = await runPausedAt(project, 'before-state-save', async () => {
        release = lockStore(project.store);
        return 'continue';
      });
      release?.();
      expect(locked.code).toBe(1);
      expect(locked.stdout + locked.stderr).not.toMatch(/INTERNAL|SqliteError/);
      const report = JSON.parse(locked.stdout) as {
        status: string;
        error?: { code: string; message: string; hint?: string };
      };
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('STORE_FAILED');
      expect(report.error?.message).toMatch(/published its outputs but could not save/);
      expect(report.error?.hint).toMatch(/next run/);
      // The outputs are published (the transaction committed) ...
      expect(await pgIds(`appended_${tag}`)).toEqual(expect.arrayContaining(written));
      written.push(...(await addRows(project, 1)));
      // ... and the next run saves the pending state before reading, so nothing repeats.
      expect(runToEnd(project).code).toBe(0);
      expect(await pgIds(`appended_${tag}`)).toEqual([...written].sort((a, b) => a - b));
    },
    120_000,
  );

  it.skipIf(pgSkip !== undefined)(
    'a PostgreSQL store that turns read-only before the state is promoted fails the run with STORE_FAILED, and the next run loads nothing twice',
    async () => {
      const storeDatabase = await createTestDatabase();
      const storeName = new URL(storeDatabase.url).pathname.slice(1);
      const admin = new pg.Client({ connectionString: pgDatabase?.url });
      await admin.connect();
      try {
        const tag = randomHex(3);
        const base = await newProject(`readonly_${tag}`, scenarios[0]!.sinks(tag));
        const project = { ...base, store: storeDatabase.url };
        const written = await addRows(project, 3);
        expect(runToEnd(project).code).toBe(0);
        written.push(...(await addRows(project, 2)));
        const refused = await runPausedAt(project, 'before-state-save', async () => {
          await admin.query(`ALTER DATABASE ${storeName} SET default_transaction_read_only = on`);
          await admin.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`,
            [storeName],
          );
          return 'continue';
        });
        expect(refused.code).toBe(1);
        expect(refused.stdout + refused.stderr).not.toMatch(/INTERNAL/);
        const report = JSON.parse(refused.stdout) as {
          status: string;
          error?: { code: string; message: string; hint?: string };
        };
        expect(report.status).toBe('failed');
        expect(report.error?.code).toBe('STORE_FAILED');
        expect(report.error?.message).toMatch(/refuses writes/);
        await admin.query(`ALTER DATABASE ${storeName} RESET default_transaction_read_only`);
        written.push(...(await addRows(project, 1)));
        expect(runToEnd(project).code).toBe(0);
        expect(await pgIds(`appended_${tag}`)).toEqual([...written].sort((a, b) => a - b));
        expect(await pgIds(`merged_${tag}`)).toEqual([...written].sort((a, b) => a - b));
      } finally {
        await admin.end();
        await storeDatabase.drop();
      }
    },
    120_000,
  );

  it.skipIf(pgSkip !== undefined)(
    'a store locked by the pipeline itself fails the run before anything is published (the reported symptom)',
    async () => {
      const table = `symptom_${randomHex(3)}`;
      const project = await newProject(
        `symptom_${randomHex(3)}`,
        `    locker: transform({ input: ref('events'), map: (row) => { lockOnce(); return row; } }),
    appended: sink.postgres({ input: ref('locker'), url: '${pgDatabase?.url}', table: '${table}', mode: 'append' }),`,
        `import { transform } from 'sluice';
import Database from '${join(ROOT, 'node_modules', 'better-sqlite3', 'lib', 'index.js')}';
const held: unknown[] = [];
function lockOnce(): void {
  if (process.env.LOCK_STORE !== '1' || held.length > 0) return;
  const db = new Database(process.env.STORE_PATH as string);
  db.exec('BEGIN IMMEDIATE');
  held.push(db);
}`,
      );
      const written = await addRows(project, 3);
      const locked = spawnSync(process.execPath, cliArgs(project), {
        cwd: project.dir,
        encoding: 'utf8',
        env: { ...process.env, SLUICE_DEBUG: '', LOCK_STORE: '1', STORE_PATH: project.store },
      });
      expect(locked.status).toBe(1);
      expect(locked.stdout + locked.stderr).not.toMatch(/INTERNAL|SqliteError/);
      const report = JSON.parse(locked.stdout) as {
        status: string;
        runId: string;
        error?: { code: string; hint?: string };
      };
      expect(report.status).toBe('failed');
      expect(report.error?.code).toBe('STORE_FAILED');
      expect(report.error?.hint).toMatch(/another sluice process/);
      const saved = JSON.parse(
        await readFile(join(project.dir, '.sluice', 'runs', `${report.runId}.json`), 'utf8'),
      ) as { status: string };
      expect(saved.status).toBe('failed');
      expect(await pgIds(table)).toEqual([]);
      // The next run, with the store free, loads every row exactly once.
      expect(runToEnd(project).code).toBe(0);
      expect(await pgIds(table)).toEqual(written);
      expect(runToEnd(project).code).toBe(0);
      expect(await pgIds(table)).toEqual(written);
    },
    120_000,
  );

  it.skipIf(pgSkip !== undefined)(
    'a sink whose publish fails leaves the outputs already published intact',
    async () => {
      const table = `deferred_${randomHex(3)}`;
      const client = new pg.Client({ connectionString: pgDatabase?.url });
      await client.connect();
      // The duplicate key is only refused at COMMIT, that is when the sink publishes.
      await client.query(
        `CREATE TABLE ${table} (id BIGINT, updated_at TIMESTAMP, CONSTRAINT ${table}_one UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`,
      );
      await client.query(`INSERT INTO ${table} VALUES (1, now())`);
      await client.end();
      const project = await newProject(
        `deferred_${randomHex(3)}`,
        `    lake: sink.delta({ input: ref('events'), path: 'lake/kept', mode: 'append' }),
    appended: sink.postgres({ input: ref('events'), url: '${pgDatabase?.url}', table: '${table}', mode: 'append' }),`,
      );
      const written = await addRows(project, 3);
      const failed = runToEnd(project);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(/SINK_FAILED/);
      expect(await deltaIds(project.dir, 'lake/kept')).toEqual(written);
    },
    120_000,
  );

  it.skipIf(pgSkip !== undefined || clickhouseSkip !== undefined)(
    'a sink that cannot tell which runs it holds (ClickHouse append) publishes first: after a crash it may hold rows twice, never miss any',
    async () => {
      const table = `told_${randomHex(3)}`;
      const houseTable = `untold_${randomHex(3)}`;
      const project = await newProject(
        `untold_${randomHex(3)}`,
        `    house: sink.clickhouse({ input: ref('events'), url: '${clickhouseDatabase?.url}', table: '${houseTable}', mode: 'append', orderBy: ['id'] }),
    appended: sink.postgres({ input: ref('events'), url: '${pgDatabase?.url}', table: '${table}', mode: 'append' }),`,
      );
      const first = await addRows(project, 2);
      expect(runToEnd(project).code).toBe(0);
      const second = await addRows(project, 2);
      const killed = await runPausedAt(project, 'published:house', async () => 'kill');
      expect(killed.signal).toBe('SIGKILL');
      expect(runToEnd(project).code).toBe(0);
      expect(await pgIds(table)).toEqual([...first, ...second]);
      const rows = await clickhouseDatabase!.text(`SELECT id FROM ${houseTable} ORDER BY id`);
      expect(rows.map((row) => Number(row['id']))).toEqual(
        [...first, ...second, ...second].sort((a, b) => a - b),
      );
    },
    120_000,
  );

  it.skipIf(pgSkip !== undefined)(
    'a DuckDB replace sink beside PostgreSQL: a crash between their commits settles without a refusal',
    async () => {
      const table = `beside_${randomHex(3)}`;
      const project = await newProject(
        `replace_${randomHex(3)}`,
        `    local: sink.duckdb({ input: ref('events'), path: 'local.duckdb', table: 'events' }),
    appended: sink.postgres({ input: ref('events'), url: '${pgDatabase?.url}', table: '${table}', mode: 'append' }),`,
      );
      const first = await addRows(project, 2);
      expect(runToEnd(project).code).toBe(0);
      const second = await addRows(project, 2);
      const killed = await runPausedAt(project, 'published:local', async () => 'kill');
      expect(killed.signal).toBe('SIGKILL');
      const next = runToEnd(project);
      expect({ code: next.code, stdout: next.stdout.slice(0, 500) }).toEqual({
        code: 0,
        stdout: next.stdout.slice(0, 500),
      });
      expect(await pgIds(table)).toEqual([...first, ...second]);
      expect(await duckdbIds(join(project.dir, 'local.duckdb'))).toEqual(second);
    },
    120_000,
  );

  it.skipIf(pgSkip !== undefined)(
    'a PostgreSQL role that may insert into the table but not create tables still loads (without the mark)',
    async () => {
      const tag = randomHex(3);
      const role = `sluice_writer_${tag}`;
      const table = `granted_${tag}`;
      const admin = new pg.Client({ connectionString: pgDatabase?.url });
      await admin.connect();
      const schema = `restricted_${tag}`;
      try {
        await admin.query(`CREATE ROLE ${role} LOGIN`);
        await admin.query(`CREATE SCHEMA ${schema}`);
        await admin.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
        await admin.query(`CREATE TABLE ${schema}.${table} (id BIGINT, updated_at TIMESTAMP)`);
        await admin.query(`GRANT SELECT, INSERT ON ${schema}.${table} TO ${role}`);
        const url = new URL(pgDatabase?.url ?? '');
        url.username = role;
        url.searchParams.set('options', `-c search_path=${schema}`);
        const project = await newProject(
          `granted_${tag}`,
          `    appended: sink.postgres({ input: ref('events'), url: '${url.toString()}', table: '${schema}.${table}', mode: 'append' }),`,
        );
        const written = await addRows(project, 3);
        const run = runToEnd(project);
        expect({ code: run.code, out: run.stdout.slice(0, 300) }).toEqual({
          code: 0,
          out: run.stdout.slice(0, 300),
        });
        expect(await pgIds(`${schema}.${table}`)).toEqual(written);
      } finally {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.query(`DROP OWNED BY ${role}`).catch(() => undefined);
        await admin.query(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
    },
    120_000,
  );

  it.skipIf(pgSkip !== undefined)(
    'a run killed between two transactional targets is refused with a clear error, not loaded twice',
    async () => {
      const table = `split_${randomHex(3)}`;
      const project = await newProject(
        `split_${randomHex(3)}`,
        `    appended: sink.postgres({ input: ref('events'), url: '${pgDatabase?.url}', table: '${table}', mode: 'append' }),
    lake: sink.delta({ input: ref('events'), path: 'lake/split', mode: 'append' }),`,
      );
      const first = await addRows(project, 2);
      expect(runToEnd(project).code).toBe(0);
      const second = await addRows(project, 2);
      const killed = await runPausedAt(project, 'published:appended', async () => 'kill');
      expect(killed.signal).toBe('SIGKILL');
      const refused = runToEnd(project);
      expect(refused.code).toBe(1);
      const output = refused.stdout + refused.stderr;
      expect(output).toMatch(/STORE_FAILED/);
      expect(output).toMatch(/appended hold its output, lake do not/);
      expect(await pgIds(table)).toEqual([...first, ...second]);
      expect(await deltaIds(project.dir, 'lake/split')).toEqual(first);
    },
    120_000,
  );
});
