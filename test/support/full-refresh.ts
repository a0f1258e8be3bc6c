import { JSDuckDBValueConverter } from '@duckdb/node-api';
import type { Logger } from '../../src/core/logger.js';
import { DuckDBSession } from '../../src/contracts/duckdb-session.js';
import { deltaScanSQL, loadDeltaSnapshot } from '../../src/table/index.js';

/**
 * The rows of a Delta table (at `version`, or the latest), ordered by every column.
 *
 * @example
 * ```ts
 * expect(await readDeltaTable('out/lake/items')).toEqual([{ id: 1, name: 'a' }]);
 * ```
 */
export async function readDeltaTable(
  table: string,
  version?: number,
): Promise<Record<string, unknown>[]> {
  const session = await DuckDBSession.create();
  try {
    const connection = await session.connect();
    const snapshot = await loadDeltaSnapshot(
      connection,
      table,
      version === undefined ? {} : { version },
    );
    const reader = await connection.raw.runAndReadAll(
      `SELECT * FROM ${deltaScanSQL(snapshot)} ORDER BY ALL`,
    );
    return reader.convertRowObjects(JSDuckDBValueConverter);
  } finally {
    session.close();
  }
}

/**
 * A logger that keeps every message with its fields (and its children's), for asserting what a
 * run logged.
 *
 * @example
 * ```ts
 * const logger = recordingLogger();
 * await runPipeline(p, { logger });
 * logger.entries.filter((e) => e['message'] === 'output published');
 * ```
 */
export function recordingLogger(): Logger & { readonly entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const record = (fields: object, message?: string): void =>
      void entries.push({ ...bindings, ...fields, message });
    return {
      debug: record,
      info: record,
      warn: record,
      error: record,
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return Object.assign(make({}), { entries });
}
