import type { RunEvent } from './openlineage-event.js';

/**
 * Where lineage events go: an HTTP endpoint, a file, the console, a NATS subject, or the run
 * store. `send` is called by the emitter's delivery loop, one event at a time per transport and
 * never from inside a run; a rejection means the event was not delivered (the transport did its
 * own retries) and it is counted as dropped. `close` ends what the transport holds open.
 *
 * @example
 * ```ts
 * const seen: RunEvent[] = [];
 * const memory: LineageTransport = { name: 'memory', send: async (event) => void seen.push(event) };
 * ```
 */
export interface LineageTransport {
  readonly name: string;
  send(event: RunEvent, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}
