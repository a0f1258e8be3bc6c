import type { Client } from 'pg';
import type { SharedResource, OpenShared } from '../../contracts/shared-resource.js';
import type { StagedOutput } from '../../contracts/staged-output.js';
import { connectPostgres, postgresError } from './pg-connection.js';
import type { PostgresRole } from './pg-connection.js';

/**
 * One PostgreSQL connection holding one transaction for a whole run. Every sink and `sql` step
 * of the run that writes to the same server works in it, so a model sees the rows a sink loaded
 * earlier in the run, and readers see all of the run's changes at once when it commits (on
 * publish) or none (when the run fails). Steps take turns on the connection; each turn runs
 * under a savepoint, so a failed attempt can be retried without losing the others' work.
 *
 * @example
 * ```ts
 * const session = await PostgresSession.shared(context.shared, config.url, where);
 * const rows = await session.use((client) => copyRows(client));
 * return session.stagedOutput(rows, ['db/public.orders']);
 * ```
 */
export class PostgresSession implements SharedResource {
  readonly #client: Client;
  #turn: Promise<unknown> = Promise.resolve();
  #ended: Promise<void> | undefined;

  private constructor(client: Client) {
    this.#client = client;
  }

  /** The run's session for `url`, opened (and its transaction begun) by the first step asking. */
  static shared(open: OpenShared, url: string, where: PostgresRole): Promise<PostgresSession> {
    return open(`postgres:${url}`, async () => {
      const client = await connectPostgres(url, where);
      try {
        await client.query('BEGIN');
      } catch (cause) {
        await client.end().catch(() => undefined);
        throw postgresError(where, 'cannot begin a transaction', cause);
      }
      return new PostgresSession(client);
    });
  }

  /** Runs `work` when the connection is free, under a savepoint rolled back if it fails. */
  use<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#ended !== undefined) throw new Error('the run has already finished');
      await this.#client.query('SAVEPOINT sluice_step');
      try {
        const result = await work(this.#client);
        await this.#client.query('RELEASE SAVEPOINT sluice_step');
        return result;
      } catch (error) {
        await this.#client.query('ROLLBACK TO SAVEPOINT sluice_step').catch(() => undefined);
        throw error;
      }
    };
    const result = this.#turn.then(run, run);
    this.#turn = result.catch(() => undefined);
    return result;
  }

  /**
   * The staged output of a step that worked in this session: publishing commits the whole
   * session (once, for every step in it), discarding rolls it back.
   */
  stagedOutput(rowsWritten: number, outputs: readonly string[]): StagedOutput {
    return {
      rowsWritten,
      outputs,
      publish: () => this.#finish('COMMIT'),
      discard: () => this.#finish('ROLLBACK').catch(() => undefined),
    };
  }

  close(): Promise<void> {
    return this.#finish('ROLLBACK').catch(() => undefined);
  }

  #finish(statement: 'COMMIT' | 'ROLLBACK'): Promise<void> {
    this.#ended ??= this.#turn.then(async () => {
      try {
        await this.#client.query(statement);
      } catch (cause) {
        await this.#client.query('ROLLBACK').catch(() => undefined);
        throw cause;
      } finally {
        await this.#client.end().catch(() => undefined);
      }
    });
    return this.#ended;
  }
}
