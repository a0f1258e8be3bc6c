import { spawn } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DuckDBSession } from '../src/contracts/duckdb-session.js';
import { deltaScanSQL, loadDeltaSnapshot } from '../src/table/index.js';
import { fixtureFolder } from './fixtures.js';
import { sluice, tempDir } from './helpers.js';

const folder = fixtureFolder('delta');

describe.skipIf(folder === undefined)('sluice table read on the fixture tables', () => {
  it('prints the expected rows of every version', async () => {
    const dir = await tempDir();
    for (const name of [
      'delta-0.8.0',
      'delta-0.8.0-partitioned',
      'simple_table',
      'simple_table_with_checkpoint',
    ]) {
      await cp(join(folder as string, 'tables', name), join(dir, name), { recursive: true });
      for (const file of (await readdir(join(folder as string, 'expected', name))).sort()) {
        const expected = JSON.parse(
          await readFile(join(folder as string, 'expected', name, file), 'utf8'),
        ) as {
          version: number;
          rows: Record<string, unknown>[];
        };
        const run = sluice([
          'table',
          'read',
          join(dir, name),
          '--version',
          String(expected.version),
        ]);
        expect(run.code, run.stderr).toBe(0);
        const rows = run.stdout.trim() === '' ? [] : run.stdout.trim().split('\n');
        const key = (r: unknown): string => JSON.stringify(r);
        expect(rows.map((r) => key(JSON.parse(r))).sort()).toEqual(expected.rows.map(key).sort());
      }
    }
    const refused = sluice([
      'table',
      'read',
      join(folder as string, 'tables', 'table-with-dv-small'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('deletionVectors');
  });
});

describe('sluice table write, describe, history', () => {
  it('writes, describes and lists commits; refuses what it cannot do with exit 2', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'orders.csv'), 'id,country,amount\n1,DE,10.5\n2,FR,3\n3,DE,7\n');
    const table = join(dir, 'orders');
    expect(
      sluice([
        'table',
        'write',
        table,
        '--from',
        join(dir, 'orders.csv'),
        '--partition-by',
        'country',
      ]).stdout,
    ).toContain('Committed version 0: 3 rows in 2 file(s)');
    expect(
      sluice(['table', 'write', table, '--from', join(dir, 'orders.csv'), '--mode', 'overwrite'])
        .stdout,
    ).toContain('Committed version 1: 3 rows in 2 file(s), 2 file(s) replaced');
    const described = JSON.parse(sluice(['table', 'describe', table, '--json']).stdout) as Record<
      string,
      unknown
    >;
    expect(described).toMatchObject({
      version: 1,
      files: 2,
      rows: 3,
      partitionColumns: ['country'],
      protocol: { minReaderVersion: 1, minWriterVersion: 2 },
    });
    const history = JSON.parse(sluice(['table', 'history', table, '--json']).stdout) as {
      version: number;
      filesAdded: number;
      filesRemoved: number;
    }[];
    expect(history.map((h) => [h.version, h.filesAdded, h.filesRemoved])).toEqual([
      [1, 2, 2],
      [0, 2, 0],
    ]);
    const csv = sluice([
      'table',
      'read',
      table,
      '--format',
      'csv',
      '--columns',
      'id,country',
      '--where',
      "country = 'DE'",
    ]);
    expect(csv.stdout.trim().split('\n').sort()).toEqual(['1,DE', '3,DE', 'id,country']);
    await writeFile(join(dir, 'changes.csv'), 'id,country,amount\n2,FR,99\n4,DE,1\n');
    const changes = join(dir, 'changes.csv');
    expect(
      sluice(['table', 'write', table, '--from', changes, '--mode', 'merge', '--key', 'id']).stdout,
    ).toContain('Committed version 2');
    const merged = sluice(['table', 'read', table, '--format', 'csv', '--columns', 'id,amount']);
    expect(merged.stdout.trim().split('\n').slice(1).sort()).toEqual([
      '1,10.5',
      '2,99.0',
      '3,7.0',
      '4,1.0',
    ]);
    expect(sluice(['table', 'write', table, '--from', changes, '--mode', 'merge']).code).toBe(2);
    expect(sluice(['table', 'write', table, '--from', changes, '--where', 'id > 1']).code).toBe(2);
    await writeFile(join(dir, 'de.csv'), 'id,country,amount\n5,DE,2\n');
    const replace = ['table', 'write', table, '--from', join(dir, 'de.csv'), '--mode', 'overwrite'];
    expect(sluice([...replace, '--where', "country = 'DE'"]).stdout).toContain(
      '2 file(s) replaced',
    );
    const outside = sluice([...replace, '--where', "country = 'FR'"]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('1 row(s) written do not match the predicate');
    expect(sluice(['table', 'delete', table, '--where', 'id = 2']).stdout).toContain(
      '1 row(s) deleted, 1 file(s) rewritten',
    );
    expect(sluice(['table', 'read', table, '--columns', 'id']).stdout.trim()).toBe('{"id":5}');
    expect(sluice(['table', 'delete', table]).code).toBe(2);
    await writeFile(join(dir, 'wide.csv'), 'id,country,amount,channel\n6,FR,1.5,web\n');
    const wide = ['table', 'write', table, '--from', join(dir, 'wide.csv')];
    expect(sluice(wide).stderr).toContain('pass mergeSchema to add new columns');
    expect(sluice([...wide, '--merge-schema']).code).toBe(0);
    expect(
      sluice(['table', 'read', table, '--format', 'csv']).stdout.trim().split('\n').sort(),
    ).toEqual(['5,DE,2.0,', '6,FR,1.5,web', 'id,country,amount,channel']);
    expect(sluice([...wide, '--merge-schema', '--mode', 'merge', '--key', 'id']).code).toBe(2);
    expect(
      sluice(['table', 'read', table, '--version', '1', '--timestamp', '2026-01-01']).code,
    ).toBe(2);
    expect(sluice(['table', 'read', join(dir, 'nope')]).stderr).toContain('no transaction log at');
  });

  it('optimizes small files away and vacuums what no version within the retention uses', async () => {
    const dir = await tempDir();
    const table = join(dir, 'events');
    await writeFile(join(dir, 'batch.csv'), 'id,country\n1,DE\n2,FR\n');
    const args = ['table', 'write', table, '--from', join(dir, 'batch.csv')];
    sluice([...args, '--partition-by', 'country']);
    sluice(args);
    sluice(args);
    const rows = (): string[] =>
      sluice(['table', 'read', table, '--format', 'csv']).stdout.trim().split('\n').sort();
    const before = rows();
    expect(sluice(['table', 'optimize', table]).stdout).toContain(
      'Committed version 3: 6 file(s) in 2 partition(s) compacted into 2',
    );
    expect(rows()).toEqual(before);
    expect(sluice(['table', 'optimize', table]).stdout).toContain('Nothing to compact');

    const kept = sluice(['table', 'vacuum', table]);
    expect(kept.stdout).toContain('Deleted 0 file(s)');
    const unsafe = sluice(['table', 'vacuum', table, '--retention-hours', '0']);
    expect(unsafe.code).toBe(1);
    expect(unsafe.stderr).toContain('below the safe minimum');
    const dry = sluice([
      'table',
      'vacuum',
      table,
      '--retention-hours',
      '0',
      '--force',
      '--dry-run',
    ]);
    expect(dry.stdout).toContain('Would delete 6 file(s)');
    expect(
      sluice(['table', 'vacuum', table, '--retention-hours', '0', '--force']).stdout,
    ).toContain('Deleted 6 file(s)');
    expect(rows()).toEqual(before);
    expect(sluice(['table', 'vacuum', table, '--retention-hours', 'soon']).code).toBe(2);
  });
});

describe('a writer killed with SIGKILL', () => {
  it('leaves the table consistent every time, and retries complete each write exactly once', async () => {
    const table = join(await tempDir(), 'killed');
    const script = resolve(import.meta.dirname, 'support', 'delta-appender.ts');
    const commits = 40;
    const start = () =>
      spawn(
        process.execPath,
        ['--import', 'jiti/register', script, table, 'k', String(commits), 'txn'],
        { stdio: 'ignore' },
      );
    const session = await DuckDBSession.create();
    const connection = await session.connect();
    try {
      for (let kill = 0; kill < 50; kill++) {
        const child = start();
        const exited = new Promise<void>((done) => child.on('exit', () => done()));
        await sleep(300 + ((kill * 37) % 500));
        child.kill('SIGKILL');
        await exited;
        const snapshot = await loadDeltaSnapshot(connection, table).catch(() => undefined);
        if (snapshot === undefined) continue; // killed before the first commit
        const [counts] = await connection.rows(
          `SELECT count(*) AS rows, count(DISTINCT n) AS distinct_n FROM ${deltaScanSQL(snapshot)}`,
        );
        expect(counts?.['rows']).toBe(counts?.['distinct_n']);
        expect(Number(counts?.['rows'])).toBe(snapshot.version + 1);
      }
      const finish = start();
      await new Promise<void>((done) => finish.on('exit', () => done()));
      const snapshot = await loadDeltaSnapshot(connection, table);
      const [counts] = await connection.rows(
        `SELECT count(*) AS rows, count(DISTINCT n) AS distinct_n, min(n) AS low, max(n) AS high FROM ${deltaScanSQL(snapshot)}`,
      );
      expect(counts).toEqual({
        rows: BigInt(commits),
        distinct_n: BigInt(commits),
        low: 0n,
        high: BigInt(commits - 1),
      });
    } finally {
      session.close();
    }
  }, 180_000);
});
