import type { StreamSinkConnector, StreamSourceConnector } from '../contracts/stream-connector.js';

/** Any stream connector. */
// Each connector's config type is its own; a registry holds them side by side.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StreamConnector = StreamSourceConnector<any> | StreamSinkConnector<any>;

/**
 * The stream connectors a stream can name, by role and name. A value, never a global: `with`
 * returns a new registry.
 *
 * @example
 * ```ts
 * const registry = defaultStreamRegistry.with(myQueueSource);
 * ```
 */
export class StreamRegistry {
  readonly #sources = new Map<string, StreamSourceConnector>();
  readonly #sinks = new Map<string, StreamSinkConnector>();

  constructor(connectors: readonly StreamConnector[]) {
    for (const connector of connectors) {
      if (connector.role === 'stream-source') this.#sources.set(connector.name, connector);
      else this.#sinks.set(connector.name, connector);
    }
  }

  with(...connectors: StreamConnector[]): StreamRegistry {
    return new StreamRegistry([...this.list(), ...connectors]);
  }

  source(name: string): StreamSourceConnector | undefined {
    return this.#sources.get(name);
  }

  sink(name: string): StreamSinkConnector | undefined {
    return this.#sinks.get(name);
  }

  list(): StreamConnector[] {
    return [...this.#sources.values(), ...this.#sinks.values()];
  }
}
