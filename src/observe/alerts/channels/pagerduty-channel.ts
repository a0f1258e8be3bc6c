import { z } from 'zod';
import { secretValue } from '../../../contracts/secrets.js';
import type { AlertNotification, AlertSeverity } from '../notification.js';
import type { ChannelOptions, ConfiguredAlertChannel } from './channel-config.js';
import { channelBaseFields } from './channel-config.js';
import { createHTTPChannel } from './channel-http.js';
import { ChannelSecrets } from './channel-secrets.js';
import { clip } from './render-text.js';

/** PagerDuty's severities (Events API v2 `payload.severity`). */
const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
type PagerDutySeverity = (typeof PAGERDUTY_SEVERITIES)[number];

const pagerDutySeverity = z.enum(PAGERDUTY_SEVERITIES);

/**
 * Config of a `pagerduty` channel: PagerDuty's Events API v2.
 *
 * @example
 * ```ts
 * pagerDutyChannelConfig.parse({ type: 'pagerduty', name: 'on-call', routingKey: { env: 'PAGERDUTY_ROUTING_KEY' } });
 * ```
 */
export const pagerDutyChannelConfig = z
  .strictObject({
    type: z.literal('pagerduty'),
    ...channelBaseFields,
    routingKey: secretValue.describe(
      'The integration key of the PagerDuty service (Events API v2); a credential, so give it as `{ env: "NAME" }`.',
    ),
    url: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'an http:// or https:// URL')
      .default('https://events.pagerduty.com/v2/enqueue')
      .describe(
        'The Events API endpoint: the default, or `https://events.eu.pagerduty.com/v2/enqueue` for an EU account.',
      ),
    source: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe(
        "`payload.source` of each event (where the problem is): by default the notification's `pipeline` label, else `sluice`.",
      ),
    severities: z
      .strictObject({
        critical: pagerDutySeverity.default('critical'),
        warning: pagerDutySeverity.default('warning'),
        info: pagerDutySeverity.default('info'),
      })
      .default({ critical: 'critical', warning: 'warning', info: 'info' })
      .describe(
        "PagerDuty's severity (`critical`, `error`, `warning`, `info`) for each Sluice severity.",
      ),
  })
  .describe('Triggers and resolves PagerDuty incidents (Events API v2), one per fingerprint.');

/** Config of a `pagerduty` channel as written. */
export type PagerDutyChannelInput = z.input<typeof pagerDutyChannelConfig>;
/** Config of a `pagerduty` channel after parsing. */
export type PagerDutyChannelConfig = z.output<typeof pagerDutyChannelConfig>;

/** An Events API v2 event. */
export interface PagerDutyEvent {
  readonly routing_key: string;
  readonly event_action: 'trigger' | 'resolve';
  readonly dedup_key: string;
  readonly payload?: {
    readonly summary: string;
    readonly source: string;
    readonly severity: PagerDutySeverity;
    readonly timestamp: string;
    readonly component?: string;
    readonly group?: string;
    readonly class: string;
    readonly custom_details: Readonly<Record<string, unknown>>;
  };
  readonly links?: readonly { readonly href: string; readonly text: string }[];
  readonly client?: string;
  readonly client_url?: string;
}

/**
 * The Events API v2 event of one notification: `resolve` for a resolved one (routing key and
 * dedup key only), `trigger` otherwise (repeats and escalations too: PagerDuty folds events with
 * the same `dedup_key`, the fingerprint, into one incident). The summary is cut to PagerDuty's
 * 1024 characters; the description, labels and notification kind go to `custom_details`.
 *
 * @example
 * ```ts
 * pagerDutyEvent(alert, key, { severities: { critical: 'critical', warning: 'warning', info: 'info' } });
 * ```
 */
export function pagerDutyEvent(
  alert: AlertNotification,
  routingKey: string,
  options: {
    readonly source?: string | undefined;
    readonly severities: Readonly<Record<AlertSeverity, PagerDutySeverity>>;
  },
): PagerDutyEvent {
  if (alert.state === 'resolved')
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: alert.fingerprint };
  const dataset = alert.labels['dataset'];
  const pipeline = alert.labels['pipeline'];
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: alert.fingerprint,
    payload: {
      summary: clip(alert.summary.trim() === '' ? alert.rule : alert.summary, 1024),
      source: clip(options.source ?? pipeline ?? 'sluice', 255),
      severity: options.severities[alert.severity],
      timestamp: alert.startsAt.toISOString(),
      ...(dataset === undefined ? {} : { component: dataset }),
      ...(pipeline === undefined ? {} : { group: pipeline }),
      class: alert.rule,
      custom_details: {
        ...(alert.description === undefined ? {} : { description: alert.description }),
        labels: alert.labels,
        notification: alert.notification,
        fingerprint: alert.fingerprint,
      },
    },
    ...(alert.url === undefined
      ? {}
      : {
          links: [{ href: alert.url, text: 'Open in Sluice' }],
          client: 'Sluice',
          client_url: alert.url,
        }),
  };
}

/**
 * A PagerDuty channel: sends one Events API v2 event per notification of a group, in order,
 * with the fingerprint as `dedup_key`, so a repeat lands in the open incident and a resolution
 * closes it. Sending a group again after a failure re-sends events PagerDuty already took,
 * which it folds by `dedup_key`. The routing key is read through the secret resolver and masked
 * in every error.
 *
 * @example
 * ```ts
 * const pd = createPagerDutyChannel(pagerDutyChannelConfig.parse({ type: 'pagerduty', name: 'on-call', routingKey: { env: 'PD_KEY' } }));
 * await pd.send(group, AbortSignal.timeout(30_000));
 * ```
 */
export function createPagerDutyChannel(
  config: PagerDutyChannelConfig,
  options: ChannelOptions = {},
): ConfiguredAlertChannel {
  const secrets = new ChannelSecrets(config.name, options.env);
  const routingKey = secrets.value(config.routingKey, 'routingKey');
  return createHTTPChannel(config, 'pagerduty', secrets, config.url, (group) =>
    group.map((alert) => ({
      body: JSON.stringify(pagerDutyEvent(alert, routingKey, config)),
      headers: { 'content-type': 'application/json' },
    })),
  );
}
