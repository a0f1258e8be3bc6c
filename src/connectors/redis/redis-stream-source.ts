import { defineStreamSource } from '../../contracts/stream-connector.js';
import { redisStreamSourceConfig } from './redis-configs.js';
import { RedisStreamReader } from './redis-stream-reader.js';
import { compareEntryIds } from './stream-entries.js';

/**
 * The `redis_stream` stream source: reads one or more Redis stream keys with a consumer group
 * (`context.consumer`, created with MKSTREAM where missing) as consumer `context.worker`. Each
 * key is a partition; a record's position is its entry id (`<ms>-<seq>`). Entries stay pending in
 * the group until `ack` (XACK), so a crash redelivers them: on open the reader first claims what
 * other consumers left pending (once idle `claimIdle`), then re-reads its own pending entries,
 * then reads new ones. A record is the JSON object in field `data` (or `field`), or with
 * `fields: 'all'` the entry's fields; an entry that does not decode becomes
 * `{ _sluice_invalid, _sluice_payload }` for the quarantine. Spread over several processes
 * (`scaleOut`), each key is a partition with its own consumer group.
 *
 * @example
 * ```ts
 * const reader = await redisStreamSource.open(
 *   redisStreamSourceConfig.parse({ url: 'redis://127.0.0.1:6379', keys: ['clicks'] }),
 *   { stepId: 'clicks', streamName: 'clicks', consumer: 'clicks', worker: 'w1', start: { kind: 'latest' }, logger, signal },
 * );
 * ```
 */
export const redisStreamSource = defineStreamSource({
  name: 'redis_stream',
  summary: 'Redis stream keys read with a consumer group; pending entries are redelivered.',
  delivery: 'at-least-once',
  config: redisStreamSourceConfig,
  comparePositions: compareEntryIds,
  partitionsOf: (config) =>
    (typeof config.keys === 'string' ? [config.keys] : config.keys).map((key) => ({
      name: key,
      config: { ...config, keys: [key] },
    })),
  open: (config, context) => RedisStreamReader.open(config, context),
});
