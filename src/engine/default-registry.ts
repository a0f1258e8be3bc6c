import { fileConnectors } from '../connectors/files/index.js';
import { createRegistry } from './connector.js';

/**
 * The registry runs use unless given another: every file connector.
 *
 * @example
 * ```ts
 * const registry = defaultRegistry.with(myApiSource);
 * ```
 */
export const defaultRegistry = createRegistry(fileConnectors);
