import type { DuckDBConnection } from '@duckdb/node-api';
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { log, withDuckDB } from './common.js';

/** Changing the seed changes every generated value. */
const SEED = 20_240_101;

/**
 * SQL macros for deterministic pseudo-random numbers: `bench_rand(i, salt)` is a 32-bit integer
 * hash (xor-shift-multiply, as in murmur's finaliser) of a row number and a salt. Plain integer
 * arithmetic, so the data does not depend on the DuckDB version's hash() function.
 */
const RANDOM_MACROS = [
  `CREATE MACRO bench_mix(x) AS (xor(x, x >> 16) * 73244475) % 4294967296`,
  `CREATE MACRO bench_seeded(i, salt) AS bench_mix(bench_mix((i * 2654435761 + salt * 40503 + ${SEED}) % 4294967296))`,
  `CREATE MACRO bench_rand(i, salt) AS xor(bench_seeded(i, salt), bench_seeded(i, salt) >> 16)`,
];

/**
 * Returns `path`, generating it first with `write` unless it already exists. `write` gets a
 * temporary path that is renamed into place when complete, so an existing file is a whole one.
 */
export async function generateOnce(
  path: string,
  write: (connection: DuckDBConnection, partialPath: string) => Promise<void>,
): Promise<string> {
  if (await exists(path)) {
    log(`reusing ${path}`);
    return path;
  }
  log(`generating ${path} ...`);
  const began = performance.now();
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  try {
    await withDuckDB(async (connection) => {
      for (const macro of RANDOM_MACROS) await connection.run(macro);
      await write(connection, partial);
    });
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  log(`generated ${path} in ${((performance.now() - began) / 1000).toFixed(1)} s`);
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
