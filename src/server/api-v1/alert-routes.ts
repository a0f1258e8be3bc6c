import { z } from 'zod';
import { UsageError } from '../../core/errors.js';
import type { SilenceRecord } from '../../orchestrator/alert-store.js';
import { AlertStore } from '../../orchestrator/alert-store.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { Incident } from '../../observe/alerts/incidents.js';
import type { LabelMatcher } from '../../observe/alerts/matchers.js';
import { formatMatchers, parseMatchers } from '../../observe/alerts/matchers.js';
import { auditActorOf } from '../api-auth.js';
import { decodePageCursor, encodePageCursor } from './page-cursor.js';
import type { RouteSpec } from './route-table.js';
import { APIError, defineRoute } from './route-table.js';
import { cursorQuery, limitQuery } from './schemas.js';

/** What the alert routes read and write. */
export interface AlertRouteDeps {
  readonly store: RunStore;
}

/** Firing incidents answered at most (the store's own bound for `sluice alerts`). */
const MAX_FIRING = 500;

const IncidentSchema = z
  .object({
    id: z.string().describe('the incident fingerprint (what `sluice alerts ack` takes)'),
    rule: z.string(),
    severity: z.string(),
    state: z.enum(['firing', 'resolved']),
    labels: z.record(z.string(), z.string()),
    summary: z.string(),
    since: z.number().describe('when the condition began, epoch ms'),
    resolvedAt: z.number().nullable(),
    lastNotifiedAt: z.number().nullable(),
    acknowledgedAt: z.number().nullable(),
    acknowledgedBy: z.string().nullable(),
  })
  .describe('Incident');

const MatcherSchema = z.object({
  name: z.string(),
  value: z.string(),
  isRegex: z.boolean().describe('value is a regular expression matching the whole label'),
  isEqual: z.boolean().describe('false: the matcher holds when the label does NOT match'),
});

const SilenceSchema = z
  .object({
    id: z.string(),
    matchers: z.array(MatcherSchema),
    startsAt: z.number(),
    endsAt: z.number(),
    comment: z.string().nullable(),
    createdBy: z.string().nullable(),
  })
  .describe('Silence');

const SilenceBody = z.object({
  matchers: z
    .array(
      z.object({
        name: z.string().max(128).describe('the label name, e.g. pipeline'),
        value: z.string().max(1024),
        isRegex: z.boolean().optional().describe('default false'),
        isEqual: z.boolean().optional().describe('default true; false negates the matcher'),
      }),
    )
    .min(1)
    .max(32),
  until: z
    .union([z.number(), z.string().max(64)])
    .describe('when the silence ends: epoch ms or an ISO 8601 time, in the future'),
  comment: z.string().max(1024).optional(),
});

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The alert routes: firing incidents, the history of resolved ones (cursor-paged) and the active
 * silences; creating a silence and ending one early (admin, recorded in the audit log).
 *
 * @example
 * ```ts
 * mountRoutes(app, alertRoutes({ store }), mountOptions);
 * ```
 */
export function alertRoutes(deps: AlertRouteDeps): RouteSpec[] {
  const alerts = (): AlertStore => new AlertStore(deps.store.db);
  return [
    defineRoute({
      method: 'get',
      path: '/api/v1/alerts',
      role: 'read',
      tag: 'alerts',
      summary: 'Firing incidents, resolved ones newest first (paged), active silences',
      query: z.object({ limit: limitQuery(500, 50), cursor: cursorQuery }),
      response: z.object({
        firing: z.array(IncidentSchema).describe('most recently changed first'),
        history: z
          .array(IncidentSchema)
          .describe('resolved incidents, most recently resolved first'),
        nextCursor: z.string().nullable().describe('the cursor of the next page of history'),
        silences: z.array(SilenceSchema).describe('silences that have not ended'),
      }),
      handler: async ({ query }) => {
        const before =
          query.cursor === undefined ? undefined : decodePageCursor(query.cursor, ['n', 's']);
        const store = alerts();
        const page = await store.resolvedIncidents({
          limit: query.limit + 1,
          ...(before === undefined
            ? {}
            : { before: { endsAt: before[0] as number, fingerprint: before[1] as string } }),
        });
        const history = page.slice(0, query.limit);
        const last = history.at(-1);
        return {
          firing: (await store.incidents({ firing: true, limit: MAX_FIRING })).map(incidentJSON),
          history: history.map(incidentJSON),
          nextCursor:
            page.length > query.limit && last !== undefined
              ? encodePageCursor([last.endsAt ?? 0, last.fingerprint])
              : null,
          silences: (await store.activeSilences(Date.now())).map(silenceJSON),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/silences',
      role: 'admin',
      tag: 'alerts',
      summary: 'Silence the incidents whose labels match every matcher until a time',
      description:
        'Regex matchers must match the whole label and may not nest quantifiers (`(a+)+`); ' +
        'the silence starts now and is recorded in the audit log.',
      body: SilenceBody,
      response: SilenceSchema,
      status: 201,
      errors: [400, 413],
      handler: async ({ body, who }) => {
        const now = Date.now();
        const matchers = body.matchers.map((m, i) => checkedMatcher(m, i));
        const until = untilMs(body.until);
        if (until <= now)
          throw new APIError(
            400,
            'bad_request',
            `body field "until": ${new Date(until).toISOString()} is not in the future; give a later epoch ms or ISO time`,
          );
        const text = formatMatchers(matchers);
        const silence = await alerts().silence(text, `${until - now}ms`, {
          now,
          ...(body.comment === undefined ? {} : { comment: body.comment }),
          ...(who === undefined ? {} : { createdBy: who.name, actor: auditActorOf(who) }),
        });
        return { status: 201, body: silenceJSON(silence) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/v1/silences/:id/expire',
      role: 'admin',
      tag: 'alerts',
      summary: 'End a silence now',
      params: z.object({ id: z.string().max(256).describe('the silence id') }),
      response: z.object({ id: z.string(), expired: z.literal(true) }),
      errors: [400, 404],
      handler: async ({ params, who }) => {
        const ended = await alerts().unsilence(
          params.id,
          Date.now(),
          ...(who === undefined ? [] : [auditActorOf(who)]),
        );
        if (!ended)
          throw new APIError(
            404,
            'not_found',
            `no active silence has the id "${params.id.slice(0, 80)}"; GET /api/v1/alerts lists the active silences`,
          );
        return { id: params.id, expired: true as const };
      },
    }),
  ];
}

/** An incident as the API answers it (the shape of `sluice alerts --json`, times in ms). */
function incidentJSON(incident: Incident): z.output<typeof IncidentSchema> {
  return {
    id: incident.fingerprint,
    rule: incident.rule,
    severity: incident.severity,
    state: incident.state === 'firing' ? 'firing' : 'resolved',
    labels: { ...incident.labels },
    summary: incident.summary,
    since: incident.startsAt,
    resolvedAt: incident.state === 'firing' ? null : (incident.endsAt ?? null),
    lastNotifiedAt: incident.lastNotifiedAt ?? null,
    acknowledgedAt: incident.acknowledgedAt ?? null,
    acknowledgedBy: incident.acknowledgedBy ?? null,
  };
}

function silenceJSON(silence: SilenceRecord): z.output<typeof SilenceSchema> {
  return {
    id: silence.id,
    matchers: silence.matchers.map((m) => ({
      name: m.name,
      value: m.value,
      isRegex: m.op === '=~' || m.op === '!~',
      isEqual: m.op === '=' || m.op === '=~',
    })),
    startsAt: silence.startsAt,
    endsAt: silence.endsAt,
    comment: silence.comment ?? null,
    createdBy: silence.createdBy ?? null,
  };
}

/**
 * A matcher of the body, checked by the same parser (and regex guard) as `sluice alerts
 * silence`, and refused when its text form would not read back as the same matcher.
 */
function checkedMatcher(
  m: { name: string; value: string; isRegex?: boolean | undefined; isEqual?: boolean | undefined },
  index: number,
): LabelMatcher {
  const where = `body field "matchers.${index}`;
  if (!LABEL_NAME.test(m.name))
    throw new APIError(
      400,
      'bad_request',
      `${where}.name": "${m.name.slice(0, 80)}" is not a label name; use letters, digits and _, not starting with a digit (e.g. pipeline)`,
    );
  const regex = m.isRegex === true;
  const equal = m.isEqual !== false;
  const op: LabelMatcher['op'] = regex ? (equal ? '=~' : '!~') : equal ? '=' : '!=';
  const matcher: LabelMatcher = { name: m.name, op, value: m.value };
  let parsed: LabelMatcher[];
  try {
    parsed = parseMatchers(formatMatchers([matcher]));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new APIError(400, 'bad_request', `${where}.value": ${error.message}`);
  }
  const [back] = parsed;
  if (parsed.length !== 1 || back?.value !== m.value || back.op !== op)
    throw new APIError(
      400,
      'bad_request',
      `${where}.value": "${m.value.slice(0, 80)}" cannot be stored as a matcher value (leading or trailing spaces, or double quotes with a comma); remove them${regex ? ' or match them with a regex class' : ''}`,
    );
  return matcher;
}

function untilMs(until: number | string): number {
  const ms = typeof until === 'number' ? until : isoMs(until);
  if (ms === undefined || !Number.isSafeInteger(ms))
    throw new APIError(
      400,
      'bad_request',
      `body field "until": ${JSON.stringify(String(until).slice(0, 64))} is neither epoch milliseconds nor an ISO 8601 time; e.g. 2026-01-02T03:00:00Z`,
    );
  return ms;
}

function isoMs(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
