import { z } from 'zod';
import type { Diagnostic } from '../../core/errors.js';
import { alertRuleDiagnostics, durationSchema, zodDiagnostic } from '../../define/alert-rules.js';
import type { AlertRule } from '../../define/alert-rules.js';
import type { AlertChannel } from './notification.js';
import { parseMatchers } from './matchers.js';
import type { AlertChannelInput } from './channels/create-channel.js';
import { alertChannelConfig } from './channels/create-channel.js';

const duration = durationSchema;

const matcherList = z.array(z.string()).superRefine((list, ctx) => {
  list.forEach((text, index) => {
    try {
      parseMatchers(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: [index], message: (error as Error).message });
    }
  });
});

const channelObject = z.custom<AlertChannel>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { send?: unknown }).send === 'function',
  { message: 'is not an alert channel (an object with a name and a send function)' },
);

/** A channel: its config (`{ type: 'slack', name, url }`...) or an `AlertChannel` object. */
const channel = z.union([channelObject, alertChannelConfig]);

const route = z.strictObject({
  name: z.string().min(1).describe('the route name, used by escalate.to'),
  match: matcherList
    .optional()
    .describe(
      'label matchers, all of which must hold ("owner=data-eng", "tag=finance", "severity=~critical|warning"); none matches every incident',
    ),
  channels: z.array(z.string().min(1)).describe('names of the channels the route delivers to'),
  groupWait: duration
    .optional()
    .describe(
      'how long a new incident waits for others of the route to send them together (default 30s)',
    ),
  repeatInterval: duration
    .optional()
    .describe('a still-firing, unacknowledged incident is sent again after this long (default 4h)'),
  escalate: z
    .strictObject({
      after: duration.describe('unacknowledged for this long after its first notification'),
      to: z.string().min(1).describe('the route that receives the escalation'),
    })
    .optional()
    .describe('send an unacknowledged incident to another route'),
});

const maintenance = z.strictObject({
  match: matcherList.describe('label matchers of the incidents the window silences'),
  start: z.iso.datetime({ offset: true }).describe('when the window opens (ISO time)'),
  end: z.iso.datetime({ offset: true }).describe('when the window closes (ISO time)'),
  comment: z.string().optional(),
});

/**
 * The zod schema of `alerts` in `sluice.config.ts`.
 *
 * @example
 * ```ts
 * alertsConfigSchema.parse({ channels: [hook], routes: [{ name: 'ops', channels: ['ops'] }] });
 * ```
 */
export const alertsConfigSchema = z.strictObject({
  channels: z.array(channel).optional().describe('where notifications go'),
  routes: z
    .array(route)
    .optional()
    .describe('the first route whose matchers hold takes an incident'),
  rules: z.array(z.unknown()).optional().describe('project-wide rules'),
  maintenance: z.array(maintenance).optional().describe('maintenance windows'),
  evaluateEvery: duration.optional().describe('how often sluice serve evaluates (default 15s)'),
});

/** `alerts` in `sluice.config.ts`: channels, routes, project-wide rules, maintenance windows. */
export interface AlertsConfig {
  /**
   * Where notifications go: channel configs (Slack, webhook, email, PagerDuty, Alertmanager; see
   * Channels in docs/observability.md) or `AlertChannel` objects of your own.
   */
  readonly channels?: readonly (AlertChannelInput | AlertChannel)[];
  /** The first route whose matchers hold takes an incident; without routes, every channel. */
  readonly routes?: readonly AlertRouteConfig[];
  /** Rules for every pipeline (or the ones each rule's `pipelines` names). */
  readonly rules?: readonly AlertRule[];
  /** Windows in which matching incidents send nothing. */
  readonly maintenance?: readonly MaintenanceWindowConfig[];
  /** How often `sluice serve` evaluates the rules (default `15s`). */
  readonly evaluateEvery?: string | number;
}

/** One route of {@link AlertsConfig}. */
export interface AlertRouteConfig {
  readonly name: string;
  /** Label matchers, all of which must hold; none matches every incident. */
  readonly match?: readonly string[];
  readonly channels: readonly string[];
  /** Default `30s`. */
  readonly groupWait?: string | number;
  /** Default `4h`. */
  readonly repeatInterval?: string | number;
  readonly escalate?: { readonly after: string | number; readonly to: string };
}

/** A maintenance window of {@link AlertsConfig}. */
export interface MaintenanceWindowConfig {
  readonly match: readonly string[];
  readonly start: string;
  readonly end: string;
  readonly comment?: string;
}

/**
 * The problems of a project's `alerts` as diagnostics, every one at once: shapes, rules,
 * routes naming unknown channels or routes, windows that end before they start.
 *
 * @example
 * ```ts
 * const problems = alertsConfigDiagnostics(config.alerts, 'sluice.config.ts');
 * ```
 */
export function alertsConfigDiagnostics(config: unknown, file?: string): Diagnostic[] {
  if (config === undefined) return [];
  const at = (d: Diagnostic): Diagnostic => (file === undefined ? d : { ...d, file });
  const parsed = alertsConfigSchema.safeParse(config);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) =>
        at(zodDiagnostic(issue, 'alerts', 'invalid-alerts-config')),
      );
  // The references are checked as far as the shapes allow, so every problem shows at once.
  const raw = (typeof config === 'object' && config !== null ? config : {}) as {
    rules?: unknown;
    channels?: unknown;
    routes?: unknown;
    maintenance?: unknown;
  };
  problems.push(...alertRuleDiagnostics(raw.rules, 'alerts.rules').map(at));
  const list = (value: unknown): Record<string, unknown>[] =>
    Array.isArray(value)
      ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null)
      : [];
  const channels = new Set<string>();
  for (const [index, ch] of list(raw.channels).entries()) {
    if (typeof ch['name'] !== 'string') continue;
    if (channels.has(ch['name']))
      problems.push(
        at({
          code: 'duplicate-alert-channel',
          path: `alerts.channels[${index}]`,
          message: `two channels are named "${ch['name']}"`,
          hint: 'give each channel its own name',
        }),
      );
    channels.add(ch['name']);
  }
  const routes = new Set(list(raw.routes).map((r) => r['name']));
  for (const [index, r] of list(raw.routes).entries()) {
    for (const name of Array.isArray(r['channels']) ? (r['channels'] as unknown[]) : [])
      if (typeof name === 'string' && !channels.has(name))
        problems.push(
          at({
            code: 'unknown-alert-channel',
            path: `alerts.routes[${index}].channels`,
            message: `route "${String(r['name'])}" names channel "${name}", which is not declared`,
            hint: `declared channels: ${[...channels].join(', ') || '(none)'}`,
          }),
        );
    const escalate = r['escalate'] as { to?: unknown } | undefined;
    if (typeof escalate?.to === 'string' && !routes.has(escalate.to))
      problems.push(
        at({
          code: 'unknown-alert-route',
          path: `alerts.routes[${index}].escalate.to`,
          message: `route "${String(r['name'])}" escalates to "${escalate.to}", which is not a route`,
          hint: `routes: ${[...routes].map(String).join(', ')}`,
        }),
      );
  }
  for (const [index, w] of list(raw.maintenance).entries())
    if (
      typeof w['start'] === 'string' &&
      typeof w['end'] === 'string' &&
      !(Date.parse(w['start']) < Date.parse(w['end']))
    )
      problems.push(
        at({
          code: 'invalid-maintenance-window',
          path: `alerts.maintenance[${index}]`,
          message: `the window ends (${w['end']}) before it starts (${w['start']})`,
          hint: 'make end later than start',
        }),
      );
  return problems;
}
