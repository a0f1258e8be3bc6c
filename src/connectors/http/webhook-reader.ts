import type { z } from 'zod';
import { columnDefinitions, quoteIdentifier } from '../../core/type-mappings.js';
import { SourceError } from '../../core/errors.js';
import type { SourceReadContext, SourceReadResult } from '../../contracts/batch-connector.js';
import type { webhookSourceConfig } from './webhook-configs.js';
import { jsonSourceConfig } from '../shared/file-configs.js';
import { ndjsonSource } from '../shared/json-source.js';
import { metadataColumns } from '../shared/metadata-columns.js';
import { WebhookInbox } from './webhook-inbox.js';

/**
 * `webhookSource.read`, loaded on first use.
 *
 * @example
 * ```ts
 * await readWebhookInbox(config, context);
 * ```
 */
export async function readWebhookInbox(
  config: z.output<typeof webhookSourceConfig>,
  context: SourceReadContext,
): Promise<SourceReadResult> {
  const inbox = WebhookInbox.open(context.stateDir, config.inbox);
  await forgetConsumed(inbox, config.inbox, context);
  const unfinished = await inbox.claims();
  const fresh = await inbox.claimNew();
  const claims = fresh === undefined ? unfinished : [...unfinished, fresh];
  const batches = claims
    .flatMap((claim) => claim.batches)
    .sort((a, b) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0));
  const state = webhookState(claims.map((claim) => claim.name));
  if (batches.length === 0) {
    const fields = [
      ...config.schema.fields,
      ...metadataColumns(config.metadata, context, "''").map((m) => m.field),
    ];
    await context.connection.run(
      `CREATE TABLE ${quoteIdentifier(context.stepId)} (${columnDefinitions(fields)})`,
    );
    return { rowsRead: 0, rowsQuarantined: 0, fields, inputs: [], state };
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
  context.logger.info(
    { inbox: config.inbox, batches: batches.length, again: unfinished.length },
    'webhook batches read',
  );
  return { ...result, inputs: [inbox.folder], state };
}

/** What the step state of `source.webhook` holds: the claims its last successful run read. */
interface WebhookState {
  readonly read: readonly string[];
}

/**
 * The step state naming the claims a run read.
 *
 * @example
 * ```ts
 * webhookState(['1764000000000-5f0c...']); // '{"read":["1764000000000-5f0c..."]}'
 * ```
 */
export function webhookState(claims: readonly string[]): string {
  return JSON.stringify({ read: claims } satisfies WebhookState);
}

/**
 * Deletes what the last successful run read, as its state names it. A state from a version that
 * kept the number of the last batch read instead sets the batches numbered up to it aside
 * (deleting none), since a batch numbered below it may never have been read.
 */
async function forgetConsumed(
  inbox: WebhookInbox,
  name: string,
  context: SourceReadContext,
): Promise<void> {
  const state = context.state;
  if (state === undefined) return;
  if (/^\d{16}$/.test(state)) {
    const { folder, moved } = await inbox.setAsideThrough(state);
    if (moved > 0)
      context.logger.warn(
        { inbox: name, batches: moved, folder },
        'the step state is from an older Sluice that tracked consumed batches by number: the batches numbered up to it are moved aside, not read again and not deleted; delete them once you know the last run loaded them',
      );
    return;
  }
  const claims = parseWebhookState(state);
  if (claims === undefined)
    throw new SourceError(
      context.stepId,
      `the step state of inbox ${name} is not one source.webhook keeps: ${state.slice(0, 100)}`,
      {
        hint: 'nothing was read or deleted; the run store holds a state another connector wrote under this step name. Rename the step, or reset its state',
      },
    );
  const removed = await inbox.removeClaims(claims);
  if (removed > 0)
    context.logger.info({ inbox: name, batches: removed }, 'consumed batches removed');
}

function parseWebhookState(state: string): readonly string[] | undefined {
  try {
    const parsed = JSON.parse(state) as unknown;
    const read = (parsed as { read?: unknown } | null)?.read;
    return Array.isArray(read) && read.every((c) => typeof c === 'string') ? read : undefined;
  } catch {
    return undefined;
  }
}
