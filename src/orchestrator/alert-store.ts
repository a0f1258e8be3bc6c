import { randomHex } from '../core/ids.js';
import { UsageError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import type { AlertMute, Incident, IncidentHistoryEntry } from '../observe/alerts/incidents.js';
import type { LabelMatcher } from '../observe/alerts/matchers.js';
import { formatMatchers, parseMatchers } from '../observe/alerts/matchers.js';
import type { AlertSeverity, AlertState } from '../observe/alerts/notification.js';
import { AuditLog, SYSTEM_ACTOR } from './audit-log.js';
import type { SqlDatabase, SqlRow, SqlValue } from './sql-database.js';

/** A silence as the store keeps it. */
export interface SilenceRecord {
  readonly id: string;
  readonly matchers: readonly LabelMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly comment: string | undefined;
  readonly createdBy: string | undefined;
}

/** One line of an incident's history, with its id. */
export interface IncidentHistoryRecord extends IncidentHistoryEntry {
  readonly id: number;
}

/**
 * The alert tables of the run store: incidents by fingerprint, their history, silences and
 * acknowledgements. Used by the alert engine inside its transaction and by `sluice alerts`.
 *
 * @example
 * ```ts
 * const alerts = new AlertStore(store.db);
 * const firing = await alerts.incidents({ firing: true });
 * ```
 */
export class AlertStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  /** Incidents an engine pass works on: firing, or resolved with their resolution unsent. */
  async openIncidents(): Promise<Incident[]> {
    const rows = await this.#db.all(
      `SELECT * FROM alert_incidents
       WHERE state = 'firing' OR (resolved_notified = 0 AND first_notified_at IS NOT NULL)`,
    );
    return rows.map(incidentRecord);
  }

  /** Incidents, firing first then the most recently changed; `firing` keeps only those. */
  async incidents(
    query: { readonly firing?: boolean; readonly limit?: number } = {},
  ): Promise<Incident[]> {
    const rows = await this.#db.all(
      `SELECT * FROM alert_incidents ${query.firing === true ? "WHERE state = 'firing'" : ''}
       ORDER BY CASE WHEN state = 'firing' THEN 0 ELSE 1 END, updated_at DESC, fingerprint LIMIT ?`,
      [query.limit ?? 200],
    );
    return rows.map(incidentRecord);
  }

  /**
   * Resolved incidents, the most recently resolved first (ties by fingerprint, descending);
   * `before` is the (resolvedAt, fingerprint) of the last one a previous page showed.
   *
   * @example
   * ```ts
   * const page = await alerts.resolvedIncidents({ limit: 50 });
   * const next = await alerts.resolvedIncidents({ limit: 50, before: { endsAt: 1_700_000_000_000, fingerprint: 'a1b2c3' } });
   * ```
   */
  async resolvedIncidents(query: {
    readonly limit: number;
    readonly before?: { readonly endsAt: number; readonly fingerprint: string };
  }): Promise<Incident[]> {
    const { before } = query;
    const rows = await this.#db.all(
      `SELECT * FROM alert_incidents WHERE state = 'resolved'${
        before === undefined
          ? ''
          : ' AND (coalesce(ends_at, 0) < ? OR (coalesce(ends_at, 0) = ? AND fingerprint < ?))'
      }
       ORDER BY coalesce(ends_at, 0) DESC, fingerprint DESC LIMIT ?`,
      before === undefined
        ? [query.limit]
        : [before.endsAt, before.endsAt, before.fingerprint, query.limit],
    );
    return rows.map(incidentRecord);
  }

  /** Writes incidents (insert or replace by fingerprint). */
  async saveIncidents(incidents: readonly Incident[], now: number): Promise<void> {
    for (const i of incidents) {
      const values: SqlValue[] = [
        i.fingerprint,
        i.rule,
        i.state,
        i.severity,
        i.summary,
        i.description ?? null,
        JSON.stringify(i.labels),
        i.startsAt,
        i.openedAt,
        i.endsAt ?? null,
        i.firstNotifiedAt ?? null,
        i.lastNotifiedAt ?? null,
        i.resolvedNotified ? 1 : 0,
        i.acknowledgedAt ?? null,
        i.acknowledgedBy ?? null,
        i.escalatedAt ?? null,
        i.route ?? null,
        i.escalatedTo ?? null,
        now,
      ];
      await this.#db.run(
        `INSERT INTO alert_incidents (fingerprint, rule, state, severity, summary, description,
           labels, starts_at, opened_at, ends_at, first_notified_at, last_notified_at,
           resolved_notified, acknowledged_at, acknowledged_by, escalated_at, route, escalated_to,
           updated_at)
         VALUES (${values.map(() => '?').join(', ')})
         ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, state = excluded.state,
           severity = excluded.severity, summary = excluded.summary,
           description = excluded.description, labels = excluded.labels,
           starts_at = excluded.starts_at, opened_at = excluded.opened_at,
           ends_at = excluded.ends_at, first_notified_at = excluded.first_notified_at,
           last_notified_at = excluded.last_notified_at,
           resolved_notified = excluded.resolved_notified,
           acknowledged_at = excluded.acknowledged_at, acknowledged_by = excluded.acknowledged_by,
           escalated_at = excluded.escalated_at, route = excluded.route,
           escalated_to = excluded.escalated_to, updated_at = excluded.updated_at`,
        values,
      );
    }
  }

  /** Appends history lines. */
  async appendHistory(entries: readonly IncidentHistoryEntry[]): Promise<void> {
    for (const e of entries)
      await this.#db.run(
        'INSERT INTO alert_history (fingerprint, at, event, data) VALUES (?, ?, ?, ?)',
        [e.fingerprint, e.at, e.event, JSON.stringify(e.data)],
      );
  }

  /** An incident's history, oldest first. */
  async history(fingerprint: string, limit = 200): Promise<IncidentHistoryRecord[]> {
    const rows = await this.#db.all(
      'SELECT * FROM alert_history WHERE fingerprint = ? ORDER BY id LIMIT ?',
      [fingerprint, limit],
    );
    return rows.map((row) => ({
      id: Number(row['id']),
      fingerprint: String(row['fingerprint']),
      event: String(row['event']) as IncidentHistoryEntry['event'],
      at: Number(row['at']),
      data: JSON.parse(String(row['data'])) as Record<string, unknown>,
    }));
  }

  /**
   * Silences `matcher` (e.g. `pipeline=orders_daily`) for `duration` from `now`.
   *
   * @example
   * ```ts
   * await alerts.silence('owner=data-eng', '2h', { comment: 'migration', now: Date.now() });
   * ```
   */
  async silence(
    matcher: string,
    duration: string,
    options: {
      readonly comment?: string;
      readonly createdBy?: string;
      readonly now: number;
      /** Who the audit log records (default `system`). */
      readonly actor?: string;
    },
  ): Promise<SilenceRecord> {
    const matchers = parseMatchers(matcher);
    let ms: number;
    try {
      ms = parseDuration(duration);
    } catch (cause) {
      throw new UsageError(`--for "${duration}" is not a duration`, {
        cause,
        hint: 'e.g. --for 2h',
      });
    }
    if (ms <= 0) throw new UsageError('--for must be longer than 0', { hint: 'e.g. --for 2h' });
    const record: SilenceRecord = {
      id: `sil_${randomHex(6)}`,
      matchers,
      startsAt: options.now,
      endsAt: options.now + ms,
      comment: options.comment,
      createdBy: options.createdBy,
    };
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO alert_silences (id, matchers, starts_at, ends_at, comment, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          record.id,
          formatMatchers(matchers),
          record.startsAt,
          record.endsAt,
          record.comment ?? null,
          record.createdBy ?? null,
          options.now,
        ],
      );
      await new AuditLog(tx).append({
        actor: options.actor ?? SYSTEM_ACTOR,
        action: 'alert.silence',
        detail: {
          silence: record.id,
          matchers: formatMatchers(matchers),
          startsAt: record.startsAt,
          endsAt: record.endsAt,
          ...(record.comment === undefined ? {} : { comment: record.comment }),
        },
      });
    });
    return record;
  }

  /**
   * Ends a silence now; false when there is no active silence with that id. `actor` is who the
   * audit log records (default `system`).
   */
  async unsilence(id: string, now: number, actor: string = SYSTEM_ACTOR): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const ended = await tx.run(
        'UPDATE alert_silences SET ends_at = ? WHERE id = ? AND ends_at > ?',
        [now, id, now],
      );
      if (ended > 0)
        await new AuditLog(tx).append({
          actor,
          action: 'alert.unsilence',
          detail: { silence: id },
        });
      return ended > 0;
    });
  }

  /** Silences that have not ended at `now` (including ones that start later). */
  async activeSilences(now: number): Promise<SilenceRecord[]> {
    const rows = await this.#db.all(
      'SELECT * FROM alert_silences WHERE ends_at > ? ORDER BY starts_at, id',
      [now],
    );
    // A silence stored before its pattern was refused (a nested quantifier) silences nothing:
    // an alert that fires is better than an evaluation pass that hangs.
    return rows.flatMap((row) => {
      const matchers = storedMatchers(String(row['matchers']));
      if (matchers === undefined) return [];
      return [
        {
          id: String(row['id']),
          matchers,
          startsAt: Number(row['starts_at']),
          endsAt: Number(row['ends_at']),
          comment: optionalText(row['comment']),
          createdBy: optionalText(row['created_by']),
        },
      ];
    });
  }

  /** Active silences as mutes for the state machine. */
  async mutes(now: number): Promise<AlertMute[]> {
    return (await this.activeSilences(now)).map((s) => ({
      id: s.id,
      matchers: s.matchers,
      startsAt: s.startsAt,
      endsAt: s.endsAt,
    }));
  }

  /**
   * Acknowledges a firing incident by its fingerprint (or a unique prefix of at least 6
   * characters): no more repeats or escalations until it resolves. Resolves to its fingerprint.
   */
  async acknowledge(
    fingerprint: string,
    options: {
      readonly by?: string;
      readonly now: number;
      /** Who the audit log records (default `system`). */
      readonly actor?: string;
    },
  ): Promise<string> {
    return this.#db.transaction(async (tx) => {
      if (!/^[0-9a-f]{6,16}$/.test(fingerprint))
        throw new UsageError(`"${fingerprint}" is not an incident fingerprint`, {
          hint: 'give the hex fingerprint that sluice alerts shows (at least 6 characters)',
        });
      const rows = await tx.all(
        `SELECT fingerprint FROM alert_incidents WHERE state = 'firing' AND fingerprint LIKE ?`,
        [`${fingerprint}%`],
      );
      if (rows.length !== 1)
        throw new UsageError(
          rows.length === 0
            ? `no firing incident has the fingerprint ${fingerprint}`
            : `${rows.length} firing incidents start with ${fingerprint}`,
          { hint: 'sluice alerts --firing lists the firing incidents and their fingerprints' },
        );
      const full = String(rows[0]?.['fingerprint']);
      await tx.run(
        `UPDATE alert_incidents SET acknowledged_at = ?, acknowledged_by = ?, updated_at = ?
         WHERE fingerprint = ?`,
        [options.now, options.by ?? null, options.now, full],
      );
      await new AlertStore(tx).appendHistory([
        {
          fingerprint: full,
          event: 'acknowledged',
          at: options.now,
          data: options.by === undefined ? {} : { by: options.by },
        },
      ]);
      await new AuditLog(tx).append({
        actor: options.actor ?? SYSTEM_ACTOR,
        action: 'alert.ack',
        detail: { fingerprint: full },
      });
      return full;
    });
  }
}

function incidentRecord(row: SqlRow): Incident {
  const num = (key: string): number | undefined =>
    row[key] === null || row[key] === undefined ? undefined : Number(row[key]);
  const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
    (value === undefined ? {} : { [key]: value }) as unknown as { [P in K]?: V };
  return {
    fingerprint: String(row['fingerprint']),
    rule: String(row['rule']),
    state: String(row['state']) as AlertState,
    severity: String(row['severity']) as AlertSeverity,
    summary: String(row['summary']),
    ...optional('description', optionalText(row['description'])),
    labels: JSON.parse(String(row['labels'])) as Record<string, string>,
    startsAt: Number(row['starts_at']),
    openedAt: Number(row['opened_at']),
    ...optional('endsAt', num('ends_at')),
    ...optional('firstNotifiedAt', num('first_notified_at')),
    ...optional('lastNotifiedAt', num('last_notified_at')),
    resolvedNotified: Number(row['resolved_notified']) === 1,
    ...optional('acknowledgedAt', num('acknowledged_at')),
    ...optional('acknowledgedBy', optionalText(row['acknowledged_by'])),
    ...optional('escalatedAt', num('escalated_at')),
    ...optional('route', optionalText(row['route'])),
    ...optional('escalatedTo', optionalText(row['escalated_to'])),
  };
}

function optionalText(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : String(value);
}

function storedMatchers(text: string): LabelMatcher[] | undefined {
  try {
    return parseMatchers(text);
  } catch {
    return undefined;
  }
}
