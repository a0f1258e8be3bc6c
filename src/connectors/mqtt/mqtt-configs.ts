import { z } from 'zod';
import { durationConfig } from '../../core/duration-config.js';
import { secretValue } from '../../contracts/secrets.js';
import { RowTemplate } from '../../contracts/row-template.js';

/** What a topic to publish to cannot hold: the wildcards `+` and `#`, and NUL. */
export const TOPIC_TEMPLATE = {
  forbidden: (text: string): boolean =>
    text.includes('+') || text.includes('#') || text.includes(String.fromCharCode(0)),
  what: 'a topic to publish to (wildcards)',
};

const duration = durationConfig;

const connectionFields = {
  url: z
    .string()
    .regex(/^(mqtts?|wss?):\/\//, 'an mqtt://, mqtts://, ws:// or wss:// URL')
    .describe(
      'Broker URL: `mqtt://host:1883`, `mqtts://host:8883` for TLS, `ws://` or `wss://` for MQTT over WebSocket.',
    ),
  username: z.string().min(1).optional().describe('User name sent in CONNECT.'),
  password: secretValue
    .optional()
    .describe('Password sent in CONNECT, inline or `{ env: "NAME" }`.'),
  protocolVersion: z
    .literal([5, 4])
    .default(5)
    .describe('MQTT 5 (`5`, the default) or MQTT 3.1.1 (`4`) for brokers without MQTT 5.'),
  connectTimeout: duration
    .default('10s')
    .describe('How long to wait for the broker to accept the connection before failing.'),
};

/**
 * Config of the `mqtt` stream source: the topic filters read with QoS 1 in a persistent session.
 *
 * @example
 * ```ts
 * mqttSourceConfig.parse({ url: 'mqtt://127.0.0.1:1883', topics: ['sensors/+/temperature'] });
 * ```
 */
export const mqttSourceConfig = z
  .strictObject({
    ...connectionFields,
    topics: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe(
        'Topic filter(s) to subscribe to; `+` matches one level, `#` the rest (`sensors/+/temperature`, `orders/#`). Each topic a message arrives on is a partition.',
      ),
    qos: z
      .literal([1, 0])
      .default(1)
      .describe(
        '`1` (the default): the broker redelivers a message until it is acknowledged, which happens after the checkpoint covering it; `0`: at most once, nothing is redelivered.',
      ),
    clientId: z
      .string()
      .min(1)
      .max(65_535)
      .optional()
      .describe(
        "Client id of the session (default: the stream's consumer name). The broker keeps the session, and queues QoS 1 messages for it, under this id: keep it stable, and use it from one reader at a time.",
      ),
    sessionExpiry: z
      .union([duration, z.enum(['never'])])
      .default('7d')
      .describe(
        'MQTT 5: how long the broker keeps the session (its subscriptions and queued messages) while the reader is disconnected; `never` keeps it forever. MQTT 3.1.1 sessions never expire unless the broker says otherwise.',
      ),
    maxInflight: z
      .int()
      .min(1)
      .max(65_535)
      .default(10_000)
      .describe(
        'MQTT 5 Receive Maximum: most QoS 1 messages the broker sends before earlier ones are acknowledged. Messages are acknowledged at checkpoints, so this bounds the records read per checkpoint. Also the most messages the reader buffers before it stops reading from the broker.',
      ),
  })
  .describe(
    'Messages of MQTT topic filters, QoS 1 in a persistent session, acknowledged at checkpoints.',
  );

export type MQTTSourceConfig = z.input<typeof mqttSourceConfig>;

/**
 * Config of the `mqtt` stream sink: the topic rows are published to.
 *
 * @example
 * ```ts
 * mqttSinkConfig.parse({ url: 'mqtt://127.0.0.1:1883', topic: 'alerts/{region}' });
 * ```
 */
export const mqttSinkConfig = z
  .strictObject({
    ...connectionFields,
    topic: z
      .string()
      .min(1)
      .describe(
        'The topic each row is published to; `{column}` is replaced by the value of that column, e.g. `alerts/{region}`. A row without a value for it, or whose value holds `+`, `#` or NUL, fails the write.',
      ),
    qos: z
      .literal([0, 1, 2])
      .default(1)
      .describe(
        'QoS of the published messages: `1` (the default) waits for the PUBACK of each at commit, `2` for the full QoS 2 exchange, `0` only for the write to the socket.',
      ),
    retain: z
      .boolean()
      .default(false)
      .describe(
        'Publish with the retain flag: the broker keeps the last message of each topic for new subscribers.',
      ),
    clientId: z
      .string()
      .min(1)
      .max(65_535)
      .optional()
      .describe('Client id (default: a random one; the sink uses a clean session).'),
    ackTimeout: duration
      .default('30s')
      .describe(
        'How long a commit waits for the broker to acknowledge the messages before failing.',
      ),
  })
  .superRefine((config, context) => {
    try {
      RowTemplate.parse(config.topic, TOPIC_TEMPLATE);
    } catch (error) {
      context.addIssue({ code: 'custom', path: ['topic'], message: (error as Error).message });
    }
  })
  .describe(
    'Publishes rows as JSON messages to MQTT topics; a commit waits for the acknowledgements.',
  );

export type MQTTSinkConfig = z.input<typeof mqttSinkConfig>;
