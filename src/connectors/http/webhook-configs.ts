import { z } from 'zod';
import { jsonSourceConfig } from '../shared/file-configs.js';

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
