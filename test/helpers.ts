import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance, JSDuckDBValueConverter } from '@duckdb/node-api';
import { afterEach } from 'vitest';
import type { Pipeline, RunOptions, RunReport, SQLStep } from '../src/index.js';
import { runPipeline, sql } from '../src/index.js';

const created: string[] = [];

/** A fresh temporary folder, removed after the test. */
export async function tempDir(prefix = 'sluice-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

afterEach(async () => {
  // A killed child's own run processes can still be writing for a moment (until their
  // watchdog sees the parent gone): retry what fails with ENOTEMPTY/EBUSY meanwhile.
  for (const dir of created.splice(0))
    await rm(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
});

/**
 * SIGKILLs the children still running and waits until each has exited (10 s at most each), so
 * a test's folders are removed after the processes that write into them.
 *
 * @example
 * ```ts
 * afterEach(() => killChildren(children));
 * ```
 */
export async function killChildren(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await Promise.race([exited, sleepFor(10_000)]);
    }),
  );
}

/** Runs a pipeline with its state and relative paths inside `dir`. */
export async function runIn(
  dir: string,
  pipeline: Pipeline,
  options: RunOptions = {},
): Promise<RunReport> {
  const report = await runPipeline(pipeline, {
    baseDir: dir,
    stateDir: join(dir, '.sluice'),
    ...options,
  });
  if (process.env['SLUICE_TEST_DEBUG'] === '1' && report.error !== undefined)
    console.error(report.error);
  return report;
}

/** Rows of a SQL query over files, read with a throwaway DuckDB. */
export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.convertRowObjects(JSDuckDBValueConverter);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The parsed lines of an NDJSON file. */
export async function readNDJSON(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The report line of one step. */
export function stepOf(report: RunReport, id: string) {
  const step = report.steps.find((s) => s.id === id);
  if (step === undefined) throw new Error(`no step ${id} in the report`);
  return step;
}

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '..');

/** Runs the built `sluice` command (bin/sluice.js) and returns its exit code and output. */
export function sluice(
  args: readonly string[],
  cwd: string = ROOT,
): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, SLUICE_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A SQL step from text built at run time (`sql` is a tagged template). */
export function sqlFromText(text: string): SQLStep {
  return sql(Object.assign([text], { raw: [text] }) as unknown as TemplateStringsArray);
}
