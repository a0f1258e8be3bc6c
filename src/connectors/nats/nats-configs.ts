import { z } from 'zod';
import { positiveDurationConfig } from '../../core/duration-config.js';
import { secretValue } from '../../contracts/secrets.js';
import type { SecretValue } from '../../contracts/secrets.js';
import { parseSubjectTemplate } from './nats-subject.js';

const natsURL = z
  .string()
  .regex(/^(nats|tls):\/\/\S+$/, 'a nats:// or tls:// URL such as nats://127.0.0.1:4222');

const servers = z
  .union([natsURL, z.array(natsURL).min(1)])
  .describe(
    'The NATS server URL, or several URLs of one cluster: `nats://host:4222` (`tls://` for TLS). A user and password may be given in the URL (`nats://user:pass@host:4222`).',
  );

const duration = positiveDurationConfig;

/** JetStream names may not hold whitespace, `.`, `*`, `>` or path separators. */
const streamName = z
  .string()
  .regex(/^[^\s.*>/\\]+$/, 'a JetStream stream name (no spaces, ".", "*", ">", "/" or "\\")');

const credentialFields = {
  user: z
    .string()
    .min(1)
    .optional()
    .describe('User name to connect with (together with `password`).'),
  password: secretValue
    .optional()
    .describe('Password of `user`: inline, or `{ env: "NAME" }` to read it from the environment.'),
  token: secretValue
    .optional()
    .describe(
      'Authentication token (instead of `user` and `password`): inline, or `{ env: "NAME" }`.',
    ),
  connectTimeout: duration
    .default('5s')
    .describe('How long to wait for the server when connecting before failing with a clear error.'),
};

interface Credentials {
  readonly user?: string | undefined;
  readonly password?: SecretValue | undefined;
  readonly token?: SecretValue | undefined;
}

const passwordNeedsUser = {
  check: (config: Credentials) => config.password === undefined || config.user !== undefined,
  issue: { message: 'password goes with user; add user', path: ['password'] },
};
const tokenExcludesUser = {
  check: (config: Credentials) => config.token === undefined || config.user === undefined,
  issue: { message: 'give either token or user and password, not both', path: ['token'] },
};

/**
 * Config of the `nats` stream source: a JetStream stream read through a durable pull consumer.
 *
 * @example
 * ```ts
 * natsSourceConfig.parse({ servers: 'nats://127.0.0.1:4222', stream: 'ORDERS', subjects: 'orders.eu.>' });
 * ```
 */
export const natsSourceConfig = z
  .strictObject({
    servers,
    stream: streamName.describe('The JetStream stream to read (it must exist).'),
    subjects: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe(
        'Read only messages on these subjects (wildcards `*` and `>` allowed); default: every subject of the stream. Several subjects need NATS server 2.10 or later.',
      ),
    ...credentialFields,
    batchSize: z
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Messages asked for per pull request to the server.'),
    ackWait: duration
      .default('30s')
      .describe(
        'How long the server waits for an acknowledgement before it redelivers a message. The runtime acknowledges after each checkpoint, so keep it above the checkpoint interval.',
      ),
    maxDeliver: z
      .int()
      .min(1)
      .optional()
      .describe(
        'How often the server delivers a message before it gives up on it; default: no limit.',
      ),
    maxAckPending: z
      .int()
      .min(1)
      .optional()
      .describe(
        'How many messages may be read and not yet acknowledged; reading pauses at the limit until the next checkpoint acknowledges. Default: no limit (the runtime bounds what is in flight).',
      ),
    subjectColumn: z
      .string()
      .min(1)
      .optional()
      .describe("Adds each message's subject to its record under this column name."),
  })
  .refine(passwordNeedsUser.check, passwordNeedsUser.issue)
  .refine(tokenExcludesUser.check, tokenExcludesUser.issue)
  .describe('Reads a NATS JetStream stream through a durable pull consumer.');

/**
 * The parsed config of the `nats` stream source (defaults filled in).
 *
 * @example
 * ```ts
 * const config: NATSSourceConfig = natsSourceConfig.parse({ servers: 'nats://127.0.0.1:4222', stream: 'ORDERS' });
 * ```
 */
export type NATSSourceConfig = z.output<typeof natsSourceConfig>;
/** Config of the `nats` stream source as written (defaults optional). */
export type NATSSourceInput = z.input<typeof natsSourceConfig>;

/**
 * Config of the `nats` stream sink: rows published as JSON to JetStream.
 *
 * @example
 * ```ts
 * natsSinkConfig.parse({ servers: 'nats://127.0.0.1:4222', subject: 'totals.{region}' });
 * ```
 */
export const natsSinkConfig = z
  .strictObject({
    servers,
    subject: z
      .string()
      .min(1)
      .refine((text) => parseSubjectTemplate(text).problem === undefined, {
        error: (issue) =>
          parseSubjectTemplate(String(issue.input)).problem ?? 'not a subject template',
      })
      .describe(
        "The subject to publish each row to: fixed (`totals.eu`), or with `{column}` parts filled from the row's columns (`totals.{region}`).",
      ),
    stream: streamName
      .optional()
      .describe(
        'The stream expected to store the published subjects: it must exist when the sink opens, and a publish stored by another stream fails.',
      ),
    ...credentialFields,
    maxInFlight: z
      .int()
      .min(1)
      .max(100_000)
      .default(1000)
      .describe('Publishes awaiting their acknowledgement from JetStream at once during a commit.'),
    publishTimeout: duration
      .default('10s')
      .describe("How long to wait for JetStream's acknowledgement of one publish."),
  })
  .refine(passwordNeedsUser.check, passwordNeedsUser.issue)
  .refine(tokenExcludesUser.check, tokenExcludesUser.issue)
  .describe('Publishes rows as JSON messages to NATS JetStream.');

/**
 * The parsed config of the `nats` stream sink (defaults filled in).
 *
 * @example
 * ```ts
 * const config: NATSSinkConfig = natsSinkConfig.parse({ servers: 'nats://127.0.0.1:4222', subject: 'totals' });
 * ```
 */
export type NATSSinkConfig = z.output<typeof natsSinkConfig>;
/** Config of the `nats` stream sink as written (defaults optional). */
export type NATSSinkInput = z.input<typeof natsSinkConfig>;

/** What connecting needs, common to the source and the sink. */
export type NATSConnectionConfig = Pick<
  NATSSourceConfig,
  'servers' | 'user' | 'password' | 'token' | 'connectTimeout'
>;
