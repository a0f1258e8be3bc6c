import { afterAll, afterEach } from 'vitest';
import { RunStore } from '../../src/orchestrator/run-store.js';
import { tempDir } from '../helpers.js';
import { createTestDatabase, postgresUnavailable } from './postgres.js';

/** One kind of run store a test runs against, skipped with its reason when unavailable. */
export interface RunStoreDialect {
  readonly name: string;
  readonly skip: string | undefined;
  readonly open: () => Promise<RunStore>;
}

/**
 * The embedded store and PostgreSQL (a database of its own per call), for tests that run the same
 * cases on both. Stores pushed to `stores` are closed after each test; `drops` run after the file.
 *
 * @example
 * ```ts
 * const { dialects, stores } = await runStoreDialects('sluice-lineage-');
 * for (const dialect of dialects) describe.skipIf(dialect.skip !== undefined)(dialect.name, ...);
 * ```
 */
export async function runStoreDialects(prefix: string): Promise<{
  readonly dialects: readonly RunStoreDialect[];
  readonly pgSkip: string | undefined;
  readonly stores: RunStore[];
  readonly drops: (() => Promise<void>)[];
}> {
  const pgSkip = await postgresUnavailable();
  const drops: (() => Promise<void>)[] = [];
  const stores: RunStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });
  afterAll(async () => {
    await Promise.all(drops.map((drop) => drop()));
  });
  const dialects: RunStoreDialect[] = [
    {
      name: 'embedded SQLite',
      skip: undefined,
      open: async () => RunStore.open(`${await tempDir(prefix)}/sluice.db`),
    },
    {
      name: 'PostgreSQL',
      skip: pgSkip,
      open: async () => {
        const { url, drop } = await createTestDatabase();
        drops.push(drop);
        return RunStore.open(url);
      },
    },
  ];
  return { dialects, pgSkip, stores, drops };
}
