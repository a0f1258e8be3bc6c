import { z } from 'zod';
import type { Diagnostic } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';

/**
 * A duration setting: `"30s"`, `"15m"`, `"2h"`, `"1d"`, or a number of milliseconds.
 *
 * @example
 * ```ts
 * durationSchema.parse('15m'); // "15m"
 * ```
 */
export const durationSchema = z
  .union([z.string(), z.number()])
  .refine(
    (value) => {
      try {
        parseDuration(value);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'is not a duration (e.g. "30s", "15m", "2h", "1d")' },
  )
  .describe('a duration such as "30s", "15m", "2h" or "1d" (a number is milliseconds)');

const duration = durationSchema;

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

const common = {
  name: z
    .string()
    .regex(NAME, 'use letters, digits, "_", ".", ":" and "-" (at most 128)')
    .optional()
    .describe('the rule name in notifications and fingerprints (default: the kind)'),
  severity: z
    .enum(['critical', 'warning', 'info'])
    .optional()
    .describe('how bad an incident of this rule is (default critical)'),
  labels: z
    .record(z.string(), z.string())
    .optional()
    .describe('extra labels routes and silences match on'),
  pipelines: z
    .array(z.string())
    .optional()
    .describe('in sluice.config.ts: the pipelines the rule watches (default every pipeline)'),
};

const runFailed = z
  .strictObject({
    kind: z.literal('run_failed'),
    ...common,
  })
  .describe('a run failed after its last retry; resolved when a later run succeeds');

const runDeadline = z
  .strictObject({
    kind: z.literal('run_deadline'),
    ...common,
    finishBy: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'is not a time of day HH:MM')
      .optional()
      .describe('the wall-clock time the run must finish by, e.g. "06:00"'),
    timezone: z
      .string()
      .optional()
      .describe('the IANA time zone of finishBy (default UTC), e.g. "Europe/Berlin"'),
    afterQueued: duration.optional().describe('the run must finish this long after it was queued'),
    p95Factor: z
      .number()
      .positive()
      .optional()
      .describe('the run must finish within this multiple of the p95 duration of recent runs'),
    p95Runs: z
      .number()
      .int()
      .min(3)
      .max(1000)
      .optional()
      .describe('how many recent successful runs the p95 is taken over (default 20)'),
  })
  .superRefine((rule, ctx) => {
    const given = [rule.finishBy, rule.afterQueued, rule.p95Factor].filter((v) => v !== undefined);
    if (given.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of finishBy, afterQueued and p95Factor',
      });
    if (rule.timezone !== undefined && !validTimeZone(rule.timezone))
      ctx.addIssue({ code: 'custom', path: ['timezone'], message: 'is not an IANA time zone' });
  })
  .describe('a run still going past its deadline; resolved when it finishes');

const quality = z
  .strictObject({
    kind: z.literal('quality'),
    ...common,
    dataset: z.string().optional().describe('the check step to watch (default every check step)'),
    minScore: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'fire when the quality score falls below this (default: on any failed expectation)',
      ),
  })
  .describe('the latest check of a dataset failed an expectation or scored too low');

const freshness = z
  .strictObject({
    kind: z.literal('freshness'),
    ...common,
    dataset: z.string().min(1).describe('the dataset (a sink output path) that must stay fresh'),
    maxAge: duration.describe('fire when the dataset was last updated longer ago than this'),
  })
  .describe('a dataset was not updated for longer than maxAge');

const volume = z
  .strictObject({
    kind: z.literal('volume'),
    ...common,
    dataset: z.string().min(1).describe('the step whose rows out are watched'),
    minRows: z.number().int().min(0).optional().describe('fire below this many rows'),
    maxRows: z.number().int().min(0).optional().describe('fire above this many rows'),
    deviation: z
      .number()
      .positive()
      .optional()
      .describe('fire when rows differ from the median of recent runs by more than this share'),
    history: z
      .number()
      .int()
      .min(3)
      .max(1000)
      .optional()
      .describe('how many earlier successful runs the median is taken over (default 10)'),
  })
  .refine((r) => r.minRows !== undefined || r.maxRows !== undefined || r.deviation !== undefined, {
    message: 'give minRows, maxRows or deviation',
  })
  .describe("the latest successful run's row count of a step is out of bounds");

const streamLag = z
  .strictObject({
    kind: z.literal('stream_lag'),
    ...common,
    stream: z.string().min(1).describe('the stream'),
    maxLag: z
      .number()
      .int()
      .min(0)
      .describe('fire when the source lag at the last checkpoint exceeds this many records'),
  })
  .describe('a stream fell behind its source');

const watermarkStall = z
  .strictObject({
    kind: z.literal('watermark_stall'),
    ...common,
    stream: z.string().min(1).describe('the stream'),
    for: duration.describe('fire when the watermark has not advanced for this long'),
  })
  .describe("a stream's watermark stopped advancing");

const checkpointFailure = z
  .strictObject({
    kind: z.literal('checkpoint_failure'),
    ...common,
    stream: z.string().min(1).describe('the stream'),
    maxAge: duration.describe('fire when no checkpoint completed for this long'),
  })
  .describe('a stream stopped completing checkpoints');

const workerDown = z
  .strictObject({
    kind: z.literal('worker_down'),
    ...common,
    after: duration.describe('fire when a worker of a stream has not been seen for this long'),
  })
  .describe('a stream worker stopped heartbeating');

const schedulerDown = z
  .strictObject({
    kind: z.literal('scheduler_down'),
    ...common,
    after: duration.describe('fire when no scheduler pass was recorded for this long'),
  })
  .describe('no sluice serve scheduler recorded a pass (another serve process notices)');

/**
 * The zod schema of one alert rule: the `kind` picks the condition, the rest tunes it.
 *
 * @example
 * ```ts
 * alertRuleSchema.parse({ kind: 'freshness', dataset: 'out/daily', maxAge: '26h' });
 * ```
 */
export const alertRuleSchema = z.discriminatedUnion('kind', [
  runFailed,
  runDeadline,
  quality,
  freshness,
  volume,
  streamLag,
  watermarkStall,
  checkpointFailure,
  workerDown,
  schedulerDown,
]);

/**
 * An alert rule, on a pipeline (`alerts: [...]`) or in `sluice.config.ts`.
 *
 * @example
 * ```ts
 * const rule: AlertRule = { kind: 'run_deadline', finishBy: '06:00', timezone: 'Europe/Berlin' };
 * ```
 */
export type AlertRule = z.input<typeof alertRuleSchema>;

/** The kinds of alert rule. */
export type AlertRuleKind = AlertRule['kind'];

/**
 * Every rule kind, in the order the docs list them.
 *
 * @example
 * ```ts
 * ALERT_RULE_KINDS.includes('freshness'); // true
 * ```
 */
export const ALERT_RULE_KINDS: readonly AlertRuleKind[] = alertRuleSchema.options.map(
  (option) => option.shape.kind.value,
);

/**
 * The problems of a list of rules as diagnostics (empty when they are valid), so `sluice
 * check` shows every one at once. Two rules of one owner may not share a name.
 *
 * @example
 * ```ts
 * alertRuleDiagnostics([{ kind: 'freshness', dataset: 'x' }], 'alerts'); // [{ code: 'invalid-alert-rule', path: 'alerts[0].maxAge', ... }]
 * ```
 */
export function alertRuleDiagnostics(rules: unknown, path: string): Diagnostic[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules))
    return [
      {
        code: 'invalid-alert-rule',
        path,
        message: `${path} must be a list of rules`,
        hint: "e.g. alerts: [{ kind: 'run_failed' }]",
      },
    ];
  const problems: Diagnostic[] = [];
  const names = new Set<string>();
  rules.forEach((rule: unknown, index) => {
    const at = `${path}[${index}]`;
    const parsed = alertRuleSchema.safeParse(rule);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(zodDiagnostic(issue, at));
      return;
    }
    const name = alertRuleName(parsed.data);
    if (names.has(name))
      problems.push({
        code: 'duplicate-alert-rule',
        path: at,
        message: `two rules are named "${name}"`,
        hint: 'give each rule of the same kind its own name',
      });
    names.add(name);
  });
  return problems;
}

/**
 * The problems of a pipeline's `owners` or `tags`: a list of names without commas (labels hold
 * them comma-separated).
 *
 * @example
 * ```ts
 * labelListDiagnostics(['data,eng'], 'owners'); // [{ code: 'invalid-owners', ... }]
 * ```
 */
export function labelListDiagnostics(values: unknown, path: 'owners' | 'tags'): Diagnostic[] {
  if (values === undefined) return [];
  const ok =
    Array.isArray(values) &&
    values.every((v) => typeof v === 'string' && v.trim() !== '' && !v.includes(','));
  return ok
    ? []
    : [
        {
          code: `invalid-${path}`,
          path,
          message: `${path} must be a list of non-empty names without commas`,
          hint: `e.g. ${path}: ['${path === 'owners' ? 'data-eng' : 'finance'}']`,
        },
      ];
}

/**
 * A rule's name: its `name`, else its kind.
 *
 * @example
 * ```ts
 * alertRuleName({ kind: 'run_failed' }); // "run_failed"
 * ```
 */
export function alertRuleName(rule: AlertRule): string {
  return rule.name ?? rule.kind;
}

/**
 * One zod issue as a diagnostic at `base`.
 *
 * @example
 * ```ts
 * zodDiagnostic(issue, 'alerts[0]'); // { code: 'invalid-alert-rule', path: 'alerts[0].maxAge', ... }
 * ```
 */
export function zodDiagnostic(
  issue: z.core.$ZodIssue,
  base: string,
  code = 'invalid-alert-rule',
): Diagnostic {
  const path = [
    base,
    ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)),
  ]
    .join('')
    .replace(/^\./, '');
  const atKind = issue.path.at(-1) === 'kind';
  return {
    code,
    path,
    // The only unions below a rule's kind are durations (a string or a number).
    message:
      issue.code === 'invalid_union' && !atKind
        ? 'must be a duration such as "30s", "15m" or "2h" (it is missing or not one)'
        : issue.message,
    hint:
      issue.code === 'unrecognized_keys'
        ? 'remove the key, or check its spelling against docs/observability.md#alerts'
        : atKind
          ? `kind is one of ${ALERT_RULE_KINDS.join(', ')}`
          : 'see docs/observability.md#alerts for the rule kinds and their settings',
  };
}

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
