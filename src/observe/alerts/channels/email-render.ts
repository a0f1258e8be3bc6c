import type { AlertNotification } from '../notification.js';
import { alertFacts, clip, groupText, groupTitle, oneLine, stateWord } from './render-text.js';

/** The most characters of a subject (RFC 5322 asks for lines under 998; readers show ~80). */
const MAX_SUBJECT = 200;

/** An email of a group: subject, plain text body and HTML body. */
export interface AlertEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * The email of a group: the subject is the prefix, the state and the first summary on one line
 * (`[sluice] FIRING: orders_daily failed after 3 attempts`); the text body is the plain
 * rendering; the HTML body shows each notification as a coloured heading (red firing, green
 * resolved) over a table of its facts, with every value escaped and only http(s) links made
 * clickable.
 *
 * @example
 * ```ts
 * const { subject, text, html } = alertEmail(group, '[sluice]');
 * ```
 */
export function alertEmail(group: readonly AlertNotification[], subjectPrefix: string): AlertEmail {
  const prefix = oneLine(subjectPrefix);
  return {
    subject: clip(`${prefix === '' ? '' : `${prefix} `}${groupTitle(group)}`, MAX_SUBJECT),
    text: groupText(group),
    html: groupHTML(group),
  };
}

function groupHTML(group: readonly AlertNotification[]): string {
  const sections = group.map((alert) => {
    const colour = alert.state === 'firing' ? '#b00020' : '#1b7f3b';
    const rows = alertFacts(alert)
      .map(
        ([name, value]) =>
          `<tr><th align="left" style="padding:2px 12px 2px 0;color:#555">${escapeHTML(name)}</th><td style="padding:2px 0">${name === 'link' ? linkHTML(value) : escapeHTML(value)}</td></tr>`,
      )
      .join('');
    const description =
      alert.description === undefined || alert.description.trim() === ''
        ? ''
        : `<p style="white-space:pre-wrap;margin:4px 0 8px">${escapeHTML(alert.description.trim())}</p>`;
    return `<h3 style="margin:16px 0 4px;color:${colour}">${escapeHTML(stateWord(alert))}: ${escapeHTML(oneLine(alert.summary))}</h3>${description}<table style="border-collapse:collapse;font-size:14px">${rows}</table>`;
  });
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHTML(groupTitle(group))}</title></head><body style="font-family:sans-serif"><h2 style="margin:0 0 8px">${escapeHTML(groupTitle(group))}</h2>${sections.join('<hr>')}</body></html>\n`;
}

function linkHTML(url: string): string {
  return /^https?:\/\//i.test(url)
    ? `<a href="${escapeHTML(url)}">${escapeHTML(url)}</a>`
    : escapeHTML(url);
}

function escapeHTML(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}
