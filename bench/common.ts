import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from '../src/index.js';

/** One measured figure, as written to bench/results.json. */
export interface BenchResult {
  readonly id: string;
  readonly value: number;
  readonly unit: string;
  readonly note: string;
}

/** A run of one variant: its wall-clock time, what it returned and the folder it wrote to. */
export interface Timed<T> {
  readonly seconds: number;
  readonly value: T;
  readonly dir: string;
}

/** Where generated input data lives (git-ignored). */
export const DATA_DIR = fileURLToPath(new URL('./data/', import.meta.url));

/** A positive integer setting from the environment, or `fallback` when unset. */
export function envInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Timed runs per variant, alternating between variants (`BENCH_ROUNDS`, default 2). */
export function benchRounds(): number {
  return envInteger('BENCH_ROUNDS', 2);
}

/** Progress goes to stderr so stdout holds only the results table. */
export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * Runs `run` in a fresh temporary folder and times it (making the folder is not timed). The
 * caller removes the folder with {@link removeRunDirs} once it has checked the outputs.
 */
export async function timeInFreshDir<T>(
  label: string,
  run: (dir: string) => Promise<T>,
): Promise<Timed<T>> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  log(`  ${label} ...`);
  try {
    const began = performance.now();
    const value = await run(dir);
    const seconds = (performance.now() - began) / 1000;
    log(`  ${label}: ${seconds.toFixed(2)} s`);
    return { seconds, value, dir };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Runs every variant `rounds` times, alternating between them in A B, B A, A B... order so that
 * neither a slow spell of the machine nor going first (cold caches) hits one variant only, and
 * returns each variant's runs.
 */
export async function alternate<K extends string, T>(
  group: string,
  rounds: number,
  variants: Readonly<Record<K, (dir: string) => Promise<T>>>,
): Promise<Record<K, Timed<T>[]>> {
  const names = Object.keys(variants) as K[];
  const runs = Object.fromEntries(names.map((name) => [name, []])) as unknown as Record<
    K,
    Timed<T>[]
  >;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const name of round % 2 === 1 ? names : [...names].reverse()) {
        runs[name].push(
          await timeInFreshDir(`${group}: ${name} ${round}/${rounds}`, variants[name]),
        );
      }
    }
  } catch (error) {
    await removeRunDirs(Object.values<Timed<T>[]>(runs).flat());
    throw error;
  }
  return runs;
}

/** The fastest of some runs. */
export function fastest<T>(runs: readonly Timed<T>[]): Timed<T> {
  const [first, ...rest] = runs;
  if (first === undefined) throw new Error('no runs to pick from');
  return rest.reduce((best, run) => (run.seconds < best.seconds ? run : best), first);
}

/** Removes the folders runs wrote to. */
export async function removeRunDirs(runs: readonly Timed<unknown>[]): Promise<void> {
  await Promise.all(runs.map((run) => rm(run.dir, { recursive: true, force: true })));
}

/** Throws when a check between variants or steps fails; a benchmark of wrong work is void. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Quotes a string as a SQL literal. */
export function sqlString(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Runs `work` on a connection to a fresh in-memory DuckDB, closed afterwards. */
export async function withDuckDB<T>(
  work: (connection: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return await work(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** The first row of a query's result, as plain JS values. */
export async function firstRow(
  connection: DuckDBConnection,
  sql: string,
): Promise<Record<string, unknown>> {
  const reader = await connection.runAndReadAll(sql);
  const [row] = reader.getRowObjectsJS();
  if (row === undefined) throw new Error(`no row from: ${sql}`);
  return row;
}

/** Runs a statement or query and returns the first value of its result as a number. */
export async function runCount(connection: DuckDBConnection, sql: string): Promise<number> {
  const result = await connection.run(sql);
  const [row] = await result.getRows();
  return Number(row?.[0] ?? 0);
}

/** Milliseconds per step of a Sluice run. */
export function stepTimes(report: RunReport): Record<string, number> {
  return Object.fromEntries(report.steps.map((step) => [step.id, step.durationMs]));
}

/** Step times for a result note: `orders 1.20 s, out 0.30 s`. */
export function formatSteps(stepMs: Readonly<Record<string, number>> | undefined): string {
  return Object.entries(stepMs ?? {})
    .map(([id, ms]) => `${id} ${(ms / 1000).toFixed(2)} s`)
    .join(', ');
}
