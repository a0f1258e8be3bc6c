import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { LineageEventGuard } from './event-guard.js';
import type { LineageTransport } from './lineage-transport.js';
import type { RunEvent } from './openlineage-event.js';
import type { ColumnLineageDeriver } from './column-lineage-hook.js';
import { sqlColumnLineage } from './sql-column-lineage.js';
import { loadSQLParser } from './sql-parser.js';
import { hasPendingColumnLineage, resolvePendingColumnLineage } from './pending-column-lineage.js';

/** Options of {@link LineageEmitter.create}. */
export interface LineageEmitterOptions {
  readonly transports: readonly LineageTransport[];
  /** The OpenLineage namespace of Sluice's jobs and in-pipeline datasets (default `sluice`). */
  readonly namespace?: string;
  /** Events each transport may hold waiting; more are dropped and counted (default 10,000). */
  readonly queueCapacity?: number;
  readonly logger?: Logger;
  /** Called once per dropped event (for a metrics counter). */
  readonly onDropped?: (transport: string, reason: 'queue_full' | 'delivery_failed') => void;
  /**
   * Derives SQL steps' column lineage for the `columnLineage` facet (default
   * {@link sqlColumnLineage}; `false`: none). When it answers `unresolved` no such facet is
   * emitted for the step, and {@link LineageEmitter.columnLineageOmitted} counts it.
   * `'forward'`: events keep their requests for the emitter that receives them (a run process
   * forwarding its events to its parent).
   */
  readonly columnLineage?: ColumnLineageDeriver | false | 'forward';
  /**
   * Makes the deriver ready (default: loads the SQL parser for {@link sqlColumnLineage}). Events
   * that ask for column lineage, and those after them, wait for it.
   */
  readonly prepareColumnLineage?: () => Promise<void>;
}

/** What a transport's queue holds and did. */
export interface LineageTransportStatus {
  readonly name: string;
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
}

class TransportQueue {
  readonly events: RunEvent[] = [];
  sent = 0;
  dropped = 0;
  /** Set by close: what was queued, the event in flight included, is counted dropped then. */
  closed = false;
  draining: Promise<void> | undefined;
  constructor(readonly transport: LineageTransport) {}
}

/**
 * Sends lineage events to transports without ever making a run wait: {@link emit} checks the
 * event and puts it on each transport's bounded queue, and a delivery loop per transport sends
 * the queue in order in the background. A full queue drops the event and counts it; so does a
 * delivery that failed after the transport's retries. {@link flush} waits for the queues with
 * a deadline (on shutdown).
 *
 * @example
 * ```ts
 * const emitter = LineageEmitter.create({ transports: [fileTransport({ path: 'lineage.ndjson' })] });
 * await runPipeline(pipeline, { lineage: emitter });
 * await emitter.close(5_000);
 * ```
 */
export class LineageEmitter {
  readonly namespace: string;
  readonly columnLineage: ColumnLineageDeriver | undefined;
  readonly #queues: TransportQueue[];
  readonly #capacity: number;
  readonly #guard = new LineageEventGuard();
  readonly #logger: Logger;
  readonly #onDropped: LineageEmitterOptions['onDropped'];
  readonly #stop = new AbortController();
  readonly #forwardsColumnLineage: boolean;
  readonly #prepare: (() => Promise<void>) | undefined;
  #prepared: Promise<void> | undefined;
  /** Events waiting, in order, for their column lineage (and those emitted after them). */
  #resolving: Promise<void> | undefined;
  #waiting = 0;
  #refused = 0;
  #columnLineageOmitted = 0;

  private constructor(options: LineageEmitterOptions) {
    this.namespace = options.namespace ?? 'sluice';
    this.#forwardsColumnLineage = options.columnLineage === 'forward';
    this.columnLineage =
      options.columnLineage === false || options.columnLineage === 'forward'
        ? undefined
        : (options.columnLineage ?? sqlColumnLineage);
    this.#prepare =
      options.prepareColumnLineage ??
      (this.columnLineage === sqlColumnLineage ? loadSQLParser : undefined);
    this.#queues = options.transports.map((transport) => new TransportQueue(transport));
    this.#capacity = Math.max(1, options.queueCapacity ?? 10_000);
    this.#logger = options.logger ?? silentLogger;
    this.#onDropped = options.onDropped;
  }

  /** An emitter over the given transports (none: events are checked, then discarded). */
  static create(options: LineageEmitterOptions): LineageEmitter {
    return new LineageEmitter(options);
  }

  /** Whether any transport receives events (building events can be skipped when not). */
  get active(): boolean {
    return this.#queues.length > 0;
  }

  /** Events dropped so far, over all transports: queue full or delivery failed. */
  get dropped(): number {
    return this.#queues.reduce((sum, queue) => sum + queue.dropped, 0);
  }

  /** Events refused by the checks (a second START, an event after the end, a bare facet). */
  get refused(): number {
    return this.#refused;
  }

  /** SQL steps whose column lineage could not be derived, so their facet was left out. */
  get columnLineageOmitted(): number {
    return this.#columnLineageOmitted;
  }

  /** Counts a step whose `columnLineage` facet is left out, and says why at debug level. */
  omitColumnLineage(job: string, reason: string): void {
    this.#columnLineageOmitted++;
    this.#logger.debug({ job, reason }, 'column lineage left out');
  }

  /** Each transport's queue and counts. */
  status(): LineageTransportStatus[] {
    return this.#queues.map((queue) => ({
      name: queue.transport.name,
      queued: queue.events.length,
      sent: queue.sent,
      dropped: queue.dropped,
    }));
  }

  /**
   * Starts making column lineage derivable (loading the SQL parser), so that the first SQL
   * step's events do not wait for it. Failing to prepare only leaves column lineage out.
   */
  prepareColumnLineage(): Promise<void> {
    this.#prepared ??= (this.#prepare?.() ?? Promise.resolve()).catch((error: unknown) =>
      this.#logger.warn(
        { err: (error as Error).message },
        'column lineage cannot be derived: the SQL parser did not load',
      ),
    );
    return this.#prepared;
  }

  /**
   * Queues an event for every transport and returns at once. An event that breaks the run-state
   * rules or has a facet without `_producer`/`_schemaURL` is refused, logged and counted. An
   * event asking for a SQL step's column lineage gets it derived first (without making the run
   * wait); events emitted after it keep their order.
   */
  emit(event: RunEvent): void {
    if (this.#forwardsColumnLineage || (this.#waiting === 0 && !hasPendingColumnLineage(event))) {
      this.#enqueue(event);
      return;
    }
    this.#waiting++;
    this.#resolving = (this.#resolving ?? this.prepareColumnLineage()).then(() => {
      this.#waiting--;
      if (this.#waiting === 0) this.#resolving = undefined;
      this.#enqueue(
        resolvePendingColumnLineage(event, this.columnLineage, (job, reason) =>
          this.omitColumnLineage(job, reason),
        ),
      );
    });
  }

  #enqueue(event: RunEvent): void {
    const problem = this.#guard.check(event);
    if (problem !== undefined) {
      this.#refused++;
      this.#logger.warn({ problem, eventType: event.eventType }, 'lineage event refused');
      return;
    }
    for (const queue of this.#queues) {
      if (queue.events.length >= this.#capacity || this.#stop.signal.aborted) {
        this.#drop(queue, 'queue_full');
        continue;
      }
      queue.events.push(event);
      queue.draining ??= this.#drain(queue);
    }
  }

  /**
   * Waits until every queued event was sent or dropped, or `deadlineMs` passed; returns how
   * many events are still queued then.
   */
  async flush(deadlineMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deadlineMs);
      timer.unref();
    });
    const drained = (async () => {
      while (this.#resolving !== undefined) await this.#resolving;
      await Promise.all(this.#queues.map((queue) => queue.draining));
    })();
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
    return this.#queues.reduce((sum, queue) => sum + queue.events.length, 0);
  }

  /**
   * Flushes with a deadline, then stops: what is still queued is dropped and counted, deliveries
   * in flight are aborted, and the transports are closed.
   */
  async close(deadlineMs: number): Promise<void> {
    await this.flush(deadlineMs);
    this.#stop.abort();
    for (const queue of this.#queues) {
      queue.closed = true;
      for (const _ of queue.events.splice(0)) this.#drop(queue, 'queue_full');
    }
    // A transport that ignores the abort must not hold the shutdown: a short grace, no more.
    const grace = new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref());
    await Promise.race([Promise.all(this.#queues.map((queue) => queue.draining)), grace]);
    await Promise.race([
      Promise.all(this.#queues.map((queue) => queue.transport.close?.().catch(() => undefined))),
      grace,
    ]);
  }

  async #drain(queue: TransportQueue): Promise<void> {
    // Started from emit(): the first send waits for the run's own synchronous work to finish.
    await Promise.resolve();
    try {
      for (;;) {
        const event = queue.events[0];
        if (event === undefined || this.#stop.signal.aborted) break;
        try {
          await queue.transport.send(event, this.#stop.signal);
          if (queue.closed) break;
          queue.sent++;
        } catch (error) {
          if (queue.closed) break;
          this.#drop(queue, 'delivery_failed');
          this.#logger.warn(
            { transport: queue.transport.name, err: (error as Error).message },
            'lineage event not delivered',
          );
        }
        queue.events.shift();
      }
    } finally {
      queue.draining = undefined;
    }
  }

  #drop(queue: TransportQueue, reason: 'queue_full' | 'delivery_failed'): void {
    queue.dropped++;
    this.#onDropped?.(queue.transport.name, reason);
  }
}
