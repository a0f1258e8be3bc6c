import { createHash } from 'node:crypto';
import type { LabelMatcher } from './matchers.js';
import { matchesAll } from './matchers.js';
import type { AlertNotification, AlertSeverity, AlertState } from './notification.js';

/**
 * What one rule found this pass about one thing it watches: the facts say the condition holds.
 * A rule's pass reports every key that is firing; a key it watched and did not report is fine.
 *
 * @example
 * ```ts
 * const seen: AlertObservation = { rule: 'run_failed', kind: 'run_failed', severity: 'critical', pipeline: 'orders', summary: 'orders failed', labels: {} };
 * ```
 */
export interface AlertObservation {
  readonly rule: string;
  readonly kind: string;
  readonly severity: AlertSeverity;
  readonly pipeline?: string;
  readonly dataset?: string;
  readonly partition?: string;
  readonly summary: string;
  readonly description?: string;
  /** Labels besides the key's (owners, tags, the rule's own labels). */
  readonly labels: Readonly<Record<string, string>>;
  /** When the condition began, when the facts tell (a run's finish, a deadline). */
  readonly since?: number;
}

/** An incident as the store keeps it: one per fingerprint, reopened when it fires again. */
export interface Incident {
  readonly fingerprint: string;
  readonly rule: string;
  readonly state: AlertState;
  readonly severity: AlertSeverity;
  readonly summary: string;
  readonly description?: string;
  readonly labels: Readonly<Record<string, string>>;
  /** When the condition began. */
  readonly startsAt: number;
  /** When an engine first saw it (the group wait counts from here). */
  readonly openedAt: number;
  readonly endsAt?: number;
  readonly firstNotifiedAt?: number;
  readonly lastNotifiedAt?: number;
  readonly resolvedNotified: boolean;
  readonly acknowledgedAt?: number;
  readonly acknowledgedBy?: string;
  readonly escalatedAt?: number;
  /** The route its notifications went to (escalation's target when escalated). */
  readonly route?: string;
  readonly escalatedTo?: string;
}

/** A route with its durations in milliseconds. */
export interface AlertRoute {
  readonly name: string;
  readonly matchers: readonly LabelMatcher[];
  readonly channels: readonly string[];
  readonly groupWaitMs: number;
  readonly repeatIntervalMs: number;
  readonly escalate?: { readonly afterMs: number; readonly to: string };
}

/** A silence or a maintenance window: matching incidents send nothing between its times. */
export interface AlertMute {
  readonly id: string;
  readonly matchers: readonly LabelMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
}

/** Notifications for one route, sent as one group to each of its channels. */
export interface PlannedDelivery {
  readonly route: string;
  readonly channels: readonly string[];
  readonly notifications: readonly AlertNotification[];
}

/** One line of an incident's history. */
export interface IncidentHistoryEntry {
  readonly fingerprint: string;
  readonly event: 'firing' | 'resolved' | 'notified' | 'unrouted' | 'acknowledged';
  readonly at: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** What {@link advanceIncidents} reads. */
export interface AdvanceInput {
  /** Open incidents: firing, or resolved with their resolution not yet sent. */
  readonly incidents: readonly Incident[];
  readonly observations: readonly AlertObservation[];
  /**
   * The scopes (see {@link ruleScope}) evaluated this pass: an open incident of an evaluated
   * scope that was not observed has resolved; others are left as they are.
   */
  readonly evaluated: ReadonlySet<string>;
  readonly routes: readonly AlertRoute[];
  readonly mutes: readonly AlertMute[];
  readonly now: number;
}

/** What {@link advanceIncidents} decided: incidents to write, deliveries to make, history. */
export interface AdvanceResult {
  readonly changed: readonly Incident[];
  readonly deliveries: readonly PlannedDelivery[];
  readonly history: readonly IncidentHistoryEntry[];
}

/** A route's defaults: group wait 30 s, repeat every 4 h. */
export const DEFAULT_GROUP_WAIT_MS = 30_000;
export const DEFAULT_REPEAT_INTERVAL_MS = 4 * 3_600_000;

/**
 * The incident key's hash: the same rule, pipeline, dataset and partition always give the same
 * 16 hex digits.
 *
 * @example
 * ```ts
 * incidentFingerprint({ rule: 'run_failed', pipeline: 'orders' }); // "3f0c..." (16 hex digits)
 * ```
 */
export function incidentFingerprint(key: {
  readonly rule: string;
  readonly pipeline?: string;
  readonly dataset?: string;
  readonly partition?: string;
}): string {
  return createHash('sha256')
    .update([key.rule, key.pipeline ?? '', key.dataset ?? '', key.partition ?? ''].join('\u0000'))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The scope a rule's pass covers: the rule on one pipeline, or the rule alone.
 *
 * @example
 * ```ts
 * ruleScope('run_failed', 'orders'); // "run_failed\u0000orders"
 * ```
 */
export function ruleScope(rule: string, pipeline: string | undefined): string {
  return `${rule}\u0000${pipeline ?? ''}`;
}

/**
 * One step of the incident state machine, pure: opens incidents for new observations, resolves
 * those of evaluated scopes that were not observed, and plans the notifications that are due
 * (first after the route's group wait, repeats, escalations, resolutions), leaving out muted
 * incidents. Times only move a notification forward: with the clock set back, nothing is sent
 * twice and no repeat comes early.
 *
 * @example
 * ```ts
 * const { changed, deliveries } = advanceIncidents({ incidents, observations, evaluated, routes, mutes: [], now: Date.now() });
 * ```
 */
export function advanceIncidents(input: AdvanceInput): AdvanceResult {
  const { now } = input;
  const history: IncidentHistoryEntry[] = [];
  const open = new Map(input.incidents.map((i) => [i.fingerprint, i]));
  const next = new Map<string, Incident>();
  const seen = new Set<string>();
  for (const observation of input.observations) {
    const fingerprint = incidentFingerprint(observation);
    if (seen.has(fingerprint)) continue;
    seen.add(fingerprint);
    const labels = incidentLabels(observation);
    const current = open.get(fingerprint);
    if (current?.state === 'firing') {
      if (
        current.summary !== observation.summary ||
        current.description !== observation.description ||
        current.severity !== observation.severity ||
        !sameLabels(current.labels, labels)
      )
        next.set(fingerprint, {
          ...current,
          summary: observation.summary,
          severity: observation.severity,
          labels,
          ...optional('description', observation.description),
        });
      continue;
    }
    const opened: Incident = {
      fingerprint,
      rule: observation.rule,
      state: 'firing',
      severity: observation.severity,
      summary: observation.summary,
      ...optional('description', observation.description),
      labels,
      startsAt: observation.since ?? now,
      openedAt: now,
      resolvedNotified: false,
    };
    next.set(fingerprint, opened);
    history.push({
      fingerprint,
      event: 'firing',
      at: now,
      data: { rule: opened.rule, summary: opened.summary, labels },
    });
  }
  for (const incident of input.incidents) {
    if (incident.state !== 'firing' || seen.has(incident.fingerprint)) continue;
    if (!input.evaluated.has(ruleScope(incident.rule, incident.labels['pipeline'] || undefined)))
      continue;
    next.set(incident.fingerprint, { ...incident, state: 'resolved', endsAt: now });
    history.push({ fingerprint: incident.fingerprint, event: 'resolved', at: now, data: {} });
  }
  const current = [...open.values()]
    .filter((i) => !next.has(i.fingerprint))
    .concat([...next.values()]);
  const planned = planNotifications(current, input, history);
  for (const incident of planned.changed) next.set(incident.fingerprint, incident);
  return { changed: [...next.values()], deliveries: planned.deliveries, history };
}

function planNotifications(
  incidents: readonly Incident[],
  input: AdvanceInput,
  history: IncidentHistoryEntry[],
): { changed: Incident[]; deliveries: PlannedDelivery[] } {
  const { now } = input;
  const routes = new Map(input.routes.map((r) => [r.name, r]));
  const changed: Incident[] = [];
  const outgoing = new Map<string, AlertNotification[]>();
  const send = (
    route: string,
    incident: Incident,
    kind: AlertNotification['notification'],
  ): void => {
    const list = outgoing.get(route) ?? [];
    list.push(toNotification(incident, kind));
    outgoing.set(route, list);
    history.push({
      fingerprint: incident.fingerprint,
      event: 'notified',
      at: now,
      data: { route, kind },
    });
  };
  const waiting = new Map<string, Incident[]>();
  for (const incident of incidents) {
    const route =
      incident.route === undefined ? routeFor(incident, input.routes) : routes.get(incident.route);
    if (incident.state === 'resolved') {
      if (incident.firstNotifiedAt === undefined || incident.resolvedNotified) continue;
      if (route !== undefined) send(route.name, incident, 'resolved');
      if (incident.escalatedTo !== undefined && routes.has(incident.escalatedTo))
        send(incident.escalatedTo, incident, 'resolved');
      changed.push({ ...incident, resolvedNotified: true, lastNotifiedAt: now });
      continue;
    }
    if (muted(incident, input.mutes, now)) continue;
    if (route === undefined) {
      if (
        incident.route === undefined &&
        incident.firstNotifiedAt === undefined &&
        incident.openedAt === now
      )
        history.push({ fingerprint: incident.fingerprint, event: 'unrouted', at: now, data: {} });
      continue;
    }
    if (incident.firstNotifiedAt === undefined) {
      const list = waiting.get(route.name) ?? [];
      list.push(incident);
      waiting.set(route.name, list);
      continue;
    }
    if (incident.acknowledgedAt !== undefined) continue;
    const escalate = route.escalate;
    if (
      escalate !== undefined &&
      incident.escalatedAt === undefined &&
      routes.has(escalate.to) &&
      now >= incident.firstNotifiedAt + escalate.afterMs
    ) {
      send(escalate.to, incident, 'escalation');
      changed.push({
        ...incident,
        escalatedAt: now,
        escalatedTo: escalate.to,
        lastNotifiedAt: now,
      });
      continue;
    }
    if (now >= (incident.lastNotifiedAt ?? incident.firstNotifiedAt) + route.repeatIntervalMs) {
      send(route.name, incident, 'repeat');
      if (incident.escalatedTo !== undefined && routes.has(incident.escalatedTo))
        send(incident.escalatedTo, incident, 'repeat');
      changed.push({ ...incident, lastNotifiedAt: now });
    }
  }
  // A group goes out when its oldest member has waited the route's group wait.
  for (const [name, members] of waiting) {
    const route = routes.get(name) as AlertRoute;
    const oldest = Math.min(...members.map((m) => m.openedAt));
    if (now < oldest + route.groupWaitMs) continue;
    for (const incident of members) {
      send(name, incident, 'first');
      changed.push({ ...incident, route: name, firstNotifiedAt: now, lastNotifiedAt: now });
    }
  }
  const deliveries = [...outgoing].map(([name, notifications]) => ({
    route: name,
    channels: routes.get(name)?.channels ?? [],
    notifications,
  }));
  return { changed, deliveries };
}

/**
 * The first route whose matchers hold for the incident's labels, if any.
 *
 * @example
 * ```ts
 * routeFor(incident, routes)?.name; // "data-eng"
 * ```
 */
export function routeFor(
  incident: { readonly labels: Readonly<Record<string, string>> },
  routes: readonly AlertRoute[],
): AlertRoute | undefined {
  return routes.find((route) => matchesAll(route.matchers, incident.labels));
}

/**
 * Whether a silence or maintenance window mutes the incident at `now`.
 *
 * @example
 * ```ts
 * muted(incident, [{ id: 's1', matchers, startsAt: 0, endsAt: Infinity }], Date.now()); // true
 * ```
 */
export function muted(
  incident: { readonly labels: Readonly<Record<string, string>> },
  mutes: readonly AlertMute[],
  now: number,
): boolean {
  return mutes.some(
    (m) => m.startsAt <= now && now < m.endsAt && matchesAll(m.matchers, incident.labels),
  );
}

function toNotification(
  incident: Incident,
  kind: AlertNotification['notification'],
): AlertNotification {
  return {
    fingerprint: incident.fingerprint,
    rule: incident.rule,
    state: incident.state,
    severity: incident.severity,
    summary: incident.summary,
    ...optional('description', incident.description),
    labels: incident.labels,
    startsAt: new Date(incident.startsAt),
    ...(incident.state === 'resolved' && incident.endsAt !== undefined
      ? { endsAt: new Date(incident.endsAt) }
      : {}),
    notification: kind,
  };
}

function incidentLabels(observation: AlertObservation): Record<string, string> {
  const labels: Record<string, string> = {
    ...observation.labels,
    rule: observation.rule,
    kind: observation.kind,
    severity: observation.severity,
  };
  if (observation.pipeline !== undefined) labels['pipeline'] = observation.pipeline;
  if (observation.dataset !== undefined) labels['dataset'] = observation.dataset;
  if (observation.partition !== undefined) labels['partition'] = observation.partition;
  return labels;
}

function sameLabels(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
