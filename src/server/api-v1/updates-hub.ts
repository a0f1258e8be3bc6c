import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import type { RunStore } from '../../orchestrator/run-store.js';
import type { RunEvent } from '../../orchestrator/run-types.js';

/** Options of {@link UpdatesHub}. */
export interface UpdatesHubOptions {
  readonly store: RunStore;
  /** How often the store is read for new events while anyone listens (default 500 ms). */
  readonly pollMs?: number;
  /** How often a `: keepalive` comment goes to every stream (default 15 s). */
  readonly keepaliveMs?: number;
  /** Events read per poll at most; the rest follow on the next poll (default 1000). */
  readonly batch?: number;
  readonly logger?: Logger;
}

interface Subscriber {
  lastId: number;
  readonly controller: ReadableStreamDefaultController<Uint8Array>;
  readonly close: () => void;
}

const encoder = new TextEncoder();
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * The live updates of `GET /api/v1/updates`: one poll of the store's events per server (not one
 * per client) feeds every subscriber a server-sent event per store event after the last one it
 * saw. The poll and keepalive timers run only while someone listens; {@link UpdatesHub.close}
 * ends every stream and stops them, so the server stops promptly.
 *
 * @example
 * ```ts
 * const hub = new UpdatesHub({ store });
 * app.get('/api/v1/updates', async (c) => hub.subscribe(c.req.header('last-event-id'), c.req.raw.signal));
 * await hub.close();
 * ```
 */
export class UpdatesHub {
  readonly #store: RunStore;
  readonly #pollMs: number;
  readonly #keepaliveMs: number;
  readonly #batch: number;
  readonly #logger: Logger;
  readonly #subscribers = new Set<Subscriber>();
  #poll: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #polling = false;
  #closed = false;

  constructor(options: UpdatesHubOptions) {
    this.#store = options.store;
    this.#pollMs = options.pollMs ?? 500;
    this.#keepaliveMs = options.keepaliveMs ?? 15_000;
    this.#batch = options.batch ?? 1_000;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Streams open now. */
  get size(): number {
    return this.#subscribers.size;
  }

  /** Whether the poll and keepalive timers run (only while someone listens). */
  get active(): boolean {
    return this.#poll !== undefined;
  }

  /**
   * A `text/event-stream` response that sends each event after `lastEventId` (the
   * `Last-Event-ID` header), or after the newest one when it is missing or not a number.
   */
  async subscribe(lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const newest = await this.#store.lastEventId();
    // An id past the newest (from another store, or made up) resumes from the newest.
    const resumeFrom =
      lastEventId !== undefined && /^\d{1,15}$/.test(lastEventId.trim())
        ? Math.min(Number(lastEventId.trim()), newest)
        : newest;
    let subscriber: Subscriber | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          if (this.#closed || signal.aborted) {
            controller.close();
            return;
          }
          let open = true;
          const entry: Subscriber = {
            lastId: resumeFrom,
            controller,
            close: () => {
              if (!open) return;
              open = false;
              this.#subscribers.delete(entry);
              signal.removeEventListener('abort', entry.close);
              try {
                controller.close();
              } catch {
                // already closed by the reader going away
              }
              this.#stopWhenIdle();
            },
          };
          subscriber = entry;
          signal.addEventListener('abort', entry.close, { once: true });
          this.#subscribers.add(entry);
          controller.enqueue(encoder.encode(`retry: 2000\n: connected\n\n`));
          this.#start();
        },
        cancel: () => subscriber?.close(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 64 * 1024 }),
    );
    return new Response(stream, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      },
    });
  }

  /** Ends every stream and stops the timers; later subscribers get an empty stream. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const subscriber of [...this.#subscribers]) subscriber.close();
    this.#stop();
  }

  #start(): void {
    if (this.#poll !== undefined) return;
    this.#poll = setInterval(() => void this.#tick(), this.#pollMs);
    this.#keepalive = setInterval(() => this.#broadcast(': keepalive\n\n'), this.#keepaliveMs);
  }

  #stop(): void {
    clearInterval(this.#poll);
    clearInterval(this.#keepalive);
    this.#poll = undefined;
    this.#keepalive = undefined;
  }

  #stopWhenIdle(): void {
    if (this.#subscribers.size === 0) this.#stop();
  }

  /** One read of the store for every subscriber: events after the oldest position any has. */
  async #tick(): Promise<void> {
    if (this.#polling || this.#subscribers.size === 0) return;
    this.#polling = true;
    try {
      const from = Math.min(...[...this.#subscribers].map((s) => s.lastId));
      const events = await this.#store.allEventsAfter(from, this.#batch);
      for (const subscriber of [...this.#subscribers]) {
        const text = events
          .filter((event) => event.id > subscriber.lastId)
          .map(frame)
          .join('');
        if (text === '') continue;
        this.#send(subscriber, text);
        subscriber.lastId = events.at(-1)?.id ?? subscriber.lastId;
      }
    } catch (error) {
      if (!this.#closed) this.#logger.warn({ err: error }, 'live updates: reading events failed');
    } finally {
      this.#polling = false;
    }
  }

  #broadcast(text: string): void {
    for (const subscriber of [...this.#subscribers]) this.#send(subscriber, text);
  }

  #send(subscriber: Subscriber, text: string): void {
    // A client that reads nothing while megabytes wait for it is let go: it reconnects with
    // Last-Event-ID and catches up from the store.
    if ((subscriber.controller.desiredSize ?? 0) < -MAX_BUFFERED_BYTES) {
      subscriber.close();
      return;
    }
    try {
      subscriber.controller.enqueue(encoder.encode(text));
    } catch {
      subscriber.close();
    }
  }
}

/** One store event as a server-sent event. */
function frame(event: RunEvent): string {
  const data = JSON.stringify({
    runId: event.runId ?? null,
    pipeline: event.pipeline ?? null,
    kind: event.kind,
    at: event.at,
  });
  // Kinds are the store's own (`run.finished`); anything else is kept to one safe token.
  const kind = /^[A-Za-z0-9_.:-]{1,64}$/.test(event.kind) ? event.kind : 'event';
  return `id: ${event.id}\nevent: ${kind}\ndata: ${data}\n\n`;
}
