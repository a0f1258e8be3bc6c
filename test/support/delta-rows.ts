import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Rows appended to a Delta table so far, from the `numRecords` stats of the add actions in its
 * JSON commits: a cheap poll while a stream writes (no DuckDB). For append-only tables; 0 before
 * the first commit.
 *
 * @example
 * ```ts
 * await waitFor(() => 'bronze', async () => (await appendedRows('out/lake/bronze/orders')) === 7);
 * ```
 */
export async function appendedRows(table: string): Promise<number> {
  const log = join(table, '_delta_log');
  if (!existsSync(log)) return 0;
  let rows = 0;
  for (const name of await readdir(log)) {
    if (!/^\d{20}\.json$/.test(name)) continue;
    for (const line of (await readFile(join(log, name), 'utf8')).split('\n')) {
      if (line.trim() === '') continue;
      const action = JSON.parse(line) as { add?: { stats?: string } };
      if (action.add?.stats !== undefined)
        rows += (JSON.parse(action.add.stats) as { numRecords: number }).numRecords;
    }
  }
  return rows;
}
