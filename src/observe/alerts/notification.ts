/** How bad an incident is; routes and channels may filter on it. */
export type AlertSeverity = 'critical' | 'warning' | 'info';

/** Where an incident stands: `firing` until its condition clears, then `resolved`. */
export type AlertState = 'firing' | 'resolved';

/**
 * One incident as a channel receives it. The same `fingerprint` (rule + pipeline + dataset +
 * partition) names the incident in every message about it, from the first `firing` through
 * repeats and escalations to `resolved`, so receivers deduplicate on it (PagerDuty's dedup key,
 * Alertmanager's label set).
 *
 * @example
 * ```ts
 * const alert: AlertNotification = {
 *   fingerprint: 'b7c1e0d2a9f4c3e1',
 *   rule: 'run_failed',
 *   state: 'firing',
 *   severity: 'critical',
 *   summary: 'orders_daily failed after 3 attempts',
 *   labels: { pipeline: 'orders_daily', owner: 'data-eng' },
 *   startsAt: new Date('2026-12-07T06:00:00Z'),
 *   notification: 'first',
 * };
 * ```
 */
export interface AlertNotification {
  /** Stable hex id of the incident's key: the same for every message about one incident. */
  readonly fingerprint: string;
  /** The rule's name, as declared. */
  readonly rule: string;
  readonly state: AlertState;
  readonly severity: AlertSeverity;
  /** One line a human reads first, without markup. */
  readonly summary: string;
  /** More detail: the error, the figures, what to do. */
  readonly description?: string;
  /** Bounded identifying labels: pipeline, dataset, partition, owner, tags, rule kind. */
  readonly labels: Readonly<Record<string, string>>;
  /** When the incident began firing. */
  readonly startsAt: Date;
  /** When it resolved (only for `resolved`). */
  readonly endsAt?: Date;
  /** A link to the run, dataset or stream, when the server knows its public address. */
  readonly url?: string;
  /**
   * Why this message is sent: the incident's first, a repeat after the repeat interval, an
   * escalation after it went unacknowledged, or its resolution.
   */
  readonly notification: 'first' | 'repeat' | 'escalation' | 'resolved';
}

/**
 * A destination for notifications (Slack, a webhook, email, PagerDuty, Alertmanager). `send`
 * delivers one group of notifications that share a route; it throws when the receiver did not
 * accept them (the caller retries with backoff and reports the failure), and it never logs or
 * throws credentials.
 *
 * @example
 * ```ts
 * const channel: AlertChannel = {
 *   name: 'ops-webhook',
 *   type: 'webhook',
 *   async send(group, signal) {
 *     await fetch(url, { method: 'POST', body: JSON.stringify(group), signal });
 *   },
 * };
 * ```
 */
export interface AlertChannel {
  /** The channel's name in the configuration. */
  readonly name: string;
  /** `slack`, `webhook`, `email`, `pagerduty` or `alertmanager`. */
  readonly type: string;
  send(group: readonly AlertNotification[], signal: AbortSignal): Promise<void>;
}
