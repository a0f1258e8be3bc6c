import type { BatchConnector } from '../../contracts/batch-connector.js';
import { postgresCdcSource } from './postgres-cdc-source.js';
import { postgresSink } from './postgres-sink.js';
import { postgresSource } from './postgres-source.js';

/**
 * The PostgreSQL connectors: `source.postgres`, `source.postgresCdc` and `sink.postgres`. They load the `pg` and
 * `pg-copy-streams` packages only when a step uses them.
 *
 * @example
 * ```ts
 * const registry = createRegistry([...fileConnectors, ...postgresConnectors]);
 * ```
 */
export const postgresConnectors: readonly BatchConnector[] = [
  postgresSource,
  postgresCdcSource,
  postgresSink,
];
