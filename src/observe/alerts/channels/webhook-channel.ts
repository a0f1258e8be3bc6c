import { WEBHOOK_SIGNATURE_HEADER, signWebhook } from '../../../contracts/webhook-signature.js';
import { z } from 'zod';
import { secretValue } from '../../../contracts/secrets.js';
import type { AlertNotification } from '../notification.js';
import type { ChannelOptions, ConfiguredAlertChannel } from './channel-config.js';
import { channelBaseFields } from './channel-config.js';
import { createHTTPChannel } from './channel-http.js';
import { ChannelSecrets } from './channel-secrets.js';

/**
 * The header that carries a webhook body's signature (the scheme of Sluice's own inboxes).
 *
 * @example
 * ```ts
 * const header = request.headers.get(ALERT_SIGNATURE_HEADER); // 't=1767225600,v1=5f3a...'
 * ```
 */
export const ALERT_SIGNATURE_HEADER = WEBHOOK_SIGNATURE_HEADER;

/**
 * The version of the webhook body's shape; it changes only when a field changes meaning or goes.
 *
 * @example
 * ```ts
 * if (body.version !== ALERT_WEBHOOK_VERSION) throw new Error(`unknown alert body version ${body.version}`);
 * ```
 */
export const ALERT_WEBHOOK_VERSION = 1;

/** Headers the channel sets itself; a config cannot override them. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'sluice-signature']);

/**
 * Config of a `webhook` channel: a JSON POST to any HTTP endpoint, signed when it has a secret.
 *
 * @example
 * ```ts
 * webhookChannelConfig.parse({ type: 'webhook', name: 'ops-hook', url: 'https://ops.example.com/alerts', signingSecret: { env: 'ALERT_HOOK_SECRET' } });
 * ```
 */
export const webhookChannelConfig = z
  .strictObject({
    type: z.literal('webhook'),
    ...channelBaseFields,
    url: secretValue.describe(
      'The http:// or https:// URL each group is posted to; `{ env: "NAME" }` when it holds a token.',
    ),
    signingSecret: secretValue
      .optional()
      .describe(
        'Signs each body: `Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, with a fresh timestamp on every attempt.',
      ),
    headers: z
      .record(
        z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name such as X-Api-Key')
          .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), 'set by the channel itself'),
        secretValue,
      )
      .default({})
      .describe(
        'Headers sent with every request, such as `Authorization`; a value may be `{ env: "NAME" }`.',
      ),
  })
  .describe('Posts each group as one versioned JSON document to an HTTP endpoint.');

/** Config of a `webhook` channel as written. */
export type WebhookChannelInput = z.input<typeof webhookChannelConfig>;
/** Config of a `webhook` channel after parsing. */
export type WebhookChannelConfig = z.output<typeof webhookChannelConfig>;

/** One notification in a webhook body: the contract's fields, dates as ISO 8601 text. */
export type WebhookAlert = Omit<AlertNotification, 'startsAt' | 'endsAt'> & {
  readonly startsAt: string;
  readonly endsAt?: string;
};

/** The body of a webhook request (version 1). */
export interface WebhookBody {
  readonly version: typeof ALERT_WEBHOOK_VERSION;
  readonly channel: string;
  /** `firing` while any notification of the group fires, else `resolved`. */
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly WebhookAlert[];
}

/**
 * The JSON document a group becomes (version 1): `{ version, channel, status, alerts }`, each
 * alert with the fields of `AlertNotification` and its dates as ISO 8601 text.
 *
 * @example
 * ```ts
 * webhookBody('ops-hook', group); // { version: 1, channel: 'ops-hook', status: 'firing', alerts: [...] }
 * ```
 */
export function webhookBody(channel: string, group: readonly AlertNotification[]): WebhookBody {
  return {
    version: ALERT_WEBHOOK_VERSION,
    channel,
    status: group.some((alert) => alert.state === 'firing') ? 'firing' : 'resolved',
    alerts: group.map((alert) => ({
      fingerprint: alert.fingerprint,
      rule: alert.rule,
      state: alert.state,
      severity: alert.severity,
      summary: alert.summary,
      ...(alert.description === undefined ? {} : { description: alert.description }),
      labels: { ...alert.labels },
      startsAt: alert.startsAt.toISOString(),
      ...(alert.endsAt === undefined ? {} : { endsAt: alert.endsAt.toISOString() }),
      ...(alert.url === undefined ? {} : { url: alert.url }),
      notification: alert.notification,
    })),
  };
}

/**
 * The `Sluice-Signature` value for a body, as Stripe signs: `t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<body>" keyed by the secret>`. A receiver recomputes the HMAC over the raw
 * body it read, compares in constant time, and refuses timestamps outside its tolerance (five
 * minutes is usual), which stops replays. Sluice's own webhook inboxes check this scheme.
 *
 * @example
 * ```ts
 * signAlertBody('s3cret', '{"version":1}', 1767225600); // 't=1767225600,v1=<64 hex digits>'
 * ```
 */
export function signAlertBody(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  return signWebhook(secret, body, timestamp);
}

/**
 * A generic webhook channel: posts each group as one JSON document (see {@link webhookBody}),
 * with the configured headers and, given a `signingSecret`, a `Sluice-Signature` header signed
 * afresh on every attempt. URL, header values and secret are read through the secret resolver
 * and masked in every error.
 *
 * @example
 * ```ts
 * const hook = createWebhookChannel(webhookChannelConfig.parse({ type: 'webhook', name: 'ops', url: 'https://ops.example.com/alerts' }));
 * await hook.send(group, AbortSignal.timeout(30_000));
 * ```
 */
export function createWebhookChannel(
  config: WebhookChannelConfig,
  options: ChannelOptions = {},
): ConfiguredAlertChannel {
  const secrets = new ChannelSecrets(config.name, options.env);
  const url = secrets.url(config.url, 'url');
  const signingSecret =
    config.signingSecret === undefined
      ? undefined
      : secrets.value(config.signingSecret, 'signingSecret');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers))
    headers[name.toLowerCase()] = secrets.header(value, name);
  return createHTTPChannel(config, 'webhook', secrets, url, (group) => {
    const body = JSON.stringify(webhookBody(config.name, group));
    const sent: Record<string, string> = {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
    };
    if (signingSecret !== undefined) sent['sluice-signature'] = signAlertBody(signingSecret, body);
    return [{ body, headers: sent }];
  });
}
