import type { z } from 'zod';
import { SinkError } from '../../core/errors.js';
import { toJSONValue } from '../../contracts/json-values.js';
import type {
  StreamRow,
  StreamSinkContext,
  StreamWriter,
} from '../../contracts/stream-connector.js';
import { defineStreamSink } from '../../contracts/stream-connector.js';
import { redisStreamSinkConfig } from './redis-configs.js';
import { RedisLink } from './redis-connection.js';
import { RowTemplate } from '../../contracts/row-template.js';

type SinkConfig = z.output<typeof redisStreamSinkConfig>;

/** Appends in flight past which `write` waits for the server before sending more. */
const MAX_IN_FLIGHT = 10_000;

/**
 * An open `redis_stream` sink: XADDs each row as it is written (the driver pipelines them) and
 * makes `commit` wait until the server has answered every one.
 *
 * @example
 * ```ts
 * const writer = await RedisStreamWriter.open(config, context);
 * await writer.write([{ region: 'eu', total: 12 }]);
 * await writer.commit({ checkpointId: 1 });
 * ```
 */
export class RedisStreamWriter implements StreamWriter {
  readonly #link: RedisLink;
  readonly #key: RowTemplate;
  readonly #field: string;
  readonly #trim: readonly string[];
  readonly #stepId: string;
  #inFlight: Promise<void>[] = [];
  #failure: { readonly key: string; readonly error: unknown } | undefined;

  private constructor(link: RedisLink, config: SinkConfig, stepId: string) {
    this.#link = link;
    this.#key = RowTemplate.parse(config.key);
    this.#field = config.field;
    this.#trim = config.maxLen === undefined ? [] : ['MAXLEN', '~', String(config.maxLen)];
    this.#stepId = stepId;
  }

  /** Connects; a bad URL or credentials fail here with a {@link SinkError}. */
  static async open(config: SinkConfig, context: StreamSinkContext): Promise<RedisStreamWriter> {
    const link = await RedisLink.open(config, { role: 'sink', stepId: context.stepId });
    return new RedisStreamWriter(link, config, context.stepId);
  }

  async write(rows: readonly StreamRow[]): Promise<void> {
    const keys = rows.map((row, index) => {
      const key = this.#key.render(row);
      if (typeof key !== 'string') {
        const missing = this.#key.columns.filter((c) => row[c] === undefined || row[c] === null);
        throw new SinkError(
          this.#stepId,
          `row ${index} of the batch has no value for ${missing.map((c) => `"${c}"`).join(', ')}, which the key template needs; nothing of the batch was written`,
          {
            hint: 'give every row a value for the columns of the key, or filter such rows out before the sink',
          },
        );
      }
      return key;
    });
    for (let i = 0; i < rows.length; i += 1) {
      const key = keys[i]!;
      const payload = JSON.stringify(toJSONValue(rows[i]));
      const sent = this.#link.send(['XADD', key, ...this.#trim, '*', this.#field, payload]);
      this.#inFlight.push(
        sent.then(
          () => undefined,
          (error: unknown) => {
            this.#failure ??= { key, error };
          },
        ),
      );
    }
    if (this.#inFlight.length >= MAX_IN_FLIGHT) await this.#drain();
  }

  async commit(): Promise<void> {
    await this.#drain();
  }

  async close(): Promise<void> {
    this.#link.destroy();
  }

  /** Waits for every append sent; the first that failed fails the call (and is then forgotten). */
  async #drain(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = [];
    await Promise.all(inFlight);
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) {
      throw this.#link.error(`cannot append to ${failure.key}`, failure.error);
    }
  }
}

/**
 * The `redis_stream` stream sink: appends each row as JSON in field `data` (or `field`) of a new
 * entry (XADD, id `*`) of `key` (a `{column}` template), optionally trimming with `MAXLEN ~`;
 * `commit` returns once Redis has answered every append. At-least-once: a checkpoint replayed
 * after a failure appends its rows again.
 *
 * @example
 * ```ts
 * const writer = await redisStreamSink.open(
 *   redisStreamSinkConfig.parse({ url: 'redis://127.0.0.1:6379', key: 'alerts:{region}' }),
 *   { stepId: 'alerts', streamName: 'clicks', logger, signal },
 * );
 * ```
 */
export const redisStreamSink = defineStreamSink({
  name: 'redis_stream',
  summary: 'Appends rows as JSON entries to Redis streams (XADD); flushed at each checkpoint.',
  delivery: 'at-least-once',
  config: redisStreamSinkConfig,
  open: (config, context) => RedisStreamWriter.open(config, context),
});
