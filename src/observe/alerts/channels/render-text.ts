import type { AlertNotification } from '../notification.js';

/**
 * How many of a group's notifications fire and how many resolved.
 *
 * @example
 * ```ts
 * countStates(group); // { firing: 2, resolved: 1 }
 * ```
 */
export function countStates(group: readonly AlertNotification[]): {
  firing: number;
  resolved: number;
} {
  const firing = group.filter((alert) => alert.state === 'firing').length;
  return { firing, resolved: group.length - firing };
}

/**
 * One line that names a group: its state (`FIRING` while any of it fires), the counts when it
 * holds several, and the first summary. Whitespace is collapsed, so it is safe as a mail subject.
 *
 * @example
 * ```ts
 * groupTitle([firing]); // 'FIRING: orders_daily failed after 3 attempts'
 * groupTitle([firing, resolved]); // 'FIRING [1 firing, 1 resolved]: orders_daily failed after 3 attempts (+1 more)'
 * ```
 */
export function groupTitle(group: readonly AlertNotification[]): string {
  const { firing, resolved } = countStates(group);
  const state = firing > 0 ? 'FIRING' : 'RESOLVED';
  const counts =
    group.length > 1
      ? ` [${[firing > 0 ? `${firing} firing` : '', resolved > 0 ? `${resolved} resolved` : ''].filter((s) => s !== '').join(', ')}]`
      : '';
  const first = group[0];
  const summary = first === undefined ? 'no notifications' : oneLine(first.summary);
  const more = group.length > 1 ? ` (+${group.length - 1} more)` : '';
  return `${state}${counts}: ${summary}${more}`;
}

/**
 * The state of one notification in words: `FIRING` (`FIRING again` for a repeat, `ESCALATED`
 * for an escalation) or `RESOLVED`.
 *
 * @example
 * ```ts
 * stateWord({ ...alert, notification: 'escalation' }); // 'ESCALATED'
 * ```
 */
export function stateWord(alert: AlertNotification): string {
  if (alert.state === 'resolved') return 'RESOLVED';
  if (alert.notification === 'repeat') return 'FIRING again';
  if (alert.notification === 'escalation') return 'ESCALATED';
  return 'FIRING';
}

/**
 * The facts of one notification as label/value pairs, in a fixed order: severity, rule, each
 * label (sorted), start, end, link and fingerprint.
 *
 * @example
 * ```ts
 * alertFacts(alert); // [['severity', 'critical'], ['rule', 'run_failed'], ['pipeline', 'orders_daily'], ...]
 * ```
 */
export function alertFacts(alert: AlertNotification): [string, string][] {
  const facts: [string, string][] = [
    ['severity', alert.severity],
    ['rule', alert.rule],
  ];
  for (const key of Object.keys(alert.labels).sort())
    facts.push([key, alert.labels[key] as string]);
  facts.push(['started', alert.startsAt.toISOString()]);
  if (alert.endsAt !== undefined) facts.push(['resolved', alert.endsAt.toISOString()]);
  if (alert.url !== undefined) facts.push(['link', alert.url]);
  facts.push(['fingerprint', alert.fingerprint]);
  return facts;
}

/**
 * A group as plain text: a title line, then per notification its state and summary, its
 * description and its facts.
 *
 * @example
 * ```ts
 * groupText(group); // 'FIRING: ...\n\n[FIRING] orders_daily failed ...\n  severity: critical\n...'
 * ```
 */
export function groupText(group: readonly AlertNotification[]): string {
  const parts = [groupTitle(group)];
  for (const alert of group) {
    const lines = [`[${stateWord(alert)}] ${oneLine(alert.summary)}`];
    if (alert.description !== undefined && alert.description.trim() !== '')
      lines.push(
        ...alert.description
          .trim()
          .split(/\r?\n/)
          .map((line) => `  ${line}`),
      );
    for (const [name, value] of alertFacts(alert)) lines.push(`  ${name}: ${oneLine(value)}`);
    parts.push(lines.join('\n'));
  }
  return `${parts.join('\n\n')}\n`;
}

/**
 * Text on one line: runs of whitespace (line breaks included) become one space.
 *
 * @example
 * ```ts
 * oneLine('a\r\n  b'); // 'a b'
 * ```
 */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Text cut to at most `max` characters, with `…` when cut (never splitting a surrogate pair).
 *
 * @example
 * ```ts
 * clip('abcdef', 4); // 'abc…'
 * ```
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}
