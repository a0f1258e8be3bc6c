import type { BatchConnector } from '../../contracts/batch-connector.js';
import { deltaSink } from './delta-sink.js';
import { deltaSource } from './delta-source.js';

/**
 * The Delta Lake batch connectors: the `delta` source and the `delta` sink, over `src/table/`.
 *
 * @example
 * ```ts
 * const registry = createRegistry(deltaConnectors);
 * ```
 */
export const deltaConnectors: readonly BatchConnector[] = [deltaSource, deltaSink];
