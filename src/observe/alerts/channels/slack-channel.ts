import { z } from 'zod';
import { secretValue } from '../../../contracts/secrets.js';
import type { AlertNotification } from '../notification.js';
import type { ChannelOptions, ConfiguredAlertChannel } from './channel-config.js';
import { channelBaseFields } from './channel-config.js';
import { createHTTPChannel } from './channel-http.js';
import { ChannelSecrets } from './channel-secrets.js';
import { alertFacts, clip, groupText, groupTitle, oneLine, stateWord } from './render-text.js';

/**
 * Config of a `slack` channel: a Slack incoming webhook.
 *
 * @example
 * ```ts
 * slackChannelConfig.parse({ type: 'slack', name: 'ops-slack', url: { env: 'SLACK_WEBHOOK_URL' } });
 * ```
 */
export const slackChannelConfig = z
  .strictObject({
    type: z.literal('slack'),
    ...channelBaseFields,
    url: secretValue.describe(
      'The incoming webhook URL Slack issued (`https://hooks.slack.com/services/...`); it is a credential, so give it as `{ env: "NAME" }`.',
    ),
    format: z
      .enum(['blocks', 'text'])
      .default('blocks')
      .describe(
        'The message: Block Kit (a header, then per notification its summary and facts) or plain text.',
      ),
  })
  .describe('Posts one message per group to a Slack incoming webhook.');

/** Config of a `slack` channel as written. */
export type SlackChannelInput = z.input<typeof slackChannelConfig>;
/** Config of a `slack` channel after parsing. */
export type SlackChannelConfig = z.output<typeof slackChannelConfig>;

/** Slack's limits on one message (api.slack.com/reference/block-kit). */
const MAX_BLOCKS = 50;
const MAX_HEADER = 150;
const MAX_SECTION = 3000;
const MAX_FIELDS = 10;
const MAX_FIELD = 2000;
const MAX_TEXT = 39_000;
/** Blocks one notification takes: its section, its facts, a divider. */
const BLOCKS_PER_ALERT = 3;

/** A Slack message body. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks?: readonly object[];
}

/**
 * The message a group becomes: `text` (the plain rendering, which Slack also shows in
 * notifications) and, in `blocks` format, Block Kit blocks: a header with the group's state,
 * then per notification a section with its state, severity, summary and description, a section
 * of its facts, and a divider. Firing notifications are marked `:rotating_light:`, resolved ones
 * `:white_check_mark:`. Slack's limits are kept (50 blocks, 150-character header, 3000-character
 * sections): notifications past the 16th are counted in a closing line. `&`, `<` and `>` are
 * escaped, so a summary cannot mention `@channel` or forge a link.
 *
 * @example
 * ```ts
 * const body = slackMessage(group, 'blocks');
 * await fetch(url, { method: 'POST', body: JSON.stringify(body) });
 * ```
 */
export function slackMessage(
  group: readonly AlertNotification[],
  format: SlackChannelConfig['format'],
): SlackMessage {
  const text = clip(escapeSlack(groupText(group)), MAX_TEXT);
  if (format === 'text') return { text };
  const firing = group.some((alert) => alert.state === 'firing');
  const blocks: object[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: clip(
          `${firing ? ':rotating_light:' : ':white_check_mark:'} ${groupTitle(group)}`,
          MAX_HEADER,
        ),
        emoji: true,
      },
    },
  ];
  const room = Math.floor((MAX_BLOCKS - 2) / BLOCKS_PER_ALERT);
  const shown = group.length > room ? group.slice(0, room) : group;
  for (const alert of shown) blocks.push(...alertBlocks(alert));
  if (shown.length < group.length)
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `…and ${group.length - shown.length} more notifications of this group, not shown (Slack takes ${MAX_BLOCKS} blocks per message).`,
        },
      ],
    });
  else blocks.pop();
  return { text: clip(escapeSlack(groupTitle(group)), MAX_SECTION), blocks };
}

function alertBlocks(alert: AlertNotification): object[] {
  const mark = alert.state === 'firing' ? ':rotating_light:' : ':white_check_mark:';
  const lines = [
    `${mark} *${stateWord(alert)}* · ${alert.severity} · ${escapeSlack(oneLine(alert.summary))}`,
  ];
  if (alert.description !== undefined && alert.description.trim() !== '')
    lines.push(escapeSlack(alert.description.trim()));
  const facts = alertFacts(alert).map(
    ([name, value]) => `*${escapeSlack(name)}*\n${escapeSlack(oneLine(value))}`,
  );
  const fields =
    facts.length <= MAX_FIELDS
      ? facts
      : [...facts.slice(0, MAX_FIELDS - 1), facts.slice(MAX_FIELDS - 1).join('\n')];
  return [
    { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), MAX_SECTION) } },
    {
      type: 'section',
      fields: fields.map((field) => ({ type: 'mrkdwn', text: clip(field, MAX_FIELD) })),
    },
    { type: 'divider' },
  ];
}

/** Text with the three characters Slack's markup reserves escaped. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * A Slack channel: posts each group as one message to the incoming webhook, Block Kit or plain
 * text. The webhook URL is read through the secret resolver and masked in every error.
 *
 * @example
 * ```ts
 * const slack = createSlackChannel(slackChannelConfig.parse({ type: 'slack', name: 'ops', url: { env: 'SLACK_URL' } }));
 * await slack.send(group, AbortSignal.timeout(30_000));
 * ```
 */
export function createSlackChannel(
  config: SlackChannelConfig,
  options: ChannelOptions = {},
): ConfiguredAlertChannel {
  const secrets = new ChannelSecrets(config.name, options.env);
  const url = secrets.url(config.url, 'url');
  return createHTTPChannel(config, 'slack', secrets, url, (group) => [
    {
      body: JSON.stringify(slackMessage(group, config.format)),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
  ]);
}
