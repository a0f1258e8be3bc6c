import type { BatchConnector } from '../../contracts/batch-connector.js';
import { restSource } from './rest-source.js';
import { webhookSource } from './webhook-source.js';

/**
 * The batch HTTP connectors: `source.rest` (an HTTP JSON API) and `source.webhook` (an inbox of
 * `sluice serve --http`). Specs only: each loads its reader on first use.
 *
 * @example
 * ```ts
 * const registry = createRegistry([...httpConnectors]);
 * ```
 */
export const httpConnectors: readonly BatchConnector[] = [restSource, webhookSource];
