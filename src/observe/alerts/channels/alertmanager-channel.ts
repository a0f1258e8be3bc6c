import { z } from 'zod';
import { durationConfig } from '../../../core/duration-config.js';
import { parseDuration } from '../../../core/duration.js';
import { secretValue } from '../../../contracts/secrets.js';
import type { AlertNotification } from '../notification.js';
import type { ChannelOptions, ConfiguredAlertChannel } from './channel-config.js';
import { channelBaseFields } from './channel-config.js';
import { createHTTPChannel } from './channel-http.js';
import { ChannelSecrets } from './channel-secrets.js';

/** A Prometheus label name. */
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Config of an `alertmanager` channel: Prometheus Alertmanager's API v2.
 *
 * @example
 * ```ts
 * alertmanagerChannelConfig.parse({ type: 'alertmanager', name: 'am', url: 'http://alertmanager:9093' });
 * ```
 */
export const alertmanagerChannelConfig = z
  .strictObject({
    type: z.literal('alertmanager'),
    ...channelBaseFields,
    url: secretValue.describe(
      "The Alertmanager's base URL (`http://alertmanager:9093`, with its `--web.route-prefix` if it has one); alerts are posted to `<url>/api/v2/alerts`.",
    ),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name'), secretValue)
      .default({})
      .describe(
        'Headers sent with every request, such as `Authorization` for an Alertmanager behind basic auth or a proxy; a value may be `{ env: "NAME" }`.',
      ),
    labels: z
      .record(z.string().regex(LABEL_NAME, 'a Prometheus label name'), z.string().min(1))
      .default({})
      .describe('Labels added to every alert (for example `{ source: "sluice" }`), for routing.'),
    expireAfter: durationConfig
      .default('24h')
      .describe(
        'How long a firing alert stays active in Alertmanager without being sent again (its `endsAt`); keep it longer than the repeat interval of the routes that lead here. A resolution ends it at once.',
      ),
  })
  .describe(
    "Posts alerts to Prometheus Alertmanager's API v2, for teams that already route alerts there.",
  );

/** Config of an `alertmanager` channel as written. */
export type AlertmanagerChannelInput = z.input<typeof alertmanagerChannelConfig>;
/** Config of an `alertmanager` channel after parsing. */
export type AlertmanagerChannelConfig = z.output<typeof alertmanagerChannelConfig>;

/** One alert as Alertmanager's `POST /api/v2/alerts` takes it. */
export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
}

/**
 * A label name Prometheus accepts: characters outside `[A-Za-z0-9_]` become `_`, and a leading
 * digit gets a `_` before it.
 *
 * @example
 * ```ts
 * prometheusLabelName('owner.team'); // 'owner_team'
 * ```
 */
export function prometheusLabelName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_]/g, '_');
  return cleaned === '' || /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/**
 * The Alertmanager alert of one notification. Its labels are the notification's own (names
 * made valid, empty values dropped), the configured ones, and `alertname` (the rule),
 * `severity` and `sluice_fingerprint`, which win over a label of the same name: the same for
 * every message about one incident, so Alertmanager matches a resolution to its firing alert.
 * The summary and description are annotations. `endsAt` is the resolution time, or
 * `now + expireAfter` while it fires; `generatorURL` is the notification's link.
 *
 * @example
 * ```ts
 * alertmanagerAlert(alert, { labels: {}, expireAfterMs: 86_400_000 });
 * // { labels: { alertname: 'run_failed', severity: 'critical', sluice_fingerprint: '...', pipeline: 'orders_daily' }, ... }
 * ```
 */
export function alertmanagerAlert(
  alert: AlertNotification,
  options: {
    readonly labels: Readonly<Record<string, string>>;
    readonly expireAfterMs: number;
    readonly now?: number;
  },
): AlertmanagerAlert {
  const labels: Record<string, string> = {};
  for (const key of Object.keys(alert.labels).sort()) {
    const value = alert.labels[key] as string;
    if (value !== '') labels[prometheusLabelName(key)] = value;
  }
  Object.assign(labels, options.labels, {
    alertname: alert.rule,
    severity: alert.severity,
    sluice_fingerprint: alert.fingerprint,
  });
  const now = options.now ?? Date.now();
  const endsAt =
    alert.state === 'resolved'
      ? (alert.endsAt ?? new Date(now))
      : new Date(now + options.expireAfterMs);
  const annotations: Record<string, string> = { summary: alert.summary };
  if (alert.description !== undefined && alert.description !== '')
    annotations['description'] = alert.description;
  return {
    labels,
    annotations,
    startsAt: alert.startsAt.toISOString(),
    endsAt: endsAt.toISOString(),
    ...(alert.url !== undefined && URL.canParse(alert.url) ? { generatorURL: alert.url } : {}),
  };
}

/**
 * An Alertmanager channel: posts each group's alerts in one `POST <url>/api/v2/alerts`. A
 * resolved notification posts the same labels with `endsAt` set, which resolves the alert.
 * Alertmanager then groups, silences, inhibits and routes them as its own configuration says.
 *
 * @example
 * ```ts
 * const am = createAlertmanagerChannel(alertmanagerChannelConfig.parse({ type: 'alertmanager', name: 'am', url: 'http://127.0.0.1:9093' }));
 * await am.send(group, AbortSignal.timeout(30_000));
 * ```
 */
export function createAlertmanagerChannel(
  config: AlertmanagerChannelConfig,
  options: ChannelOptions = {},
): ConfiguredAlertChannel {
  const secrets = new ChannelSecrets(config.name, options.env);
  const base = new URL(secrets.url(config.url, 'url'));
  base.pathname = `${base.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(config.headers))
    headers[name.toLowerCase()] = secrets.header(value, name);
  headers['content-type'] = 'application/json';
  const expireAfterMs = parseDuration(config.expireAfter);
  return createHTTPChannel(config, 'alertmanager', secrets, base.toString(), (group) => [
    {
      body: JSON.stringify(
        group.map((alert) => alertmanagerAlert(alert, { labels: config.labels, expireAfterMs })),
      ),
      headers,
    },
  ]);
}
