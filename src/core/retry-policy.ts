import { parseDuration } from './duration.js';
import type { Diagnostic } from './errors.js';
import { ConfigError } from './errors.js';

/**
 * How often and how soon failed work is tried again. The one retry vocabulary of Sluice:
 * pipelines, steps and connectors that retry take `retries` as a bare count or this object.
 *
 * @example
 * ```ts
 * const policy: RetryPolicy = { retries: 3, delay: '1s', maxDelay: '30s', jitter: 0.2 };
 * ```
 */
export interface RetryPolicy {
  /** Attempts after the first: a whole number, 0 or more. */
  readonly retries: number;
  /** Delay before the first retry (default `'10s'`); doubles each time. */
  readonly delay?: string | number;
  /** Upper bound of the delay (default `'10m'`). */
  readonly maxDelay?: string | number;
  /** Random share of the delay added or taken away, 0..1 (default 0.2). */
  readonly jitter?: number;
}

/** A {@link RetryPolicy} with defaults filled in and durations in milliseconds. */
export interface ResolvedRetryPolicy {
  readonly retries: number;
  readonly delayMs: number;
  readonly maxDelayMs: number;
  readonly jitter: number;
}

/** What is wrong with a retry setting: the field (`''` for the whole value) and why. */
export interface RetryProblem {
  readonly path: string;
  readonly message: string;
}

const FIELDS = ['retries', 'delay', 'maxDelay', 'jitter'] as const;

/** Names other tools (and older connector options) use for the fields of a RetryPolicy. */
const OTHER_NAMES: Readonly<Record<string, string>> = {
  count: 'retries',
  attempts: 'retries',
  maxRetries: 'retries',
  retryDelay: 'delay',
  initialDelay: 'delay',
  maxRetryDelay: 'maxDelay',
};

const SHAPE = 'a whole number of retries, or { retries, delay, maxDelay, jitter }';

/**
 * Every problem of a retry setting as written (`undefined` has none): a count that is not a
 * whole number of 0 or more (NaN and Infinity included), a delay that is not a duration, a jitter
 * outside 0..1, an unknown field.
 *
 * @example
 * ```ts
 * retryPolicyProblems({ count: 3 });
 * // [{ path: 'count', message: '"count" is not a retry field; the count of retries is "retries"' },
 * //  { path: 'retries', message: 'missing: ...' }]
 * ```
 */
export function retryPolicyProblems(value: unknown): RetryProblem[] {
  if (value === undefined) return [];
  if (typeof value === 'number') return countProblems(value, '');
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return [{ path: '', message: `expected ${SHAPE}, got ${describe(value)}` }];
  const policy = value as Record<string, unknown>;
  const problems: RetryProblem[] = [];
  for (const key of Object.keys(policy)) {
    if ((FIELDS as readonly string[]).includes(key)) continue;
    const instead = OTHER_NAMES[key];
    problems.push({
      path: key,
      message:
        instead === undefined
          ? `unknown retry field "${key}"; the fields are ${FIELDS.join(', ')}`
          : `"${key}" is not a retry field; use "${instead}"`,
    });
  }
  if (policy['retries'] === undefined)
    problems.push({ path: 'retries', message: 'missing: how many times to retry (0 or more)' });
  else problems.push(...countProblems(policy['retries'], 'retries'));
  for (const field of ['delay', 'maxDelay'] as const)
    if (policy[field] !== undefined) problems.push(...durationProblems(policy[field], field));
  const jitter = policy['jitter'];
  if (
    jitter !== undefined &&
    (typeof jitter !== 'number' || !Number.isFinite(jitter) || jitter < 0 || jitter > 1)
  )
    problems.push({
      path: 'jitter',
      message: `expected a number from 0 to 1, got ${describe(jitter)}`,
    });
  return problems;
}

/**
 * A retry policy with defaults filled in (`retries` may be a bare count; `defaults` fills the
 * fields not given, then `{ delay: '10s', maxDelay: '10m', jitter: 0.2 }`). Throws a
 * {@link ConfigError} for a setting {@link retryPolicyProblems} rejects, so a policy with a NaN
 * or infinite count or delay cannot exist.
 *
 * @example
 * ```ts
 * retryPolicy(3); // { retries: 3, delayMs: 10_000, maxDelayMs: 600_000, jitter: 0.2 }
 * retryPolicy(2, { delay: '1s', maxDelay: '30s' }); // { retries: 2, delayMs: 1_000, maxDelayMs: 30_000, jitter: 0.2 }
 * ```
 */
export function retryPolicy(
  retries: number | RetryPolicy | undefined,
  defaults: Partial<RetryPolicy> = {},
): ResolvedRetryPolicy {
  const problems = [...retryPolicyProblems(retries), ...defaultsProblems(defaults)];
  if (problems.length > 0)
    throw new ConfigError(
      problems.map((p) => ({
        code: 'invalid-retries',
        message: p.message,
        path: p.path === '' ? 'retries' : `retries.${p.path}`,
        hint: `retries is ${SHAPE}`,
      })),
    );
  const given = typeof retries === 'object' ? retries : { retries: retries ?? 0 };
  const policy = { ...defaults, ...defined(given) };
  return {
    retries: policy.retries ?? 0,
    delayMs: parseDuration(policy.delay ?? '10s'),
    maxDelayMs: parseDuration(policy.maxDelay ?? '10m'),
    jitter: policy.jitter ?? 0.2,
  };
}

/**
 * The problems of a retry setting as plan diagnostics at `path` (such as `retries`), with the
 * step they belong to when given.
 *
 * @example
 * ```ts
 * retryDiagnostics({ retries: Number.NaN }, 'retries', 'orders'); // [{ code: 'invalid-retries', path: 'retries.retries', ... }]
 * ```
 */
export function retryDiagnostics(value: unknown, path: string, stepId?: string): Diagnostic[] {
  return retryPolicyProblems(value).map((p) => ({
    code: 'invalid-retries',
    message: p.message,
    path: p.path === '' ? path : `${path}.${p.path}`,
    hint: `${path} is ${SHAPE}`,
    ...(stepId === undefined ? {} : { stepId }),
  }));
}

/**
 * The wait before retrying after failed attempt `attempt` (1-based): exponential backoff,
 * capped, with jitter; at least `atLeastMs` (what a rate-limited source asked for).
 *
 * @example
 * ```ts
 * retryDelayMs(retryPolicy({ retries: 5, delay: '1s', jitter: 0 }), 3); // 4000
 * ```
 */
export function retryDelayMs(
  policy: ResolvedRetryPolicy,
  attempt: number,
  atLeastMs = 0,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = base * (1 + policy.jitter * (2 * random() - 1));
  return Math.max(atLeastMs, Math.round(Math.min(policy.maxDelayMs, jittered)));
}

function countProblems(value: unknown, path: string): RetryProblem[] {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return [];
  return [
    { path, message: `expected a whole number of retries, 0 or more, got ${describe(value)}` },
  ];
}

function durationProblems(value: unknown, path: string): RetryProblem[] {
  const message = `expected a duration such as '500ms', '30s' or '2m', or milliseconds (0 or more), got ${describe(value)}`;
  if (typeof value !== 'string' && typeof value !== 'number') return [{ path, message }];
  try {
    parseDuration(value);
    return [];
  } catch {
    return [{ path, message }];
  }
}

function defaultsProblems(defaults: Partial<RetryPolicy>): RetryProblem[] {
  return retryPolicyProblems({ retries: 0, ...defined(defaults) }).map((p) => ({
    ...p,
    message: `(default) ${p.message}`,
  }));
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
