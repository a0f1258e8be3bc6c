import { fileConnectors } from '../connectors/files/index.js';
import { postgresConnectors } from '../connectors/postgres/index.js';
import { createRegistry } from './connector.js';

/**
 * The registry runs use unless given another: the file and PostgreSQL connectors.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(myApiSource);
 * ```
 */
export const defaultRegistry = createRegistry([...fileConnectors, ...postgresConnectors]);
