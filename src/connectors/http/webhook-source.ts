import { z } from 'zod';
import { columnDefinitions, quoteIdentifier } from '../../core/type-mappings.js';
import { defineSource } from '../../engine/connector.js';
import { jsonSourceConfig } from '../files/file-configs.js';
import { ndjsonSource } from '../files/json-source.js';
import { metadataColumns } from '../files/metadata-columns.js';
import { WebhookInbox } from './webhook-inbox.js';

/**
 * Config of `source.webhook`: the inbox to read and the schema its records must fit.
 *
 * @example
 * ```ts
 * webhookSourceConfig.parse({ inbox: 'orders', schema });
 * ```
 */
export const webhookSourceConfig = z
  .strictObject({
    inbox: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" and "-", at most 64')
      .describe(
        'The inbox name: `sluice serve --http` accepts posts for it at `POST /hooks/<inbox>`.',
      ),
    schema: jsonSourceConfig.shape.schema
      .unwrap()
      .describe(
        'The records posted to the inbox (required: the data comes from outside). Records that do not fit are quarantined.',
      ),
    schemaPolicy: jsonSourceConfig.shape.schemaPolicy,
    metadata: jsonSourceConfig.shape.metadata,
  })
  .describe('Records posted to a webhook inbox since the last successful run.');

export type WebhookSourceConfig = z.input<typeof webhookSourceConfig>;

/**
 * Reads the records posted to a webhook inbox since the last successful run. `sluice serve
 * --http` lands each accepted POST as a durable batch in `<state dir>/inbox/<inbox>/` before it
 * answers; a run reads every batch after its step state (the last batch the previous successful
 * run read), and the batches it read are deleted at the start of the next run, once that success
 * is recorded. A failed run leaves them to be read again. The state persists under the
 * orchestrator (`sluice serve` / `sluice worker`), which must share the state folder with the
 * server.
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
  async read(config, context) {
    const inbox = WebhookInbox.open(context.stateDir, config.inbox);
    if (context.state !== undefined) {
      const removed = await inbox.removeConsumed(context.state);
      if (removed > 0)
        context.logger.info({ inbox: config.inbox, batches: removed }, 'consumed batches removed');
    }
    const batches = await inbox.pending(context.state);
    const state = batches.at(-1)?.sequence ?? context.state;
    const stateOf = state === undefined ? {} : { state };
    if (batches.length === 0) {
      const fields = [
        ...config.schema.fields,
        ...metadataColumns(config.metadata, context, "''").map((m) => m.field),
      ];
      await context.connection.run(
        `CREATE TABLE ${quoteIdentifier(context.stepId)} (${columnDefinitions(fields)})`,
      );
      return { rowsRead: 0, rowsQuarantined: 0, fields, inputs: [], ...stateOf };
    }
    const result = await ndjsonSource.read(
      jsonSourceConfig.parse({
        path: batches.map((b) => b.file),
        schema: config.schema,
        schemaPolicy: config.schemaPolicy,
        metadata: config.metadata,
      }),
      context,
    );
    context.logger.info({ inbox: config.inbox, batches: batches.length }, 'webhook batches read');
    return { ...result, inputs: [inbox.folder], ...stateOf };
  },
});
