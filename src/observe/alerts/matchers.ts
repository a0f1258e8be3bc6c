import safeRegex from 'safe-regex2';
import { UsageError } from '../../core/errors.js';

/** One label matcher, as Alertmanager writes them: `name=value`, `!=`, `=~` (regex), `!~`. */
export interface LabelMatcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** Longer patterns are refused: a matcher names labels, it is not a program. */
const MAX_PATTERN_LENGTH = 256;
const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;
/** Labels that hold a comma-separated list; a matcher on the singular name tests membership. */
const LIST_LABELS: Readonly<Record<string, string>> = { owner: 'owners', tag: 'tags' };

/**
 * Parses `pipeline=orders_daily,severity=~critical|warning` into matchers (commas separate
 * matchers; a value may be quoted to hold a comma). `owner=x` and `tag=x` match when `x` is one
 * of the incident's owners or tags.
 *
 * @example
 * ```ts
 * parseMatchers('pipeline=orders_daily,owner=data-eng');
 * // [{ name: 'pipeline', op: '=', value: 'orders_daily' }, { name: 'owner', op: '=', value: 'data-eng' }]
 * ```
 */
export function parseMatchers(text: string): LabelMatcher[] {
  const parts = splitOutsideQuotes(text);
  if (parts.length === 0 || parts.every((p) => p.trim() === ''))
    throw new UsageError(`"${text}" has no matcher`, {
      hint: 'write label=value, e.g. pipeline=orders_daily or owner=data-eng',
    });
  return parts.map((part) => {
    const match = MATCHER.exec(part);
    if (match === null)
      throw new UsageError(`"${part.trim()}" is not a label matcher`, {
        hint: 'write label=value, label!=value, label=~regex or label!~regex',
      });
    const [, name, op, raw] = match as unknown as [string, string, LabelMatcher['op'], string];
    const value = /^".*"$/.test(raw) ? raw.slice(1, -1) : raw;
    if (op === '=~' || op === '!~') checkPattern(value);
    return { name, op, value };
  });
}

/**
 * A regex matcher runs on every evaluation pass of the alert engine, so a pattern that could
 * backtrack for ever (nested quantifiers such as `(a+)+`) is refused up front.
 */
function checkPattern(value: string): void {
  if (value.length > MAX_PATTERN_LENGTH)
    throw new UsageError(`a regex matcher of ${value.length} characters is too long`, {
      hint: `keep it under ${MAX_PATTERN_LENGTH} characters, e.g. pipeline=~orders_.*`,
    });
  try {
    compiled(value);
  } catch (error) {
    throw new UsageError(`"${value}" is not a regular expression: ${(error as Error).message}`, {
      hint: 'e.g. pipeline=~orders_.*',
    });
  }
  if (!safeRegex(`^(?:${value})$`))
    throw new UsageError(`"${value}" nests quantifiers, which can take exponential time`, {
      hint: 'quantify a group at most once, e.g. write (ab)+ or a+ instead of (a+)+ or (a*)*',
    });
}

const patterns = new Map<string, RegExp>();

function compiled(value: string): RegExp {
  let pattern = patterns.get(value);
  if (pattern === undefined) {
    pattern = new RegExp(`^(?:${value})$`);
    if (patterns.size >= 1_000) patterns.clear();
    patterns.set(value, pattern);
  }
  return pattern;
}

/**
 * Whether every matcher holds for `labels` (a missing label is the empty string).
 *
 * @example
 * ```ts
 * matchesAll(parseMatchers('owner=data-eng'), { owners: 'data-eng,finance' }); // true
 * ```
 */
export function matchesAll(
  matchers: readonly LabelMatcher[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return matchers.every((m) => matches(m, labels));
}

/**
 * Matchers as text, as {@link parseMatchers} reads them.
 *
 * @example
 * ```ts
 * formatMatchers([{ name: 'pipeline', op: '=', value: 'x' }]); // "pipeline=x"
 * ```
 */
export function formatMatchers(matchers: readonly LabelMatcher[]): string {
  return matchers
    .map((m) => `${m.name}${m.op}${m.value.includes(',') ? `"${m.value}"` : m.value}`)
    .join(',');
}

function matches(matcher: LabelMatcher, labels: Readonly<Record<string, string>>): boolean {
  const list = LIST_LABELS[matcher.name];
  const values =
    list !== undefined && labels[matcher.name] === undefined
      ? (labels[list] ?? '').split(',').filter((v) => v !== '')
      : [labels[matcher.name] ?? ''];
  const test = (value: string): boolean =>
    matcher.op === '=' || matcher.op === '!='
      ? value === matcher.value
      : compiled(matcher.value).test(value);
  const any = values.length === 0 ? test('') : values.some(test);
  return matcher.op === '=' || matcher.op === '=~' ? any : !any;
}

function splitOutsideQuotes(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}
