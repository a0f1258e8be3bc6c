import { quoteIdentifier, quoteLiteral } from '../core/type-mappings.js';
import type { EngineConnection } from '../contracts/engine-connection.js';

/**
 * Drops a step's dataset, a table or a view, when it exists.
 *
 * @example
 * ```ts
 * await dropDataset(connection, 'orders');
 * ```
 */
export async function dropDataset(connection: EngineConnection, name: string): Promise<void> {
  const [found] = await connection.rows(
    `SELECT table_type FROM information_schema.tables WHERE table_name = ${quoteLiteral(name)}`,
  );
  if (found === undefined) return;
  await connection.run(
    `DROP ${found['table_type'] === 'VIEW' ? 'VIEW' : 'TABLE'} ${quoteIdentifier(name)}`,
  );
}
