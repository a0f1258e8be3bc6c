import { z } from 'zod';
import type { Diagnostic } from '../../../core/errors.js';
import { ConfigError } from '../../../core/errors.js';
import type { ChannelOptions, ConfiguredAlertChannel } from './channel-config.js';
import { alertmanagerChannelConfig, createAlertmanagerChannel } from './alertmanager-channel.js';
import { createEmailChannel, emailChannelConfig } from './email-channel.js';
import { createPagerDutyChannel, pagerDutyChannelConfig } from './pagerduty-channel.js';
import { createSlackChannel, slackChannelConfig } from './slack-channel.js';
import { createWebhookChannel, webhookChannelConfig } from './webhook-channel.js';

/**
 * Config of one alert channel, told apart by `type`: `slack`, `webhook`, `email`, `pagerduty`
 * or `alertmanager`.
 *
 * @example
 * ```ts
 * alertChannelConfig.parse({ type: 'slack', name: 'ops-slack', url: { env: 'SLACK_WEBHOOK_URL' } });
 * ```
 */
export const alertChannelConfig = z
  .discriminatedUnion('type', [
    slackChannelConfig,
    webhookChannelConfig,
    emailChannelConfig,
    pagerDutyChannelConfig,
    alertmanagerChannelConfig,
  ])
  .describe(
    'Where notifications go: a Slack webhook, an HTTP webhook, email, PagerDuty or Alertmanager.',
  );

/** Config of one alert channel as written. */
export type AlertChannelInput = z.input<typeof alertChannelConfig>;
/** Config of one alert channel after parsing. */
export type AlertChannelConfig = z.output<typeof alertChannelConfig>;

/**
 * The list of a project's alert channels; names must be unique.
 *
 * @example
 * ```ts
 * alertChannelsConfig.parse([{ type: 'slack', name: 'ops', url: { env: 'SLACK_URL' } }, { type: 'pagerduty', name: 'on-call', routingKey: { env: 'PD_KEY' } }]);
 * ```
 */
export const alertChannelsConfig = z
  .array(alertChannelConfig)
  .superRefine((channels, context) => {
    const seen = new Set<string>();
    for (const [index, channel] of channels.entries()) {
      if (seen.has(channel.name))
        context.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `another channel is already named "${channel.name}"`,
        });
      seen.add(channel.name);
    }
  })
  .describe('The alert channels, each with a unique name.');

type Factories = {
  readonly [T in AlertChannelConfig['type']]: (
    config: Extract<AlertChannelConfig, { type: T }>,
    options: ChannelOptions,
  ) => ConfiguredAlertChannel;
};

/** One factory per channel type; a new type does not compile until it has one. */
const FACTORIES: Factories = {
  slack: createSlackChannel,
  webhook: createWebhookChannel,
  email: createEmailChannel,
  pagerduty: createPagerDutyChannel,
  alertmanager: createAlertmanagerChannel,
};

/**
 * The channel a parsed config describes, its secrets read through the secret resolver. A
 * missing environment variable or an unusable URL is a {@link ConfigError} naming the channel
 * and field (never the value).
 *
 * @example
 * ```ts
 * const channel = createAlertChannel(alertChannelConfig.parse(raw), { env: process.env });
 * await sendWithRetry(channel, group);
 * ```
 */
export function createAlertChannel(
  config: AlertChannelConfig,
  options: ChannelOptions = {},
): ConfiguredAlertChannel {
  const factory = FACTORIES[config.type] as (
    config: AlertChannelConfig,
    options: ChannelOptions,
  ) => ConfiguredAlertChannel;
  return factory(config, options);
}

/**
 * Every channel of a list, keyed by name; the problems of all of them are collected into one
 * {@link ConfigError}.
 *
 * @example
 * ```ts
 * const channels = createAlertChannels(alertChannelsConfig.parse(project.alerts.channels));
 * channels.get('ops-slack');
 * ```
 */
export function createAlertChannels(
  configs: readonly AlertChannelConfig[],
  options: ChannelOptions = {},
): Map<string, ConfiguredAlertChannel> {
  const channels = new Map<string, ConfiguredAlertChannel>();
  const problems: Diagnostic[] = [];
  for (const config of configs) {
    try {
      channels.set(config.name, createAlertChannel(config, options));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.diagnostics);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return channels;
}
