import type { MqttClient } from 'mqtt';
import type { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { randomHex } from '../../core/ids.js';
import { SinkError } from '../../core/errors.js';
import { toJSONValue } from '../../contracts/json-values.js';
import type {
  StreamRow,
  StreamSinkContext,
  StreamWriter,
} from '../../contracts/stream-connector.js';
import { defineStreamSink } from '../../contracts/stream-connector.js';
import { mqttSinkConfig } from './mqtt-configs.js';
import { closeMQTT, connectMQTT, describeBroker, mqttError } from './mqtt-connection.js';
import { RowTemplate } from '../../contracts/row-template.js';
import { TOPIC_TEMPLATE } from './mqtt-configs.js';

type SinkConfig = z.output<typeof mqttSinkConfig>;

/** Publishes in flight past which `write` waits for their acknowledgements. */
const MAX_IN_FLIGHT = 10_000;

/**
 * An open `mqtt` sink: publishes each row as it is written and makes `commit` wait for the
 * broker's acknowledgement of every one (PUBACK for QoS 1), up to `ackTimeout`.
 *
 * @example
 * ```ts
 * const writer = await MQTTStreamWriter.open(config, context);
 * await writer.write([{ region: 'eu', level: 3 }]);
 * await writer.commit({ checkpointId: 1 });
 * ```
 */
export class MQTTStreamWriter implements StreamWriter {
  readonly #client: MqttClient;
  readonly #topic: RowTemplate;
  readonly #options: { readonly qos: 0 | 1 | 2; readonly retain: boolean };
  readonly #ackTimeoutMs: number;
  readonly #stepId: string;
  readonly #broker: string;
  #inFlight: Promise<void>[] = [];
  #failure: { readonly topic: string; readonly error: unknown } | undefined;

  private constructor(client: MqttClient, config: SinkConfig, stepId: string) {
    this.#client = client;
    this.#topic = RowTemplate.parse(config.topic, TOPIC_TEMPLATE);
    this.#options = { qos: config.qos, retain: config.retain };
    this.#ackTimeoutMs = parseDuration(config.ackTimeout);
    this.#stepId = stepId;
    this.#broker = describeBroker(config.url);
  }

  /** Connects with a clean session; a bad URL or credentials fail here with a {@link SinkError}. */
  static async open(config: SinkConfig, context: StreamSinkContext): Promise<MQTTStreamWriter> {
    const { client } = await connectMQTT(
      {
        ...config,
        connectTimeoutMs: parseDuration(config.connectTimeout),
        clientId: config.clientId ?? `sluice-${context.stepId}-${randomHex(4)}`,
        clean: true,
      },
      { role: 'sink', stepId: context.stepId },
    );
    return new MQTTStreamWriter(client, config, context.stepId);
  }

  async write(rows: readonly StreamRow[]): Promise<void> {
    const topics = rows.map((row, index) => {
      const topic = this.#topic.render(row);
      if (typeof topic === 'string') return topic;
      const why =
        topic.kind === 'missing'
          ? `has no value for "${topic.column}"`
          : `has "${topic.value}" in "${topic.column}", which a topic cannot hold (+, # or NUL)`;
      throw new SinkError(
        this.#stepId,
        `row ${index} of the batch ${why}, which the topic template needs; nothing of the batch was published`,
        {
          hint: 'give every row a usable value for the columns of the topic, or filter such rows out before the sink',
        },
      );
    });
    for (let i = 0; i < rows.length; i += 1) {
      const topic = topics[i]!;
      const payload = JSON.stringify(toJSONValue(rows[i]));
      this.#inFlight.push(
        new Promise<void>((resolve) => {
          this.#client.publish(topic, payload, this.#options, (error) => {
            if (error) this.#failure ??= { topic, error };
            resolve();
          });
        }),
      );
    }
    if (this.#inFlight.length >= MAX_IN_FLIGHT) await this.#drain();
  }

  async commit(): Promise<void> {
    await this.#drain();
  }

  async close(): Promise<void> {
    await closeMQTT(this.#client);
  }

  /** Waits for every publish to be acknowledged; the first failure fails the call. */
  async #drain(): Promise<void> {
    const inFlight = this.#inFlight;
    this.#inFlight = [];
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#ackTimeoutMs);
    });
    const outcome = await Promise.race([Promise.all(inFlight), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      throw new SinkError(
        this.#stepId,
        `${this.#broker} did not acknowledge the published messages within ${this.#ackTimeoutMs} ms`,
        {
          cause: Object.assign(new Error('acknowledgement timeout'), { retryable: true }),
          hint: 'check that the broker is running and reachable; the stream stops here: started again, it resumes from its last checkpoint and publishes the rows of this one again (at least once)',
        },
      );
    }
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure !== undefined) {
      throw mqttError(
        { role: 'sink', stepId: this.#stepId },
        `cannot publish to ${failure.topic}`,
        failure.error,
        { hint: 'check what the broker allows this user to publish to' },
      );
    }
  }
}

/**
 * The `mqtt` stream sink: publishes each row as a JSON message to `topic` (a `{column}`
 * template) with QoS 1 (or `qos`) and the `retain` flag when asked; `commit` returns once the
 * broker has acknowledged every message. At-least-once: a checkpoint replayed after a failure
 * publishes its rows again.
 *
 * @example
 * ```ts
 * const writer = await mqttSink.open(
 *   mqttSinkConfig.parse({ url: 'mqtt://127.0.0.1:1883', topic: 'alerts/{region}' }),
 *   { stepId: 'alerts', streamName: 'sensors', logger, signal },
 * );
 * ```
 */
export const mqttSink = defineStreamSink({
  name: 'mqtt',
  summary: 'Publishes rows as JSON messages to MQTT topics; a commit waits for the PUBACKs.',
  delivery: 'at-least-once',
  config: mqttSinkConfig,
  open: (config, context) => MQTTStreamWriter.open(config, context),
});
