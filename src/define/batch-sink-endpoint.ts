import type { Schema } from '../core/schema.js';
import { ref } from './ref.js';
import type { SinkStep } from './steps.js';

/** The name the batch-sink adapter is registered under among the stream sinks. */
export const BATCH_STREAM_SINK = 'batch';

/**
 * A batch sink's config as a stream writes it: what `sink.*` takes, without the options that
 * belong to a batch pipeline's step (`input`, `description`, `expect`, `incremental`, `retries`).
 */
export type StreamedSinkConfig<Config> = Config extends unknown
  ? Omit<Config, 'input' | 'description' | 'expect' | 'incremental' | 'retries'>
  : never;

/** Options of `streamSink.batch` beyond the batch sink's own config. */
export interface BatchStreamSinkOptions {
  /**
   * The columns and types of the rows the stream writes. Every checkpoint's rows are loaded with
   * exactly these types (a `notNull` column refuses NULL), so the target gets the same columns
   * from every checkpoint; columns not declared are left out. Without it the types are inferred
   * from each checkpoint's rows, which can differ between checkpoints (a column that is NULL in
   * every row of one, whole numbers in one and fractions in the next).
   */
  readonly schema?: Schema;
}

/** The stream endpoint config of `streamSink.batch`: which batch sink, with what config. */
interface BatchEndpoint {
  readonly connector: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * A batch sink as a stream's sink: `sink.parquet`, `sink.mysql`, `sink.clickhouse` ... with its
 * config minus `input`, any registered batch sink by name, or a sink step declared for a batch
 * pipeline (its `input` is not used). Each checkpoint's rows are written by the batch sink in
 * one write and published before the checkpoint is saved.
 *
 * @example
 * ```ts
 * streamSink.batch(sink.mysql, { url, table: 'page_views', mode: 'merge', keys: ['page', 'window_start'] });
 * streamSink.batch(sink.parquet, { path: 'out/page_views' }, { schema: pageViews });
 * streamSink.batch('my_sink', { target: 'x' });
 * ```
 */
export function batchStreamSinkEndpoint<Config>(
  sink: (config: Config) => SinkStep,
  config: StreamedSinkConfig<Config>,
  options?: BatchStreamSinkOptions,
): BatchEndpoint;
export function batchStreamSinkEndpoint(
  sink: string,
  config: Readonly<Record<string, unknown>>,
  options?: BatchStreamSinkOptions,
): BatchEndpoint;
export function batchStreamSinkEndpoint(
  step: SinkStep,
  options?: BatchStreamSinkOptions,
): BatchEndpoint;
export function batchStreamSinkEndpoint(
  sink: ((config: never) => SinkStep) | string | SinkStep,
  configOrOptions?: unknown,
  maybeOptions?: BatchStreamSinkOptions,
): BatchEndpoint {
  const declared = isSinkStep(sink);
  // A `sink.*` factory says which connector it stands for when called; the input is a
  // placeholder the stream never reads.
  const step = declared
    ? sink
    : typeof sink === 'function'
      ? (sink as (config: unknown) => SinkStep)({
          ...(configOrOptions as object),
          input: ref('stream'),
        })
      : undefined;
  const options = ((declared ? configOrOptions : maybeOptions) ?? {}) as BatchStreamSinkOptions;
  return {
    connector: BATCH_STREAM_SINK,
    config: {
      sink: step?.connector ?? sink,
      config: step?.config ?? configOrOptions,
      ...(options.schema === undefined ? {} : { schema: options.schema }),
    },
  };
}

function isSinkStep(value: unknown): value is SinkStep {
  return typeof value === 'object' && value !== null && (value as SinkStep).kind === 'sink';
}
