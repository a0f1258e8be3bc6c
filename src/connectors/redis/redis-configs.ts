import { z } from 'zod';
import { durationConfig } from '../../core/duration-config.js';
import { secretValue } from '../../contracts/secrets.js';
import { RowTemplate } from '../../contracts/row-template.js';

const duration = durationConfig;

const connectionFields = {
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .describe(
      'Server URL, `redis://[user:password@]host:port[/db]` (`rediss://` for TLS). Credentials in the URL work, but `username` and `password` keep them out of the pipeline file.',
    ),
  username: z
    .string()
    .min(1)
    .optional()
    .describe('ACL user name (Redis 6+); overrides the one in the URL.'),
  password: secretValue
    .optional()
    .describe(
      'Password of the ACL user (or of `requirepass`), inline or `{ env: "NAME" }`; overrides the one in the URL.',
    ),
};

/**
 * Config of the `redis_stream` stream source: the stream keys read with a consumer group.
 *
 * @example
 * ```ts
 * redisStreamSourceConfig.parse({ url: 'redis://127.0.0.1:6379', keys: ['orders:eu', 'orders:us'] });
 * ```
 */
export const redisStreamSourceConfig = z
  .strictObject({
    ...connectionFields,
    keys: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe(
        'The stream key, or several. Each key is one partition: its entries come in id order and its position is the last entry id.',
      ),
    field: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The entry field that holds the record as a JSON object (default `data`). An entry without it, or whose value is not a JSON object, becomes an invalid record for the quarantine.',
      ),
    fields: z
      .enum(['all'])
      .optional()
      .describe(
        "`'all'` takes every field of an entry as the record (values stay strings) instead of parsing one field as JSON.",
      ),
    batchSize: z
      .int()
      .positive()
      .max(100_000)
      .default(1_000)
      .describe('Most entries asked for per read command (XREADGROUP COUNT).'),
    claimIdle: duration
      .default('1m')
      .describe(
        "Entries another consumer of the group read and has not acknowledged for this long are claimed by this reader (the other consumer is taken for dead). Keep it well above the stream's checkpoint interval.",
      ),
  })
  .refine((config) => config.field === undefined || config.fields === undefined, {
    message: "give field (one JSON field) or fields: 'all' (every field), not both",
    path: ['fields'],
  })
  .describe('Reads Redis stream keys with a consumer group (XREADGROUP, XACK, XCLAIM).');

export type RedisStreamSourceConfig = z.input<typeof redisStreamSourceConfig>;

/**
 * Config of the `redis_stream` stream sink: the key rows are appended to.
 *
 * @example
 * ```ts
 * redisStreamSinkConfig.parse({ url: 'redis://127.0.0.1:6379', key: 'alerts:{region}', maxLen: 100000 });
 * ```
 */
export const redisStreamSinkConfig = z
  .strictObject({
    ...connectionFields,
    key: z
      .string()
      .min(1)
      .describe(
        'The stream key each row is appended to (XADD); `{column}` is replaced by the value of that column, e.g. `alerts:{region}`. A row without a value for it fails the write.',
      ),
    field: z
      .string()
      .min(1)
      .default('data')
      .describe('The entry field the row is written to, as JSON.'),
    maxLen: z
      .int()
      .positive()
      .optional()
      .describe(
        'Trim each key to about this many entries while appending (`XADD ... MAXLEN ~ n`); unbounded when not set.',
      ),
  })
  .superRefine((config, context) => {
    try {
      RowTemplate.parse(config.key);
    } catch (error) {
      context.addIssue({ code: 'custom', path: ['key'], message: (error as Error).message });
    }
  })
  .describe('Appends rows as JSON entries to Redis streams (XADD), flushed at each checkpoint.');

export type RedisStreamSinkConfig = z.input<typeof redisStreamSinkConfig>;
