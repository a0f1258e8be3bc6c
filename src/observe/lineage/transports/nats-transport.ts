import { SluiceError } from '../../../core/errors.js';
import type { LineageTransport } from '../lineage-transport.js';
import type { RunEvent } from '../openlineage-event.js';

/** Options of {@link natsTransport}. */
export interface NATSTransportOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  /** The subject each event is published on (default `openlineage.events`). */
  readonly subject?: string;
  /**
   * Publish through JetStream and wait for the stream's acknowledgement (default true): a
   * stream must capture the subject. False publishes with core NATS (no acknowledgement).
   */
  readonly jetstream?: boolean;
  readonly token?: string;
  readonly user?: string;
  readonly password?: string;
  /** How long a connection attempt or an acknowledgement may take (default 5 s). */
  readonly timeoutMs?: number;
}

interface Connection {
  publish(subject: string, data: Uint8Array): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  isClosed(): boolean;
}

/**
 * Publishes each event as JSON on a NATS subject, through JetStream by default (so an event is
 * sent only once the stream stored it). Loads `@nats-io/transport-node` and `@nats-io/jetstream`
 * when the first event is sent.
 *
 * @example
 * ```ts
 * const nats = natsTransport({ servers: 'nats://127.0.0.1:4222', subject: 'lineage.events' });
 * ```
 */
export function natsTransport(options: NATSTransportOptions): LineageTransport {
  const subject = options.subject ?? 'openlineage.events';
  const timeout = options.timeoutMs ?? 5_000;
  let connecting:
    Promise<{ nc: Connection; publish: (data: Uint8Array) => Promise<void> }> | undefined;
  const connection = (): NonNullable<typeof connecting> => {
    connecting ??= (async () => {
      const [transport, jetstreamModule] = await Promise.all([
        importDriver('@nats-io/transport-node', () => import('@nats-io/transport-node')),
        importDriver('@nats-io/jetstream', () => import('@nats-io/jetstream')),
      ]);
      const nc = await transport.connect({
        servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
        timeout,
        ...(options.token === undefined ? {} : { token: options.token }),
        ...(options.user === undefined ? {} : { user: options.user }),
        ...(options.password === undefined ? {} : { pass: options.password }),
      });
      if (options.jetstream === false)
        return {
          nc,
          publish: async (data: Uint8Array) => {
            nc.publish(subject, data);
            await nc.flush();
          },
        };
      const js = jetstreamModule.jetstream(nc, { timeout });
      return { nc, publish: async (data: Uint8Array) => void (await js.publish(subject, data)) };
    })();
    connecting.catch(() => (connecting = undefined));
    return connecting;
  };
  return {
    name: `nats ${subject}`,
    async send(event: RunEvent): Promise<void> {
      let open = await connection();
      if (open.nc.isClosed()) {
        connecting = undefined;
        open = await connection();
      }
      await open.publish(new TextEncoder().encode(JSON.stringify(event)));
    },
    async close(): Promise<void> {
      const open = connecting;
      connecting = undefined;
      const nc = await open?.catch(() => undefined);
      await nc?.nc.close().catch(() => undefined);
    },
  };
}

async function importDriver<T>(name: string, loader: () => Promise<T>): Promise<T> {
  try {
    return await loader();
  } catch (cause) {
    throw new SluiceError('CONFIG_INVALID', `the "${name}" package is not installed`, {
      cause,
      hint: 'npm install @nats-io/transport-node @nats-io/jetstream',
    });
  }
}
