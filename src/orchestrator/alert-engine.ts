import { hostname } from 'node:os';
import { parseDuration } from '../core/duration.js';
import type { Logger } from '../core/logger.js';
import { silentLogger } from '../core/logger.js';
import { randomHex } from '../core/ids.js';
import type { AlertsConfig } from '../observe/alerts/alerts-config.js';
import type { AlertMute, AlertRoute } from '../observe/alerts/incidents.js';
import {
  DEFAULT_GROUP_WAIT_MS,
  DEFAULT_REPEAT_INTERVAL_MS,
  advanceIncidents,
} from '../observe/alerts/incidents.js';
import { parseMatchers } from '../observe/alerts/matchers.js';
import {
  alertChannelConfig,
  createAlertChannel,
} from '../observe/alerts/channels/create-channel.js';
import type { AlertChannel, AlertNotification } from '../observe/alerts/notification.js';
import type { SluiceMetrics } from '../observe/metrics/recorder.js';
import type { WatchedPipeline } from './alert-facts.js';
import { bindAlertRules, collectAlertFacts } from './alert-facts.js';
import { AlertStore } from './alert-store.js';
import type { Project } from './project.js';
import type { RunStore } from './run-store.js';
import { sleep } from './worker.js';

/** Options of {@link AlertEngine}. */
export interface AlertEngineOptions {
  readonly store: RunStore;
  readonly config: AlertsConfig;
  /** The pipelines to watch, with their owners, tags and rules; asked once per pass. */
  /** The pipelines to watch; `signal` aborts when the engine stops (stop waiting for loads). */
  readonly pipelines: (signal?: AbortSignal) => Promise<readonly WatchedPipeline[]>;
  readonly logger?: Logger;
  /** The clock (default `Date.now`); tests move it. */
  readonly now?: () => number;
  /** This engine's name in outbox leases (default host:pid:random). */
  readonly instance?: string;
  /** How long one delivery may take before it counts as failed (default 10 s). */
  readonly sendTimeoutMs?: number;
  /** Attempts per notification group and channel before it is given up (default 8). */
  readonly maxAttempts?: number;
  /** Where each delivery's outcome is counted, by channel (default: nowhere). */
  readonly metrics?: SluiceMetrics;
}

/** What one evaluation pass did. */
export interface EvaluationReport {
  readonly rules: number;
  readonly observed: number;
  readonly opened: number;
  readonly resolved: number;
  readonly queued: number;
}

/** What one delivery pass did. */
export interface DeliveryReport {
  readonly sent: number;
  readonly failed: number;
}

/** Backoff of a failed delivery: 1 s, 2 s, 4 s ... at most 5 min. */
const backoffMs = (attempts: number): number => Math.min(300_000, 1_000 * 2 ** (attempts - 1));
const LEASE_MS = 60_000;
const ALERT_LOCK = 7_270_062;
/** Sent and given-up notifications are kept this long (the incidents' history stays). */
const OUTBOX_KEPT_MS = 7 * 86_400_000;

/**
 * Evaluates alert rules against the run store and delivers notifications once per incident.
 * A pass reads the facts, advances the incident state machine and queues the due notifications
 * in one store transaction that engines take one at a time (a PostgreSQL advisory lock, SQLite's
 * write lock), so two `sluice serve` processes on one store never both queue the same
 * notification. Delivery claims queued notifications by lease, sends each group through its
 * channel and retries failures with backoff; a process that dies mid-send leaves a lease that
 * expires, and another engine sends the group.
 *
 * @example
 * ```ts
 * const engine = new AlertEngine({ store, config: project.config.alerts ?? {}, pipelines: async () => watched });
 * await engine.evaluate();
 * await engine.deliver();
 * ```
 */
export class AlertEngine {
  readonly #options: AlertEngineOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #instance: string;
  readonly #channels: Map<string, AlertChannel>;
  readonly #routes: readonly AlertRoute[];
  readonly #windows: readonly AlertMute[];

  constructor(options: AlertEngineOptions) {
    this.#options = options;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'alerts' });
    this.#now = options.now ?? Date.now;
    this.#instance = options.instance ?? `${hostname()}:${process.pid}:${randomHex(3)}`;
    this.#channels = alertChannels(options.config);
    this.#routes = alertRoutes(options.config);
    this.#windows = (options.config.maintenance ?? []).map((w, i) => ({
      id: `maintenance[${i}]`,
      matchers: w.match.flatMap((m) => parseMatchers(m)),
      startsAt: Date.parse(w.start),
      endsAt: Date.parse(w.end),
    }));
  }

  /**
   * One evaluation pass: facts, incidents, queued notifications, in one transaction.
   */
  async evaluate(signal?: AbortSignal): Promise<EvaluationReport> {
    const pipelines = await this.#options.pipelines(signal);
    const bound = bindAlertRules(this.#options.config.rules ?? [], pipelines);
    const db = this.#options.store.db;
    return db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(?)', [ALERT_LOCK]);
      const now = this.#now();
      const facts = await collectAlertFacts(tx, bound, now);
      const alerts = new AlertStore(tx);
      const result = advanceIncidents({
        incidents: await alerts.openIncidents(),
        observations: facts.observations,
        evaluated: facts.evaluated,
        routes: this.#routes,
        mutes: [...this.#windows, ...(await alerts.mutes(now))],
        now,
      });
      await alerts.saveIncidents(result.changed, now);
      await alerts.appendHistory(result.history);
      let queued = 0;
      for (const delivery of result.deliveries)
        for (const channel of delivery.channels) {
          await tx.run(
            `INSERT INTO alert_outbox (route, channel, payload, state, attempts, next_attempt_at, created_at)
             VALUES (?, ?, ?, 'pending', 0, ?, ?)`,
            [delivery.route, channel, JSON.stringify(delivery.notifications), now, now],
          );
          queued++;
        }
      await tx.run(
        "DELETE FROM alert_outbox WHERE state IN ('sent', 'failed') AND created_at < ?",
        [now - OUTBOX_KEPT_MS],
      );
      const opened = result.history.filter((h) => h.event === 'firing').length;
      const resolved = result.history.filter((h) => h.event === 'resolved').length;
      for (const entry of result.history)
        if (entry.event === 'firing' || entry.event === 'resolved')
          this.#logger.info(
            { fingerprint: entry.fingerprint, ...entry.data },
            `incident ${entry.event}`,
          );
        else if (entry.event === 'unrouted' && this.#routes.length > 0)
          this.#logger.warn({ fingerprint: entry.fingerprint }, 'incident matches no alert route');
      return { rules: bound.length, observed: facts.observations.length, opened, resolved, queued };
    });
  }

  /**
   * Sends the queued notifications that are due, each group through its channel once; a failure
   * is logged (never with credentials) and retried with backoff on a later pass.
   */
  async deliver(): Promise<DeliveryReport> {
    const now = this.#now();
    const db = this.#options.store.db;
    const claimed = await db.all(
      `UPDATE alert_outbox SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
       WHERE id IN (SELECT id FROM alert_outbox WHERE state = 'pending' AND next_attempt_at <= ?
                      AND (lease_expires_at IS NULL OR lease_expires_at < ?) ORDER BY id LIMIT 100)
         AND state = 'pending' AND (lease_expires_at IS NULL OR lease_expires_at < ?)
       RETURNING id, route, channel, payload, attempts`,
      [this.#instance, now + LEASE_MS, now, now, now],
    );
    let sent = 0;
    let failed = 0;
    await Promise.all(
      claimed.map(async (row) => {
        const id = Number(row['id']);
        const name = String(row['channel']);
        const attempts = Number(row['attempts']);
        const group = revive(String(row['payload']));
        try {
          const channel = this.#channels.get(name);
          if (channel === undefined) throw new Error(`no channel named "${name}" is configured`);
          await channel.send(group, AbortSignal.timeout(this.#options.sendTimeoutMs ?? 10_000));
          await db.run(
            `UPDATE alert_outbox SET state = 'sent', sent_at = ?, lease_owner = NULL, last_error = NULL
             WHERE id = ? AND lease_owner = ?`,
            [this.#now(), id, this.#instance],
          );
          sent++;
          this.#options.metrics?.alertDelivered({ channel: name, status: 'sent' });
        } catch (error) {
          failed++;
          const message = redactSecrets((error as Error)?.message ?? String(error));
          const giveUp = attempts >= (this.#options.maxAttempts ?? 8);
          this.#options.metrics?.alertDelivered({
            channel: name,
            status: giveUp ? 'given_up' : 'failed',
          });
          const retryAt = this.#now() + backoffMs(attempts);
          await db.run(
            `UPDATE alert_outbox SET state = ?, next_attempt_at = ?, lease_owner = NULL,
               lease_expires_at = NULL, last_error = ? WHERE id = ? AND lease_owner = ?`,
            [giveUp ? 'failed' : 'pending', retryAt, message, id, this.#instance],
          );
          this.#logger.warn(
            {
              channel: name,
              route: String(row['route']),
              attempt: attempts,
              notifications: group.length,
              err: message,
              ...(giveUp ? {} : { retryAt: new Date(retryAt).toISOString() }),
            },
            giveUp ? 'alert delivery failed; giving up' : 'alert delivery failed; will retry',
          );
        }
      }),
    );
    return { sent, failed };
  }

  /** Evaluates and delivers until `signal` aborts; a failing pass is logged and retried. */
  async run(signal: AbortSignal): Promise<void> {
    const everyMs = parseDuration(this.#options.config.evaluateEvery ?? '15s');
    let nextEvaluation = 0;
    while (!signal.aborted) {
      try {
        if (Date.now() >= nextEvaluation) {
          nextEvaluation = Date.now() + everyMs;
          await this.evaluate(signal);
        }
        await this.deliver();
      } catch (error) {
        if (signal.aborted) break;
        this.#logger.warn(
          { err: redactSecrets((error as Error).message) },
          'alert pass failed; retrying',
        );
      }
      await sleep(Math.min(1_000, everyMs), signal);
    }
  }
}

/**
 * The routes of a config with their durations; without routes, one `default` route to every
 * channel (none without channels: incidents are then kept, not sent).
 *
 * @example
 * ```ts
 * alertRoutes({ channels: [hook] }); // [{ name: 'default', channels: ['hook'], ... }]
 * ```
 */
export function alertRoutes(config: AlertsConfig): AlertRoute[] {
  const channels = (config.channels ?? []).map((c) => c.name);
  const routes = config.routes ?? (channels.length === 0 ? [] : [{ name: 'default', channels }]);
  return routes.map((r) => ({
    name: r.name,
    matchers: (r.match ?? []).flatMap((m) => parseMatchers(m)),
    channels: r.channels,
    groupWaitMs: r.groupWait === undefined ? DEFAULT_GROUP_WAIT_MS : parseDuration(r.groupWait),
    repeatIntervalMs:
      r.repeatInterval === undefined ? DEFAULT_REPEAT_INTERVAL_MS : parseDuration(r.repeatInterval),
    ...(r.escalate === undefined
      ? {}
      : { escalate: { afterMs: parseDuration(r.escalate.after), to: r.escalate.to } }),
  }));
}

function revive(payload: string): AlertNotification[] {
  return (JSON.parse(payload) as (AlertNotification & { startsAt: string; endsAt?: string })[]).map(
    (n) => ({
      ...n,
      startsAt: new Date(n.startsAt),
      ...(n.endsAt === undefined ? {} : { endsAt: new Date(n.endsAt) }),
    }),
  );
}

/**
 * An error message without what may be a credential: user info and the path and query of URLs
 * (webhook secrets live there), and bearer tokens.
 *
 * @example
 * ```ts
 * redactSecrets('POST https://hooks.slack.com/services/T0/B0/xyz failed'); // "POST https://hooks.slack.com/… failed"
 * ```
 */
export function redactSecrets(message: string): string {
  return message
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)(?:[^\s/@]*@)?([^\s/?#]+)[^\s]*/gi, '$1$2/…')
    .replace(/\b(bearer|token|key|secret|password)([=: ]+)\S+/gi, '$1$2***')
    .slice(0, 500);
}

/**
 * The project's pipelines as the alert engine watches them, loaded as the scheduler loads them
 * (again only when a file changed). A pipeline that fails to load is left out of the pass, so
 * its incidents stay as they are rather than resolve.
 *
 * @example
 * ```ts
 * new AlertEngine({ store, config, pipelines: (signal) => watchedPipelines(project, signal) });
 * ```
 */
export async function watchedPipelines(
  project: Project,
  signal?: AbortSignal,
): Promise<WatchedPipeline[]> {
  const names = [...(await project.pipelineFiles()).keys()];
  const loaded = await Promise.allSettled(
    names.map((name) => project.load(name, signal === undefined ? {} : { signal })),
  );
  return loaded.flatMap((result) =>
    result.status === 'fulfilled'
      ? [
          {
            name: result.value.pipeline.name,
            owners: result.value.pipeline.owners ?? [],
            tags: result.value.pipeline.tags ?? [],
            rules: result.value.pipeline.alerts ?? [],
          },
        ]
      : [],
  );
}

/**
 * The channels of a config by name: `AlertChannel` objects as they are, channel configs built
 * (their `{ env }` secrets read now; a missing one is a ConfigError naming it).
 *
 * @example
 * ```ts
 * alertChannels({ channels: [{ type: 'slack', name: 'ops', url: { env: 'SLACK_URL' } }] }).get('ops');
 * ```
 */
export function alertChannels(config: AlertsConfig): Map<string, AlertChannel> {
  return new Map(
    (config.channels ?? []).map((c) => [
      c.name,
      typeof (c as { send?: unknown }).send === 'function'
        ? (c as AlertChannel)
        : createAlertChannel(alertChannelConfig.parse(c)),
    ]),
  );
}
