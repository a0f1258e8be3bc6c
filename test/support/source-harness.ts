import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { silentLogger } from '../../src/core/logger.js';
import type {
  BatchSourceConnector,
  SourceReadResult,
} from '../../src/contracts/batch-connector.js';
import { EngineConnection } from '../../src/contracts/engine-connection.js';
import type { QuarantineEntry } from '../../src/contracts/quarantine-store.js';
import { QuarantineStore } from '../../src/contracts/quarantine-store.js';

/** What one direct source read gave: its result or error, rows out and the quarantine file. */
export interface HarnessRead {
  readonly result?: SourceReadResult;
  readonly error?: unknown;
  readonly rowsOut: number;
  readonly quarantined: QuarantineEntry[];
}

/**
 * Runs batch sources' `read` directly on one shared in-memory DuckDB, so a property test can
 * read thousands of generated files without starting a pipeline run for each.
 *
 * @example
 * ```ts
 * const harness = await SourceHarness.create();
 * const read = await harness.read(ndjsonSource, { path: 'a.ndjson' }, dir);
 * harness.close();
 * ```
 */
export class SourceHarness {
  readonly #instance: DuckDBInstance;
  #steps = 0;

  private constructor(instance: DuckDBInstance) {
    this.#instance = instance;
  }

  static async create(): Promise<SourceHarness> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    return new SourceHarness(instance);
  }

  async read<Config>(
    connector: BatchSourceConnector<Config>,
    config: unknown,
    dir: string,
  ): Promise<HarnessRead> {
    const stepId = `s${++this.#steps}`;
    const runId = `run_${stepId}`;
    const connection = new EngineConnection(await this.#instance.connect(), stepId);
    const quarantine = new QuarantineStore(join(dir, 'quarantine', stepId), runId);
    const parsed = connector.config.parse(config) as Config;
    let result: SourceReadResult | undefined;
    let error: unknown;
    let rowsOut = 0;
    try {
      result = await connector.read(parsed, {
        stepId,
        runId,
        baseDir: dir,
        stateDir: join(dir, '.sluice'),
        connection,
        extractedAt: new Date(0),
        quarantine,
        logger: silentLogger,
        signal: new AbortController().signal,
      });
      const [row] = await connection.rows(`SELECT count(*) AS n FROM "${stepId}"`);
      rowsOut = Number(row?.['n']);
    } catch (caught) {
      error = caught;
    } finally {
      const tables = await connection.rows(
        `SELECT table_name, table_type FROM information_schema.tables WHERE table_name LIKE '%${stepId}%'`,
      );
      for (const t of tables.filter((t) => t['table_type'] === 'VIEW'))
        await connection.run(`DROP VIEW IF EXISTS "${String(t['table_name'])}"`);
      for (const t of tables.filter((t) => t['table_type'] !== 'VIEW'))
        await connection.run(`DROP TABLE IF EXISTS "${String(t['table_name'])}"`);
      connection.close();
    }
    const text = await readFile(quarantine.pathFor(stepId), 'utf8').catch(() => '');
    const quarantined = text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as QuarantineEntry);
    return { ...(result === undefined ? {} : { result }), error, rowsOut, quarantined };
  }

  close(): void {
    this.#instance.closeSync();
  }
}
