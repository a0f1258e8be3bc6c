import { defineSource } from '../../contracts/batch-connector.js';
import { lazy } from '../../contracts/lazy-implementation.js';
import { webhookSourceConfig } from './webhook-configs.js';

export { webhookSourceConfig } from './webhook-configs.js';
export type { WebhookSourceConfig } from './webhook-configs.js';

const reader = () => import('./webhook-reader.js');

/**
 * Reads the records posted to a webhook inbox since the last successful run. `sluice serve
 * --http` lands each accepted POST as a durable batch in `<state dir>/inbox/<inbox>/` before it
 * answers. A run moves every batch there into a claim of its own (`.read/<claim>/`) and reads
 * it, together with the claims of earlier reads whose run did not succeed; its step state names
 * the claims it read, and those are deleted at the start of the next run, once that success is
 * recorded. Batches are tracked by the claim that holds them, never by their number, so a batch
 * numbered below those already read (a server restarted with its clock behind) is read, not
 * deleted. The state persists under the orchestrator (`sluice serve` / `sluice worker`), which
 * must share the state folder with the server.
 *
 * @example
 * ```ts
 * source.webhook({ inbox: 'orders', schema: schema({ id: t.int64().notNull(), total: t.decimal(12, 2) }) });
 * ```
 */
export const webhookSource = defineSource({
  name: 'webhook',
  summary: 'Records posted to a webhook inbox of `sluice serve --http` since the last run.',
  config: webhookSourceConfig,
  read: lazy(reader, 'readWebhookInbox'),
});
