import { duckdb } from './duckdb-api.js';
import type { DuckDBInstance } from './duckdb-api.js';
import { EngineConnection, firstLine } from './engine-connection.js';
import { EngineError } from '../core/errors.js';

export { EngineConnection, firstLine } from './engine-connection.js';

/** Settings of the DuckDB instance behind one run. */
export interface DuckDBSessionOptions {
  /** e.g. `4GB`; DuckDB spills larger intermediate results to `tempDirectory`. */
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** Where DuckDB spills; one folder per run. */
  readonly tempDirectory?: string;
}

/**
 * One in-memory DuckDB instance for one run. Steps get their own connections so independent
 * steps run concurrently and a streaming read never shares a connection with a write.
 *
 * @example
 * ```ts
 * const session = await DuckDBSession.create({ memoryLimit: '2GB', tempDirectory: '/tmp/run1' });
 * const conn = await session.connect();
 * await conn.run('create table t as select 42 as answer');
 * session.close();
 * ```
 */
export class DuckDBSession {
  readonly #instance: DuckDBInstance;
  readonly #connections: EngineConnection[] = [];

  private constructor(instance: DuckDBInstance) {
    this.#instance = instance;
  }

  static async create(options: DuckDBSessionOptions = {}): Promise<DuckDBSession> {
    const settings: Record<string, string> = {};
    if (options.memoryLimit !== undefined) settings['memory_limit'] = options.memoryLimit;
    if (options.threads !== undefined) settings['threads'] = String(options.threads);
    if (options.tempDirectory !== undefined) settings['temp_directory'] = options.tempDirectory;
    let instance: DuckDBInstance;
    try {
      instance = await duckdb().DuckDBInstance.create(':memory:', settings);
    } catch (cause) {
      throw new EngineError(undefined, `cannot start DuckDB: ${firstLine(cause)}`, {
        cause,
        hint: 'check the engine settings (memoryLimit like "4GB", threads a positive integer)',
      });
    }
    return new DuckDBSession(instance);
  }

  /** Opens a new connection; closed with the session. */
  async connect(stepId?: string): Promise<EngineConnection> {
    const connection = new EngineConnection(await this.#instance.connect(), stepId);
    this.#connections.push(connection);
    return connection;
  }

  /** Closes every connection and the instance. */
  close(): void {
    for (const connection of this.#connections) connection.close();
    this.#connections.length = 0;
    this.#instance.closeSync();
  }
}
